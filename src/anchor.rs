//! The U-Net's speed against an anchor: an identical network in another framework (a PyTorch
//! twin that prints `preset params train_ms sample_ms` per run), measured in one sitting,
//! interleaved: anchor, ours, anchor, ours, anchor per preset, so that each of our criterion
//! medians sits between two anchor runs. Absolute times on a shared machine move by tens of
//! percent between runs; the ratio to the neighbouring anchor runs is what is reported.
//!
//! `bench-track anchor` records a [`Sitting`] (`benches/results/anchor.json`) and writes its
//! table into README between the [`MARKERS`] lines; a test renders the stored sitting again
//! and compares it with README.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::bench_track::{self, Machine};
use hidden_rules_core::marked::Markers;

/// Where `bench-track anchor` stores the sitting.
pub const DEFAULT_SITTING: &str = "benches/results/anchor.json";
/// The lines around the generated table in README.
pub const MARKERS: Markers = Markers {
    begin: "<!-- BEGIN anchor table: written by `bench-track anchor`, do not edit -->",
    end: "<!-- END anchor table -->",
};

/// A U-Net preset with a twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Cpu,
    Paper,
}

impl Preset {
    /// Both, in table order.
    pub const ALL: [Preset; 2] = [Preset::Cpu, Preset::Paper];

    /// The name the twin and the bench ids use.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Cpu => "cpu",
            Preset::Paper => "paper",
        }
    }

    /// Anchor steps per run (the twin's `reps`): fewer for the slow preset.
    pub fn anchor_reps(self) -> usize {
        match self {
            Preset::Cpu => 15,
            Preset::Paper => 4,
        }
    }

    /// The steps compared for this preset (the `paper` sampling forward is left out: at
    /// 0.2 s a step it adds little beyond the train step).
    pub fn steps(self) -> &'static [Step] {
        match self {
            Preset::Cpu => &[Step::Train, Step::Sample],
            Preset::Paper => &[Step::Train],
        }
    }
}

/// A step timed by both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Forward, MSE, backward, AdamW and EMA at batch 16.
    Train,
    /// One sampling forward at batch 16.
    Sample,
}

impl Step {
    /// Our criterion bench id for this step of `preset`.
    pub fn bench_id(self, preset: Preset) -> String {
        let s = match self {
            Step::Train => "train_step",
            Step::Sample => "sample_step",
        };
        format!("empirical/{}/{s}", preset.name())
    }

    fn label(self) -> &'static str {
        match self {
            Step::Train => "train step",
            Step::Sample => "sampling forward",
        }
    }
}

/// One run of the anchor: its medians in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnchorRun {
    pub train_ms: f64,
    pub sample_ms: f64,
}

impl AnchorRun {
    /// Parse the twin's line `preset params train_ms sample_ms` for `preset`.
    pub fn parse(line: &str, preset: Preset) -> Result<AnchorRun, String> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("anchor printed {line:?}: {s:?} is not a positive time"))
        };
        match f.as_slice() {
            [p, _params, train, sample] if *p == preset.name() => Ok(AnchorRun {
                train_ms: num(train)?,
                sample_ms: num(sample)?,
            }),
            _ => Err(format!(
                "anchor printed {line:?}, expected `{} params train_ms sample_ms`",
                preset.name()
            )),
        }
    }

    fn ms(&self, step: Step) -> f64 {
        match step {
            Step::Train => self.train_ms,
            Step::Sample => self.sample_ms,
        }
    }
}

/// One preset's interleaved measurements: `anchor[r]` ran before `ours[r]` and `anchor[r + 1]`
/// after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetSitting {
    pub preset: Preset,
    pub anchor: Vec<AnchorRun>,
    /// Per round, criterion's median in milliseconds per step.
    pub ours: Vec<BTreeMap<Step, f64>>,
}

/// A whole sitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sitting {
    pub commit: String,
    pub date: String,
    pub machine: Machine,
    /// Threads given to both sides (`RAYON_NUM_THREADS`, `OMP_NUM_THREADS`).
    pub threads: usize,
    pub presets: Vec<PresetSitting>,
}

