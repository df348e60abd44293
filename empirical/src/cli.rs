//! The `empirical` command line: `train`, `sample` (optionally classifier-guided), `eval`, `data`,
//! `run` (the default, the suite's main job), `export`, `params`, `bench`, and Section 5's
//! mitigation study: `classifier train`, `filter`, `mitigate`, `table2`.
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
    /// Noise-aware (guidance) and clean (filtering) 3-class classifiers (Sec. 5, App. G).
    #[command(subcommand)]
    Classifier(ClassifierCommand),
    /// Keep the samples a clean classifier predicts as class 1 (Filtered DDPM, Sec. 5).
    Filter(crate::classifier::cli::FilterArgs),
    /// Section 5 study per task and seed: DDPM, guided and filtered samples, each evaluated
    /// (resumable; one run directory per task and seed under --runs).
    Mitigate(MitigateArgs),
    /// Where a checkpoint loses quality: eps-MSE by step t and denoising from t back to x_0.
    Diagnose(DiagnoseArgs),
    /// Table 2 from a runs folder: Error (bias and variance parts) and R^2 per task and sampler,
    /// mean +- std over seeds, the paper's numbers beside.
    Table2(Table2Args),
    /// Studies as declared grids (TOML spec: base config and axes): plan, run locally or as a
    /// Slurm job array, status, collect into one table.
    #[command(subcommand)]
    Sweep(crate::cli_sweep::SweepCommand),
    /// Check a GPU backend against the CPU backend (20 training steps, DDPM, DDIM and guided
    /// sampling) and time the `paper` preset's train and sample steps; writes a JSON report.
    GpuCheck(crate::cli_gpu_check::GpuCheckArgs),
}

/// `empirical classifier ...`.
#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Train (or `--resume`) a 3-class classifier on the task's contrastive set
    /// (loss = cross-entropy + lambda NT-Xent, Eq. 3 and 9); prints test accuracy (by noise level).
    Train(crate::classifier::cli::ClassifierTrainArgs),
}

