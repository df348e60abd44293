//! `cargo run -p plots --release -- all --runs DIR --out DIR`

use clap::Parser;

fn main() {
    let args = plots::cli::Args::parse();
    std::process::exit(plots::cli::run(&args));
}
