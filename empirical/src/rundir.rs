//! Run directory layout: `config.toml`, `run.json`, `data/`,
//! `checkpoints/`, `metrics.csv`, `samples/`, `eval/`. All files are written atomically.
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::config::{Preset, RunConfig};
use crate::error::{Error, Result};
use empirical_rules::{RunLayout, Task};

/// Write `bytes` to `path` atomically: a hidden temporary file in the same directory
/// (`.<name>.<random>.tmp`), synced, then renamed over `path`. The file gets the mode a plain
/// `File::create` gets (`0o666` less the umask): the mode is passed to `open(2)`, which applies
/// the umask, instead of the temporary file's usual `0o600`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    hidden_rules_core::fsio::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}

/// `run.json`: what produced the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    pub task: Task,
    pub preset: Preset,
    pub seed: u64,
    pub backend: String,
    pub empirical_version: String,
    pub burn_version: String,
    pub parameters: usize,
    /// The command that created the run.
    pub command: String,
    /// The commands that continued it, oldest first, a command repeated in a row kept once
    /// (absent in runs never resumed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<String>,
}

impl RunInfo {
    /// The record of a run of `cfg` on `backend` with a model of `parameters` parameters.
    pub fn new(cfg: &RunConfig, backend: &str, parameters: usize, command: &str) -> Self {
        RunInfo {
            task: cfg.task,
            preset: cfg.preset,
            seed: cfg.seed,
            backend: backend.into(),
            empirical_version: env!("CARGO_PKG_VERSION").into(),
            burn_version: "0.21.0".into(),
            parameters,
            command: command.into(),
            resumed: Vec::new(),
        }
    }

    /// This record of a continuing command, with the creating command and earlier resumes of
    /// `previous` (the run's `run.json` before, if readable) kept.
    pub fn resumed_from(self, previous: Option<RunInfo>) -> Self {
        match previous {
            Some(p) => {
                let mut resumed = p.resumed;
                let repeated = resumed.last().unwrap_or(&p.command) == &self.command;
                if !repeated {
                    resumed.push(self.command.clone());
                }
                RunInfo {
                    command: p.command,
                    resumed,
                    ..self
                }
            }
            None => self,
        }
    }
}

/// What [`RunDir::create_new`] found in the folder before it made the run directory.
#[derive(Clone, Debug)]
pub struct NewRun {
    root_existed: bool,
    existing: Vec<std::ffi::OsString>,
}

impl NewRun {
    /// Take back a failed fresh start: when `run` holds no checkpoint, remove the folder if this
    /// start created it, else the entries this start added to it. Returns whether anything was
    /// removed; a run with a checkpoint is kept (it can be resumed).
    pub fn undo(&self, run: &RunDir) -> bool {
        if run.latest_checkpoint().is_some() {
            return false;
        }
        if !self.root_existed {
            return std::fs::remove_dir_all(&run.root).is_ok();
        }
        let mut removed = false;
        for e in std::fs::read_dir(&run.root).into_iter().flatten().flatten() {
            if self.existing.contains(&e.file_name()) {
                continue;
            }
            let p = e.path();
            let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            removed |= r.is_ok();
        }
        removed
    }
}

