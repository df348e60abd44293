//! `bench-track`: benchmark tracking for the suite's criterion benches (docs/benchmarks.md).
//!
//! - `bench-track run [--repeats N] [--quick] [--bench NAME]...` runs `cargo bench` N times
//!   (default 3), reads every criterion estimate after each run, and writes a summary
//!   (`benches/results/latest.json`): per bench id the median over repeats of criterion's median
//!   time, the throughput where criterion has one, and the relative spread between repeats; plus
//!   the commit, date and machine (cores, CPU model).
//! - `bench-track compare [--baseline FILE] [--current FILE]` prints each bench's change as a
//!   ratio current/baseline and flags those beyond the noise threshold.
//! - `bench-track store [--current FILE] [--baseline FILE]` makes the current summary the stored
//!   baseline: an explicit step, never done by `run`. With `--merge` the current benches replace
//!   those with the same id in the baseline and the others are kept (e.g. after `run --bench
//!   empirical`).
//!
//! The noise threshold is estimated from the repeats, not guessed: for each bench the relative
//! spread `(max − min) / median` of its N medians; the suite threshold is three times the median
//! of those spreads (floored at 2 %), and a bench's own threshold is the larger of the suite
//! threshold and three times its own spread. Both are written into the summary.

use hidden_rules::bench_track::{self, Summary};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: bench-track run [--repeats N] [--quick] [--bench NAME]... [--out FILE] [--criterion-dir DIR]
       bench-track compare [--baseline FILE] [--current FILE]
       bench-track store [--merge] [--current FILE] [--baseline FILE]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("bench-track: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(cmd) = args.first() else {
        return Err("missing command".into());
    };
    let mut repeats = 3usize;
    let mut quick = false;
    let mut merge = false;
    let mut benches = Vec::new();
    let mut out = PathBuf::from(bench_track::DEFAULT_CURRENT);
    let mut baseline = PathBuf::from(bench_track::DEFAULT_BASELINE);
    let mut criterion_dir: Option<PathBuf> = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--repeats" => {
                let v = value(args, &mut i, "--repeats")?;
                repeats = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n >= 2)
                    .ok_or_else(|| format!("--repeats must be an integer >= 2, got {v:?}"))?;
            }
            "--quick" => quick = true,
            "--merge" => merge = true,
            "--bench" => benches.push(value(args, &mut i, "--bench")?.to_string()),
            "--out" | "--current" => out = value(args, &mut i, "--out")?.into(),
            "--baseline" => baseline = value(args, &mut i, "--baseline")?.into(),
            "--criterion-dir" => {
                criterion_dir = Some(value(args, &mut i, "--criterion-dir")?.into())
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
        i += 1;
    }
    match cmd.as_str() {
        "run" => {
            let dir = criterion_dir.unwrap_or_else(bench_track::default_criterion_dir);
            let summary = bench_track::run_benches(repeats, quick, &benches, &dir)?;
            bench_track::write_summary(&out, &summary)?;
            println!("{}", bench_track::format_summary(&summary));
            println!("wrote {}", out.display());
            if baseline.exists() {
                let base = Summary::load(&baseline)?;
                println!("{}", bench_track::format_comparison(&base, &summary));
            }
            Ok(ExitCode::SUCCESS)
        }
        "compare" => {
            let base = Summary::load(&baseline)?;
            let cur = Summary::load(&out)?;
            println!("{}", bench_track::format_comparison(&base, &cur));
            Ok(ExitCode::SUCCESS)
        }
        "store" => {
            let mut cur = Summary::load(&out)?;
            if merge {
                cur = bench_track::merge(&Summary::load(&baseline)?, &cur);
            }
            bench_track::write_summary(&baseline, &cur)?;
            println!(
                "stored {} as the baseline {}",
                out.display(),
                baseline.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}")),
    }
}
