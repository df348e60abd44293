//! Where the CPU time of the DDPM U-Net goes: per-block forward / backward times, the phases of
//! one training step, and single ops at representative shapes, each with the fused ops off and
//! on (see `empirical::ops`).
//!
//!     cargo run --release -p empirical --example profile -- --preset cpu
//!     cargo run --release -p empirical --example profile -- --preset paper --reps 3
//!
//! Options: `--preset cpu|paper|all` (default all), `--batch N` (16), `--reps N` (5; the
//! median is printed), `--convs` (only the convolution's kernels at every resolution),
//! `--backends` (burn-flex against burn-candle, burn's other CPU backend of the 0.21 family, on
//! the same U-Net steps and single ops; needs `--features candle`). Times are wall-clock
//! milliseconds on the burn-flex backend unless a table names another.
//!
//!     cargo run --release -p empirical --features candle --example profile -- --backends
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::Tensor;
use empirical::backend::{Cpu, CpuAutodiff};
use empirical::config::Preset;
use empirical::diffusion;
use empirical::model::{time_embedding, UNet};
use empirical::ops::{self, switch::with_fused, Act, GroupNormSpec};
use empirical::params::{self, AdamW};
use empirical::train::{step_rng, Trainer};
use empirical::workload::bench_config;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Median wall time in ms of `reps` calls of `f` after one warm-up call.
fn time_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut v: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median wall times in ms of the forward and of the backward of `f` on autodiff.
fn time_fwd_bwd(reps: usize, mut f: impl FnMut() -> Tensor<CpuAutodiff, 4>) -> (f64, f64) {
    let _ = f().sum().backward();
    let (mut fw, mut bw) = (Vec::new(), Vec::new());
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let y = f().sum();
        fw.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _g = y.backward();
        bw.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    (med(fw), med(bw))
}

/// One block of the U-Net, in forward order.
#[derive(Clone, Copy, Debug)]
enum Block {
    Inc,
    Down(usize),
    DownAttn(usize),
    Bottleneck(usize),
    Up(usize),
    UpAttn(usize),
    Out,
}

/// Apply block `b` of `m` to `h` (with `skip` for up blocks and the time embedding `temb`).
fn run_block<B: Backend>(
    m: &UNet<B>,
    b: Block,
    h: Tensor<B, 4>,
    skip: Option<Tensor<B, 4>>,
    temb: &Tensor<B, 2>,
) -> Tensor<B, 4> {
    match b {
        Block::Inc => m.inc.forward(h),
        Block::Down(i) => m.downs[i].forward(h, temb),
        Block::DownAttn(i) => m.down_attn[i].as_ref().map_or(h.clone(), |a| a.forward(h)),
        Block::Bottleneck(i) => m.bottleneck[i].forward(h),
        Block::Up(i) => match skip {
            Some(s) => m.ups[i].forward(h, s, temb),
            None => h,
        },
        Block::UpAttn(i) => m.up_attn[i].as_ref().map_or(h.clone(), |a| a.forward(h)),
        Block::Out => m.out.forward(h),
    }
}

/// The blocks of `m` with their inputs (and skips), from one inference forward of `x`.
#[allow(clippy::type_complexity)]
fn trace(
    m: &UNet<Cpu>,
    x: Tensor<Cpu, 4>,
    t: &[usize],
) -> Vec<(Block, Tensor<Cpu, 4>, Option<Tensor<Cpu, 4>>)> {
    let temb = time_embedding::<Cpu>(t, m.time_emb_dim, &x.device());
    let mut out = Vec::new();
    let mut step = |b, h: Tensor<Cpu, 4>, s: Option<Tensor<Cpu, 4>>| {
        out.push((b, h.clone(), s.clone()));
        run_block(m, b, h, s, &temb)
    };
    let mut h = step(Block::Inc, x, None);
    let mut skips = vec![h.clone()];
    for i in 0..m.downs.len() {
        h = step(Block::Down(i), h, None);
        if m.down_attn[i].is_some() {
            h = step(Block::DownAttn(i), h, None);
        }
        skips.push(h.clone());
    }
    skips.pop();
    for i in 0..m.bottleneck.len() {
        h = step(Block::Bottleneck(i), h, None);
    }
    for i in 0..m.ups.len() {
        let s = skips.pop();
        h = step(Block::Up(i), h, s);
        if m.up_attn[i].is_some() {
            h = step(Block::UpAttn(i), h, None);
        }
    }
    step(Block::Out, h, None);
    out
}

