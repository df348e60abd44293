//! The fused convolution (`empirical::ops::conv`: the shifted-GEMM forward, the im2col + GEMM
//! backward) against burn's composite `conv2d`: the forward kernel alone and the inference
//! entry point on plain Flex; values and gradients with respect to x, the weight and the bias
//! under `Autodiff<Flex>`, on random shapes; and one training step of the tiny U-Net with
//! fusion on and off.
mod common;

use burn::module::AutodiffModule;
use burn::tensor::module::conv2d;
use burn::tensor::{Tensor, TensorData};
use common::{max_rel, upstream, value_and_grads};
use empirical::backend::{Cpu, CpuAutodiff};
use empirical::config::Preset;
use empirical::config::RunConfig;
use empirical::ops::conv::{conv2d_bias, shifted, Conv2dSpec, ConvDims};
use empirical::ops::switch::with_fused;
use empirical::params;
use empirical::train::Trainer;
use empirical_rules::Task;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `[y, dx, dw, db]` of `sum(conv2d_bias(x, ., .) * upstream)` with fusion on or off.
fn run(
    fused: bool,
    x: &TensorData,
    p: &TensorData,
    b: &TensorData,
    spec: Conv2dSpec,
) -> [Vec<f32>; 4] {
    value_and_grads(fused, x, p, b, |x, p, b| conv2d_bias(x, p, b, spec))
}

fn random(shape: &[usize], seed: u64) -> TensorData {
    // drawn on the host from the test's own stream: the backend's RNG is one per process, and
    // the tests of this file run in parallel
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.2f32, 1.3).unwrap();
    let n = shape.iter().product::<usize>();
    let v: Vec<f32> = (0..n).map(|_| normal.sample(&mut rng)).collect();
    TensorData::new(v, shape.to_vec())
}

/// The padding and random `x`, weight and bias of a case (`k x k` kernel, `pad` on each side).
#[allow(clippy::too_many_arguments)]
fn inputs(
    n: usize,
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    k: usize,
    pad: usize,
    seed: u64,
) -> (Conv2dSpec, TensorData, TensorData, TensorData) {
    let spec = Conv2dSpec {
        padding: [pad, pad],
    };
    (
        spec,
        random(&[n, c_in, h, w], seed),
        random(&[c_out, c_in, k, k], seed + 1),
        random(&[c_out], seed + 2),
    )
}

/// A proptest case's kernel (3x3 or 1x1) and padding: "same" padding `k / 2` as the U-Net, or
/// none where the kernel fits.
fn kernel_and_padding(three: bool, same: bool, h: usize, w: usize) -> (usize, usize) {
    let k = if three { 3 } else { 1 };
    (k, if same || h < k || w < k { k / 2 } else { 0 })
}

/// A bound on the sum of the sizes of the terms of each output
/// `y[b, co, p] = bias + sum over ci, ky, kx of w x`: max|bias| + max|x| max over co of
/// sum |w[co, ..]|, with `k2 = C_in kh kw` weights per output channel.
fn value_terms(xv: &[f32], wv: &[f32], bv: &[f32], k2: usize) -> f32 {
    let abs_max = |v: &[f32]| v.iter().fold(0.0f32, |m, a| m.max(a.abs()));
    let w_row = wv
        .chunks(k2)
        .map(|r| r.iter().map(|a| a.abs()).sum::<f32>())
        .fold(0.0f32, f32::max);
    abs_max(bv) + abs_max(xv) * w_row
}

