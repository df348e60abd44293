//! A backend against the CPU backend (burn-flex) on the tiny preset of Task A: the same initial
//! weights, 20 training steps on the same batches with the same t and noise (all drawn on the
//! host from the run's ChaCha8 streams), then DDPM, DDIM and classifier-guided sampling from the
//! same weights and seed, compared before and after quantisation to u8, and the rules evaluator
//! on the backend's samples. Used by `empirical gpu-check` and the backend-agreement test.
//!
//! Tolerances. Both backends compute in f32 (unit roundoff u = 6e-8) but sum in different orders
//! (convolutions, matmuls, means), so every result differs by rounding:
//! - step-1 loss (same weights, same inputs: forward rounding only): relative 1e-5.
//! - the 20-step loss curve: relative 1e-4 per step. The curves drift apart through AdamW: its
//!   first steps move every weight by about lr = 3e-4 whatever the gradient's size, so a
//!   gradient that rounding flips in sign moves a weight 2 lr the other way.
//! - weights after 20 steps: max |diff| 1e-3, a little over 2 lr (the largest possible
//!   single-step sign-flip difference).
//! - sampling floats (values in [-1, 1]): max |diff| 2e-3, a quarter of one u8 level
//!   (2 / 255 = 7.8e-3); after quantisation no pixel may differ by more than 1 and at most 1 %
//!   by exactly 1 (a rounding boundary crossed).
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Device, Tensor};
use image::RgbImage;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::backend::{Cpu, CpuAutodiff};
use crate::classifier::config::{Arch, ClassifierConfig};
use crate::classifier::nets::Classifier;
use crate::config::{Preset, RunConfig, SampleMethod};
use crate::error::{Error, Result};
use crate::guidance::{self, GuidanceOptions, GuidanceSchedule};
use crate::model::UNet;
use crate::params;
use crate::pipeline;
use crate::sampler::{self, SamplerOptions};
use crate::schedule::Schedule;
use crate::train::{self, Trainer};
use empirical_rules::Task;

/// Training steps compared.
pub const STEPS: u64 = 20;
/// Relative loss difference at step 1 (forward rounding only).
pub const TOL_LOSS_FIRST: f64 = 1e-5;
/// Relative loss difference at every step.
pub const TOL_LOSS: f64 = 1e-4;
/// Largest weight difference after [`STEPS`] steps.
pub const TOL_WEIGHTS: f32 = 1e-3;
/// Largest difference of sampled values (before quantisation).
pub const TOL_SAMPLE: f32 = 2e-3;
/// Largest fraction of u8 channel values that differ by 1.
pub const TOL_U8_FRACTION: f64 = 0.01;
/// Images per sampler (one batch of 3 and one of 1).
pub const N_IMAGES: usize = 4;
const BATCH: usize = 3;

/// One sampler on both backends.
#[derive(Clone, Debug, Serialize)]
pub struct SamplerAgreement {
    pub sampler: String,
    pub max_value_diff: f32,
    /// u8 channel values differing by exactly 1, by more, and their total.
    pub u8_off_by_one: usize,
    pub u8_off_by_more: usize,
    pub u8_values: usize,
    /// The evaluator read the backend's samples.
    pub evaluated: bool,
}

/// What [`compare`] measured, with every tolerance it is held to.
#[derive(Clone, Debug, Serialize)]
pub struct Agreement {
    pub steps: u64,
    pub loss_cpu: Vec<f32>,
    pub loss_device: Vec<f32>,
    pub loss_rel_first: f64,
    pub loss_rel_max: f64,
    pub max_weight_diff: f32,
    pub samplers: Vec<SamplerAgreement>,
    pub seconds_cpu: f64,
    pub seconds_device: f64,
    /// Every tolerance exceeded, in words (empty: the backends agree).
    pub failures: Vec<String>,
}

