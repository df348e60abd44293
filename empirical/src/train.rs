//! Training loop (Ho et al. 2020, Algorithm 1; App. D.1): uniform t, eps-prediction MSE, AdamW,
//! EMA of the weights, epochs over a shuffled training set, checkpoints every N steps with
//! resume, a NaN/inf guard, a metrics CSV and a progress bar.
//!
//! Determinism: the weights are initialised from ChaCha8(seed); the noise and t of step k come
//! from [`step_rng`]`(seed, k)`; the batch order of epoch e from [`epoch_order`]`(seed, e, n)`.
//! The state after k steps is therefore a function of (config, data, k) alone, and a run killed
//! and resumed from a checkpoint ends with the same weights as an uninterrupted one.
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::checkpoint::Checkpoint;
use crate::config::{LossWeighting, RunConfig};
use crate::diffusion;
use crate::error::{Error, Result};
use crate::model::UNet;
use crate::optim::{self, CheckpointMeta, OptimState};
use crate::params::{self, AdamW};
use crate::rundir::RunDir;
use crate::schedule::Schedule;

/// The RNG of weight initialisation.
pub fn init_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The RNG of optimiser step `step` (0-based): draws t and eps.
pub fn step_rng(seed: u64, step: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0x5354_4550_5f52_4e47);
    r.set_stream(step);
    r
}

/// The visiting order of the `n` training images in epoch `epoch`.
pub fn epoch_order(seed: u64, epoch: u64, n: usize) -> Vec<usize> {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0x4550_4f43_485f_4f52);
    r.set_stream(epoch);
    let mut v: Vec<usize> = (0..n).collect();
    v.shuffle(&mut r);
    v
}

/// Mini-batches per epoch (the last one may be smaller, as PyTorch's DataLoader).
pub fn steps_per_epoch(n: usize, batch: usize) -> u64 {
    n.div_ceil(batch) as u64
}

/// Optimiser steps that `train.epochs` allows on `n` images.
pub fn steps_by_epochs(cfg: &RunConfig, n: usize) -> u64 {
    steps_per_epoch(n, cfg.train.batch_size).saturating_mul(cfg.train.epochs as u64)
}

/// Total optimiser steps of a run on `n` images: `train.epochs` epochs, or `train.max_steps`
/// if that is positive and comes first.
pub fn total_steps(cfg: &RunConfig, n: usize) -> u64 {
    let by_epochs = steps_by_epochs(cfg, n);
    if cfg.train.max_steps > 0 {
        by_epochs.min(cfg.train.max_steps)
    } else {
        by_epochs
    }
}

/// Why a run of `cfg` on `n` images stops where it does, e.g. "train.epochs = 2 epochs of 8
/// steps" or "train.max_steps = 400".
pub fn stop_reason(cfg: &RunConfig, n: usize) -> String {
    let by_epochs = steps_by_epochs(cfg, n);
    if cfg.train.max_steps > 0 && cfg.train.max_steps <= by_epochs {
        format!("train.max_steps = {}", cfg.train.max_steps)
    } else {
        format!(
            "train.epochs = {} epochs of {} steps (batch {} of {n} images)",
            cfg.train.epochs,
            steps_per_epoch(n, cfg.train.batch_size),
            cfg.train.batch_size
        )
    }
}

/// Make a run of `cfg` stop after exactly `steps` optimiser steps (`train --max-steps`): sets
/// `train.max_steps` and, when `train.epochs` would end the run sooner, raises `train.epochs`
/// to the epochs `steps` need. Returns the previous epochs when they were raised. `steps` = 0
/// leaves the stopping point to `train.epochs`.
pub fn set_max_steps(cfg: &mut RunConfig, steps: u64) -> Option<usize> {
    cfg.train.max_steps = steps;
    let n = cfg.data.n_train;
    if steps == 0 || steps_by_epochs(cfg, n) >= steps {
        return None;
    }
    let spe = steps_per_epoch(n, cfg.train.batch_size).max(1);
    let old = cfg.train.epochs;
    cfg.train.epochs = usize::try_from(steps.div_ceil(spe)).unwrap_or(usize::MAX);
    Some(old)
}

