//! The `empirical` command line: `train`, `sample`, `eval`, `data`, `run` (the default, the
//! suite's main job), `export`, `params`, `bench`.
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backend::DeviceKind;
use crate::checkpoint::Checkpoint;
use crate::config::{RunConfig, SampleMethod, TASKS};
use crate::error::{Error, Result};
use crate::pipeline::{self, RunTaskOptions, TaskRow, TrainRunOptions};
use crate::rundir::{write_atomic, RunDir};

/// Pixel-space DDPMs on the paper's Tasks A-D (Sec. 3.2, App. D.1).
#[derive(Debug, Parser)]
#[command(name = "empirical", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a DDPM (fresh, or `--resume RUN_DIR`).
    Train(TrainArgs),
    /// Sample from a run directory or checkpoint file into PNGs + samples.npy.
    Sample(SampleArgs),
    /// Evaluate images against a task's rules (from empirical-rules).
    Eval(empirical_rules::cli::EvalArgs),
    /// Generate a task's data set (from empirical-rules).
    Data(empirical_rules::cli::DataArgs),
    /// Data, train or load, sample, evaluate and print the tables, per task (the default command).
    Run(RunArgs),
    /// Write a weights-only (EMA) checkpoint of a run, e.g. to ship as empirical/checkpoints/<task>.ckpt.
    Export(ExportArgs),
    /// Print the parameter counts of the presets' U-Nets.
    Params,
    /// Time training and sampling steps of a preset's U-Net (quick; criterion benches are the reference).
    Bench(BenchArgs),
}

/// Options shared by the commands that build a config.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Task: A, B, C or D.
    #[arg(long, default_value = "A")]
    pub task: String,
    /// Preset: paper, cpu or tiny.
    #[arg(long, default_value = "cpu")]
    pub preset: String,
    /// TOML file overlaid on the preset (unknown keys are rejected).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Master seed (overrides the config's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

impl CommonArgs {
    /// The validated config for `task`.
    pub fn config_for(&self, task: &str) -> Result<RunConfig> {
        let mut cfg = match &self.config {
            Some(p) => RunConfig::from_file(&self.preset, task, p)?,
            None => RunConfig::preset(&self.preset, task)?,
        };
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Run directory [default: runs/train-<task>-<preset>-s<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its newest checkpoint (uses its config.toml).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Override train.max_steps.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Print the resolved config and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A run directory (uses its newest checkpoint) ...
    #[arg(long, conflicts_with = "checkpoint")]
    pub run: Option<PathBuf>,
    /// ... or a checkpoint file.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Number of samples [default: the config's sample.n].
    #[arg(long)]
    pub n: Option<usize>,
    /// Sampler [default: the config's].
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// DDIM steps [default: the config's].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Batch size [default: the config's].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Output folder [default: <run>/samples or ./samples].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    Ddpm,
    Ddim,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Task(s): A, B, C, D or all.
    #[arg(long, default_value = "all")]
    pub task: String,
    /// Preset: paper, cpu or tiny.
    #[arg(long, default_value = "cpu")]
    pub preset: String,
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
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory (its newest checkpoint) or a checkpoint file.
    #[arg(long)]
    pub from: PathBuf,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(long, default_value = "cpu")]
    pub preset: String,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    #[arg(long, default_value_t = 64)]
    pub sample_batch: usize,
    /// TOML overlay on the preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

macro_rules! with_backend {
    ($kind:expr, $f:ident ( $($a:expr),* )) => {
        match $kind {
            DeviceKind::Cpu => $f::<crate::backend::CpuAutodiff>($($a,)* &Default::default()),
            DeviceKind::Cuda => {
                crate::backend::probe_cuda()?;
                #[cfg(feature = "cuda")]
                {
                    $f::<crate::backend::CudaAutodiff>($($a,)* &Default::default())
                }
                #[cfg(not(feature = "cuda"))]
                {
                    unreachable!("probe_cuda fails without the cuda feature")
                }
            }
        }
    };
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            eprintln!("empirical: no command given - running the main job (`empirical run`: all tasks, cpu preset, shipped checkpoints)");
            let args = RunArgs::parse_default();
            cmd_run(&args)
        }
        Some(Command::Train(a)) => cmd_train(&a),
        Some(Command::Sample(a)) => cmd_sample(&a),
        Some(Command::Eval(a)) => {
            empirical_rules::cli::run_eval(&a).map_err(|e| Error::Rules(e.to_string()))
        }
        Some(Command::Data(a)) => {
            empirical_rules::cli::run_data(&a).map_err(|e| Error::Rules(e.to_string()))
        }
        Some(Command::Run(a)) => cmd_run(&a),
        Some(Command::Export(a)) => cmd_export(&a),
        Some(Command::Params) => cmd_params(),
        Some(Command::Bench(a)) => cmd_bench(&a),
    }
}

