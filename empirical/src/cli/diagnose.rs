//! `empirical diagnose`: eps-MSE of a checkpoint by step t, and denoising from t back to x_0.
use clap::Args;
use std::path::PathBuf;

use crate::error::Result;
use crate::pipeline;

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

pub(super) fn cmd_diagnose(a: &DiagnoseArgs) -> Result<()> {
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
