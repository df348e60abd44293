//! Benchmark tracking: collect criterion's estimates over repeated runs, estimate the noise,
//! store baselines and compare (docs/benchmarks.md; the `bench-track` binary is the CLI).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `run` writes the current summary.
pub const DEFAULT_CURRENT: &str = "benches/results/latest.json";
/// The stored baseline `compare` reads and `store` writes.
pub const DEFAULT_BASELINE: &str = "benches/baselines/baseline.json";
/// Smallest noise threshold ever used (relative).
pub const NOISE_FLOOR: f64 = 0.02;

/// One benchmark's result over the repeats.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchResult {
    /// Criterion's full id, e.g. `theory/figure6_grid`.
    pub id: String,
    /// Median over repeats of criterion's median time per iteration, in seconds.
    pub median_s: f64,
    /// Criterion's median of each repeat, in seconds.
    pub repeats_s: Vec<f64>,
    /// `(max − min) / median` of `repeats_s`.
    pub spread: f64,
    /// Throughput per second where the bench declares one, with its unit.
    pub throughput: Option<(f64, String)>,
    /// The threshold applied to this bench: `max(suite threshold, 3 × spread)`.
    pub threshold: f64,
}

/// Machine facts recorded with a summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// Logical cores available to the process.
    pub cores: usize,
    /// CPU model from `/proc/cpuinfo` (or `unknown`).
    pub cpu_model: String,
}

/// A tracked set of results.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// `git rev-parse HEAD` (or `unknown`).
    pub commit: String,
    /// UTC date and time of the run, ISO 8601.
    pub date: String,
    /// Where it ran.
    pub machine: Machine,
    /// Number of repeated `cargo bench` runs.
    pub repeats: usize,
    /// Suite noise threshold: `max(2 %, 3 × median spread)`.
    pub noise_threshold: f64,
    /// Results by bench id.
    pub benches: Vec<BenchResult>,
    /// Earlier summaries merged into this one by `store --merge` ("commit date"), oldest first.
    #[serde(default)]
    pub merged_from: Vec<String>,
}

/// `store --merge`: the benches of `cur` replace (or join) those of `base` with the same id, the
/// others are kept with their own thresholds; the suite threshold is the larger of the two, and
/// `merged_from` records where the kept results came from.
pub fn merge(base: &Summary, cur: &Summary) -> Summary {
    let mut by_id: BTreeMap<String, BenchResult> = base
        .benches
        .iter()
        .map(|b| (b.id.clone(), b.clone()))
        .collect();
    for b in &cur.benches {
        by_id.insert(b.id.clone(), b.clone());
    }
    let mut merged_from = base.merged_from.clone();
    merged_from.push(format!("{} {}", base.commit, base.date));
    Summary {
        commit: cur.commit.clone(),
        date: cur.date.clone(),
        machine: cur.machine.clone(),
        repeats: cur.repeats.min(base.repeats),
        noise_threshold: base.noise_threshold.max(cur.noise_threshold),
        benches: by_id.into_values().collect(),
        merged_from,
    }
}

impl Summary {
    /// Read a summary file with a readable error.
    pub fn load(path: &Path) -> Result<Summary, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a bench summary: {e}", path.display()))
    }
}

/// `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
pub fn default_criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion")
}

/// One criterion measurement read from `<dir>/.../new/{benchmark,estimates}.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Full id.
    pub id: String,
    /// Median time per iteration in seconds.
    pub median_s: f64,
    /// Elements or bytes per iteration, with the unit.
    pub per_iter: Option<(f64, String)>,
}

fn find_new_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") && p.join("estimates.json").is_file() {
                out.push(p);
            } else {
                find_new_dirs(&p, out);
            }
        }
    }
}

/// Read every criterion measurement under `dir` (criterion keeps old results there too).
pub fn read_criterion(dir: &Path) -> Result<Vec<Measurement>, String> {
    read_criterion_since(dir, None)
}

