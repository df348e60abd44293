//! The wgpu backend (burn-wgpu) against the CPU backend (burn-flex) on the tiny preset of Task A:
//! the same initial weights, 20 training steps on the same batches with the same t and noise
//! (all drawn on the host from the run's ChaCha8 streams), then DDPM, DDIM and classifier-guided
//! sampling from the same weights and seed, compared before and after quantisation to u8, and
//! the rules evaluator on the wgpu samples.
//!
//! Built only with `--features wgpu`. Without a usable wgpu adapter (no Vulkan driver: see
//! `scripts/vulkan/up.sh` for Mesa's software device, lavapipe) it prints why and passes.
//!
//! Tolerances. Both backends compute in f32 (unit roundoff u = 6e-8) but sum in different orders
//! (convolutions, matmuls, means), so every result differs by rounding. Bounds, with measured
//! values on lavapipe (Mesa 22.3, llvmpipe) in brackets:
//! - step-1 loss (same weights, same inputs: forward rounding only): relative 1e-5 [~1e-7].
//! - the 20-step loss curve: relative 1e-4 per step [~1e-6]. The curves drift apart through
//!   AdamW: its first steps move every weight by about lr = 3e-4 whatever the gradient's size,
//!   so a gradient that rounding flips in sign moves a weight 2 lr the other way.
//! - weights after 20 steps: max |diff| 1e-3, a little over 2 lr (the largest possible
//!   single-step sign-flip difference) [~5e-6].
//! - sampling floats (values in [-1, 1] scale): max |diff| 2e-3, a quarter of one u8 level
//!   (2 / 255 = 7.8e-3) [~1e-5 to 1e-4]; after quantisation no pixel may differ by more than 1
//!   and at most 1 % by exactly 1 (a rounding boundary crossed) [0 to a few pixels].
#![cfg(feature = "wgpu")]

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Device, Tensor};
use image::RgbImage;
use rand_chacha::ChaCha8Rng;

use empirical::backend::{probe_wgpu, Cpu, CpuAutodiff, Wgpu, WgpuAutodiff};
use empirical::classifier::config::ClassifierConfig;
use empirical::classifier::nets::Classifier;
use empirical::config::{RunConfig, SampleMethod};
use empirical::guidance::{self, GuidanceOptions, GuidanceSchedule};
use empirical::model::UNet;
use empirical::ops::upsample::upsample2x_bilinear;
use empirical::params;
use empirical::pipeline;
use empirical::sampler::{self, SamplerOptions};
use empirical::schedule::Schedule;
use empirical::train::{self, Trainer};

/// Training steps compared.
const STEPS: u64 = 20;
/// Largest difference of one U-Net forward pass (outputs of size about 1).
const TOL_FORWARD: f32 = 1e-4;
/// Relative loss difference at step 1 (forward rounding only).
const TOL_LOSS_FIRST: f64 = 1e-5;
/// Relative loss difference at every step.
const TOL_LOSS: f64 = 1e-4;
/// Largest weight difference after [`STEPS`] steps.
const TOL_WEIGHTS: f32 = 1e-3;
/// Largest difference of sampled values (before quantisation).
const TOL_SAMPLE: f32 = 2e-3;
/// Largest fraction of u8 channel values that differ by 1.
const TOL_U8_FRACTION: f64 = 0.01;
/// Images per sampler (one batch of 3 and one of 1).
const N_IMAGES: usize = 4;
const BATCH: usize = 3;

