//! Resumable classifier training (Sec. 5, App. G): AdamW on CE + lambda NT-Xent (Eq. 3); noisy
//! classifiers see x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps at uniform t with the
//! DDPM linear schedule. Run directory: `config.toml`, `run.json`, `metrics.csv`,
//! `checkpoints/latest.ckpt` (groups params / adam_m / adam_v; config = this TOML),
//! `classifier.ckpt` (final weights) and `eval.json`.
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use empirical_rules::Task;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::config::{Arch, ClassifierConfig};
use super::data::{contrastive_split, Split};
use super::loss::total_loss;
use super::nets::{Classifier, NUM_CLASSES};
use crate::checkpoint::Checkpoint;
use crate::diffusion::{normal_tensor, q_sample, uniform_steps};
use crate::error::{Error, Result};
use crate::optim::{self, CheckpointMeta, OptimState};
use crate::params::{self, AdamW};
use crate::rundir::write_atomic;
use crate::schedule::Schedule;
use crate::train::{batch_indices, gather, init_rng, step_rng, steps_per_epoch};

/// Noise levels (0-based step indices) of the held-out accuracy-by-noise table.
pub const EVAL_LEVELS: [usize; 8] = [0, 50, 100, 200, 400, 600, 800, 999];

/// Accuracy at one noise level.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LevelAccuracy {
    pub t: usize,
    pub accuracy: f64,
}

/// `eval.json` of a classifier run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClassifierReport {
    pub task: Task,
    pub arch: Arch,
    pub noisy: bool,
    pub steps: u64,
    pub n_train: usize,
    pub n_test: usize,
    /// Clean classifiers: on clean images; noisy: at seeded uniform random t.
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    /// `confusion[true][pred]` on the test split (same inputs as `test_accuracy`).
    pub confusion: [[usize; 3]; 3],
    /// Noisy classifiers: test accuracy at fixed t with seeded noise.
    pub by_noise_level: Vec<LevelAccuracy>,
    pub train_seconds: f64,
    pub final_loss: f64,
}

/// The DDPM schedule of `cfg` (T, beta_1, beta_T).
pub fn schedule(cfg: &ClassifierConfig) -> Schedule {
    Schedule::linear(cfg.timesteps, cfg.beta_start, cfg.beta_end)
}

/// Total optimiser steps: epochs over the training split, capped by max_steps when > 0.
pub fn total_steps(cfg: &ClassifierConfig, n_train: usize) -> u64 {
    let e = steps_per_epoch(n_train, cfg.batch_size) * cfg.epochs as u64;
    if cfg.max_steps > 0 {
        e.min(cfg.max_steps)
    } else {
        e
    }
}

/// Inputs of a batch: clean images, or for noisy classifiers q_sample at uniform t drawn with eps
/// from `rng`; returns (x, t).
fn inputs<B: Backend>(
    cfg: &ClassifierConfig,
    sched: &Schedule,
    x0: Tensor<B, 4>,
    fixed_t: Option<usize>,
    rng: &mut ChaCha8Rng,
) -> (Tensor<B, 4>, Vec<usize>) {
    if !cfg.noisy {
        return (x0, Vec::new());
    }
    let dims = x0.dims();
    let t = match fixed_t {
        Some(t) => vec![t; dims[0]],
        None => uniform_steps(rng, dims[0], sched.len()),
    };
    let eps = normal_tensor::<B>(rng, dims, &x0.device());
    (q_sample(sched, x0, &t, eps), t)
}

/// How a classifier run's random streams come from its seed (recorded in its checkpoints).
const RNG_SCHEME: &str = "chacha8: init seed_from_u64(seed); step k t/eps: step_rng(seed, k); epoch e order: epoch_order(seed, e)";

/// Training state: model and optimiser state (AdamW moments, step).
pub struct ClassifierTrainer<B: AutodiffBackend> {
    pub cfg: ClassifierConfig,
    pub model: Classifier<B>,
    pub optim: OptimState<B::InnerBackend>,
    sched: Schedule,
    device: B::Device,
}