fn ad(t: &Tensor<Cpu, 4>) -> Tensor<CpuAutodiff, 4> {
    Tensor::from_inner(t.clone()).require_grad()
}

fn blocks_table(preset: Preset, batch: usize, reps: usize) {
    let cfg = bench_config(preset, batch);
    let device = Default::default();
    let trainer = Trainer::<CpuAutodiff>::new(&cfg, &device);
    let m_ad = &trainer.model;
    let m = m_ad.valid();
    let s = cfg.image_size;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = diffusion::normal_tensor::<Cpu>(&mut rng, [batch, 3, s, s], &device);
    let t: Vec<usize> = (0..batch)
        .map(|i| (i * 37) % cfg.diffusion.timesteps)
        .collect();
    let temb = time_embedding::<Cpu>(&t, m.time_emb_dim, &device);
    let temb_ad = time_embedding::<CpuAutodiff>(&t, m.time_emb_dim, &device);
    println!("\n## {preset}: per block, batch {batch} (ms, median of {reps})\n");
    println!(
        "| block | input | infer off | infer on | fwd off | fwd on, conv composite | fwd on \
         | bwd off | bwd on, conv composite | bwd on |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut tot = [0.0f64; 8];
    for (b, h, skip) in trace(&m, x, &t) {
        // infer off, infer on, fwd x 3, bwd x 3 (fusion off; on with burn's conv; all on)
        let mut row = [0.0f64; 8];
        for (k, (on, conv_on)) in [(false, false), (true, false), (true, true)]
            .into_iter()
            .enumerate()
        {
            with_fused(on, || {
                ops::conv::with_conv_fused(conv_on, || {
                    if k != 1 {
                        row[k / 2] = time_ms(reps, || {
                            let _ = run_block(&m, b, h.clone(), skip.clone(), &temb);
                        });
                    }
                    let (f, bw) = time_fwd_bwd(reps, || {
                        run_block(m_ad, b, ad(&h), skip.as_ref().map(ad), &temb_ad)
                    });
                    row[2 + k] = f;
                    row[5 + k] = bw;
                })
            });
        }
        for (a, r) in tot.iter_mut().zip(row) {
            *a += r;
        }
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.1}")).collect();
        println!("| {b:?} | {:?} | {} |", h.dims(), cells.join(" | "));
    }
    let cells: Vec<String> = tot.iter().map(|v| format!("{v:.1}")).collect();
    println!("| **sum** | | {} |", cells.join(" | "));
}