impl RunArgs {
    fn parse_default() -> Self {
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            r: RunArgs,
        }
        W::parse_from(["empirical"]).r
    }
}

fn cmd_train(a: &TrainArgs) -> Result<()> {
    let (cfg, run) = if let Some(dir) = &a.resume {
        let run = RunDir::open(dir)?;
        let cfg = run.read_config()?;
        (cfg, run)
    } else {
        let mut cfg = a.common.config_for(&a.common.task)?;
        if let Some(m) = a.max_steps {
            cfg.train.max_steps = m;
        }
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
        if out.join("config.toml").exists() {
            return Err(Error::Other(format!(
                "{} already holds a run; use --resume {} to continue it",
                out.display(),
                out.display()
            )));
        }
        let run = RunDir::create(&out)?;
        run.write_config(&cfg)?;
        (cfg, run)
    };
    let opts = TrainRunOptions {
        quiet: a.common.quiet,
        stop_at: None,
        command: command_line(),
        backend: a.common.device.name().into(),
    };
    let summary = with_backend!(a.common.device, train_cmd(&cfg, &run, &opts))?;
    println!(
        "trained {} / {} steps in {:.1} s (this call); last loss {:.5}; newest checkpoint {}",
        summary.steps,
        summary.total_steps,
        summary.seconds,
        summary.last_loss,
        summary
            .last_checkpoint
            .map_or("-".into(), |p| p.display().to_string())
    );
    Ok(())
}

fn train_cmd<B: burn::tensor::backend::AutodiffBackend>(
    cfg: &RunConfig,
    run: &RunDir,
    opts: &TrainRunOptions,
    device: &B::Device,
) -> Result<crate::train::TrainSummary> {
    pipeline::train_run::<B>(cfg, run, opts, device).map(|(_, s)| s)
}

fn cmd_sample(a: &SampleArgs) -> Result<()> {
    let (ckpt, default_out) = match (&a.run, &a.checkpoint) {
        (Some(run), _) => {
            let r = RunDir::open(run)?;
            let (_, p) = r.latest_checkpoint().ok_or_else(|| {
                Error::Other(format!("run {} has no checkpoint yet", run.display()))
            })?;
            (p, r.samples())
        }
        (None, Some(p)) => (p.clone(), PathBuf::from("samples")),
        (None, None) => {
            return Err(Error::Other(
                "give --run RUN_DIR or --checkpoint FILE".into(),
            ))
        }
    };
    let out = a.out.clone().unwrap_or(default_out);
    with_backend!(a.device, sample_cmd(a, &ckpt, &out))
}

