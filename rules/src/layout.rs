//! The layout of a run folder, named once for every crate that writes or reads one (`empirical`
//! writes them; `bridge`, `plots` and `table2` read them):
//!
//! | path | what |
//! |---|---|
//! | `config.toml` | the resolved run config |
//! | `run.json` | what produced the run |
//! | `data/` | the generated training set |
//! | `checkpoints/step-NNNNNNNNN.ckpt` | training checkpoints |
//! | `metrics.csv` | the training log |
//! | `samples/` (`000000.png`..., `samples.npy`), `samples_grid.png` | samples and their preview |
//! | `eval/results.json`, `eval/per_image.csv` | the evaluator's report on the samples |
//! | `guided/`, `filtered/` | the same sample and eval folders for guided and filtered samples |
//! | `curve.json`, `curve.csv`, `curve/epoch-EEEEE/` | a training curve and its milestones' samples and reports |
use std::path::{Path, PathBuf};

/// The evaluator's report inside a run folder (or inside its `guided/` / `filtered/` folder).
pub const RESULTS: &str = "eval/results.json";

/// The paths of one run folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLayout {
    pub root: PathBuf,
}

impl RunLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunLayout { root: root.into() }
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn run_info(&self) -> PathBuf {
        self.root.join("run.json")
    }
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    pub fn samples(&self) -> PathBuf {
        self.root.join("samples")
    }
    pub fn eval(&self) -> PathBuf {
        self.root.join("eval")
    }
    /// `eval/results.json`.
    pub fn results(&self) -> PathBuf {
        self.root.join(RESULTS)
    }
    /// The guided samples' folder (samples and eval, laid out as a run's).
    pub fn guided(&self) -> RunLayout {
        RunLayout::new(self.root.join("guided"))
    }
    /// The filtered samples' folder (samples and eval, laid out as a run's).
    pub fn filtered(&self) -> RunLayout {
        RunLayout::new(self.root.join("filtered"))
    }
    /// `curve.json`: a training curve ([`crate::curve::Curve`]).
    pub fn curve(&self) -> PathBuf {
        self.root.join("curve.json")
    }
    /// `curve.csv`: the same curve, one row per milestone.
    pub fn curve_csv(&self) -> PathBuf {
        self.root.join("curve.csv")
    }
    /// `curve/epoch-EEEEE/`: one milestone's samples and report.
    pub fn milestone(&self, epoch: u64) -> PathBuf {
        self.root.join("curve").join(format!("epoch-{epoch:05}"))
    }
    /// Whether `dir` holds an evaluated run (`eval/results.json`).
    pub fn is_evaluated(dir: &Path) -> bool {
        dir.join(RESULTS).is_file()
    }
}
