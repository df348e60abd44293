//! `theory` CLI: see [`theory::cli`].
use clap::Parser;

fn main() {
    let cli = theory::cli::Cli::parse();
    std::process::exit(theory::cli::run(cli));
}
