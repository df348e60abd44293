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
//! - `bench-track anchor --cmd CMD [--rounds N] [--threads N] [--sitting FILE] [--readme FILE]`
//!   measures the U-Net's train and sampling steps against an identical network run by `CMD`
//!   (called as `CMD <preset> <threads> <reps>`, printing `preset params train_ms sample_ms`),
//!   interleaved in one sitting, stores it (`benches/results/anchor.json`) and writes its table
//!   into README.
//! - `bench-track anchor-table [--sitting FILE] [--readme FILE] [--check]` writes the stored
//!   sitting's table into README again, or with `--check` fails if README's table differs.
//!
//! The noise threshold is estimated from the repeats, not guessed: for each bench the relative
//! spread `(max − min) / median` of its N medians; the suite threshold is three times the median
//! of those spreads (floored at 2 %), and a bench's own threshold is the larger of the suite
//! threshold and three times its own spread. Both are written into the summary.

use hidden_rules::anchor::{self, Sitting};
use hidden_rules::bench_track::{self, Summary};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: bench-track run [--repeats N] [--quick] [--bench NAME]... [--out FILE] [--criterion-dir DIR]
       bench-track compare [--baseline FILE] [--current FILE]
       bench-track store [--merge] [--current FILE] [--baseline FILE]
       bench-track anchor --cmd CMD [--rounds N] [--threads N] [--sitting FILE] [--readme FILE]
       bench-track anchor-table [--sitting FILE] [--readme FILE] [--check]";

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
    let mut anchor_cmd: Option<String> = None;
    let mut rounds = 2usize;
    let mut threads = 2usize;
    let mut sitting = PathBuf::from(anchor::DEFAULT_SITTING);
    let mut readme = PathBuf::from("README.md");
    let mut check = false;
    let positive = |v: &str, flag: &str| {
        v.parse()
            .ok()
            .filter(|&n: &usize| n >= 1)
            .ok_or_else(|| format!("{flag} must be a positive integer, got {v:?}"))
    };
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
            "--cmd" => anchor_cmd = Some(value(args, &mut i, "--cmd")?.to_string()),
            "--rounds" => rounds = positive(value(args, &mut i, "--rounds")?, "--rounds")?,
            "--threads" => threads = positive(value(args, &mut i, "--threads")?, "--threads")?,
            "--sitting" => sitting = value(args, &mut i, "--sitting")?.into(),
            "--readme" => readme = value(args, &mut i, "--readme")?.into(),
            "--check" => check = true,
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
        "anchor" => {
            let cmd = anchor_cmd.ok_or("anchor needs --cmd")?;
            let dir = criterion_dir.unwrap_or_else(bench_track::default_criterion_dir);
            let s = anchor::measure(&cmd, rounds, threads, &dir)?;
            s.save(&sitting)?;
            println!("{}", anchor::render(&s));
            println!("wrote {}", sitting.display());
            write_table(&readme, &s)?;
            Ok(ExitCode::SUCCESS)
        }
        "anchor-table" => {
            let s = Sitting::load(&sitting)?;
            if check {
                let text = read(&readme)?;
                if anchor::MARKERS.block(&text) == Some(anchor::render(&s).as_str()) {
                    println!(
                        "{} has the table of {}",
                        readme.display(),
                        sitting.display()
                    );
                    Ok(ExitCode::SUCCESS)
                } else {
                    eprintln!(
                        "bench-track: {}'s anchor table differs from {}",
                        readme.display(),
                        sitting.display()
                    );
                    Ok(ExitCode::FAILURE)
                }
            } else {
                write_table(&readme, &s)?;
                Ok(ExitCode::SUCCESS)
            }
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Write the sitting's table into `readme` between the anchor markers.
fn write_table(readme: &std::path::Path, s: &Sitting) -> Result<(), String> {
    let text = anchor::MARKERS
        .splice(&read(readme)?, &anchor::render(s))
        .map_err(|e| format!("{}: {e}", readme.display()))?;
    theory::fsio::write_atomic_with(readme, |w| w.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", readme.display()))?;
    println!("wrote the table into {}", readme.display());
    Ok(())
}