/// Read the criterion measurements under `dir` written at or after `since` (None: all), so
/// that results left by earlier runs of other benches are not mistaken for this run's.
pub fn read_criterion_since(
    dir: &Path,
    since: Option<std::time::SystemTime>,
) -> Result<Vec<Measurement>, String> {
    let mut dirs = Vec::new();
    find_new_dirs(dir, &mut dirs);
    let mut out = Vec::new();
    for d in dirs {
        if let Some(t0) = since {
            let written = std::fs::metadata(d.join("estimates.json"))
                .and_then(|m| m.modified())
                .map_err(|e| format!("{}: {e}", d.display()))?;
            if written < t0 {
                continue;
            }
        }
        let est: serde_json::Value = read_json(&d.join("estimates.json"))?;
        let bench: serde_json::Value = read_json(&d.join("benchmark.json"))?;
        let median_ns = est["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no median estimate", d.display()))?;
        let id = bench["full_id"]
            .as_str()
            .ok_or_else(|| format!("{}: no full_id", d.display()))?
            .to_string();
        let per_iter = bench["throughput"].as_object().and_then(|t| {
            t.iter()
                .next()
                .and_then(|(unit, n)| n.as_f64().map(|n| (n, unit.to_lowercase())))
        });
        out.push(Measurement {
            id,
            median_s: median_ns * 1e-9,
            per_iter,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Combine the measurements of each repeat into a summary with estimated noise thresholds.
pub fn summarise(
    runs: &[Vec<Measurement>],
    commit: String,
    date: String,
    machine: Machine,
) -> Summary {
    let mut by_id: BTreeMap<String, (Vec<f64>, Option<(f64, String)>)> = BTreeMap::new();
    for run in runs {
        for m in run {
            let e = by_id
                .entry(m.id.clone())
                .or_insert((Vec::new(), m.per_iter.clone()));
            e.0.push(m.median_s);
        }
    }
    let mut benches: Vec<BenchResult> = by_id
        .into_iter()
        .map(|(id, (reps, per_iter))| {
            let med = median(&reps);
            let (lo, hi) = reps
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                    (l.min(x), h.max(x))
                });
            let spread = if reps.len() > 1 && med > 0.0 {
                (hi - lo) / med
            } else {
                f64::NAN
            };
            BenchResult {
                id,
                median_s: med,
                repeats_s: reps,
                spread,
                throughput: per_iter.map(|(n, unit)| (n / med, format!("{unit}/s"))),
                threshold: f64::NAN,
            }
        })
        .collect();
    let spreads: Vec<f64> = benches
        .iter()
        .map(|b| b.spread)
        .filter(|s| s.is_finite())
        .collect();
    let noise_threshold = (3.0 * median(&spreads)).max(NOISE_FLOOR);
    let noise_threshold = if noise_threshold.is_finite() {
        noise_threshold
    } else {
        NOISE_FLOOR
    };
    for b in &mut benches {
        let own = if b.spread.is_finite() {
            3.0 * b.spread
        } else {
            0.0
        };
        b.threshold = noise_threshold.max(own);
    }
    Summary {
        commit,
        date,
        machine,
        repeats: runs.len(),
        noise_threshold,
        benches,
        merged_from: Vec::new(),
    }
}

/// Run `cargo bench` on the root package `repeats` times and summarise.
pub fn run_benches(
    repeats: usize,
    quick: bool,
    benches: &[String],
    criterion_dir: &Path,
) -> Result<Summary, String> {
    let mut runs = Vec::new();
    for r in 0..repeats {
        eprintln!("bench-track: repeat {}/{repeats}", r + 1);
        let started = std::time::SystemTime::now();
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["bench", "-p", "hidden-rules"]);
        for b in benches {
            cmd.args(["--bench", b]);
        }
        cmd.args(["--", "--noplot"]);
        if quick {
            cmd.args([
                "--warm-up-time",
                "0.5",
                "--measurement-time",
                "2",
                "--sample-size",
                "10",
            ]);
        }
        let status = cmd
            .status()
            .map_err(|e| format!("cannot start cargo bench: {e}"))?;
        if !status.success() {
            return Err(format!("cargo bench failed ({status})"));
        }
        runs.push(read_criterion_since(criterion_dir, Some(started))?);
    }
    if runs.iter().all(Vec::is_empty) {
        return Err(format!(
            "no criterion results under {}",
            criterion_dir.display()
        ));
    }
    Ok(summarise(&runs, git_commit(), utc_now(), machine()))
}

/// Write a summary atomically (temporary file, then rename).
pub fn write_summary(path: &Path, s: &Summary) -> Result<(), String> {
    theory::fsio::write_atomic_with(path, |w| {
        serde_json::to_writer_pretty(w, s).map_err(std::io::Error::other)
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn fmt_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.3} µs", s * 1e6)
    }
}

/// A Markdown table of a summary.
pub fn format_summary(s: &Summary) -> String {
    let mut out = format!(
        "commit {} · {} · {} cores · {} · {} repeats · noise threshold {:.1} %\n\n| bench | median | throughput | spread |\n|---|---|---|---|\n",
        s.commit, s.date, s.machine.cores, s.machine.cpu_model, s.repeats, 100.0 * s.noise_threshold
    );
    for b in &s.benches {
        let tp = b
            .throughput
            .as_ref()
            .map(|(v, u)| format!("{v:.1} {u}"))
            .unwrap_or_else(|| "-".into());
        out += &format!(
            "| {} | {} | {} | {:.1} % |\n",
            b.id,
            fmt_time(b.median_s),
            tp,
            100.0 * b.spread
        );
    }
    out
}

/// Verdict of one bench's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Within the noise threshold.
    Noise,
    /// Slower beyond the threshold.
    Slower,
    /// Faster beyond the threshold.
    Faster,
}

/// Classify `ratio = current / baseline` against a relative threshold.
pub fn classify(ratio: f64, threshold: f64) -> Change {
    if ratio > 1.0 + threshold {
        Change::Slower
    } else if ratio < 1.0 / (1.0 + threshold) {
        Change::Faster
    } else {
        Change::Noise
    }
}

