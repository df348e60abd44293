//! `empirical classifier train` and `empirical filter` (Sec. 5, App. G): train a noisy or clean
//! 3-class classifier; keep the samples a clean classifier predicts as class 1.
use clap::Args;
use std::path::PathBuf;

use empirical_rules::Task;

use crate::classifier::config::{Arch, ClassifierConfig};
use crate::config::{parse_task_arg, Preset};
use crate::error::{Error, Result};

/// `classifier train`: train a noisy (guidance) or clean (filter) 3-class classifier.
#[derive(Args, Debug, Clone)]
pub struct ClassifierTrainArgs {
    /// Task A, B, C or D.
    #[arg(long, value_parser = parse_task_arg, default_value = "A")]
    pub task: Task,
    /// Architecture.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Arch::Unet)]
    pub arch: Arch,
    /// Noise-aware classifier f(x_t, t) for guidance (default: clean classifier for filtering).
    #[arg(long)]
    pub noisy: bool,
    /// Preset.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Preset::Cpu)]
    pub preset: Preset,
    /// TOML overlay on the preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from out/checkpoints/latest.ckpt.
    #[arg(long)]
    pub resume: bool,
    #[arg(long)]
    pub quiet: bool,
    /// Cap on optimiser steps (overrides the config's max_steps).
    #[arg(long)]
    pub max_steps: Option<u64>,
}

/// `filter`: keep the samples a clean classifier predicts as class 1 (Filtered DDPM).
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// Classifier checkpoint or run directory.
    #[arg(long)]
    pub classifier: PathBuf,
    /// Samples: PNG directory or .npy.
    #[arg(long)]
    pub samples: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// Task A, B, C or D.
    #[arg(long, value_parser = parse_task_arg, default_value = "A")]
    pub task: Task,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
}

/// The resolved config of `a`.
pub fn train_config(a: &ClassifierTrainArgs) -> Result<ClassifierConfig> {
    let mut cfg = match &a.config {
        Some(p) => ClassifierConfig::from_file(a.preset, a.task, a.arch, a.noisy, p)?,
        None => ClassifierConfig::preset(a.preset, a.task, a.arch, a.noisy)?,
    };
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(m) = a.max_steps {
        cfg.max_steps = m;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// Train and print the accuracy report.
pub fn run_train(a: &ClassifierTrainArgs) -> Result<()> {
    let cfg = train_config(a)?;
    if a.resume && !a.out.join("checkpoints/latest.ckpt").is_file() {
        return Err(Error::Other(format!(
            "--resume: no checkpoint in {}",
            a.out.join("checkpoints").display()
        )));
    }
    let r = crate::classifier::train::train_classifier(&cfg, &a.out, a.resume, a.quiet)?;
    println!(
        "classifier task {} arch {} noisy {}: {} steps, {:.1} s; train acc {:.3}, test acc {:.3}",
        r.task, r.arch, r.noisy, r.steps, r.train_seconds, r.train_accuracy, r.test_accuracy
    );
    println!("confusion [true][pred]: {:?}", r.confusion);
    for l in &r.by_noise_level {
        println!("  t = {:4}: test acc {:.3}", l.t, l.accuracy);
    }
    println!("wrote {}", a.out.join("eval.json").display());
    Ok(())
}

/// Filter samples and print the counts.
pub fn run_filter_cmd(a: &FilterArgs) -> Result<()> {
    if a.batch == 0 {
        return Err(Error::config("batch", "must be > 0"));
    }
    let r = crate::classifier::filter::run_filter_batch(
        &a.classifier,
        &a.samples,
        &a.out,
        a.task,
        a.batch,
    )?;
    println!(
        "filter: kept {} of {} (predicted classes {:?}); wrote {}",
        r.n_kept,
        r.n_in,
        r.class_counts,
        a.out.display()
    );
    Ok(())
}
