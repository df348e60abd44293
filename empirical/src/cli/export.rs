//! `empirical export` (a run's EMA weights as a weights-only checkpoint) and `empirical params`
//! (the presets' parameter counts).
use clap::Args;
use std::path::PathBuf;

use crate::checkpoint::Checkpoint;
use crate::config::{Preset, RunConfig};
use crate::error::{Error, Result};
use crate::rundir::RunDir;
use empirical_rules::Task;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory (its newest checkpoint) or a checkpoint file.
    #[arg(long)]
    pub from: PathBuf,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

pub(super) fn cmd_export(a: &ExportArgs) -> Result<()> {
    let path = if a.from.is_dir() {
        RunDir::open(&a.from)?
            .latest_checkpoint()
            .map(|(_, p)| p)
            .ok_or_else(|| Error::Other(format!("{} has no checkpoint", a.from.display())))?
    } else {
        a.from.clone()
    };
    let ckpt = Checkpoint::load(&path)?;
    let w = ckpt.weights_only("ema").ok_or_else(|| Error::Checkpoint {
        path: path.clone(),
        message: "no `ema` group".into(),
    })?;
    w.save(&a.out)?;
    println!(
        "exported EMA weights of {} (step {}) -> {}",
        path.display(),
        w.header.step,
        a.out.display()
    );
    Ok(())
}

pub(super) fn cmd_params() -> Result<()> {
    for p in Preset::ALL {
        let cfg = RunConfig::preset(p, Task::A)?;
        println!(
            "{:>6}: {:>10} parameters ({}x{} images)",
            p.name(),
            crate::model::param_count(&cfg.model, cfg.image_size),
            cfg.image_size,
            cfg.image_size
        );
    }
    Ok(())
}