/// Losses of one step.
#[derive(Clone, Copy, Debug)]
pub struct StepLoss {
    pub total: f32,
    pub ce: f32,
    pub ntxent: f32,
}

impl<B: AutodiffBackend> ClassifierTrainer<B> {
    /// Fresh weights from `init_rng(cfg.seed)`.
    pub fn new(cfg: &ClassifierConfig, device: &B::Device) -> Self {
        let model = Classifier::<B>::new(cfg, &mut init_rng(cfg.seed), device);
        let shapes = params::shapes(&model);
        ClassifierTrainer {
            cfg: cfg.clone(),
            optim: OptimState::new(shapes, device),
            model,
            sched: schedule(cfg),
            device: device.clone(),
        }
    }

    /// Restore the full state from a checkpoint written by [`ClassifierTrainer::checkpoint`].
    pub fn from_checkpoint(ck: &Checkpoint, path: &Path, device: &B::Device) -> Result<Self> {
        let cfg =
            ClassifierConfig::from_resolved_toml(&ck.header.config, &path.display().to_string())?;
        let mut tr = Self::new(&cfg, device);
        let weights = tr.optim.restore(ck, path, device)?;
        tr.model = optim::set_weights(tr.model, weights, device).0;
        Ok(tr)
    }

    /// Full state (params, adam_m, adam_v) with this config's TOML.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let (w, _) = params::collect(&self.model.valid());
        let meta = CheckpointMeta {
            config: self.cfg.to_toml()?,
            seed: self.cfg.seed,
            rng_scheme: RNG_SCHEME,
        };
        Ok(self.optim.checkpoint(meta, &w, &[]))
    }

    /// One AdamW step on the training split; a non-finite loss returns `NonFiniteLoss`
    /// naming the step and leaves the state untouched.
    pub fn train_step(&mut self, train: &Split) -> Result<StepLoss> {
        let step = self.optim.step;
        let idx = batch_indices(self.cfg.seed, step, train.len(), self.cfg.batch_size);
        let x0 = gather::<B>(&train.x, &idx, train.chw, &self.device);
        let labels: Vec<usize> = idx.iter().map(|&i| train.labels[i]).collect();
        let mut rng = step_rng(self.cfg.seed, step);
        let (x, t) = inputs(&self.cfg, &self.sched, x0, None, &mut rng);
        let (z, logits) = self.model.forward_features(x, &t);
        let (loss, ce, nt) = total_loss(z, logits, &labels, self.cfg.lambda, self.cfg.tau);
        let (ce, ntxent) = (
            ce.into_scalar().elem::<f32>(),
            nt.into_scalar().elem::<f32>(),
        );
        let hp = AdamW {
            lr: self.cfg.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: self.cfg.weight_decay,
        };
        let (model, total) = self.optim.apply(self.model.clone(), loss, hp)?;
        self.model = model;
        Ok(StepLoss { total, ce, ntxent })
    }
}

/// Predicted classes of `split` (inputs noised at `fixed_t`, or uniform t, with `rng`) and the
/// confusion matrix `[true][pred]`.
pub fn evaluate_split<B: Backend>(
    model: &Classifier<B>,
    cfg: &ClassifierConfig,
    split: &Split,
    fixed_t: Option<usize>,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> (f64, [[usize; 3]; 3]) {
    let sched = schedule(cfg);
    let mut conf = [[0usize; 3]; 3];
    let n = split.len();
    let mut correct = 0usize;
    for start in (0..n).step_by(256) {
        let idx: Vec<usize> = (start..(start + 256).min(n)).collect();
        let x0 = gather::<B>(&split.x, &idx, split.chw, device);
        let (x, t) = inputs(cfg, &sched, x0, fixed_t, rng);
        let pred = model.forward(x, &t).argmax(1).into_data();
        let pred: Vec<i64> = pred.iter::<i64>().collect();
        for (k, &i) in idx.iter().enumerate() {
            let p = (pred[k] as usize).min(NUM_CLASSES - 1);
            conf[split.labels[i]][p] += 1;
            correct += (p == split.labels[i]) as usize;
        }
    }
    (correct as f64 / n.max(1) as f64, conf)
}

fn metrics_header() -> &'static str {
    "step,loss,ce,ntxent,lr,images_per_s\n"
}