/// The forward kernel alone, and the inference entry point on plain Flex (the kernel where
/// it is preferred, else burn's), against burn's `conv2d`: relative difference below 1e-5.
#[allow(clippy::too_many_arguments)]
fn forward_case(
    n: usize,
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    k: usize,
    pad: usize,
    seed: u64,
) {
    let (spec, x, wt, b) = inputs(n, c_in, c_out, h, w, k, pad, seed);
    let dev = Default::default();
    let (xt, wtt, bt) = (
        Tensor::<Cpu, 4>::from_data(x.clone(), &dev),
        Tensor::<Cpu, 4>::from_data(wt.clone(), &dev),
        Tensor::<Cpu, 1>::from_data(b.clone(), &dev),
    );
    let v = |t: Tensor<Cpu, 4>| t.into_data().to_vec::<f32>().unwrap();
    let burn = with_fused(false, || {
        v(conv2d(
            xt.clone(),
            wtt.clone(),
            Some(bt.clone()),
            spec.options(),
        ))
    });
    let entry = with_fused(true, || v(conv2d_bias(xt, wtt, bt, spec)));
    let (xv, wv, bv) = (
        x.to_vec::<f32>().unwrap(),
        wt.to_vec::<f32>().unwrap(),
        b.to_vec::<f32>().unwrap(),
    );
    let d = ConvDims {
        n,
        c_in,
        h,
        w,
        c_out,
        kh: k,
        kw: k,
        ph: pad,
        pw: pad,
    };
    let kernel = shifted::forward(&xv, &wv, &bv, d).unwrap();
    let floor = value_terms(&xv, &wv, &bv, c_in * k * k);
    for (name, got) in [("kernel", &kernel), ("entry point", &entry)] {
        let r = max_rel(got, &burn, floor);
        assert!(
            r < 1e-5,
            "{name}: relative difference {r:e} (n {n}, c_in {c_in}, c_out {c_out}, {h}x{w}, \
             kernel {k}, padding {pad}, preferred {})",
            shifted::preferred(&d)
        );
    }
}

#[test]
fn forward_matches_burn_on_the_unet_shapes() {
    forward_case(16, 16, 16, 32, 32, 3, 1, 11); // blocks of two images
    forward_case(1, 16, 32, 32, 32, 3, 1, 12); // batch 1: one block, the GEMMs split over threads
    forward_case(5, 32, 16, 16, 16, 3, 1, 13); // the shifted kernel at 16 x 16
    forward_case(16, 64, 64, 4, 4, 3, 1, 14); // small images: burn's conv2d
    forward_case(3, 35, 16, 32, 32, 1, 0, 15); // 1x1
    forward_case(3, 5, 7, 17, 13, 3, 1, 16); // odd sizes
    forward_case(2, 8, 3, 9, 7, 3, 0, 17); // no padding
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn forward_matches_burn(
        n in 1usize..6, c_in in 1usize..=20, c_out in 1usize..=20,
        h in 1usize..40, w in 1usize..40, three in any::<bool>(), same in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let (k, pad) = kernel_and_padding(three, same, h, w);
        forward_case(n, c_in, c_out, h, w, k, pad, seed);
    }
}

