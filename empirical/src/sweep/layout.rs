//! Where a sweep keeps its files:
//!
//! | path | what |
//! |---|---|
//! | `spec.toml` | the spec as last run |
//! | `points/<id>/` | the point's run directory (`config.toml`, `checkpoints/`, `samples/`, `eval/`...) |
//! | `points/<id>/point.json` | the point's record, written last: the point is done |
//! | `points/<id>/failed.txt` | the error of its last failed attempt |
//! | `points/<id>/log.txt` | what the local executor's child process printed |
//! | `sweep.csv`, `sweep.json` | `sweep collect`'s table |
//! | `slurm/<name>.sbatch`, `slurm/<job>_<index>.out` | `sweep slurm`'s script and the jobs' output |
//!
//! `points/` is a runs folder as `plots sweep --runs` and `table2 --runs` read it.
use std::path::{Path, PathBuf};

/// The paths of one sweep's output folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepLayout {
    pub root: PathBuf,
}

impl SweepLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SweepLayout { root: root.into() }
    }
    /// The default output folder of a sweep named `name`: `runs/sweeps/<name>`.
    pub fn default_root(name: &str) -> PathBuf {
        Path::new("runs").join("sweeps").join(name)
    }
    pub fn spec_copy(&self) -> PathBuf {
        self.root.join("spec.toml")
    }
    pub fn points(&self) -> PathBuf {
        self.root.join("points")
    }
    pub fn point(&self, id: &str) -> PathBuf {
        self.points().join(id)
    }
    pub fn record(&self, id: &str) -> PathBuf {
        self.point(id).join("point.json")
    }
    pub fn failed(&self, id: &str) -> PathBuf {
        self.point(id).join("failed.txt")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.point(id).join("log.txt")
    }
    pub fn csv(&self) -> PathBuf {
        self.root.join("sweep.csv")
    }
    pub fn json(&self) -> PathBuf {
        self.root.join("sweep.json")
    }
    pub fn slurm(&self) -> PathBuf {
        self.root.join("slurm")
    }
    pub fn sbatch_script(&self, name: &str) -> PathBuf {
        self.slurm().join(format!("{name}.sbatch"))
    }
}
