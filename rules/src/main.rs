//! `empirical-rules`: generate Tasks A-D and evaluate any model's samples, without burn.
use clap::{Parser, Subcommand};
use empirical_rules::cli::{run_data, run_eval, DataArgs, EvalArgs};
use empirical_rules::Error;

#[derive(Parser)]
#[command(
    name = "empirical-rules",
    version,
    about = "Tasks A-D of 'Can Diffusion Models Learn Hidden Inter-Feature Rules Behind Images?' and their rule evaluator"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a training, contrastive or coarse-violating set (PNGs, manifest.csv, images.npy);
    /// a previous output in --out is replaced as a whole, a folder with other files is refused.
    Data(DataArgs),
    /// Evaluate images (folder, PNG or .npy) against the task's rules; a folder is read through
    /// its manifest.csv / samples.npy when it has one.
    Eval(EvalArgs),
}

fn main() {
    let cli = Cli::parse();
    let res = match &cli.cmd {
        Cmd::Data(a) => run_data(a),
        Cmd::Eval(a) => run_eval(a),
    };
    if let Err(e) = res {
        eprintln!("error: {e}");
        let code = match e {
            Error::Param { .. } | Error::UnknownTask(_) => 2,
            _ => 1,
        };
        std::process::exit(code);
    }
}