#[derive(Debug, Args)]
pub struct MitigateArgs {
    /// Task(s): A, B, C, D, a comma list, or all.
    #[arg(long, default_value = "A")]
    pub task: String,
    /// Seed(s), comma separated (Table 2 reports mean +- std over them).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub seeds: Vec<u64>,
    /// Folder of the study's run directories (`<runs>/<task>-s<seed>`).
    #[arg(long, default_value = "runs/mitigation")]
    pub runs: PathBuf,
    /// Folder with the DDPM checkpoints `<task>.ckpt` [default: the shipped ones].
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Samples per sampler (the filtered set is a subset of the DDPM samples).
    #[arg(long, default_value_t = 300)]
    pub n: usize,
    /// Sampling batch size.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Classifier preset: paper, cpu or tiny.
    #[arg(long, default_value = "cpu")]
    pub classifier_preset: String,
    /// TOML overlay on the classifier preset, for both classifiers (e.g. `max_steps = 100`).
    #[arg(long)]
    pub classifier_config: Option<PathBuf>,
    /// Noisy classifier architecture (the paper: unet; mlp is the cheap option).
    #[arg(long, default_value = "unet")]
    pub guidance_arch: String,
    /// Filtering classifier architecture [default: mlp for Tasks A/B, unet for C/D, as App. G.2].
    #[arg(long)]
    pub filter_arch: Option<String>,
    /// Use this trained noisy classifier (checkpoint or run dir) instead of training one.
    #[arg(long)]
    pub guidance_classifier: Option<PathBuf>,
    /// Use this trained clean classifier instead of training one.
    #[arg(long)]
    pub filter_classifier: Option<PathBuf>,
    /// Guidance scale [default: the paper's 7 for Tasks A/C, 10 for B/D].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Guidance schedule [default: the paper's best per task: constant for A/B/D, piecewise for C].
    #[arg(long, value_enum)]
    pub schedule: Option<crate::guidance::GuidanceScheduleKind>,
    /// Piecewise window length (final denoising steps of the sampler).
    #[arg(long, default_value_t = 20)]
    pub guidance_last_steps: usize,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// DDPM checkpoint (weights-only or training checkpoint).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Training images to diagnose on.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Steps t (0-based) at which to measure the eps-prediction MSE.
    #[arg(long, value_delimiter = ',', default_value = "0,10,100,400,800,999")]
    pub t: Vec<usize>,
    /// Steps from which to denoise training images back to x_0 (ancestral sampler).
    #[arg(long, value_delimiter = ',', default_value = "300,600,900")]
    pub recon: Vec<usize>,
    /// Seed of the noise.
    #[arg(long, default_value_t = 5)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct Table2Args {
    /// Folder of run directories (as written by `mitigate` or `run`).
    #[arg(long, default_value = "runs/mitigation")]
    pub runs: PathBuf,
    /// Where to write table2.md/.csv/.json [default: --runs].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Options shared by the commands that build a config.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Task: A, B, C or D [default: the config file's `task`, else A]. Given here, it wins over
    /// the config file's `task`.
    #[arg(long)]
    pub task: Option<String>,
    /// Preset: paper, cpu or tiny [default: the config file's `preset`, else cpu]. Given here,
    /// it wins over the config file's `preset`.
    #[arg(long)]
    pub preset: Option<String>,
    /// TOML file overlaid on the preset (unknown keys are rejected). Command-line flags win over
    /// its keys (`--task`, `--preset`, `--seed`, `--max-steps`, `--init`).
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
    /// The validated config for `task` (`None`: `--task`, else the config file's, else A).
    pub fn config_for(&self, task: Option<&str>) -> Result<RunConfig> {
        let task = task.or(self.task.as_deref());
        let mut cfg = match &self.config {
            Some(p) => RunConfig::from_file_choosing(self.preset.as_deref(), task, p)?,
            None => RunConfig::preset(
                self.preset
                    .as_deref()
                    .unwrap_or(crate::config::DEFAULT_PRESET),
                task.unwrap_or(crate::config::DEFAULT_TASK),
            )?,
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
    /// DDIM eta (0 = deterministic, 1 = DDPM-like noise) [default: the config's].
    #[arg(long)]
    pub eta: Option<f64>,
    /// Clip the predicted x_0 inside DDIM steps [default: the config's].
    #[arg(long)]
    pub clip_x0: Option<bool>,
    /// Batch size [default: the config's].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Classifier guidance (Sec. 5): `--guidance CKPT --scale 7 --schedule piecewise`.
    #[command(flatten)]
    pub guidance: crate::guidance::GuidanceArgs,
    /// Output folder of the samples (NNNNNN.png and samples.npy only) [default: <run>/samples
    /// or ./samples]; the preview grid goes beside it, as <out>_grid.png.
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
    /// Task(s): A, B, C, D, a comma list, or all [default: the config file's `task`, else all].
    /// Given here, it wins over the config file's `task`.
    #[arg(long)]
    pub task: Option<String>,
    /// Preset: paper, cpu or tiny [default: the config file's `preset`, else cpu]. Given here,
    /// it wins over the config file's `preset`.
    #[arg(long)]
    pub preset: Option<String>,
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
    /// Preset [default: the config file's `preset`, else cpu]; given here, it wins over the
    /// config file's.
    #[arg(long)]
    pub preset: Option<String>,
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
            DeviceKind::Wgpu => {
                crate::backend::probe_wgpu()?;
                #[cfg(feature = "wgpu")]
                {
                    $f::<crate::backend::WgpuAutodiff>($($a,)* &Default::default())
                }
                #[cfg(not(feature = "wgpu"))]
                {
                    unreachable!("probe_wgpu fails without the wgpu feature")
                }
            }
        }
    };
}
pub(crate) use with_backend;

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
        Some(Command::Classifier(ClassifierCommand::Train(a))) => {
            crate::classifier::cli::run_train(&a)
        }
        Some(Command::Filter(a)) => crate::classifier::cli::run_filter_cmd(&a),
        Some(Command::Mitigate(a)) => cmd_mitigate(&a),
        Some(Command::Table2(a)) => cmd_table2(&a),
        Some(Command::Diagnose(a)) => cmd_diagnose(&a),
        Some(Command::Sweep(c)) => crate::cli_sweep::run(&c),
        Some(Command::GpuCheck(a)) => crate::cli_gpu_check::run(&a),
    }
}

