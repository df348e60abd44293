//! `empirical train`: a fresh run, a resumed one, or a warm start (Algorithm 1).
use clap::Args;
use std::path::PathBuf;

use super::{command_line, CommonArgs};
use crate::backend::with_backend;
use crate::config::RunConfig;
use crate::error::Result;
use crate::pipeline::{self, TrainRunOptions};
use crate::rundir::RunDir;

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Run directory [default: runs/train-<task>-<preset>-s<seed>]. A start that fails before
    /// its first checkpoint removes what it created, so the same command can be run again.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its newest checkpoint (uses its config.toml).
    #[arg(long, conflicts_with_all = ["task", "preset", "config", "seed", "out"])]
    pub resume: Option<PathBuf>,
    /// Stop after this many optimiser steps in all (sets train.max_steps). When train.epochs
    /// would end the run sooner, train.epochs is raised to reach N steps (said at the start).
    /// Also when resuming: continue a finished run to N steps.
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Warm start a fresh run from this checkpoint's weights (sets train.init_from).
    #[arg(long, conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// Print the resolved config and exit.
    #[arg(long)]
    pub print_config: bool,
}

pub(super) fn cmd_train(a: &TrainArgs) -> Result<()> {
    if let Some(dir) = &a.resume {
        let run = RunDir::open(dir)?;
        let mut cfg = run.read_config()?;
        if let Some(m) = a.max_steps {
            apply_max_steps(&mut cfg, m);
            cfg.validate()?;
        }
        if a.print_config {
            print!("{}", cfg.to_toml());
            return Ok(());
        }
        crate::backend::probe(a.common.device)?;
        let summary = train_with(a, &cfg, &run)?;
        report_training(&summary);
        return Ok(());
    }
    // a fresh run: check everything before the run directory is made
    let mut cfg = a.common.config_for(None)?;
    if let Some(m) = a.max_steps {
        apply_max_steps(&mut cfg, m);
    }
    if let Some(p) = &a.init {
        cfg.train.init_from = p.display().to_string();
    }
    cfg.validate()?;
    pipeline::check_init_from(&cfg)?;
    if a.print_config {
        print!("{}", cfg.to_toml());
        return Ok(());
    }
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "runs/train-{}-{}-s{}",
            cfg.task, cfg.preset, cfg.seed
        ))
    });
    super::check_fresh_out(&out)?;
    crate::backend::probe(a.common.device)?;
    let (run, created) = RunDir::create_new(&out)?;
    let result = run
        .write_config(&cfg)
        .and_then(|()| train_with(a, &cfg, &run));
    match result {
        Ok(summary) => {
            report_training(&summary);
            Ok(())
        }
        Err(e) => {
            if created.undo(&run) {
                eprintln!(
                    "note: removed what this start made in {} (no checkpoint was written), \
                     so the same command can be run again",
                    out.display()
                );
            }
            Err(e)
        }
    }
}

/// `--max-steps N`: stop at N steps, raising train.epochs (and saying so) when they end sooner.
fn apply_max_steps(cfg: &mut RunConfig, m: u64) {
    if let Some(old) = crate::train::set_max_steps(cfg, m) {
        eprintln!(
            "--max-steps {m}: train.epochs raised from {old} to {} (of {} steps each) so that \
             the run reaches {m} steps",
            cfg.train.epochs,
            crate::train::steps_per_epoch(cfg.data.n_train, cfg.train.batch_size)
        );
    }
}

fn train_with(a: &TrainArgs, cfg: &RunConfig, run: &RunDir) -> Result<crate::train::TrainSummary> {
    let opts = TrainRunOptions {
        quiet: a.common.quiet,
        stop_at: None,
        command: command_line(),
        backend: a.common.device.name().into(),
    };
    with_backend!(a.common.device, train_cmd(cfg, run, &opts))
}

fn report_training(summary: &crate::train::TrainSummary) {
    let loss = match summary.last_loss {
        Some((step, l)) if summary.new_steps > 0 => format!("last loss {l:.5} (step {step})"),
        Some((step, l)) => format!("last logged loss {l:.5} (step {step}, from metrics.csv)"),
        None => "no loss logged".to_string(),
    };
    let ckpt = summary
        .last_checkpoint
        .as_ref()
        .map_or("-".into(), |p| p.display().to_string());
    if summary.new_steps == 0 {
        println!(
            "no new steps: the run already has {} / {} steps (give --max-steps N to continue \
             it to N); {loss}; newest checkpoint {ckpt}",
            summary.steps, summary.total_steps
        );
    } else {
        println!(
            "trained {} steps to {} / {} in {:.1} s; {loss}; newest checkpoint {ckpt}",
            summary.new_steps, summary.steps, summary.total_steps, summary.seconds
        );
    }
}

fn train_cmd<B: burn::tensor::backend::AutodiffBackend>(
    cfg: &RunConfig,
    run: &RunDir,
    opts: &TrainRunOptions,
    device: &B::Device,
) -> Result<crate::train::TrainSummary> {
    pipeline::train_run::<B>(cfg, run, opts, device).map(|(_, s)| s)
}
