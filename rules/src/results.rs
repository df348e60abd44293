//! The evaluator's reports read back from run folders: one [`ExperimentResult`] per run and
//! sampler (plain DDPM, guided, filtered), the input of the bridge table and of Table 2.
//!
//! Each result carries the Eq. 4 Error of the task's fine rule as the evaluator computed it
//! ([`crate::eval`], default trimming): `x`, `y` are the task's fine-rule quantities divided by
//! the image side (Task A: `l1·h2/S²` against `l2·h1/S²`; B: products of positions and heights;
//! C: radii; D: side lengths) and the truth line is `y = k·x` with the task's target slope `k`.
use std::path::{Path, PathBuf};

use hidden_rules_core::eq4::Eq4Error;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::EvalReport;
use crate::layout::RESULTS;
use crate::task::Task;

/// Which sampler produced the images (Table 2's columns; serialised under Table 2's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Plain DDPM sampling: `<run>/eval/results.json`.
    #[serde(rename = "DDPM")]
    Ddpm,
    /// Classifier-guided sampling: `<run>/guided/eval/results.json` (or `guided/results.json`).
    Guidance,
    /// Classifier-filtered samples: `<run>/filtered/eval/results.json` (or `filtered/results.json`).
    Filtering,
}

impl Method {
    /// All three, in Table 2's order.
    pub const ALL: [Method; 3] = [Method::Ddpm, Method::Guidance, Method::Filtering];

    /// Table 2's column name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ddpm => "DDPM",
            Method::Guidance => "Guidance",
            Method::Filtering => "Filtering",
        }
    }

    /// Column index in Table 2 (DDPM 0, Guidance 1, Filtering 2).
    pub fn column(self) -> usize {
        match self {
            Method::Ddpm => 0,
            Method::Guidance => 1,
            Method::Filtering => 2,
        }
    }

    /// Candidate locations of the results file inside a run directory: the run layout's
    /// ([`crate::layout::RunLayout`]) first, then the flat layout of older runs.
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            Method::Ddpm => &[RESULTS],
            Method::Guidance => &["guided/eval/results.json", "guided/results.json"],
            Method::Filtering => &["filtered/eval/results.json", "filtered/results.json"],
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields of one `results.json` that the tables use.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResult {
    pub task: Task,
    /// Sampler.
    pub method: Method,
    /// Eq. 4 under the evaluator's default trimming (None: too few valid images).
    pub eq4: Option<Eq4Error>,
    /// Images evaluated.
    pub n: usize,
    /// Valid images.
    pub n_valid: usize,
    /// Name of the evaluator's default trimming variant.
    pub default_trim: String,
    /// The results file.
    pub source: PathBuf,
}

/// Read one `results.json` (an [`EvalReport`]).
pub fn read_results(path: &Path, method: Method) -> Result<ExperimentResult> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let r: EvalReport = serde_json::from_str(&text).map_err(|e| Error::Report {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(ExperimentResult {
        task: r.task,
        method,
        eq4: r.summary.eq4,
        n: r.summary.n,
        n_valid: r.summary.n_valid,
        default_trim: r.summary.default_trim,
        source: path.to_path_buf(),
    })
}

/// What scanning a runs folder found: readable results and unreadable files.
#[derive(Debug, Default)]
pub struct Scan {
    /// Readable results, sorted by task, method, path.
    pub results: Vec<ExperimentResult>,
    /// Files that exist but could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Scan every sub-directory of `runs` (one level; a missing folder is an empty scan, not an
/// error) for the three samplers' results files.
pub fn scan_runs(runs: &Path) -> Scan {
    let mut scan = Scan::default();
    let Ok(entries) = std::fs::read_dir(runs) else {
        return scan;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        for method in Method::ALL {
            if let Some(path) = method
                .candidates()
                .iter()
                .map(|c| dir.join(c))
                .find(|p| p.is_file())
            {
                match read_results(&path, method) {
                    Ok(r) => scan.results.push(r),
                    Err(e) => scan.unreadable.push((path, e.to_string())),
                }
            }
        }
    }
    scan.results
        .sort_by(|a, b| (a.task, a.method, &a.source).cmp(&(b.task, b.method, &b.source)));
    scan
}
