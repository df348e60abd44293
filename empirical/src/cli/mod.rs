//! The `empirical` command line, one module per command: [`train`], [`sample`] (optionally
//! classifier-guided), `eval` and `data` (from the evaluator crate), [`main_job`] (`run`, the
//! default: the suite's main job), [`export`] (`export`, `params`), [`bench`], [`diagnose`], and
//! Section 5's mitigation study: [`classifier`] (`classifier train`, `filter`), [`mitigate`]
//! (`mitigate`, `table2`); studies as grids ([`sweep`]) and the GPU check ([`gpu_check`]).
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

use crate::backend::DeviceKind;
use crate::config::{parse_task_arg, Preset, RunConfig};
use crate::error::{Error, Result};
use empirical_rules::Task;

pub mod bench;
pub mod classifier;
pub mod curve;
pub mod diagnose;
pub mod export;
pub mod gpu_check;
pub mod main_job;
pub mod mitigate;
pub mod sample;
pub mod sweep;
pub mod train;

pub use bench::BenchArgs;
pub use diagnose::DiagnoseArgs;
pub use export::ExportArgs;
pub use main_job::RunArgs;
pub use mitigate::{MitigateArgs, Table2Args};
pub use sample::{GuidanceArgs, MethodArg, SampleArgs};
pub use train::TrainArgs;

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
    /// Fig. 12: one training run evaluated at epoch milestones (resumable; `curve.csv`).
    Curve(curve::CurveArgs),
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
    Filter(classifier::FilterArgs),
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
    Sweep(sweep::SweepCommand),
    /// Check a GPU backend against the CPU backend (20 training steps, DDPM, DDIM and guided
    /// sampling) and time the `paper` preset's train and sample steps; writes a JSON report.
    GpuCheck(gpu_check::GpuCheckArgs),
}

/// `empirical classifier ...`.
#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Train (or `--resume`) a 3-class classifier on the task's contrastive set
    /// (loss = cross-entropy + lambda NT-Xent, Eq. 3 and 9); prints test accuracy (by noise level).
    Train(classifier::ClassifierTrainArgs),
}

/// Options shared by the commands that build a config.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Task: A, B, C or D [default: the config file's `task`, else A]. Given here, it wins over
    /// the config file's `task`.
    #[arg(long, value_parser = parse_task_arg)]
    pub task: Option<Task>,
    /// Preset [default: the config file's `preset`, else cpu]. Given here, it wins over the
    /// config file's `preset`.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
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
    pub fn config_for(&self, task: Option<Task>) -> Result<RunConfig> {
        let task = task.or(self.task);
        let mut cfg = match &self.config {
            Some(p) => RunConfig::from_file_choosing(self.preset, task, p)?,
            None => RunConfig::preset(
                self.preset.unwrap_or(crate::config::DEFAULT_PRESET),
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

/// A fresh run's `--out`: it must not hold a run already, nor be a file.
pub(crate) fn check_fresh_out(out: &Path) -> Result<()> {
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
    Ok(())
}

/// The command line as typed (recorded in run files).
pub(crate) fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            eprintln!("empirical: no command given - running the main job (`empirical run`: all tasks, cpu preset, shipped checkpoints)");
            let args = RunArgs::parse_default();
            main_job::cmd_run(&args)
        }
        Some(Command::Train(a)) => train::cmd_train(&a),
        Some(Command::Sample(a)) => sample::cmd_sample(&a),
        Some(Command::Eval(a)) => {
            empirical_rules::cli::run_eval(&a).map_err(|e| Error::Rules(e.to_string()))
        }
        Some(Command::Data(a)) => {
            empirical_rules::cli::run_data(&a).map_err(|e| Error::Rules(e.to_string()))
        }
        Some(Command::Run(a)) => main_job::cmd_run(&a),
        Some(Command::Curve(a)) => curve::cmd_curve(&a),
        Some(Command::Export(a)) => export::cmd_export(&a),
        Some(Command::Params) => export::cmd_params(),
        Some(Command::Bench(a)) => bench::cmd_bench(&a),
        Some(Command::Classifier(ClassifierCommand::Train(a))) => classifier::run_train(&a),
        Some(Command::Filter(a)) => classifier::run_filter_cmd(&a),
        Some(Command::Mitigate(a)) => mitigate::cmd_mitigate(&a),
        Some(Command::Table2(a)) => mitigate::cmd_table2(&a),
        Some(Command::Diagnose(a)) => diagnose::cmd_diagnose(&a),
        Some(Command::Sweep(c)) => sweep::run(&c),
        Some(Command::GpuCheck(a)) => gpu_check::run(&a),
    }
}

/// The checkpoint file a `--guidance` / classifier argument names, checked to be a classifier
/// (a DDPM checkpoint or run directory there is an error saying so).
pub(crate) fn classifier_file(path: &Path) -> Result<PathBuf> {
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