impl Agreement {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
    /// A few lines for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "training: {} steps; relative loss differences: step 1 {:.2e} (tolerance {TOL_LOSS_FIRST:e}), \
             max {:.2e} ({TOL_LOSS:e}); max |weight difference| {:.2e} ({TOL_WEIGHTS:e})\n",
            self.steps, self.loss_rel_first, self.loss_rel_max, self.max_weight_diff
        );
        for a in &self.samplers {
            s.push_str(&format!(
                "  {}: max |value difference| {:.2e} ({TOL_SAMPLE:e}); u8: {} of {} differ by 1, {} by more\n",
                a.sampler, a.max_value_diff, a.u8_off_by_one, a.u8_values, a.u8_off_by_more
            ));
        }
        s.push_str(&format!(
            "time: cpu {:.1} s, device {:.1} s; {}",
            self.seconds_cpu,
            self.seconds_device,
            if self.passed() {
                "the backends agree".to_string()
            } else {
                format!("DISAGREE: {}", self.failures.join("; "))
            }
        ));
        s
    }
}

/// A tensor's values on the host (empty when they are not f32-convertible).
pub fn host<B: Backend, const D: usize>(x: Tensor<B, D>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .unwrap_or_default()
}

/// Largest |a - b|, NaN when the lengths differ or any difference is NaN.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::NAN;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, nan_max)
}

/// The larger of `m` and `x`, NaN when either is NaN (a NaN must fail the comparison).
fn nan_max<T: PartialOrd + Copy>(m: T, x: T) -> T {
    #[allow(clippy::eq_op)]
    let x_nan = x != x;
    if x_nan || x > m {
        x
    } else {
        m
    }
}

/// Host copies of a module's parameters (visiting order).
pub fn weights<B: Backend, M: burn::module::Module<B>>(m: &M) -> Vec<Vec<f32>> {
    params::to_host(&params::collect(m).0)
}

fn flat(w: &[Vec<f32>]) -> Vec<f32> {
    w.concat()
}

/// Per-step losses of [`STEPS`] steps of `t` on `data`, exactly as [`train::train`] draws them.
fn train_curve<B: AutodiffBackend>(t: &mut Trainer<B>, data: &[f32], n: usize) -> Result<Vec<f32>> {
    let cfg = t.cfg.clone();
    let (c, s) = (cfg.model.in_channels, cfg.image_size);
    let total = train::total_steps(&cfg, n);
    (0..STEPS)
        .map(|k| {
            let lr = cfg.train.lr_at(k + 1, total);
            let idx = train::batch_indices(cfg.seed, k, n, cfg.train.batch_size);
            let x0 = train::gather::<B>(data, &idx, [c, s, s], &t.device);
            t.train_step(x0, lr)
        })
        .collect()
}

/// Samples of one sampler: the u8 images and the float values they were quantised from.
struct Drawn {
    images: Vec<RgbImage>,
    values: Vec<f32>,
}

/// Draw [`N_IMAGES`] images in batches of [`BATCH`] with `sample_batch` through
/// [`pipeline::sample_images_with`] (the seeding and batching of `empirical sample`), keeping
/// the float values.
fn draw<B: Backend>(
    cfg: &RunConfig,
    opts: &SamplerOptions,
    mut sample_batch: impl FnMut(usize, &mut ChaCha8Rng, &mut dyn FnMut()) -> Tensor<B, 4>,
) -> Drawn {
    let mut values = Vec::new();
    let images = pipeline::sample_images_with(
        cfg,
        N_IMAGES,
        BATCH,
        opts,
        5,
        true,
        "agree",
        |nb, rng, s| {
            let x = sample_batch(nb, rng, s);
            values.extend(host(x.clone()));
            x
        },
    );
    Drawn { images, values }
}

/// The samplers compared: (name, options, guidance).
pub fn samplers(cfg: &RunConfig) -> Vec<(&'static str, SamplerOptions, Option<GuidanceOptions>)> {
    let ddpm = SamplerOptions {
        method: SampleMethod::Ddpm,
        ..pipeline::sampler_options(cfg)
    };
    let ddim = pipeline::sampler_options(cfg);
    let ddim_eta1 = SamplerOptions {
        ddim_eta: 1.0,
        ..ddim
    };
    let constant = GuidanceOptions {
        scale: 7.0,
        schedule: GuidanceSchedule::Constant,
        class: 1,
    };
    let piecewise = GuidanceOptions {
        scale: 7.0,
        schedule: GuidanceSchedule::Piecewise { last_steps: 20 },
        class: 1,
    };
    vec![
        ("DDPM", ddpm, None),
        ("DDIM (eta 0, clipped x0)", ddim, None),
        (
            "guided DDIM (eta 1, scale 7 constant)",
            ddim_eta1,
            Some(constant),
        ),
        (
            "guided DDPM (scale 7 piecewise, last 20)",
            ddpm,
            Some(piecewise),
        ),
    ]
}

