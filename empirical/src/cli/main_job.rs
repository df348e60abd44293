//! `empirical run` (the default command): the suite's main job, per task: data, shipped
//! checkpoint or training, samples, evaluation, and the Table 1 row.
use clap::{Args, Parser};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{command_line, CommonArgs};
use crate::backend::{with_backend, DeviceKind};
use crate::config::{Preset, RunConfig, TaskList};
use crate::error::{Error, Result};
use crate::pipeline::{self, RunTaskOptions, TaskRow};
use crate::rundir::write_atomic;
use empirical_rules::Task;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Task(s): A, B, C, D, a comma list, or all [default: the config file's `task`, else all].
    /// Given here, it wins over the config file's `task`.
    #[arg(long)]
    pub task: Option<TaskList>,
    /// Preset [default: the config file's `preset`, else cpu]. Given here, it wins over the
    /// config file's `preset`.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// TOML file overlaid on the preset for every task (unknown keys are rejected).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory; one run directory per task below it.
    #[arg(long, default_value = "runs/main")]
    pub out: PathBuf,
    /// Train from scratch (resuming from <out>/<task>/checkpoints) instead of loading shipped checkpoints.
    #[arg(long)]
    pub retrain: bool,
    /// Where the shipped checkpoints <task>.ckpt are.
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Override sample.n.
    #[arg(long)]
    pub n: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    #[arg(long, short)]
    pub quiet: bool,
    /// Also store the rows in docs/main-job.json beside this README and write their table
    /// between its main-job markers.
    #[arg(long, value_name = "README")]
    pub readme: Option<PathBuf>,
}

impl RunArgs {
    pub(super) fn parse_default() -> Self {
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            r: RunArgs,
        }
        W::parse_from(["empirical"]).r
    }
}

pub(super) fn cmd_run(a: &RunArgs) -> Result<()> {
    let file_task = match &a.config {
        Some(p) => RunConfig::file_task_and_preset(p)?.0,
        None => None,
    };
    let tasks = match (&a.task, file_task) {
        (Some(list), _) => list.0.clone(),
        (None, Some(t)) => vec![t],
        (None, None) => Task::ALL.to_vec(),
    };
    let common = CommonArgs {
        task: None,
        preset: a.preset,
        config: a.config.clone(),
        seed: a.seed,
        device: a.device,
        quiet: a.quiet,
    };
    if let Some(readme) = &a.readme {
        crate::readme_table::check(readme)?;
    }
    // validate every task's config before any work
    let mut cfgs = Vec::new();
    for &t in &tasks {
        let mut cfg = common.config_for(Some(t))?;
        if let Some(n) = a.n {
            cfg.sample.n = n;
        }
        cfg.validate()?;
        cfgs.push(cfg);
    }
    crate::backend::probe(a.device)?;
    let t0 = Instant::now();
    let opts = RunTaskOptions {
        retrain: a.retrain,
        checkpoint_dir: a
            .checkpoint_dir
            .clone()
            .unwrap_or_else(pipeline::shipped_checkpoint_dir),
        quiet: a.quiet,
        backend: a.device.name().into(),
        command: command_line(),
    };
    let mut rows: Vec<TaskRow> = Vec::new();
    let mut skipped = Vec::new();
    for cfg in &cfgs {
        let shipped = opts.checkpoint_dir.join(format!("{}.ckpt", cfg.task));
        if !a.retrain && !shipped.is_file() {
            eprintln!(
                "task {}: no checkpoint {} - skipped (train it with `empirical run --task {} --retrain`, \
                 or `empirical train --task {} --preset {}` then `empirical export`)",
                cfg.task,
                shipped.display(),
                cfg.task,
                cfg.task,
                cfg.preset
            );
            skipped.push(cfg.task.to_string());
            continue;
        }
        let root = a.out.join(cfg.task.letter());
        let row = with_backend!(a.device, run_task_cmd(cfg, &root, &opts))?;
        if !a.quiet {
            eprintln!(
                "task {}: {} ({} steps), {:.1} s",
                row.task, row.model_source, row.train_steps, row.seconds
            );
        }
        rows.push(row);
    }
    let mut table = pipeline::format_table(&rows);
    if !skipped.is_empty() {
        table.push_str(&format!(
            "skipped (no shipped checkpoint): {}\n",
            skipped.join(", ")
        ));
    }
    println!("{table}");
    println!(
        "wall time {:.1} s; run directories under {}",
        t0.elapsed().as_secs_f64(),
        a.out.display()
    );
    write_atomic(&a.out.join("table.txt"), table.as_bytes())?;
    write_atomic(
        &a.out.join("table.json"),
        &serde_json::to_vec_pretty(&rows).map_err(|e| Error::Other(e.to_string()))?,
    )?;
    if let Some(readme) = &a.readme {
        crate::readme_table::write(readme, &rows)?;
        println!("wrote the table into {}", readme.display());
    }
    Ok(())
}

fn run_task_cmd<B: burn::tensor::backend::AutodiffBackend>(
    cfg: &RunConfig,
    root: &Path,
    opts: &RunTaskOptions,
    device: &B::Device,
) -> Result<TaskRow> {
    pipeline::run_task::<B>(cfg, root, opts, device)
}