/// The phases of one training step (as `Trainer::train_step`), ms.
fn step_phases(preset: Preset, batch: usize, reps: usize) {
    let cfg = bench_config(preset, batch);
    let device = Default::default();
    println!("\n## {preset}: one training step, batch {batch} (ms, median of {reps})\n");
    println!("| fusion | forward + loss | backward | AdamW | EMA | total |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, on, conv_on) in [
        ("off", false, false),
        ("on, conv composite", true, false),
        ("on", true, true),
    ] {
        with_fused(on, || {
            ops::conv::with_conv_fused(conv_on, || {
                let mut tr = Trainer::<CpuAutodiff>::new(&cfg, &device);
                let s = cfg.image_size;
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                let x0 =
                    diffusion::normal_tensor::<CpuAutodiff>(&mut rng, [batch, 3, s, s], &device)
                        .clamp(-1.0, 1.0);
                let tc = cfg.train.clone();
                let hp = AdamW {
                    lr: tc.lr,
                    beta1: tc.adam_beta1,
                    beta2: tc.adam_beta2,
                    eps: tc.adam_eps,
                    weight_decay: tc.weight_decay,
                };
                let mut ph: Vec<[f64; 4]> = Vec::new();
                for k in 0..=reps.max(1) {
                    let mut r = step_rng(cfg.seed, tr.optim.step);
                    let tt = diffusion::uniform_steps(&mut r, batch, tr.sched.len());
                    let eps =
                        diffusion::normal_tensor::<CpuAutodiff>(&mut r, [batch, 3, s, s], &device);
                    let c0 = Instant::now();
                    let loss = diffusion::loss(&tr.model, &tr.sched, x0.clone(), &tt, eps);
                    let _v: f32 = loss.clone().into_scalar();
                    let c1 = Instant::now();
                    let grads = loss.backward();
                    let c2 = Instant::now();
                    let next = tr.optim.step + 1;
                    tr.model =
                        params::adamw_step(tr.model.clone(), &grads, &mut tr.optim.adam, hp, next);
                    tr.optim.step = next;
                    let c3 = Instant::now();
                    let (w, _) = params::collect(&tr.model.valid());
                    params::ema_update(&mut tr.ema, &w, tc.ema_decay, tc.ema_start, tr.optim.step);
                    let _ = tr.ema.last().map(|e| e.clone().into_data());
                    let c4 = Instant::now();
                    let d = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
                    if k > 0 {
                        ph.push([d(c0, c1), d(c1, c2), d(c2, c3), d(c3, c4)]);
                    }
                }
                let med = |i: usize| {
                    let mut v: Vec<f64> = ph.iter().map(|p| p[i]).collect();
                    v.sort_by(|a, b| a.total_cmp(b));
                    v[v.len() / 2]
                };
                let p = [med(0), med(1), med(2), med(3)];
                println!(
                    "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    label,
                    p[0],
                    p[1],
                    p[2],
                    p[3],
                    p.iter().sum::<f64>()
                );
            })
        });
    }
}

/// Single ops at `[n, c, h, w]`: conv 3x3 (c -> c), GroupNorm(1) + `act`, `act` alone.
fn ops_table(shape: [usize; 4], act: Act, reps: usize) {
    let device = Default::default();
    let [_, c, _, _] = shape;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x = diffusion::normal_tensor::<Cpu>(&mut rng, shape, &device);
    let w = diffusion::normal_tensor::<Cpu>(&mut rng, [c, c, 3, 3], &device).mul_scalar(0.1);
    let bias = Tensor::<Cpu, 1>::zeros([c], &device);
    let gamma = Tensor::<Cpu, 1>::ones([c], &device);
    let spec = GroupNormSpec {
        groups: 1,
        eps: 1e-5,
        act,
    };
    let opts = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let p1 = |t: &Tensor<Cpu, 1>| Tensor::<CpuAutodiff, 1>::from_inner(t.clone()).require_grad();
    println!("\n### ops at {shape:?}, activation {act:?} (ms, median of {reps})\n");
    println!("| op | forward (inference) | forward (autodiff) | backward |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, inf: f64, (f, b): (f64, f64)| {
        println!("| {name} | {inf:.2} | {f:.2} | {b:.2} |");
    };
    row(
        "conv2d 3x3 + bias, burn",
        time_ms(reps, || {
            let _ = conv2d(x.clone(), w.clone(), Some(bias.clone()), opts.clone());
        }),
        time_fwd_bwd(reps, || {
            conv2d(ad(&x), ad(&w), Some(p1(&bias)), opts.clone())
        }),
    );
    let w1 = diffusion::normal_tensor::<Cpu>(&mut rng, [c, c, 1, 1], &device).mul_scalar(0.1);
    for (k, wk) in [(3, &w), (1, &w1)] {
        let cs = ops::conv::Conv2dSpec {
            padding: [k / 2, k / 2],
        };
        for (name, on) in [("composite", false), ("fused", true)] {
            with_fused(on, || {
                row(
                    &format!("conv {k}x{k} + bias, {name}"),
                    time_ms(reps, || {
                        let _ = ops::conv::conv2d_bias(x.clone(), wk.clone(), bias.clone(), cs);
                    }),
                    time_fwd_bwd(reps, || {
                        ops::conv::conv2d_bias(ad(&x), ad(wk), p1(&bias), cs)
                    }),
                )
            });
        }
    }
    for (name, on) in [
        ("GroupNorm + act, composite", false),
        ("GroupNorm + act, fused", true),
    ] {
        with_fused(on, || {
            row(
                name,
                time_ms(reps, || {
                    let _ = ops::group_norm_act(x.clone(), gamma.clone(), bias.clone(), spec);
                }),
                time_fwd_bwd(reps, || {
                    ops::group_norm_act(ad(&x), p1(&gamma), p1(&bias), spec)
                }),
            )
        });
    }
    row(
        "activation alone",
        time_ms(reps, || {
            let _ = ops::composite::act(act, x.clone());
        }),
        time_fwd_bwd(reps, || ops::composite::act(act, ad(&x))),
    );
}