fn cmd_diagnose(a: &DiagnoseArgs) -> Result<()> {
    let device = Default::default();
    let (cfg, model, step) =
        pipeline::model_from_checkpoint::<crate::backend::Cpu>(&a.checkpoint, a.raw, &device)?;
    let rows = crate::diagnose::diagnose(&model, &cfg, a.n, &a.t, &a.recon, a.seed, &device)?;
    println!(
        "task {} checkpoint step {step} ({} weights), {} training images",
        cfg.task,
        if a.raw { "raw" } else { "EMA" },
        a.n
    );
    println!("    t | eps MSE  | MSE to x_0 after denoising from t");
    for r in rows {
        println!(
            "{:>5} | {:.5} | {}",
            r.t,
            r.eps_mse,
            r.recon_mse.map_or("-".into(), |m| format!("{m:.5}"))
        );
    }
    Ok(())
}

fn cmd_table2(a: &Table2Args) -> Result<()> {
    let t = crate::table2::collect(&a.runs)?;
    if t.cells.is_empty() {
        return Err(Error::Other(format!(
            "no results under {} (run `empirical mitigate` first)",
            a.runs.display()
        )));
    }
    let out = a.out.clone().unwrap_or_else(|| a.runs.clone());
    t.write(&out)?;
    println!(
        "Table 2 (ours: mean ± std over runs; paper beside)\n{}",
        t.to_markdown()
    );
    for (p, why) in &t.unreadable {
        eprintln!("warning: unreadable {}: {why}", p.display());
    }
    println!("wrote {}/table2.{{md,csv,json}}", out.display());
    Ok(())
}

fn cmd_mitigate(a: &MitigateArgs) -> Result<()> {
    let tasks: Vec<String> = if a.task.eq_ignore_ascii_case("all") {
        TASKS.iter().map(|s| s.to_string()).collect()
    } else {
        a.task
            .split(',')
            .map(crate::config::normalise_task)
            .collect::<Result<_>>()?
    };
    if a.seeds.is_empty() {
        return Err(Error::config("seeds", "give at least one seed"));
    }
    let ckpt_dir = a
        .checkpoint_dir
        .clone()
        .unwrap_or_else(pipeline::shipped_checkpoint_dir);
    // validate everything before any work
    let mut studies = Vec::new();
    for task in &tasks {
        let ddpm_checkpoint = ckpt_dir.join(format!("{task}.ckpt"));
        if !ddpm_checkpoint.is_file() {
            return Err(Error::Other(format!(
                "no DDPM checkpoint {} (train one with `empirical train --task {task}` and \
                 `empirical export`, or pass --checkpoint-dir)",
                ddpm_checkpoint.display()
            )));
        }
        crate::checkpoint::expect_kind(&ddpm_checkpoint, crate::checkpoint::CheckpointKind::Ddpm)?;
        for p in [&a.guidance_classifier, &a.filter_classifier]
            .into_iter()
            .flatten()
        {
            classifier_file(p)?;
        }
        let paper = crate::paper::PaperSettings::of(crate::config::parse_task(task)?);
        let (scale, kind) = (paper.guidance_scale, paper.guidance_schedule);
        let guidance = crate::guidance::GuidanceArgs {
            guidance: None,
            scale: a.scale.unwrap_or(scale),
            schedule: a.schedule.unwrap_or(kind),
            guidance_last_steps: a.guidance_last_steps,
            guidance_class: 1,
        }
        .options()?;
        let filter_arch = a
            .filter_arch
            .clone()
            .unwrap_or_else(|| paper.filter_arch.to_string());
        for &seed in &a.seeds {
            let o = crate::mitigation::MitigationOptions {
                task: task.clone(),
                seed,
                root: a.runs.join(format!("{task}-s{seed}")),
                ddpm_checkpoint: ddpm_checkpoint.clone(),
                n: a.n,
                batch: a.batch,
                classifier_preset: a.classifier_preset.clone(),
                classifier_config: a.classifier_config.clone(),
                guidance_arch: a.guidance_arch.clone(),
                filter_arch: filter_arch.clone(),
                guidance_classifier: a.guidance_classifier.clone(),
                filter_classifier: a.filter_classifier.clone(),
                guidance,
                quiet: a.quiet,
            };
            for (arch, noisy) in [(&o.guidance_arch, true), (&o.filter_arch, false)] {
                let c = crate::mitigation::classifier_config(&o, arch, noisy)?;
                if c.image_size as usize != 32 {
                    return Err(Error::config(
                        "image_size",
                        format!(
                            "classifier image_size {} differs from the DDPM's 32 px samples",
                            c.image_size
                        ),
                    ));
                }
            }
            studies.push(o);
        }
    }
    crate::backend::probe(a.device)?;
    for o in &studies {
        let t0 = Instant::now();
        with_backend!(a.device, mitigate_cmd(o))?;
        eprintln!(
            "task {} seed {}: done in {:.1} s -> {}",
            o.task,
            o.seed,
            t0.elapsed().as_secs_f64(),
            o.root.display()
        );
    }
    cmd_table2(&Table2Args {
        runs: a.runs.clone(),
        out: None,
    })
}