#[allow(clippy::too_many_arguments)]
fn case(n: usize, c_in: usize, c_out: usize, h: usize, w: usize, k: usize, pad: usize, seed: u64) {
    let (spec, x, wt, b) = inputs(n, c_in, c_out, h, w, k, pad, seed);
    let fused = run(true, &x, &wt, &b, spec);
    let plain = run(false, &x, &wt, &b, spec);
    let (xv, wv, bv) = (
        x.to_vec::<f32>().unwrap(),
        wt.to_vec::<f32>().unwrap(),
        b.to_vec::<f32>().unwrap(),
    );
    // Each result is a sum of signed products; its rounding is relative to the sum of the
    // products' sizes, bounded from the data (|dY| <= 1):
    let y_terms = value_terms(&xv, &wv, &bv, c_in * k * k);
    // dx[b, ci, pixel] = sum over co, ky, kx of w dY: at most max over ci of sum |w[.., ci, ..]|;
    let w_col = (0..c_in)
        .map(|ci| {
            (0..c_out)
                .map(|co| {
                    wv[(co * c_in + ci) * k * k..][..k * k]
                        .iter()
                        .map(|a| a.abs())
                        .sum::<f32>()
                })
                .sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    // dw[co, ci, ky, kx] = sum over b and pixels of dY x: at most max over ci of sum |x[.., ci]|;
    let hw = h * w;
    let x_chan = (0..c_in)
        .map(|ci| {
            (0..n)
                .map(|bi| {
                    xv[(bi * c_in + ci) * hw..][..hw]
                        .iter()
                        .map(|a| a.abs())
                        .sum::<f32>()
                })
                .sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    // db[co] = sum over b and output pixels of dY: the sum of their sizes.
    let p_out = (h + 2 * pad + 1 - k) * (w + 2 * pad + 1 - k);
    let up = upstream(n * c_out * p_out);
    let db_terms = (0..c_out)
        .map(|co| {
            (0..n)
                .map(|bi| {
                    up[(bi * c_out + co) * p_out..][..p_out]
                        .iter()
                        .map(|a| a.abs())
                        .sum::<f32>()
                })
                .sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    for (kk, name) in ["value", "dx", "dw", "db"].iter().enumerate() {
        let floor = [y_terms, w_col, x_chan, db_terms][kk];
        let r = max_rel(&fused[kk], &plain[kk], floor);
        assert!(
            r < 1e-5,
            "{name}: relative difference {r:e} (n {n}, c_in {c_in}, c_out {c_out}, {h}x{w}, \
             kernel {k}, padding {pad})"
        );
    }
}

#[test]
fn fused_matches_composite_on_the_unet_shapes() {
    case(4, 16, 16, 32, 32, 3, 1, 1); // one batch item per block
    case(3, 35, 16, 32, 32, 1, 0, 2); // 1x1: the item is its own column matrix
    case(25, 3, 5, 10, 10, 3, 1, 3); // blocks of 11, 11 and 3 items
    case(16, 32, 64, 4, 4, 3, 1, 4); // one block, the GEMMs split over threads
    case(2, 8, 3, 5, 7, 3, 0, 5); // no padding
    case(1, 16, 8, 32, 32, 3, 1, 6); // batch 1 at 32 x 32: shifted GEMMs for dx and dW
    case(3, 5, 7, 17, 13, 3, 1, 7); // odd sizes, shifted
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn fused_matches_composite(
        n in 1usize..5, c_in in 1usize..=20, c_out in 1usize..=20,
        h in 1usize..36, w in 1usize..36, three in any::<bool>(), same in any::<bool>(),
        seed in 0u64..1000,
    ) {
        // from about 16 x 16 on, the shifted GEMMs compute dW, below it im2col
        let (k, pad) = kernel_and_padding(three, same, h, w);
        case(n, c_in, c_out, h, w, k, pad, seed);
    }
}

/// One training step of the tiny U-Net from the same state and batch: `(loss, parameters)`.
fn one_step(fused: bool) -> (f32, Vec<Vec<f32>>) {
    with_fused(fused, || {
        let cfg = RunConfig::preset(Preset::Tiny, Task::A).unwrap();
        let dev = Default::default();
        let mut t = Trainer::<CpuAutodiff>::new(&cfg, &dev);
        let s = cfg.image_size;
        let shape = [cfg.train.batch_size, 3, s, s];
        let x0 = Tensor::<CpuAutodiff, 4>::from_data(random(&shape, 7), &dev).clamp(-1.0, 1.0);
        let loss = t.train_step(x0, cfg.train.lr).unwrap();
        let (w, _) = params::collect(&t.model.valid());
        let w = w
            .into_iter()
            .map(|p| p.into_data().to_vec::<f32>().unwrap())
            .collect();
        (loss, w)
    })
}

#[test]
fn training_step_is_the_same_with_fusion_on_and_off() {
    let cfg = RunConfig::preset(Preset::Tiny, Task::A).unwrap();
    let lr = cfg.train.lr as f32;
    let (loss_on, w_on) = one_step(true);
    let (loss_off, w_off) = one_step(false);
    // the forward convolutions agree to f32 rounding (relative 1e-5 at most, see above), so
    // the mean squared error does too
    assert!(
        (loss_on - loss_off).abs() <= 1e-5 * loss_off.abs(),
        "loss {loss_on} vs {loss_off}"
    );
    assert_eq!(w_on.len(), w_off.len());
    // AdamW's first step moves every parameter by about lr sign(g): gradients that agree
    // to rounding give the same step up to a small fraction of lr
    let mut worst = 0.0f32;
    for (a, b) in w_on.iter().zip(&w_off) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            worst = worst.max((x - y).abs());
        }
    }
    eprintln!("largest parameter difference {worst:e}, loss {loss_on} vs {loss_off}");
    assert!(
        worst <= 1e-3 * lr,
        "largest parameter difference {worst:e} (lr {lr:e})"
    );
}