/// Keep the metrics rows of steps <= `upto` that are on the `log_every` grid (a resumed run
/// rewrites the rest, including an earlier run's final off-grid row).
fn truncate_metrics(path: &Path, upto: u64, log_every: u64) -> Result<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = String::from(metrics_header());
    for line in text.lines().skip(1) {
        let s: Option<u64> = line.split(',').next().and_then(|s| s.parse().ok());
        if s.is_some_and(|s| s <= upto && s % log_every == 0) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Train the classifier of `cfg` in run directory `out` (resuming from
/// `out/checkpoints/latest.ckpt` when `resume`), then write `classifier.ckpt` and `eval.json`.
pub fn train_classifier_on<B: AutodiffBackend>(
    cfg: &ClassifierConfig,
    out: &Path,
    resume: bool,
    quiet: bool,
    device: &B::Device,
) -> Result<ClassifierReport> {
    cfg.validate()?;
    let ck_dir = out.join("checkpoints");
    std::fs::create_dir_all(&ck_dir).map_err(|e| Error::io(&ck_dir, e))?;
    let latest = ck_dir.join("latest.ckpt");
    let metrics_path = out.join("metrics.csv");
    let mut tr = if resume && latest.is_file() {
        let ck = Checkpoint::load(&latest)?;
        let mut tr = ClassifierTrainer::<B>::from_checkpoint(&ck, &latest, device)?;
        // Only the run length and logging may change on resume.
        let mut same = tr.cfg.clone();
        same.max_steps = cfg.max_steps;
        same.epochs = cfg.epochs;
        same.checkpoint_every = cfg.checkpoint_every;
        same.log_every = cfg.log_every;
        if same != *cfg {
            return Err(Error::Other(format!(
                "--resume: the config differs from the checkpoint's ({}) in more than \
                 max_steps/epochs/checkpoint_every/log_every",
                latest.display()
            )));
        }
        tr.cfg = cfg.clone();
        tr
    } else {
        ClassifierTrainer::<B>::new(cfg, device)
    };
    let cfg = tr.cfg.clone();
    write_atomic(&out.join("config.toml"), cfg.to_toml()?.as_bytes())?;
    let (train, test) = contrastive_split(&cfg)?;
    let total = total_steps(&cfg, train.len());
    let info = serde_json::json!({
        "kind": "classifier", "task": cfg.task, "arch": cfg.arch, "noisy": cfg.noisy,
        "seed": cfg.seed, "n_train": train.len(), "n_test": test.len(), "total_steps": total,
        "num_params": tr.optim.shapes.iter().map(|s| s.iter().product::<usize>()).sum::<usize>(),
        "resumed_at": tr.optim.step,
    });
    write_atomic(
        &out.join("run.json"),
        serde_json::to_string_pretty(&info)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let mut metrics = truncate_metrics(&metrics_path, tr.optim.step, cfg.log_every)?;
    let pb = if quiet {
        ProgressBar::hidden()
    } else {
        let p = ProgressBar::new(total);
        p.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}<{eta}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        p
    };
    pb.set_position(tr.optim.step);
    let save = |tr: &ClassifierTrainer<B>, metrics: &str| -> Result<()> {
        write_atomic(&metrics_path, metrics.as_bytes())?;
        tr.checkpoint()?.save(&latest)
    };
    let mut last = f32::NAN;
    let mut t_log = Instant::now();
    while tr.optim.step < total {
        let t0 = Instant::now();
        let sl = match tr.train_step(&train) {
            Ok(s) => s,
            Err(Error::NonFiniteLoss { step, value, .. }) => {
                write_atomic(&metrics_path, metrics.as_bytes())?;
                return Err(Error::NonFiniteLoss {
                    step,
                    value,
                    last_good: latest.display().to_string(),
                });
            }
            Err(e) => return Err(e),
        };
        tr.optim.train_seconds += t0.elapsed().as_secs_f64();
        last = sl.total;
        pb.inc(1);
        if tr.optim.step % cfg.log_every == 0 || tr.optim.step == total {
            let ips = (cfg.batch_size as f64 * cfg.log_every as f64)
                / t_log.elapsed().as_secs_f64().max(1e-9);
            t_log = Instant::now();
            metrics.push_str(&format!(
                "{},{},{},{},{},{:.1}\n",
                tr.optim.step, sl.total, sl.ce, sl.ntxent, cfg.lr, ips
            ));
            pb.set_message(format!("loss {:.4}", sl.total));
        }
        if tr.optim.step % cfg.checkpoint_every == 0 || tr.optim.step == total {
            save(&tr, &metrics)?;
        }
    }
    pb.finish_and_clear();
    write_atomic(&metrics_path, metrics.as_bytes())?;
    let mut ck = tr.checkpoint()?;
    ck.header.groups = vec!["params".into()];
    ck.data.truncate(1);
    ck.save(&out.join("classifier.ckpt"))?;
    let model = tr.model.valid();
    let dev = device.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x4556_414c);
    let (train_accuracy, _) = evaluate_split(&model, &cfg, &train, None, &mut rng, &dev);
    let (test_accuracy, confusion) = evaluate_split(&model, &cfg, &test, None, &mut rng, &dev);
    let by_noise_level = if cfg.noisy {
        EVAL_LEVELS
            .iter()
            .filter(|&&t| t < cfg.timesteps)
            .map(|&t| {
                let mut r = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x4c45_5645_4c00 ^ t as u64);
                LevelAccuracy {
                    t,
                    accuracy: evaluate_split(&model, &cfg, &test, Some(t), &mut r, &dev).0,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let report = ClassifierReport {
        task: cfg.task.clone(),
        arch: cfg.arch,
        noisy: cfg.noisy,
        steps: tr.optim.step,
        n_train: train.len(),
        n_test: test.len(),
        train_accuracy,
        test_accuracy,
        confusion,
        by_noise_level,
        train_seconds: tr.optim.train_seconds,
        final_loss: last as f64,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&out.join("eval.json"), &json)?;
    Ok(report)
}

/// [`train_classifier_on`] on the CPU autodiff backend.
pub fn train_classifier(
    cfg: &ClassifierConfig,
    out: &Path,
    resume: bool,
    quiet: bool,
) -> Result<ClassifierReport> {
    train_classifier_on::<crate::backend::CpuAutodiff>(cfg, out, resume, quiet, &Default::default())
}

/// The checkpoint file of `path`: the file itself, or a run dir's `classifier.ckpt`
/// (else its `checkpoints/latest.ckpt`).
pub fn checkpoint_path(path: &Path) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if path.is_dir() {
        for p in [
            path.join("classifier.ckpt"),
            path.join("checkpoints/latest.ckpt"),
        ] {
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(Error::Other(format!(
        "no classifier checkpoint at {} (expected a .ckpt file or a run dir with classifier.ckpt)",
        path.display()
    )))
}

/// Load a trained classifier (checkpoint file or run dir) with its config.
pub fn load_classifier<B: Backend>(
    path: &Path,
    device: &B::Device,
) -> Result<(ClassifierConfig, Classifier<B>)> {
    let p = checkpoint_path(path)?;
    crate::checkpoint::expect_kind(&p, crate::checkpoint::CheckpointKind::Classifier)?;
    let ck = Checkpoint::load(&p)?;
    let cfg = ClassifierConfig::from_resolved_toml(&ck.header.config, &p.display().to_string())?;
    let model = Classifier::<B>::new(&cfg, &mut init_rng(cfg.seed), device);
    ck.check_shapes(&params::shapes(&model), &p)?;
    let w = ck.require_group("params", &p)?;
    let model = params::set(model, params::from_host::<B>(w, device));
    Ok((cfg, model))
}