/// One run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// Create (or reuse) `root` and its sub-directories.
    pub fn create(root: &Path) -> Result<Self> {
        for sub in ["", "checkpoints", "data", "samples", "eval"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        Ok(RunDir {
            root: root.to_path_buf(),
        })
    }
    /// Create `root` and its sub-directories for a fresh run, recording what existed before so
    /// that a start that fails before its first checkpoint can take back what it made
    /// ([`NewRun::undo`]).
    pub fn create_new(root: &Path) -> Result<(Self, NewRun)> {
        let root_existed = root.exists();
        let existing = if root_existed {
            std::fs::read_dir(root)
                .map_err(|e| Error::io(root, e))?
                .flatten()
                .map(|e| e.file_name())
                .collect()
        } else {
            Vec::new()
        };
        let run = Self::create(root)?;
        Ok((
            run,
            NewRun {
                root_existed,
                existing,
            },
        ))
    }
    /// Open an existing run directory (must contain `config.toml`).
    pub fn open(root: &Path) -> Result<Self> {
        if !RunLayout::new(root).config().is_file() {
            return Err(Error::Other(format!(
                "{} is not a run directory (no config.toml)",
                root.display()
            )));
        }
        Self::create(root)
    }
    /// The folder's paths ([`empirical_rules::layout`]).
    pub fn layout(&self) -> RunLayout {
        RunLayout::new(&self.root)
    }
    pub fn config_path(&self) -> PathBuf {
        self.layout().config()
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.layout().checkpoints()
    }
    pub fn metrics_path(&self) -> PathBuf {
        self.layout().metrics()
    }
    pub fn samples(&self) -> PathBuf {
        self.layout().samples()
    }
    pub fn eval(&self) -> PathBuf {
        self.layout().eval()
    }
    pub fn data(&self) -> PathBuf {
        self.layout().data()
    }
    /// Write the resolved config.
    pub fn write_config(&self, cfg: &RunConfig) -> Result<()> {
        write_atomic(&self.config_path(), cfg.to_toml().as_bytes())
    }
    /// Read the resolved config.
    pub fn read_config(&self) -> Result<RunConfig> {
        let p = self.config_path();
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        RunConfig::from_resolved_toml(&text, &p.display().to_string())
    }
    /// Read `run.json`, if there is a readable one.
    pub fn read_info(&self) -> Option<RunInfo> {
        let text = std::fs::read_to_string(self.layout().run_info()).ok()?;
        serde_json::from_str(&text).ok()
    }
    /// Write `run.json`.
    pub fn write_info(&self, info: &RunInfo) -> Result<()> {
        let s = serde_json::to_vec_pretty(info).expect("serialises");
        write_atomic(&self.layout().run_info(), &s)
    }
    /// Path of the checkpoint after `step` steps.
    pub fn checkpoint_path(&self, step: u64) -> PathBuf {
        self.checkpoints().join(format!("step-{step:09}.ckpt"))
    }
    /// All checkpoints as (step, path), ascending.
    pub fn list_checkpoints(&self) -> Vec<(u64, PathBuf)> {
        let mut v: Vec<(u64, PathBuf)> = std::fs::read_dir(self.checkpoints())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let step = name
                    .strip_prefix("step-")?
                    .strip_suffix(".ckpt")?
                    .parse()
                    .ok()?;
                Some((step, e.path()))
            })
            .collect();
        v.sort();
        v
    }
    /// The newest checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Option<(u64, PathBuf)> {
        self.list_checkpoints().pop()
    }
    /// Delete all but the newest `keep` checkpoints.
    pub fn prune_checkpoints(&self, keep: usize) {
        let list = self.list_checkpoints();
        if list.len() > keep {
            for (_, p) in &list[..list.len() - keep] {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(command: &str) -> RunInfo {
        let cfg = RunConfig::preset(Preset::Tiny, Task::A).expect("tiny preset");
        RunInfo::new(&cfg, "flex (CPU)", 10, command)
    }

    #[test]
    fn a_resume_keeps_the_creating_command_and_lists_the_resumes() {
        let first = info("empirical curve --task A --out r");
        let once = info("resume 1").resumed_from(Some(first));
        assert_eq!(once.command, "empirical curve --task A --out r");
        assert_eq!(once.resumed, vec!["resume 1".to_string()]);
        // a curve continues its run once per milestone: the same command is kept once
        let again = info("resume 1").resumed_from(Some(once.clone()));
        assert_eq!(again.resumed, once.resumed);
        let same = info("c").resumed_from(Some(info("c")));
        assert!(same.resumed.is_empty());
        let twice = info("resume 2").resumed_from(Some(once));
        assert_eq!(twice.command, "empirical curve --task A --out r");
        assert_eq!(
            twice.resumed,
            vec!["resume 1".to_string(), "resume 2".to_string()]
        );
        let lost = info("resume 3").resumed_from(None);
        assert_eq!(lost.command, "resume 3");
        assert!(lost.resumed.is_empty());
    }

    #[test]
    fn a_run_never_resumed_has_no_resumed_field() {
        let s = serde_json::to_string(&info("c")).expect("serialises");
        assert!(!s.contains("resumed"), "{s}");
        let back: RunInfo = serde_json::from_str(&s).expect("reads back");
        assert!(back.resumed.is_empty());
    }
}
