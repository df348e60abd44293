//! `empirical bench`: a quick timing of a preset's train and sampling steps (criterion benches
//! are the reference).
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::{Preset, RunConfig};
use crate::error::{Error, Result};
use empirical_rules::Task;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Preset [default: the config file's `preset`, else cpu]; given here, it wins over the
    /// config file's.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
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

pub(super) fn cmd_bench(a: &BenchArgs) -> Result<()> {
    use crate::workload::{SampleBench, TrainBench};
    let mut cfg = match &a.config {
        Some(p) => RunConfig::from_file_choosing(a.preset, Some(Task::A), p)?,
        None => RunConfig::preset(a.preset.unwrap_or(crate::config::DEFAULT_PRESET), Task::A)?,
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