/// Every sampler of [`samplers`] on backend `BA`'s inner backend with `model` and `clf`.
fn sample_all<BA: AutodiffBackend>(
    cfg: &RunConfig,
    model: &UNet<BA::InnerBackend>,
    clf: &Classifier<BA>,
    device: &Device<BA::InnerBackend>,
) -> Vec<Drawn> {
    let sched = Schedule::from_config(&cfg.diffusion);
    let (c, s) = (cfg.model.in_channels, cfg.image_size);
    samplers(cfg)
        .into_iter()
        .map(|(_, opts, guide)| match guide {
            None => draw(cfg, &opts, |nb, rng, on_step| {
                sampler::sample(model, &sched, nb, c, s, &opts, rng, device, on_step)
            }),
            Some(g) => draw(cfg, &opts, |nb, rng, on_step| {
                guidance::sample_guided::<BA::InnerBackend, BA, Classifier<BA>>(
                    model, clf, &sched, nb, c, s, &opts, &g, rng, device, on_step,
                )
            }),
        })
        .collect()
}

/// (largest |difference|, number of channel values differing by 1, number differing by more).
fn u8_diff(a: &[RgbImage], b: &[RgbImage]) -> (u8, usize, usize) {
    let mut worst = 0u8;
    let (mut ones, mut more) = (0, 0);
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x.as_raw().iter().zip(y.as_raw()) {
            let d = p.abs_diff(*q);
            worst = worst.max(d);
            match d {
                0 => {}
                1 => ones += 1,
                _ => more += 1,
            }
        }
    }
    (worst, ones, more)
}

