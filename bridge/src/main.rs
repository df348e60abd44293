//! `cargo run -p bridge --release -- --help`

use clap::Parser;

fn main() {
    let args = bridge::cli::Args::parse();
    if let Err(e) = bridge::cli::run(&args) {
        eprintln!("bridge: error: {e}");
        let code = if matches!(e, bridge::BridgeError::Usage(_)) {
            2
        } else {
            1
        };
        std::process::exit(code);
    }
}