/// Indices of the batch of step `step`.
pub fn batch_indices(seed: u64, step: u64, n: usize, batch: usize) -> Vec<usize> {
    let spe = steps_per_epoch(n, batch);
    let epoch = step / spe;
    let b = (step % spe) as usize;
    let order = epoch_order(seed, epoch, n);
    order[b * batch..((b + 1) * batch).min(n)].to_vec()
}

/// Gather images `idx` from NCHW host data (`dim` = C*H*W floats per image) into a tensor.
pub fn gather<B: burn::tensor::backend::Backend>(
    data: &[f32],
    idx: &[usize],
    shape_chw: [usize; 3],
    device: &B::Device,
) -> Tensor<B, 4> {
    let dim: usize = shape_chw.iter().product();
    let mut v = Vec::with_capacity(idx.len() * dim);
    for &i in idx {
        v.extend_from_slice(&data[i * dim..(i + 1) * dim]);
    }
    let [c, h, w] = shape_chw;
    Tensor::from_data(TensorData::new(v, [idx.len(), c, h, w]), device)
}

/// How a DDPM run's random streams come from its seed (recorded in its checkpoints).
const RNG_SCHEME: &str = "chacha8: init seed_from_u64(seed); step k noise/t: step_rng(seed, k); epoch e order: epoch_order(seed, e)";

/// Model, optimiser state (AdamW moments, step counter) and EMA of one run.
pub struct Trainer<B: AutodiffBackend> {
    pub cfg: RunConfig,
    pub sched: Schedule,
    pub model: UNet<B>,
    pub optim: OptimState<B::InnerBackend>,
    pub ema: Vec<Tensor<B::InnerBackend, 1>>,
    pub device: B::Device,
}

impl<B: AutodiffBackend> Trainer<B> {
    /// Fresh weights from ChaCha8(cfg.seed); EMA = weights; zero AdamW moments.
    pub fn new(cfg: &RunConfig, device: &B::Device) -> Self {
        let mut rng = init_rng(cfg.seed);
        let model = UNet::<B>::new(&cfg.model, cfg.image_size, &mut rng, device);
        let (w, shapes) = params::collect(&model.valid());
        Trainer {
            cfg: cfg.clone(),
            sched: Schedule::from_config(&cfg.diffusion),
            optim: OptimState::new(shapes, device),
            ema: w,
            model,
            device: device.clone(),
        }
    }

    /// Optimiser steps done.
    pub fn step(&self) -> u64 {
        self.optim.step
    }

    /// Parameter count.
    pub fn num_params(&self) -> usize {
        self.optim
            .shapes
            .iter()
            .map(|s| s.iter().product::<usize>())
            .sum()
    }

    /// Restore a training checkpoint (weights, moments, EMA, step).
    pub fn from_checkpoint(
        ckpt: &Checkpoint,
        path: &std::path::Path,
        device: &B::Device,
    ) -> Result<Self> {
        let cfg = ckpt.ddpm_config(path)?;
        let mut t = Self::new(&cfg, device);
        let weights = t.optim.restore(ckpt, path, device)?;
        t.set_weights(weights);
        t.ema = params::from_host(ckpt.require_group("ema", path)?, device);
        Ok(t)
    }