/// One U-Net forward pass on fixed inputs, on Flex and on wgpu, each with and without autodiff,
/// and the up blocks' 2x upsampling (burn's kernel and the matmul form) on wgpu.
/// Train and sample on the CPU backend and on `BA` (device `dev`) from the same weights and
/// seeds, and compare (see the module docs for what and within what).
pub fn compare<BA: AutodiffBackend>(dev: &Device<BA>) -> Result<Agreement> {
    let dc: Device<Cpu> = Default::default();
    let mut cfg = RunConfig::preset(Preset::Tiny, Task::A)?;
    cfg.seed = 11;
    train::set_max_steps(&mut cfg, STEPS);
    cfg.validate()?;
    let images = crate::data::training_images(&cfg, None)?;
    let data = crate::data::to_tensor_data(&images);
    let n = images.len();

    // the same initial weights: built on the CPU, copied to the device
    let mut tc = Trainer::<CpuAutodiff>::new(&cfg, &dc);
    let mut tw = Trainer::<BA>::new(&cfg, dev);
    let w0 = weights(&tc.model.valid());
    tw.model = params::set(tw.model, params::from_host::<BA>(&w0, dev));
    tw.ema = params::from_host::<BA::InnerBackend>(&w0, dev);
    if flat(&weights(&tw.model.valid())) != flat(&w0) {
        return Err(Error::Device(
            "weights copied to the device read back different".into(),
        ));
    }

    let t0 = std::time::Instant::now();
    let loss_c = train_curve(&mut tc, &data, n)?;
    let mut seconds_cpu = t0.elapsed().as_secs_f64();
    let t0 = std::time::Instant::now();
    let loss_w = train_curve(&mut tw, &data, n)?;
    let mut seconds_device = t0.elapsed().as_secs_f64();
    let rel: Vec<f64> = loss_c
        .iter()
        .zip(&loss_w)
        .map(|(&a, &b)| ((a as f64 - b as f64) / a as f64).abs())
        .collect();
    let loss_rel_max = rel.iter().cloned().fold(0.0, nan_max);
    let loss_rel_first = rel.first().copied().unwrap_or(f64::NAN);
    let max_weight_diff = max_abs_diff(
        &flat(&weights(&tc.model.valid())),
        &flat(&weights(&tw.model.valid())),
    );

    // sampling from one set of weights (the CPU run's EMA) and one classifier on both backends
    let ema = params::to_host(&tc.ema);
    let model_c: UNet<Cpu> = params::set(tc.model.valid(), params::from_host::<Cpu>(&ema, &dc));
    let model_w: UNet<BA::InnerBackend> = params::set(
        tw.model.valid(),
        params::from_host::<BA::InnerBackend>(&ema, dev),
    );
    let ccfg = ClassifierConfig::preset(Preset::Tiny, Task::A, Arch::Unet, true)?;
    let clf_c = Classifier::<CpuAutodiff>::new(&ccfg, &mut train::init_rng(ccfg.seed), &dc);
    let clf_w = Classifier::<BA>::new(&ccfg, &mut train::init_rng(ccfg.seed), dev);
    let clf_w = params::set(clf_w, params::from_host::<BA>(&weights(&clf_c), dev));
    let t0 = std::time::Instant::now();
    let drawn_c = sample_all::<CpuAutodiff>(&cfg, &model_c, &clf_c, &dc);
    seconds_cpu += t0.elapsed().as_secs_f64();
    let t0 = std::time::Instant::now();
    let drawn_w = sample_all::<BA>(&cfg, &model_w, &clf_w, dev);
    seconds_device += t0.elapsed().as_secs_f64();

    let mut failures = Vec::new();
    let task = crate::data::task_of(&cfg)?;
    let ec = empirical_rules::EvalConfig::default();
    let mut out = Vec::new();
    for ((name, _, _), (c, w)) in samplers(&cfg).iter().zip(drawn_c.iter().zip(&drawn_w)) {
        let d = max_abs_diff(&c.values, &w.values);
        let (_, ones, more) = u8_diff(&c.images, &w.images);
        let total: usize = c.images.iter().map(|i| i.as_raw().len()).sum();
        if !d.is_finite() || d > TOL_SAMPLE {
            failures.push(format!(
                "{name}: max |value difference| {d:.3e} > {TOL_SAMPLE:e}"
            ));
        }
        if c.images.len() != w.images.len()
            || more > 0
            || ones as f64 > TOL_U8_FRACTION * total as f64
        {
            failures.push(format!(
                "{name}: u8 images: {ones} of {total} values differ by 1 (allowed {:.0}), \
                 {more} by more (allowed 0)",
                TOL_U8_FRACTION * total as f64
            ));
        }
        let evaluated = match empirical_rules::evaluate(task, &w.images, &ec) {
            Ok(r) => r.per_image.len() == w.images.len(),
            Err(e) => {
                failures.push(format!("{name}: the evaluator rejects the samples: {e}"));
                false
            }
        };
        out.push(SamplerAgreement {
            sampler: name.to_string(),
            max_value_diff: d,
            u8_off_by_one: ones,
            u8_off_by_more: more,
            u8_values: total,
            evaluated,
        });
    }
    if loss_rel_first.is_nan() || loss_rel_first > TOL_LOSS_FIRST {
        failures.push(format!(
            "step-1 loss: relative difference {loss_rel_first:.3e} > {TOL_LOSS_FIRST:e}"
        ));
    }
    if loss_rel_max.is_nan() || loss_rel_max > TOL_LOSS {
        failures.push(format!(
            "loss curve: relative difference {loss_rel_max:.3e} > {TOL_LOSS:e}"
        ));
    }
    if max_weight_diff.is_nan() || max_weight_diff > TOL_WEIGHTS {
        failures.push(format!(
            "weights after {STEPS} steps: max |difference| {max_weight_diff:.3e} > {TOL_WEIGHTS:e}"
        ));
    }
    Ok(Agreement {
        steps: STEPS,
        loss_cpu: loss_c,
        loss_device: loss_w,
        loss_rel_first,
        loss_rel_max,
        max_weight_diff,
        samplers: out,
        seconds_cpu,
        seconds_device,
        failures,
    })
}