/// The convolution's inference forward (c -> c, 3x3 with padding 1 or 1x1) at every
/// resolution of the two presets: burn's `conv2d` against the fused entry point (which picks
/// one of the two) and the shifted-GEMM kernel alone, with the rate in GFLOP/s; then the
/// backward kernels (im2col against the shifted weight gradient, and the choice that
/// `kernel::backward` makes).
fn conv_table(batch: usize, reps: usize) {
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    println!("\n### conv + bias forward, batch {batch} (ms, median of {reps}; GFLOP/s)\n");
    println!("| kernel | input | burn | kernel alone | fused | burn / fused |");
    println!("|---|---|---:|---:|---:|---:|");
    let cases = [
        (16, 32),
        (32, 16),
        (64, 8),
        (128, 4),
        (64, 32),
        (128, 16),
        (256, 8),
    ];
    let mut backward = Vec::new();
    for (k, (c, s)) in cases
        .iter()
        .map(|&cs| (3, cs))
        .chain([(1, (16, 32)), (1, (128, 4))])
    {
        let spec = ops::conv::Conv2dSpec {
            padding: [k / 2, k / 2],
        };
        let x = diffusion::normal_tensor::<Cpu>(&mut rng, [batch, c, s, s], &device);
        let w = diffusion::normal_tensor::<Cpu>(&mut rng, [c, c, k, k], &device).mul_scalar(0.1);
        let bias = Tensor::<Cpu, 1>::zeros([c], &device);
        let flop = 2.0 * (batch * c * c * k * k * s * s) as f64;
        let burn = time_ms(reps, || {
            let _ = conv2d(x.clone(), w.clone(), Some(bias.clone()), spec.options());
        });
        let fused = with_fused(true, || {
            time_ms(reps, || {
                let _ = ops::conv::conv2d_bias(x.clone(), w.clone(), bias.clone(), spec);
            })
        });
        let v = |t: &Tensor<Cpu, 4>| t.to_data().to_vec::<f32>().unwrap_or_default();
        let (xs, ws, bs) = (v(&x), v(&w), vec![0.0f32; c]);
        let d = ops::conv::ConvDims {
            n: batch,
            c_in: c,
            h: s,
            w: s,
            c_out: c,
            kh: k,
            kw: k,
            ph: k / 2,
            pw: k / 2,
        };
        let alone = time_ms(reps, || {
            let _ = ops::conv::shifted::forward(&xs, &ws, &bs, d);
        });
        let cell = |ms: f64| format!("{ms:.2} ({:.0})", flop / ms / 1e6);
        println!(
            "| {k}x{k} | [{batch}, {c}, {s}, {s}] | {} | {} | {} | {:.2} |",
            cell(burn),
            cell(alone),
            cell(fused),
            burn / fused
        );
        let dy: Vec<f32> = (0..d.y_len()).map(|i| (i as f32 * 0.37).sin()).collect();
        let only = |x, weight| ops::conv::Wanted {
            x,
            weight,
            bias: false,
        };
        let columns = |wanted| {
            time_ms(reps, || {
                let _ = ops::conv::kernel::backward_columns(&xs, &ws, &dy, d, wanted);
            })
        };
        backward.push((
            format!("{k}x{k} | [{batch}, {c}, {s}, {s}]"),
            [
                columns(only(true, false)),
                columns(only(false, true)),
                time_ms(reps, || {
                    let _ = ops::conv::shifted::weight_grad(&xs, &dy, d);
                }),
                columns(only(true, true)),
                time_ms(reps, || {
                    let _ = ops::conv::kernel::backward(&xs, &ws, &dy, d, only(true, true));
                }),
            ],
        ));
    }
    println!("\n### conv backward kernels, batch {batch} (ms, median of {reps})\n");
    println!(
        "| kernel | input | dx im2col | dW im2col | dW shifted | both im2col | both, chosen |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, t) in backward {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            t[0], t[1], t[2], t[3], t[4]
        );
    }
}