    /// Warm start (`train.init_from`): weights from `ckpt` (group `params`, else `ema`), EMA =
    /// those weights, zero moments, step 0. The model config and image size must match.
    pub fn warm_start(&mut self, ckpt: &Checkpoint, path: &std::path::Path) -> Result<()> {
        let src = ckpt.ddpm_config(path)?;
        if src.model != self.cfg.model || src.image_size != self.cfg.image_size {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                message: "train.init_from: its model config or image size differs from this run's"
                    .into(),
            });
        }
        ckpt.check_shapes(&self.optim.shapes, path)?;
        let host = match ckpt.group("params") {
            Some(g) => g,
            None => ckpt.require_group("ema", path)?,
        };
        self.set_weights(host);
        Ok(())
    }

    /// Set the model's weights (and the EMA) from host values in visiting order.
    fn set_weights(&mut self, host: &[Vec<f32>]) {
        let (model, p) = optim::set_weights(self.model.clone(), host, &self.device);
        self.model = model;
        self.ema = p;
    }

    /// The full training state as a checkpoint (groups params, adam_m, adam_v, ema).
    pub fn checkpoint(&self) -> Checkpoint {
        let (w, _) = params::collect(&self.model.valid());
        let meta = CheckpointMeta {
            config: self.cfg.to_toml(),
            seed: self.cfg.seed,
            rng_scheme: RNG_SCHEME,
        };
        self.optim.checkpoint(meta, &w, &[("ema", &self.ema)])
    }

    /// One optimiser step at learning rate `lr` on the clean batch `x0` (values in [-1, 1]);
    /// returns the loss.
    /// A non-finite loss leaves the state untouched and returns `Error::NonFiniteLoss`
    /// (with an empty `last_good`, filled in by the caller).
    pub fn train_step(&mut self, x0: Tensor<B, 4>, lr: f64) -> Result<f32> {
        let mut rng = step_rng(self.cfg.seed, self.optim.step);
        let dims = x0.dims();
        let t = diffusion::uniform_steps(&mut rng, dims[0], self.sched.len());
        let eps = diffusion::normal_tensor::<B>(&mut rng, dims, &self.device);
        let tc = &self.cfg.train;
        let loss = match tc.loss_weighting {
            LossWeighting::Uniform => diffusion::loss(&self.model, &self.sched, x0, &t, eps),
            w => {
                let weights = diffusion::loss_weights(&self.sched, &t, w, tc.min_snr_gamma);
                diffusion::weighted_loss(&self.model, &self.sched, x0, &t, eps, &weights)
            }
        };
        let hp = AdamW {
            lr,
            beta1: tc.adam_beta1,
            beta2: tc.adam_beta2,
            eps: tc.adam_eps,
            weight_decay: tc.weight_decay,
        };
        let (model, value) = self.optim.apply(self.model.clone(), loss, hp)?;
        self.model = model;
        let (w, _) = params::collect(&self.model.valid());
        let step = self.optim.step;
        params::ema_update(&mut self.ema, &w, tc.ema_decay, tc.ema_start, step);
        Ok(value)
    }

    /// A copy of the model with the EMA weights (inference backend).
    pub fn ema_model(&self) -> UNet<B::InnerBackend> {
        params::set(self.model.valid(), self.ema.clone())
    }

    /// The model that samples: the EMA weights, or the raw ones where `sample.use_ema` is off.
    pub fn sampling_model(&self) -> UNet<B::InnerBackend> {
        if self.cfg.sample.use_ema {
            self.ema_model()
        } else {
            self.model.valid()
        }
    }
}

/// Options of [`train`].
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Hide the progress bar.
    pub quiet: bool,
    /// Stop (as if killed) once this many steps are done, without a final checkpoint.
    pub stop_at: Option<u64>,
}

/// What a finished (or stopped) training call did.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// Optimiser steps done in all (this call's and earlier ones').
    pub steps: u64,
    /// Optimiser steps done by this call (0 when resuming a finished run).
    pub new_steps: u64,
    pub total_steps: u64,
    pub seconds: f64,
    /// (step, loss): this call's last step, or when it took none the last row of
    /// `metrics.csv` (the mean loss of its logging window); `None` when neither exists.
    pub last_loss: Option<(u64, f32)>,
    pub last_checkpoint: Option<PathBuf>,
}

const METRICS_HEADER: &str = "step,loss,lr,images_per_s";