fn host<B: Backend, const D: usize>(x: Tensor<B, D>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
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
fn weights<B: Backend, M: burn::module::Module<B>>(m: &M) -> Vec<Vec<f32>> {
    params::to_host(&params::collect(m).0)
}

fn flat(w: &[Vec<f32>]) -> Vec<f32> {
    w.concat()
}

/// Per-step losses of [`STEPS`] steps of `t` on `data`, exactly as [`train::train`] draws them.
fn train_curve<B: AutodiffBackend>(t: &mut Trainer<B>, data: &[f32], n: usize) -> Vec<f32> {
    let cfg = t.cfg.clone();
    let (c, s) = (cfg.model.in_channels, cfg.image_size);
    let total = train::total_steps(&cfg, n);
    (0..STEPS)
        .map(|k| {
            assert_eq!(t.step, k);
            let lr = cfg.train.lr_at(k + 1, total);
            let idx = train::batch_indices(cfg.seed, k, n, cfg.train.batch_size);
            let x0 = train::gather::<B>(data, &idx, [c, s, s], &t.device);
            t.train_step(x0, lr).expect("finite loss")
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
fn samplers(cfg: &RunConfig) -> Vec<(&'static str, SamplerOptions, Option<GuidanceOptions>)> {
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
    assert_eq!(a.len(), b.len());
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
#[test]
fn wgpu_forward_agrees_with_flex_with_and_without_autodiff() {
    if let Err(e) = probe_wgpu() {
        println!("backend_agreement: skipped, no usable wgpu device: {e}");
        return;
    }
    use empirical::ops::upsample::upsample2x_composite;
    use rand::SeedableRng;
    let dc: Device<Cpu> = Default::default();
    let dw: Device<Wgpu> = Default::default();
    let cfg = RunConfig::preset("tiny", "A").unwrap();
    let s = cfg.image_size;
    let model_c = UNet::<Cpu>::new(&cfg.model, s, &mut train::init_rng(3), &dc);
    let w = weights(&model_c);
    let model_ca = params::set(
        UNet::<CpuAutodiff>::new(&cfg.model, s, &mut train::init_rng(3), &dc),
        params::from_host::<CpuAutodiff>(&w, &dc),
    );
    let model_w = params::set(
        UNet::<Wgpu>::new(&cfg.model, s, &mut train::init_rng(3), &dw),
        params::from_host::<Wgpu>(&w, &dw),
    );
    let model_wa = params::set(
        UNet::<WgpuAutodiff>::new(&cfg.model, s, &mut train::init_rng(3), &dw),
        params::from_host::<WgpuAutodiff>(&w, &dw),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let shape = [3, 3, s, s];
    let x = empirical::diffusion::normal_vec(&mut rng, shape.iter().product());
    let xd = burn::tensor::TensorData::new(x, shape);
    let t = [5usize, 50, 99];
    let y_c = host(model_c.forward(Tensor::from_data(xd.clone(), &dc), &t));
    let y_ca = host(model_ca.forward(Tensor::from_data(xd.clone(), &dc), &t));
    let y_w = host(model_w.forward(Tensor::from_data(xd.clone(), &dw), &t));
    let y_wa = host(model_wa.forward(Tensor::from_data(xd.clone(), &dw), &t));
    let range = y_c.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = [
        ("flex autodiff vs flex", max_abs_diff(&y_ca, &y_c)),
        ("wgpu vs flex", max_abs_diff(&y_w, &y_c)),
        ("wgpu autodiff vs flex", max_abs_diff(&y_wa, &y_c)),
    ];
    let up_native = host(upsample2x_bilinear(Tensor::<Wgpu, 4>::from_data(
        xd.clone(),
        &dw,
    )));
    let up_matmul = host(upsample2x_composite(Tensor::<Wgpu, 4>::from_data(
        xd.clone(),
        &dw,
    )));
    let up_wa = host(upsample2x_bilinear(Tensor::<WgpuAutodiff, 4>::from_data(
        xd.clone(),
        &dw,
    )));
    let up_flex = host(upsample2x_bilinear(Tensor::<Cpu, 4>::from_data(
        xd.clone(),
        &dc,
    )));
    use empirical::ops::{composite, Act, GroupNormSpec};
    let spec = GroupNormSpec {
        groups: 1,
        eps: 1e-5,
        act: Act::Relu,
    };
    let g = burn::tensor::TensorData::new(vec![1.5f32, 0.5, -1.0], [3]);
    let b = burn::tensor::TensorData::new(vec![0.1f32, -0.2, 0.3], [3]);
    let gn_c = host(composite::group_norm_act(
        Tensor::<Cpu, 4>::from_data(xd.clone(), &dc),
        Tensor::from_data(g.clone(), &dc),
        Tensor::from_data(b.clone(), &dc),
        spec,
    ));
    let gn_wa = host(composite::group_norm_act(
        Tensor::<WgpuAutodiff, 4>::from_data(xd.clone(), &dw),
        Tensor::from_data(g.clone(), &dw),
        Tensor::from_data(b.clone(), &dw),
        spec,
    ));
    let gn_w = host(composite::group_norm_act(
        Tensor::<Wgpu, 4>::from_data(xd.clone(), &dw),
        Tensor::from_data(g, &dw),
        Tensor::from_data(b, &dw),
        spec,
    ));
    let d_up = [
        (
            "upsample wgpu kernel vs flex",
            max_abs_diff(&up_native, &up_flex),
        ),
        (
            "upsample wgpu matmuls vs flex",
            max_abs_diff(&up_matmul, &up_flex),
        ),
        (
            "upsample wgpu autodiff vs flex",
            max_abs_diff(&up_wa, &up_flex),
        ),
        ("group norm wgpu vs flex", max_abs_diff(&gn_w, &gn_c)),
        (
            "group norm wgpu autodiff vs flex",
            max_abs_diff(&gn_wa, &gn_c),
        ),
    ];
    println!("forward (outputs up to {range:.2}): {d:?}; 2x upsampling: {d_up:?}");
    for (name, v) in d.iter().chain(&d_up) {
        assert!(
            *v <= TOL_FORWARD,
            "{name}: max |difference| {v:.3e} > {TOL_FORWARD:e}"
        );
    }
}

#[test]
fn wgpu_agrees_with_flex_on_training_and_sampling() {
    if let Err(e) = probe_wgpu() {
        println!("backend_agreement: skipped, no usable wgpu device: {e}");
        return;
    }
    let t_all = Instant::now();
    let dc: Device<Cpu> = Default::default();
    let dw: Device<Wgpu> = Default::default();

    let mut cfg = RunConfig::preset("tiny", "A").unwrap();
    cfg.seed = 11;
    train::set_max_steps(&mut cfg, STEPS);
    cfg.validate().unwrap();
    let images = empirical::data::training_images(&cfg, None).unwrap();
    let data = empirical::data::to_tensor_data(&images);
    let n = images.len();

    // the same initial weights: built on Flex, copied to wgpu
    let mut tc = Trainer::<CpuAutodiff>::new(&cfg, &dc);
    let mut tw = Trainer::<WgpuAutodiff>::new(&cfg, &dw);
    let w0 = weights(&tc.model.valid());
    tw.model = params::set(tw.model, params::from_host::<WgpuAutodiff>(&w0, &dw));
    tw.ema = params::from_host::<Wgpu>(&w0, &dw);
    assert_eq!(
        flat(&weights(&tw.model.valid())),
        flat(&w0),
        "copied weights differ"
    );

    // training
    let t0 = Instant::now();
    let loss_c = train_curve(&mut tc, &data, n);
    let secs_train_c = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let loss_w = train_curve(&mut tw, &data, n);
    let secs_train_w = t0.elapsed().as_secs_f64();
    let rel: Vec<f64> = loss_c
        .iter()
        .zip(&loss_w)
        .map(|(&a, &b)| ((a as f64 - b as f64) / a as f64).abs())
        .collect();
    let max_rel = rel.iter().cloned().fold(0.0, nan_max);
    let d_weights = max_abs_diff(
        &flat(&weights(&tc.model.valid())),
        &flat(&weights(&tw.model.valid())),
    );
    println!(
        "training: {STEPS} steps, flex {secs_train_c:.2} s, wgpu {secs_train_w:.2} s; \
         relative loss differences: step 1 {:.2e}, max {max_rel:.2e}; \
         max |weight difference| {d_weights:.2e}",
        rel[0]
    );
    for (k, ((a, b), r)) in loss_c.iter().zip(&loss_w).zip(&rel).enumerate() {
        println!("  step {:2}: flex {a:.7} wgpu {b:.7} rel {r:.2e}", k + 1);
    }

    // sampling from one set of weights (Flex's EMA) and one classifier on both backends
    let ema = params::to_host(&tc.ema);
    let model_c: UNet<Cpu> = params::set(tc.model.valid(), params::from_host::<Cpu>(&ema, &dc));
    let model_w: UNet<Wgpu> = params::set(tw.model.valid(), params::from_host::<Wgpu>(&ema, &dw));
    let ccfg = ClassifierConfig::preset("tiny", "A", "unet", true).unwrap();
    let clf_c = Classifier::<CpuAutodiff>::new(&ccfg, &mut train::init_rng(ccfg.seed), &dc);
    let clf_w = Classifier::<WgpuAutodiff>::new(&ccfg, &mut train::init_rng(ccfg.seed), &dw);
    let clf_w = params::set(
        clf_w,
        params::from_host::<WgpuAutodiff>(&weights(&clf_c), &dw),
    );
    let t0 = Instant::now();
    let drawn_c = sample_all::<CpuAutodiff>(&cfg, &model_c, &clf_c, &dc);
    let secs_sample_c = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let drawn_w = sample_all::<WgpuAutodiff>(&cfg, &model_w, &clf_w, &dw);
    let secs_sample_w = t0.elapsed().as_secs_f64();
    println!("sampling: flex {secs_sample_c:.2} s, wgpu {secs_sample_w:.2} s");
    let mut failures = Vec::new();
    for ((name, _, _), (c, w)) in samplers(&cfg).iter().zip(drawn_c.iter().zip(&drawn_w)) {
        let d = max_abs_diff(&c.values, &w.values);
        let range = c.values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let (worst, ones, more) = u8_diff(&c.images, &w.images);
        let total = c.images.len() * c.images[0].as_raw().len();
        let frac = ones as f64 / total as f64;
        println!(
            "  {name}: max |value difference| {d:.2e} (values up to {range:.2}); u8: {ones} of \
             {total} differ by 1, {more} by more (largest {worst})"
        );
        if !d.is_finite() || d > TOL_SAMPLE {
            failures.push(format!(
                "{name}: max |value difference| {d:.3e} > {TOL_SAMPLE:e}"
            ));
        }
        if more > 0 || frac > TOL_U8_FRACTION {
            failures.push(format!(
                "{name}: u8 images: {ones} of {total} values differ by 1 (allowed {:.0}), \
                 {more} by more (allowed 0)",
                TOL_U8_FRACTION * total as f64
            ));
        }
    }

    // the evaluator takes the wgpu samples
    let task = empirical::data::task_of(&cfg).unwrap();
    let ec = empirical_rules::EvalConfig::default();
    for ((name, _, _), w) in samplers(&cfg).iter().zip(&drawn_w) {
        let report = empirical_rules::evaluate(task, &w.images, &ec)
            .unwrap_or_else(|e| panic!("evaluating the wgpu {name} samples: {e}"));
        assert_eq!(report.per_image.len(), N_IMAGES);
    }
    println!("total {:.1} s", t_all.elapsed().as_secs_f64());

    if rel[0].is_nan() || rel[0] > TOL_LOSS_FIRST {
        failures.push(format!(
            "step-1 loss: relative difference {:.3e} > {TOL_LOSS_FIRST:e}",
            rel[0]
        ));
    }
    if max_rel.is_nan() || max_rel > TOL_LOSS {
        failures.push(format!(
            "loss curve: relative difference {max_rel:.3e} > {TOL_LOSS:e}"
        ));
    }
    if d_weights.is_nan() || d_weights > TOL_WEIGHTS {
        failures.push(format!(
            "weights after {STEPS} steps: max |difference| {d_weights:.3e} > {TOL_WEIGHTS:e}"
        ));
    }
    assert!(
        failures.is_empty(),
        "wgpu and flex disagree:\n{}",
        failures.join("\n")
    );
}
