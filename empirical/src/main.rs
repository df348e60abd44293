//! `empirical`: pixel-space DDPMs on Tasks A-D (Sec. 3.2, App. D.1). With no arguments it runs
//! the suite's main job (`empirical run`). Exit codes: 0 ok, 1 run-time error, 2 usage/config error.
use clap::Parser;

fn main() {
    let cli = empirical::cli::Cli::parse();
    if let Err(e) = empirical::cli::run(cli) {
        eprintln!("error: {e}");
        let code = match e {
            empirical::Error::Config { .. } | empirical::Error::ConfigParse { .. } => 2,
            _ => 1,
        };
        std::process::exit(code);
    }
}