fn sample_cmd<B: burn::tensor::backend::AutodiffBackend>(
    a: &SampleArgs,
    ckpt: &Path,
    out: &Path,
    device: &B::Device,
) -> Result<()> {
    let (mut cfg, model, step) =
        pipeline::model_from_checkpoint::<B::InnerBackend>(ckpt, a.raw, device)?;
    if let Some(m) = a.method {
        cfg.sample.method = match m {
            MethodArg::Ddpm => SampleMethod::Ddpm,
            MethodArg::Ddim => SampleMethod::Ddim,
        };
    }
    if let Some(s) = a.steps {
        cfg.sample.ddim_steps = s;
    }
    if let Some(n) = a.n {
        cfg.sample.n = n;
    }
    if let Some(b) = a.batch {
        cfg.sample.batch_size = b;
    }
    cfg.validate()?;
    let t0 = Instant::now();
    let opts = pipeline::sampler_options(&cfg);
    let images = pipeline::sample_images(
        &model,
        &cfg,
        cfg.sample.n,
        cfg.sample.batch_size,
        &opts,
        a.seed,
        a.quiet,
        device,
    );
    pipeline::write_samples(&images, out)?;
    pipeline::write_grid(&images, 8, &out.join("grid.png"))?;
    println!(
        "{} samples of task {} (checkpoint step {step}, {:?}) in {:.1} s -> {}",
        images.len(),
        cfg.task,
        cfg.sample.method,
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn cmd_run(a: &RunArgs) -> Result<()> {
    let tasks: Vec<String> = if a.task.eq_ignore_ascii_case("all") {
        TASKS.iter().map(|s| s.to_string()).collect()
    } else {
        a.task
            .split(',')
            .map(crate::config::normalise_task)
            .collect::<Result<_>>()?
    };
    let common = CommonArgs {
        task: tasks[0].clone(),
        preset: a.preset.clone(),
        config: a.config.clone(),
        seed: a.seed,
        device: a.device,
        quiet: a.quiet,
    };
    // validate every task's config before any work
    let mut cfgs = Vec::new();
    for t in &tasks {
        let mut cfg = common.config_for(t)?;
        if let Some(n) = a.n {
            cfg.sample.n = n;
        }
        cfg.validate()?;
        cfgs.push(cfg);
    }
    if a.device == DeviceKind::Cuda {
        crate::backend::probe_cuda()?;
    }
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
            skipped.push(cfg.task.clone());
            continue;
        }
        let root = a.out.join(&cfg.task);
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

fn cmd_export(a: &ExportArgs) -> Result<()> {
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

fn cmd_params() -> Result<()> {
    for p in crate::config::PRESETS {
        let cfg = RunConfig::preset(p, "A")?;
        println!(
            "{p:>6}: {:>10} parameters ({}x{} images)",
            crate::bench_support::param_count(&cfg.model, cfg.image_size),
            cfg.image_size,
            cfg.image_size
        );
    }
    Ok(())
}

fn cmd_bench(a: &BenchArgs) -> Result<()> {
    use crate::bench_support::{bench_config, SampleBench, TrainBench};
    let mut cfg = match &a.config {
        Some(p) => RunConfig::from_file(&a.preset, "A", p)?,
        None => bench_config(&a.preset, a.batch),
    };
    cfg.train.batch_size = a.batch;
    let mut tb = TrainBench::new(&cfg);
    println!("preset {}: {} parameters", a.preset, tb.num_params());
    tb.step(); // warm-up
    let t0 = Instant::now();
    for _ in 0..a.steps {
        tb.step();
    }
    let dt = t0.elapsed().as_secs_f64() / a.steps as f64;
    println!(
        "train step (batch {}): {:.3} s/step, {:.1} images/s",
        a.batch,
        dt,
        a.batch as f64 / dt
    );
    let mut sb = SampleBench::new(&cfg, a.sample_batch);
    let _ = sb.step();
    let t0 = Instant::now();
    for _ in 0..a.steps {
        let _ = sb.step().into_data();
    }
    let dt = t0.elapsed().as_secs_f64() / a.steps as f64;
    println!(
        "sampling step (batch {}): {:.3} s/step, {:.1} image-steps/s",
        a.sample_batch,
        dt,
        a.sample_batch as f64 / dt
    );
    Ok(())
}