impl Sitting {
    /// Read a stored sitting.
    pub fn load(path: &Path) -> Result<Sitting, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Write it atomically.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        theory::fsio::write_atomic_with(path, |w| {
            serde_json::to_writer_pretty(w, self).map_err(std::io::Error::other)
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// `(lowest, highest)` of `ours / anchor` over the anchor runs before and after round `r`.
pub fn ratio_range(p: &PresetSitting, step: Step, r: usize) -> Option<(f64, f64)> {
    let ours = *p.ours.get(r)?.get(&step)?;
    let around = [p.anchor.get(r)?, p.anchor.get(r + 1)?].map(|a| ours / a.ms(step));
    Some((around[0].min(around[1]), around[0].max(around[1])))
}

fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// The Markdown table of a sitting, with its provenance line.
pub fn render(s: &Sitting) -> String {
    let mut out = format!(
        "Measured at commit {} on {} ({} cores of an {}, {} threads each side):\n\n",
        s.commit, s.date, s.machine.cores, s.machine.cpu_model, s.threads
    );
    out += "| step | ours, per round | anchor runs (before, between, after) | ours / anchor, per round |\n";
    out += "|---|---:|---:|---:|\n";
    for p in &s.presets {
        for &step in p.preset.steps() {
            let ours: Vec<String> = p
                .ours
                .iter()
                .filter_map(|m| m.get(&step).map(|&v| fmt_ms(v)))
                .collect();
            let anchor: Vec<String> = p.anchor.iter().map(|a| fmt_ms(a.ms(step))).collect();
            let ratios: Vec<String> = (0..p.ours.len())
                .filter_map(|r| ratio_range(p, step, r))
                .map(|(lo, hi)| format!("{lo:.2}-{hi:.2}x"))
                .collect();
            out += &format!(
                "| `{}` {} | {} | {} | {} |\n",
                p.preset.name(),
                step.label(),
                ours.join(" / "),
                anchor.join(", "),
                ratios.join(" / ")
            );
        }
    }
    out
}

/// Run the anchor command for `preset` (`{cmd} {preset} {threads} {reps}` through `sh -c`).
fn run_anchor(cmd: &str, preset: Preset, threads: usize) -> Result<AnchorRun, String> {
    let line = format!("{cmd} {} {threads} {}", preset.name(), preset.anchor_reps());
    eprintln!("bench-track: anchor: {line}");
    let out = Command::new("sh")
        .args(["-c", &line])
        .output()
        .map_err(|e| format!("cannot start the anchor: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the anchor failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    AnchorRun::parse(last, preset)
}

/// Our criterion medians for `preset`'s steps, from one `cargo bench` run.
fn run_ours(preset: Preset, criterion_dir: &Path) -> Result<BTreeMap<Step, f64>, String> {
    let ids: Vec<String> = preset.steps().iter().map(|s| s.bench_id(preset)).collect();
    let filter = format!("^({})$", ids.join("|"));
    eprintln!("bench-track: ours: {filter}");
    let started = std::time::SystemTime::now();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["bench", "-p", "hidden-rules", "--bench", "empirical", "--"])
        .args([filter.as_str(), "--noplot"])
        .status()
        .map_err(|e| format!("cannot start cargo bench: {e}"))?;
    if !status.success() {
        return Err(format!("cargo bench failed ({status})"));
    }
    let found = bench_track::read_criterion_since(criterion_dir, Some(started))?;
    preset
        .steps()
        .iter()
        .map(|&step| {
            let id = step.bench_id(preset);
            found
                .iter()
                .find(|m| m.id == id)
                .map(|m| (step, m.median_s * 1e3))
                .ok_or_else(|| format!("cargo bench left no result for {id}"))
        })
        .collect()
}

/// Measure a sitting: per preset, the anchor, then `rounds` times ours and the anchor. Both
/// sides get `threads` threads (set here for the children).
pub fn measure(
    cmd: &str,
    rounds: usize,
    threads: usize,
    criterion_dir: &Path,
) -> Result<Sitting, String> {
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    std::env::set_var("OMP_NUM_THREADS", threads.to_string());
    let mut presets = Vec::new();
    for preset in Preset::ALL {
        let mut anchor = vec![run_anchor(cmd, preset, threads)?];
        let mut ours = Vec::new();
        for _ in 0..rounds {
            ours.push(run_ours(preset, criterion_dir)?);
            anchor.push(run_anchor(cmd, preset, threads)?);
        }
        presets.push(PresetSitting {
            preset,
            anchor,
            ours,
        });
    }
    Ok(Sitting {
        commit: bench_track::git_commit(),
        date: bench_track::utc_now(),
        machine: bench_track::machine(),
        threads,
        presets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sitting() -> Sitting {
        let run = |t, s| AnchorRun {
            train_ms: t,
            sample_ms: s,
        };
        Sitting {
            commit: "abc".into(),
            date: "2026-01-01T00:00:00Z".into(),
            machine: Machine {
                cores: 2,
                cpu_model: "Test CPU".into(),
            },
            threads: 2,
            presets: vec![PresetSitting {
                preset: Preset::Cpu,
                anchor: vec![run(50.0, 10.0), run(40.0, 20.0)],
                ours: vec![BTreeMap::from([(Step::Train, 100.0), (Step::Sample, 30.0)])],
            }],
        }
    }

    #[test]
    fn parses_the_twin_line_and_refuses_others() {
        let r = AnchorRun::parse("cpu 1542419 53.9 13.4", Preset::Cpu).unwrap();
        assert_eq!((r.train_ms, r.sample_ms), (53.9, 13.4));
        assert!(AnchorRun::parse("paper 1 2 3", Preset::Cpu).is_err());
        assert!(AnchorRun::parse("cpu 1 2", Preset::Cpu).is_err());
        assert!(AnchorRun::parse("cpu 1 -2 3", Preset::Cpu).is_err());
        assert!(AnchorRun::parse("cpu 1 nan 3", Preset::Cpu).is_err());
    }

    #[test]
    fn ratios_are_against_the_runs_either_side() {
        let s = sitting();
        let p = &s.presets[0];
        assert_eq!(ratio_range(p, Step::Train, 0), Some((2.0, 2.5)));
        assert_eq!(ratio_range(p, Step::Sample, 0), Some((1.5, 3.0)));
        assert_eq!(ratio_range(p, Step::Train, 1), None);
        let t = render(&s);
        assert!(
            t.contains("| `cpu` train step | 100.0 ms | 50.0 ms, 40.0 ms | 2.00-2.50x |"),
            "{t}"
        );
        assert!(
            t.contains("| `cpu` sampling forward | 30.0 ms | 10.0 ms, 20.0 ms | 1.50-3.00x |"),
            "{t}"
        );
    }
}
