//! `empirical gpu-check`: whether a GPU backend computes what the CPU backend computes, and how
//! fast it trains and samples the `paper` preset's U-Net. Three parts, written as one JSON:
//! the device probe, [`crate::agreement`] (the same 20 training steps and the same DDPM,
//! DDIM and guided samples on both backends, with the largest differences and the tolerances
//! they are held to), and throughput (images/s of one training step and one sampling step at
//! batch 16, median of timed repeats after warm-up) with the process's peak resident memory.
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

use crate::config::{Preset, RunConfig};
use crate::diffusion::normal_tensor;
use crate::error::Result;
use crate::schedule::Schedule;
use crate::train::Trainer;
use empirical_rules::Task;

/// Throughput of one preset on one backend.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub preset: Preset,
    pub batch: usize,
    /// Median seconds of one training step (forward, loss, backward, AdamW, EMA).
    pub train_step_s: f64,
    pub train_images_per_s: f64,
    /// Median seconds of one ancestral sampling step (one U-Net forward and the update).
    pub sample_step_s: f64,
    pub sample_images_per_s: f64,
    pub repeats: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Time `repeats` training and sampling steps of `preset` at `batch` on backend `B` (after one
/// warm-up step each, which also compiles a JIT backend's kernels). Every timed step ends by
/// reading a value back to the host, so asynchronous backends are timed to completion.
pub fn throughput<B: AutodiffBackend>(
    preset: Preset,
    batch: usize,
    repeats: usize,
    device: &B::Device,
) -> Result<Throughput> {
    let mut cfg = RunConfig::preset(preset, Task::A)?;
    cfg.train.batch_size = batch;
    let s = cfg.image_size;
    let mut trainer = Trainer::<B>::new(&cfg, device);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x0 = normal_tensor::<B>(&mut rng, [batch, 3, s, s], device).clamp(-1.0, 1.0);
    let lr = cfg.train.lr;
    let repeats = repeats.max(1);
    trainer.train_step(x0.clone(), lr)?;
    let mut train = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        trainer.train_step(x0.clone(), lr)?;
        train.push(t.elapsed().as_secs_f64());
    }
    let model = trainer.model.valid();
    let sched = Schedule::from_config(&cfg.diffusion);
    let mut x: Tensor<B::InnerBackend, 4> = normal_tensor(&mut rng, [batch, 3, s, s], device);
    let t_mid = sched.len() / 2;
    let step = |x: Tensor<B::InnerBackend, 4>, rng: &mut ChaCha8Rng| {
        let y = crate::sampler::ddpm_step(&model, &sched, x, t_mid, rng);
        let _ = y.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data();
        y
    };
    x = step(x, &mut rng);
    let mut sample = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        x = step(x, &mut rng);
        sample.push(t.elapsed().as_secs_f64());
    }
    let (ts, ss) = (median(train), median(sample));
    Ok(Throughput {
        preset,
        batch,
        train_step_s: ts,
        train_images_per_s: batch as f64 / ts,
        sample_step_s: ss,
        sample_images_per_s: batch as f64 / ss,
        repeats,
    })
}

/// Peak resident memory of this process in bytes (`VmHWM` of /proc/self/status), where the
/// system reports it. GPU memory is not included.
pub fn peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
