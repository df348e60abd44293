//! The experiment side of the bridge table: Eq. 4 results of the DDPM runs,
//! read from run directories (`<runs>/<name>/eval/results.json`, an
//! [`empirical_rules::EvalReport`], read with the evaluator's own types).
//!
//! Mapping onto Eq. 4 (done by the evaluator with [`crate::eq4_error`]):
//! `x`, `y` are the task's fine-rule quantities (Task A: `x = l1·h2/S²`,
//! `y = l2·h1/S²`; B: products of positions and heights; C: radii; D: side
//! lengths; all divided by the image side `S`, so in `[0, 1]`), the truth
//! line is `y = k·x` with the task's target slope `k` (1, 1, √2, 1.5).

use std::path::{Path, PathBuf};

use crate::error::Eq4Error;
use crate::BridgeError;

/// Which sampler produced the images (Table 2's columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// Plain DDPM sampling: `<run>/eval/results.json`.
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

    /// Candidate locations of the results file inside a run directory.
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            // the run layout's `eval/results.json`, `guided/eval/...`, `filtered/eval/...`
            // (`empirical_rules::layout`), and the flat layout of older runs
            Method::Ddpm => &[empirical_rules::layout::RESULTS],
            Method::Guidance => &["guided/eval/results.json", "guided/results.json"],
            Method::Filtering => &["filtered/eval/results.json", "filtered/results.json"],
        }
    }
}

/// The fields of one `results.json` the bridge uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResult {
    /// Task name as written by the evaluator ("A".."D").
    pub task: String,
    /// Sampler.
    pub method: Method,
    /// Eq. 4 under the evaluator's default trimming (None: too few valid images).
    pub eq4: Option<Eq4Error>,
    /// Images evaluated.
    pub n: Option<usize>,
    /// Valid images.
    pub n_valid: Option<usize>,
    /// Name of the evaluator's default trimming variant.
    pub default_trim: Option<String>,
    /// The results file.
    pub source: PathBuf,
}

/// Read one `results.json`.
pub fn read_results(path: &Path, method: Method) -> Result<ExperimentResult, BridgeError> {
    let text = std::fs::read_to_string(path).map_err(|e| BridgeError::io(path, e))?;
    let r: empirical_rules::EvalReport =
        serde_json::from_str(&text).map_err(|e| BridgeError::Parse {
            path: path.to_path_buf(),
            what: e.to_string(),
        })?;
    Ok(ExperimentResult {
        task: r.task.letter().to_string(),
        method,
        eq4: r.summary.eq4,
        n: Some(r.summary.n),
        n_valid: Some(r.summary.n_valid),
        default_trim: Some(r.summary.default_trim),
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

/// Scan every sub-directory of `runs` (one level; a missing folder is an
/// empty scan, not an error) for the three methods' results files.
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
    scan.results.sort_by(|a, b| {
        (a.task.as_str(), a.method, &a.source).cmp(&(b.task.as_str(), b.method, &b.source))
    });
    scan
}