/// Inference forward and training forward + backward of a preset's U-Net, a 3x3 conv, a
/// GroupNorm and a SiLU on an autodiff backend `A` (the ops and the inference forward on its
/// inner backend): median ms of `reps`.
#[cfg(feature = "candle")]
// burn-candle 0.21 marks itself deprecated (upstream points to burn-flex); it is measured here
// because it is the family's other CPU backend
#[allow(deprecated)]
mod backends {
    use super::time_ms;
    use burn::module::AutodiffModule;
    use burn::nn::{GroupNorm, GroupNormConfig};
    use burn::tensor::activation::silu;
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use empirical::config::Preset;
    use empirical::diffusion;
    use empirical::model::UNet;
    use empirical::schedule::Schedule;
    use empirical::train::init_rng;
    use empirical::workload::bench_config;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// `[sampling forward, train fwd + loss + bwd, conv 3x3, GroupNorm, SiLU]` in ms; `None`
    /// where the backend lacks an op the step needs (burn-candle 0.21 has no bilinear
    /// interpolation, which the U-Net's upsampling uses).
    pub fn times<A: AutodiffBackend>(
        preset: Preset,
        batch: usize,
        reps: usize,
        device: &A::Device,
    ) -> [Option<f64>; 5] {
        type I<A> = <A as AutodiffBackend>::InnerBackend;
        let cfg = bench_config(preset, batch);
        let s = cfg.image_size;
        let mut rng = init_rng(cfg.seed);
        let model = UNet::<A>::new(&cfg.model, s, &mut rng, device);
        let inference: UNet<I<A>> = model.valid();
        let mut r = ChaCha8Rng::seed_from_u64(1);
        let x = diffusion::normal_tensor::<A>(&mut r, [batch, 3, s, s], device);
        let eps = diffusion::normal_tensor::<A>(&mut r, [batch, 3, s, s], device);
        let t: Vec<usize> = (0..batch)
            .map(|i| (i * 61) % cfg.diffusion.timesteps)
            .collect();
        let sched = Schedule::from_config(&cfg.diffusion);
        let xi = x.clone().inner();
        let supported = |f: &mut dyn FnMut() -> f64| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
        };
        let sample = supported(&mut || {
            time_ms(reps, || {
                let _ = inference.forward(xi.clone(), &t).into_data();
            })
        });
        let train = supported(&mut || {
            time_ms(reps, || {
                let loss = diffusion::loss(&model, &sched, x.clone(), &t, eps.clone());
                let _ = loss.backward();
            })
        });
        // single ops at [16, 64, 32, 32], forward only
        let h = diffusion::normal_tensor::<I<A>>(&mut r, [16, 64, 32, 32], device);
        let w = diffusion::normal_tensor::<I<A>>(&mut r, [64, 64, 3, 3], device);
        let conv = time_ms(reps, || {
            let y = conv2d(
                h.clone(),
                w.clone(),
                None,
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            );
            let _ = y.into_data();
        });
        let gn: GroupNorm<I<A>> = GroupNormConfig::new(32, 64).init(device);
        let norm = time_ms(reps, || {
            let _ = gn.forward(h.clone()).into_data();
        });
        let act = time_ms(reps, || {
            let _ = silu(h.clone()).into_data();
        });
        [sample, train, Some(conv), Some(norm), Some(act)]
    }

    pub fn table(batch: usize, reps: usize) {
        type Flex = empirical::backend::CpuAutodiff;
        type Candle = burn::backend::Autodiff<burn_candle::Candle<f32, i64>>;
        println!("\n## burn-flex (with this crate's fused ops) against burn-candle (ms, median of {reps})\n");
        println!("| preset | backend | sampling forward | train fwd + bwd | conv 3x3 [16,64,32,32] | GroupNorm(32) | SiLU |");
        println!("|---|---|---:|---:|---:|---:|---:|");
        for preset in [Preset::Cpu, Preset::Paper] {
            let rows = [
                (
                    "flex",
                    times::<Flex>(preset, batch, reps, &Default::default()),
                ),
                (
                    "candle",
                    times::<Candle>(preset, batch, reps, &burn_candle::CandleDevice::Cpu),
                ),
            ];
            for (name, v) in rows {
                let cell = |x: Option<f64>, digits: usize| {
                    x.map_or("unsupported".to_string(), |ms| format!("{ms:.digits$}"))
                };
                println!(
                    "| {preset} | {name} | {} | {} | {} | {} | {} |",
                    cell(v[0], 1),
                    cell(v[1], 1),
                    cell(v[2], 2),
                    cell(v[3], 2),
                    cell(v[4], 2)
                );
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let preset = opt("--preset").unwrap_or_else(|| "all".into());
    let batch: usize = opt("--batch").and_then(|s| s.parse().ok()).unwrap_or(16);
    let reps: usize = opt("--reps").and_then(|s| s.parse().ok()).unwrap_or(5);
    if args.iter().any(|a| a == "--backends") {
        #[cfg(feature = "candle")]
        {
            backends::table(batch, reps);
            return;
        }
        #[cfg(not(feature = "candle"))]
        {
            eprintln!("--backends needs the candle feature: cargo run --release -p empirical --features candle --example profile -- --backends");
            std::process::exit(2);
        }
    }
    if args.iter().any(|a| a == "--convs") {
        conv_table(batch, reps);
        return;
    }
    let presets: Vec<Preset> = match preset.as_str() {
        "all" => vec![Preset::Cpu, Preset::Paper],
        "cpu" => vec![Preset::Cpu],
        "paper" => vec![Preset::Paper],
        other => {
            eprintln!("unknown preset `{other}` (cpu, paper, all)");
            std::process::exit(2);
        }
    };
    println!(
        "# U-Net CPU profile (rayon threads: {})",
        rayon::current_num_threads()
    );
    for p in presets {
        step_phases(p, batch, reps);
        blocks_table(p, batch, reps);
        let (shape, act) = if p == Preset::Cpu {
            ([batch, 16, 32, 32], Act::Relu)
        } else {
            ([batch, 64, 32, 32], Act::Gelu)
        };
        ops_table(shape, act, reps);
    }
    ops_table([32, 64, 28, 28], Act::Silu, reps);
}