/// The rows of `metrics.csv` up to step `keep_upto` (with its header line).
fn read_metrics(path: &std::path::Path, keep_upto: u64) -> String {
    let mut out = String::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        for (i, line) in text.lines().enumerate() {
            let keep = i == 0
                || line
                    .split(',')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_some_and(|s| s <= keep_upto);
            if keep {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if out.is_empty() {
        out.push_str(METRICS_HEADER);
        out.push('\n');
    }
    out
}

/// (step, loss) of the last data row of a metrics CSV text.
fn last_logged_loss(metrics: &str) -> Option<(u64, f32)> {
    metrics.lines().rev().find_map(|line| {
        let mut cells = line.split(',');
        let step = cells.next()?.parse().ok()?;
        let loss = cells.next()?.parse().ok()?;
        Some((step, loss))
    })
}

/// Train `trainer` on NCHW images `data` (`n` images) until the configured number of steps,
/// writing checkpoints and `metrics.csv` into `run`.
pub fn train<B: AutodiffBackend>(
    trainer: &mut Trainer<B>,
    run: &RunDir,
    data: &[f32],
    n: usize,
    opts: &TrainOptions,
) -> Result<TrainSummary> {
    let cfg = trainer.cfg.clone();
    let tc = &cfg.train;
    let s = cfg.image_size;
    let c = cfg.model.in_channels;
    if data.len() != n * c * s * s {
        return Err(Error::Other(format!(
            "training data has {} floats, expected {n} x {c} x {s} x {s}",
            data.len()
        )));
    }
    let total = total_steps(&cfg, n);
    // metrics.csv is rewritten whole (atomically) at every logged row
    let metrics = run.metrics_path();
    let mut metrics_text = read_metrics(&metrics, trainer.optim.step);
    crate::rundir::write_atomic(&metrics, metrics_text.as_bytes())?;
    let pb = if opts.quiet {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template(
                "train {prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} steps ({per_sec}, eta {eta}) {msg}",
            )
            .unwrap(),
        );
        pb.set_prefix(cfg.task.to_string());
        pb
    };
    pb.set_position(trainer.optim.step);
    let mut last_ckpt = run.latest_checkpoint().map(|(_, p)| p);
    let (mut acc, mut acc_n, mut acc_imgs) = (0.0f64, 0u64, 0usize);
    let mut window = Instant::now();
    let start = Instant::now();
    let start_seconds = trainer.optim.train_seconds;
    let first_step = trainer.optim.step;
    let mut last_loss = None;
    while trainer.optim.step < total && opts.stop_at.is_none_or(|k| trainer.optim.step < k) {
        let lr = tc.lr_at(trainer.optim.step + 1, total);
        let idx = batch_indices(cfg.seed, trainer.optim.step, n, tc.batch_size);
        let x0 = gather::<B>(data, &idx, [c, s, s], &trainer.device);
        let loss = match trainer.train_step(x0, lr) {
            Ok(l) => l,
            Err(Error::NonFiniteLoss { step, value, .. }) => {
                pb.abandon();
                return Err(Error::NonFiniteLoss {
                    step,
                    value,
                    last_good: last_ckpt
                        .as_ref()
                        .map_or("none written yet".into(), |p| p.display().to_string()),
                });
            }
            Err(e) => return Err(e),
        };
        trainer.optim.train_seconds = start_seconds + start.elapsed().as_secs_f64();
        last_loss = Some((trainer.optim.step, loss));
        acc += loss as f64;
        acc_n += 1;
        acc_imgs += idx.len();
        pb.set_position(trainer.optim.step);
        if trainer.optim.step % tc.log_every == 0 || trainer.optim.step == total {
            let dt = window.elapsed().as_secs_f64().max(1e-9);
            let mean = acc / acc_n as f64;
            writeln!(
                metrics_text,
                "{},{:.6},{},{:.3}",
                trainer.optim.step,
                mean,
                lr,
                acc_imgs as f64 / dt
            )
            .map_err(|e| Error::Other(e.to_string()))?;
            crate::rundir::write_atomic(&metrics, metrics_text.as_bytes())?;
            pb.set_message(format!("loss {mean:.4}"));
            (acc, acc_n, acc_imgs) = (0.0, 0, 0);
            window = Instant::now();
        }
        if trainer.optim.step % tc.checkpoint_every == 0 || trainer.optim.step == total {
            let p = run.checkpoint_path(trainer.optim.step);
            trainer.checkpoint().save(&p)?;
            run.prune_checkpoints(tc.keep_checkpoints);
            last_ckpt = Some(p);
        }
    }
    pb.finish_and_clear();
    Ok(TrainSummary {
        steps: trainer.optim.step,
        new_steps: trainer.optim.step - first_step,
        total_steps: total,
        seconds: start.elapsed().as_secs_f64(),
        last_loss: last_loss.or_else(|| last_logged_loss(&metrics_text)),
        last_checkpoint: last_ckpt,
    })
}
