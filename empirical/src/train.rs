//! Training loop (Ho et al. 2020, Algorithm 1; App. D.1): uniform t, eps-prediction MSE, AdamW,
//! EMA of the weights, epochs over a shuffled training set, checkpoints every N steps with
//! resume, a NaN/inf guard, a metrics CSV and a progress bar.
//!
//! Determinism: the weights are initialised from ChaCha8(seed); the noise and t of step k come
//! from [`step_rng`]`(seed, k)`; the batch order of epoch e from [`epoch_order`]`(seed, e, n)`.
//! The state after k steps is therefore a function of (config, data, k) alone, and a run killed
//! and resumed from a checkpoint ends with the same weights as an uninterrupted one.
use burn::module::AutodiffModule;
use burn::prelude::ElementConversion;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::checkpoint::{Checkpoint, Header, RngState};
use crate::config::{LossWeighting, RunConfig};
use crate::diffusion;
use crate::error::{Error, Result};
use crate::model::UNet;
use crate::params::{self, AdamState, AdamW};
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

/// Model, optimiser state, EMA and step counter of one run.
pub struct Trainer<B: AutodiffBackend> {
    pub cfg: RunConfig,
    pub sched: Schedule,
    pub model: UNet<B>,
    pub adam: AdamState<B::InnerBackend>,
    pub ema: Vec<Tensor<B::InnerBackend, 1>>,
    pub shapes: Vec<Vec<usize>>,
    /// Optimiser steps done.
    pub step: u64,
    pub train_seconds: f64,
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
            adam: AdamState::zeros(&shapes, device),
            ema: w,
            shapes,
            model,
            step: 0,
            train_seconds: 0.0,
            device: device.clone(),
        }
    }

    /// Parameter count.
    pub fn num_params(&self) -> usize {
        self.shapes
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
        ckpt.check_shapes(&t.shapes, path)?;
        let group = |name: &str| ckpt.require_group(name, path);
        t.set_weights(group("params")?);
        t.adam.m = params::from_host(group("adam_m")?, device);
        t.adam.v = params::from_host(group("adam_v")?, device);
        t.ema = params::from_host(group("ema")?, device);
        t.step = ckpt.header.step;
        t.train_seconds = ckpt.header.train_seconds;
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
        ckpt.check_shapes(&self.shapes, path)?;
        let host = match ckpt.group("params") {
            Some(g) => g,
            None => ckpt.require_group("ema", path)?,
        };
        self.ema = self.set_weights(host);
        Ok(())
    }

    /// Set the model's weights from host values (visiting order); returns them as tensors.
    fn set_weights(&mut self, host: &[Vec<f32>]) -> Vec<Tensor<B::InnerBackend, 1>> {
        let p = params::from_host::<B::InnerBackend>(host, &self.device);
        let p_ad: Vec<Tensor<B, 1>> = p.iter().cloned().map(Tensor::from_inner).collect();
        self.model = params::set(self.model.clone(), p_ad);
        p
    }

    /// The full training state as a checkpoint.
    pub fn checkpoint(&self) -> Checkpoint {
        let (w, _) = params::collect(&self.model.valid());
        Checkpoint {
            header: Header {
                format: 1,
                step: self.step,
                config: self.cfg.to_toml(),
                rng: RngState {
                    seed: self.cfg.seed,
                    scheme: "chacha8: init seed_from_u64(seed); step k noise/t: step_rng(seed, k); epoch e order: epoch_order(seed, e)".into(),
                    next_step: self.step,
                },
                shapes: self.shapes.clone(),
                groups: vec!["params".into(), "adam_m".into(), "adam_v".into(), "ema".into()],
                checksum: 0,
                train_seconds: self.train_seconds,
            },
            data: vec![
                params::to_host(&w),
                params::to_host(&self.adam.m),
                params::to_host(&self.adam.v),
                params::to_host(&self.ema),
            ],
        }
    }

    /// One optimiser step at learning rate `lr` on the clean batch `x0` (values in [-1, 1]);
    /// returns the loss.
    /// A non-finite loss leaves the state untouched and returns `Error::NonFiniteLoss`
    /// (with an empty `last_good`, filled in by the caller).
    pub fn train_step(&mut self, x0: Tensor<B, 4>, lr: f64) -> Result<f32> {
        let mut rng = step_rng(self.cfg.seed, self.step);
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
        let value: f32 = loss.clone().into_scalar().elem::<f32>();
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss {
                step: self.step + 1,
                value,
                last_good: String::new(),
            });
        }
        let grads = loss.backward();
        let hp = AdamW {
            lr,
            beta1: tc.adam_beta1,
            beta2: tc.adam_beta2,
            eps: tc.adam_eps,
            weight_decay: tc.weight_decay,
        };
        self.model = params::adamw_step(
            self.model.clone(),
            &grads,
            &mut self.adam,
            hp,
            self.step + 1,
        );
        self.step += 1;
        let (w, _) = params::collect(&self.model.valid());
        params::ema_update(&mut self.ema, &w, tc.ema_decay, tc.ema_start, self.step);
        Ok(value)
    }

    /// A copy of the model with the EMA weights (inference backend).
    pub fn ema_model(&self) -> UNet<B::InnerBackend> {
        params::set(self.model.valid(), self.ema.clone())
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
    let mut metrics_text = read_metrics(&metrics, trainer.step);
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
        pb.set_prefix(cfg.task.clone());
        pb
    };
    pb.set_position(trainer.step);
    let mut last_ckpt = run.latest_checkpoint().map(|(_, p)| p);
    let (mut acc, mut acc_n, mut acc_imgs) = (0.0f64, 0u64, 0usize);
    let mut window = Instant::now();
    let start = Instant::now();
    let start_seconds = trainer.train_seconds;
    let first_step = trainer.step;
    let mut last_loss = None;
    while trainer.step < total && opts.stop_at.is_none_or(|k| trainer.step < k) {
        let lr = tc.lr_at(trainer.step + 1, total);
        let idx = batch_indices(cfg.seed, trainer.step, n, tc.batch_size);
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
        trainer.train_seconds = start_seconds + start.elapsed().as_secs_f64();
        last_loss = Some((trainer.step, loss));
        acc += loss as f64;
        acc_n += 1;
        acc_imgs += idx.len();
        pb.set_position(trainer.step);
        if trainer.step % tc.log_every == 0 || trainer.step == total {
            let dt = window.elapsed().as_secs_f64().max(1e-9);
            let mean = acc / acc_n as f64;
            writeln!(
                metrics_text,
                "{},{:.6},{},{:.3}",
                trainer.step,
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
        if trainer.step % tc.checkpoint_every == 0 || trainer.step == total {
            let p = run.checkpoint_path(trainer.step);
            trainer.checkpoint().save(&p)?;
            run.prune_checkpoints(tc.keep_checkpoints);
            last_ckpt = Some(p);
        }
    }
    pb.finish_and_clear();
    Ok(TrainSummary {
        steps: trainer.step,
        new_steps: trainer.step - first_step,
        total_steps: total,
        seconds: start.elapsed().as_secs_f64(),
        last_loss: last_loss.or_else(|| last_logged_loss(&metrics_text)),
        last_checkpoint: last_ckpt,
    })
}