fn mitigate_cmd<B: burn::tensor::backend::AutodiffBackend>(
    o: &crate::mitigation::MitigationOptions,
    device: &B::Device,
) -> Result<crate::mitigation::MitigationSummary> {
    crate::mitigation::run_mitigation::<B>(o, device)
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
    if out.join("config.toml").exists() {
        return Err(Error::Other(format!(
            "{} already holds a run; use --resume {} to continue it",
            out.display(),
            out.display()
        )));
    }
    if out.exists() && !out.is_dir() {
        return Err(Error::Other(format!(
            "--out {} exists and is not a folder",
            out.display()
        )));
    }
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

/// The checkpoint file a `--guidance` / classifier argument names, checked to be a classifier
/// (a DDPM checkpoint or run directory there is an error saying so).
fn classifier_file(path: &Path) -> Result<PathBuf> {
    use crate::checkpoint::{expect_kind, CheckpointKind};
    let run_config = path.join("config.toml");
    if path.is_dir() {
        if let Ok(text) = std::fs::read_to_string(&run_config) {
            if CheckpointKind::of_config(&text) == CheckpointKind::Ddpm {
                return Err(Error::Checkpoint {
                    path: path.to_path_buf(),
                    message: "this is a DDPM run directory, not a classifier; pass it as \
                              `--run` (a classifier comes from `empirical classifier train`)"
                        .into(),
                });
            }
        }
    }
    let p = crate::classifier::train::checkpoint_path(path)?;
    expect_kind(&p, CheckpointKind::Classifier)?;
    Ok(p)
}

fn cmd_sample(a: &SampleArgs) -> Result<()> {
    let (ckpt, default_out) = match (&a.run, &a.checkpoint) {
        (Some(run), _) => {
            if let Ok(text) = std::fs::read_to_string(run.join("config.toml")) {
                use crate::checkpoint::CheckpointKind;
                if CheckpointKind::of_config(&text) == CheckpointKind::Classifier {
                    return Err(Error::Checkpoint {
                        path: run.clone(),
                        message: "this is a classifier run directory, not a DDPM run; pass it \
                                  as `--guidance` (a DDPM run comes from `empirical train`)"
                            .into(),
                    });
                }
            }
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
    crate::checkpoint::expect_kind(&ckpt, crate::checkpoint::CheckpointKind::Ddpm)?;
    if let Some(g) = &a.guidance.guidance {
        classifier_file(g)?;
    }
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
    if let Some(e) = a.eta {
        cfg.sample.ddim_eta = e;
    }
    if let Some(c) = a.clip_x0 {
        cfg.sample.clip_x0 = c;
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
    let guidance = a.guidance.options()?;
    let images = match &a.guidance.guidance {
        None => pipeline::sample_images(
            &model,
            &cfg,
            cfg.sample.n,
            cfg.sample.batch_size,
            &opts,
            a.seed,
            a.quiet,
            device,
        ),
        Some(path) => {
            let path = &classifier_file(path)?;
            let (ccfg, clf) = crate::classifier::train::load_classifier::<B>(path, device)?;
            if !ccfg.noisy {
                return Err(Error::Other(format!(
                    "{} is a clean-image classifier; guidance needs a noise-aware one \
                     (`empirical classifier train --noisy`)",
                    path.display()
                )));
            }
            if ccfg.task != cfg.task {
                return Err(Error::Other(format!(
                    "classifier {} is for task {}, the DDPM for task {}",
                    path.display(),
                    ccfg.task,
                    cfg.task
                )));
            }
            eprintln!("guidance: {}", guidance.describe());
            crate::guidance::sample_images_guided::<B::InnerBackend, B, _>(
                &model,
                &clf,
                &cfg,
                cfg.sample.n,
                cfg.sample.batch_size,
                &opts,
                &guidance,
                a.seed,
                a.quiet,
                device,
            )
        }
    };
    pipeline::write_samples(&images, out)?;
    // the preview is a convenience: failing to write it beside the folder only warns
    let grid = pipeline::grid_path(out).filter(|g| match pipeline::write_grid(&images, 8, g) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("warning: no preview grid: {e}");
            false
        }
    });
    println!(
        "{} samples of task {} (checkpoint step {step}, {:?}) in {:.1} s -> {}{}",
        images.len(),
        cfg.task,
        cfg.sample.method,
        t0.elapsed().as_secs_f64(),
        out.display(),
        grid.map_or(String::new(), |g| format!(" (preview {})", g.display()))
    );
    Ok(())
}

fn cmd_run(a: &RunArgs) -> Result<()> {
    let file_task = match &a.config {
        Some(p) => RunConfig::file_task_and_preset(p)?.0,
        None => None,
    };
    let task_arg = a
        .task
        .clone()
        .or(file_task)
        .unwrap_or_else(|| "all".to_string());
    let tasks: Vec<String> = if task_arg.eq_ignore_ascii_case("all") {
        TASKS.iter().map(|s| s.to_string()).collect()
    } else {
        task_arg
            .split(',')
            .map(crate::config::normalise_task)
            .collect::<Result<_>>()?
    };
    let common = CommonArgs {
        task: None,
        preset: a.preset.clone(),
        config: a.config.clone(),
        seed: a.seed,
        device: a.device,
        quiet: a.quiet,
    };
    // validate every task's config before any work
    let mut cfgs = Vec::new();
    for t in &tasks {
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
    use crate::bench_support::{SampleBench, TrainBench};
    let mut cfg = match &a.config {
        Some(p) => RunConfig::from_file_choosing(a.preset.as_deref(), Some("A"), p)?,
        None => RunConfig::preset(
            a.preset.as_deref().unwrap_or(crate::config::DEFAULT_PRESET),
            "A",
        )?,
    };
    cfg.train.batch_size = a.batch;
    cfg.sample.batch_size = a.sample_batch;
    cfg.validate()?;
    if a.steps == 0 {
        return Err(Error::config("steps", "must be positive"));
    }
    let mut tb = TrainBench::new(&cfg);
    println!("preset {}: {} parameters", cfg.preset, tb.num_params());
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