/// Compare a summary against a baseline: a Markdown table of ratios and flags.
pub fn format_comparison(base: &Summary, cur: &Summary) -> String {
    let mut out = format!(
        "baseline {} ({}) vs current {} ({})\n\n| bench | baseline | current | ratio | threshold | verdict |\n|---|---|---|---|---|---|\n",
        base.commit, base.date, cur.commit, cur.date
    );
    if base.machine != cur.machine {
        out = format!(
            "WARNING: different machines (baseline {} cores {}, current {} cores {})\n{out}",
            base.machine.cores, base.machine.cpu_model, cur.machine.cores, cur.machine.cpu_model
        );
    }
    for c in &cur.benches {
        match base.benches.iter().find(|b| b.id == c.id) {
            Some(b) => {
                let ratio = c.median_s / b.median_s;
                let th = c.threshold.max(b.threshold);
                let verdict = match classify(ratio, th) {
                    Change::Noise => "within noise",
                    Change::Slower => "SLOWER",
                    Change::Faster => "FASTER",
                };
                out += &format!(
                    "| {} | {} | {} | {ratio:.3} | {:.1} % | {verdict} |\n",
                    c.id,
                    fmt_time(b.median_s),
                    fmt_time(c.median_s),
                    100.0 * th
                );
            }
            None => {
                out += &format!(
                    "| {} | - | {} | - | - | new |\n",
                    c.id,
                    fmt_time(c.median_s)
                )
            }
        }
    }
    for b in &base.benches {
        if !cur.benches.iter().any(|c| c.id == b.id) {
            out += &format!(
                "| {} | {} | - | - | - | missing |\n",
                b.id,
                fmt_time(b.median_s)
            );
        }
    }
    out
}

/// The current commit (short hash), `unknown` outside a git checkout.
pub fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The current machine's cores and CPU model.
pub fn machine() -> Machine {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    Machine { cores, cpu_model }
}

/// UTC now as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, no time-zone crate needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_utc(secs)
}

/// Format Unix seconds as ISO 8601 UTC.
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, s: f64) -> Measurement {
        Measurement {
            id: id.into(),
            median_s: s,
            per_iter: Some((10.0, "elements".into())),
        }
    }

    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_434_245), "2026-11-23T11:44:05Z");
    }

    #[test]
    fn noise_threshold_comes_from_the_repeats() {
        let machine = Machine {
            cores: 2,
            cpu_model: "x".into(),
        };
        let runs = vec![
            vec![m("a", 1.0), m("b", 2.0)],
            vec![m("a", 1.1), m("b", 2.0)],
        ];
        let s = summarise(&runs, "c".into(), "d".into(), machine);
        let a = &s.benches[0];
        assert!((a.median_s - 1.05).abs() < 1e-12);
        assert!((a.spread - 0.1 / 1.05).abs() < 1e-12);
        // median spread of {0.0952, 0} is 0.0476; times 3 = 0.143
        assert!((s.noise_threshold - 3.0 * 0.5 * (0.1 / 1.05)).abs() < 1e-12);
        assert!((a.threshold - 3.0 * 0.1 / 1.05).abs() < 1e-12);
        let (tp, unit) = a.throughput.clone().unwrap();
        assert!((tp - 10.0 / 1.05).abs() < 1e-9);
        assert_eq!(unit, "elements/s");
    }

    #[test]
    fn merge_replaces_same_ids_and_keeps_the_rest() {
        let machine = Machine {
            cores: 2,
            cpu_model: "x".into(),
        };
        let base = summarise(
            &[
                vec![m("a", 1.0), m("b", 2.0)],
                vec![m("a", 1.0), m("b", 2.2)],
            ],
            "c0".into(),
            "d0".into(),
            machine.clone(),
        );
        let cur = summarise(
            &[
                vec![m("b", 4.0), m("e", 9.0)],
                vec![m("b", 4.0), m("e", 9.0)],
            ],
            "c1".into(),
            "d1".into(),
            machine,
        );
        let s = merge(&base, &cur);
        let ids: Vec<&str> = s.benches.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "e"]);
        assert_eq!(s.benches[0], base.benches[0]);
        assert_eq!(s.benches[1].median_s, 4.0);
        assert_eq!(s.commit, "c1");
        assert_eq!(s.merged_from, vec!["c0 d0".to_string()]);
        assert_eq!(
            s.noise_threshold,
            base.noise_threshold.max(cur.noise_threshold)
        );
    }

    #[test]
    fn changes_are_flagged_only_beyond_the_threshold() {
        assert_eq!(classify(1.05, 0.1), Change::Noise);
        assert_eq!(classify(1.2, 0.1), Change::Slower);
        assert_eq!(classify(0.8, 0.1), Change::Faster);
    }

    #[test]
    fn reads_criterion_layout() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("theory").join("score").join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median":{"point_estimate":2500.0}}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"full_id":"theory/score","throughput":{"Elements":5}}"#,
        )
        .unwrap();
        let got = read_criterion(dir.path()).unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        assert!(read_criterion_since(dir.path(), Some(later))
            .unwrap()
            .is_empty());
        assert_eq!(
            got,
            vec![Measurement {
                id: "theory/score".into(),
                median_s: 2.5e-6,
                per_iter: Some((5.0, "elements".into()))
            }]
        );
    }
}
