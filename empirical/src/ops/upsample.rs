//! 2x bilinear upsampling with aligned corners (burn's `interpolate` in `Bilinear` mode with its
//! default `align_corners = true`), the U-Net's up blocks' upsampling, on every backend with a
//! backward pass.
//!
//! burn 0.21's cubecl backends (CUDA, wgpu) have no bilinear `interpolate` backward: training
//! with autodiff over them panics. [`upsample2x_bilinear`] therefore runs burn's `interpolate`
//! where its backward exists or none is needed (burn-flex with or without autodiff, and every
//! backend without autodiff) and elsewhere [`upsample2x_composite`]: per axis, a gather of each
//! output's two neighbours (`select`, whose backward is a scatter-add) and a lerp with constant
//! weights ([`linear_taps`]). Both compute the same two-term weighted sums of the same pixels;
//! they differ only in f32 rounding.
//!
//! The composite is built from gathers, not matrix products: with a transposed constant
//! interpolation matrix as right operand, cubecl 0.10's double-buffered unit matmul
//! (`matmul_double_unit_*`) returns wrong values on Mesa's lavapipe for the U-Net's shapes
//! (`[768, 8] x [8, 16]`, a difference of 0.99 in the tiny U-Net's output), and whether its
//! autotuner picks that kernel depends on the machine's timings. See `docs/testing.md`.
use std::any::TypeId;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Int, Tensor, TensorData};

/// One output of 1-D linear interpolation with aligned corners: it takes weight `1 - f` from
/// input `low` and `f` from input `high`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tap {
    pub low: usize,
    pub high: usize,
    pub f: f32,
}

/// The taps of 1-D linear interpolation from `n_in` to `n_out` points with aligned corners:
/// output `o` sits at input coordinate `o (n_in - 1) / (n_out - 1)` (the weights of burn-flex's
/// bilinear kernel).
pub fn linear_taps(n_in: usize, n_out: usize) -> Vec<Tap> {
    assert!(n_in > 0, "linear_taps: empty input");
    let ratio = (n_in as f64 - 1.0) / (n_out.max(1) - 1).max(1) as f64;
    (0..n_out)
        .map(|o| {
            let y = o as f64 * ratio;
            let low = y.floor().max(0.0) as usize;
            Tap {
                low,
                high: (low + 1).min(n_in - 1),
                f: (y - low as f64).max(0.0) as f32,
            }
        })
        .collect()
}

/// The `[n_out, n_in]` row-major matrix of [`linear_taps`] (each row sums to 1).
pub fn linear_matrix(n_in: usize, n_out: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; n_out * n_in];
    for (o, t) in linear_taps(n_in, n_out).into_iter().enumerate() {
        m[o * n_in + t.low] += 1.0 - t.f;
        m[o * n_in + t.high] += t.f;
    }
    m
}

/// 2x linear interpolation of `x` along `dim` (2 or 3) by [`linear_taps`]:
/// `x[low] (1 - f) + x[high] f`.
fn upsample2x_axis<B: Backend>(x: Tensor<B, 4>, dim: usize) -> Tensor<B, 4> {
    let n_in = x.dims()[dim];
    let taps = linear_taps(n_in, 2 * n_in);
    let device = x.device();
    let index = |pick: fn(&Tap) -> usize| {
        let v: Vec<i64> = taps.iter().map(|t| pick(t) as i64).collect();
        Tensor::<B, 1, Int>::from_data(TensorData::new(v, [2 * n_in]), &device)
    };
    let mut shape = [1usize; 4];
    shape[dim] = 2 * n_in;
    let weight = |g: fn(&Tap) -> f32| {
        let v: Vec<f32> = taps.iter().map(g).collect();
        Tensor::<B, 4>::from_data(TensorData::new(v, shape), &device)
    };
    let low = x.clone().select(dim, index(|t| t.low));
    let high = x.select(dim, index(|t| t.high));
    low * weight(|t| 1.0 - t.f) + high * weight(|t| t.f)
}

/// 2x bilinear upsampling of `x` `[N, C, H, W]` to `[N, C, 2H, 2W]` from gathers and lerps
/// (rows, then columns) with [`linear_taps`].
pub fn upsample2x_composite<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    upsample2x_axis(upsample2x_axis(x, 2), 3)
}

/// Whether burn's `interpolate` can run (forward, and backward where autodiff asks for one) on
/// `B`: burn-flex has a bilinear backward, backends without autodiff need none.
pub fn native_bilinear_ok<B: Backend>(device: &B::Device) -> bool {
    !B::ad_enabled(device) || TypeId::of::<B>() == TypeId::of::<Autodiff<Flex>>()
}

/// 2x bilinear upsampling (aligned corners) of `x` `[N, C, H, W]`: burn's `interpolate` where
/// [`native_bilinear_ok`], else [`upsample2x_composite`].
pub fn upsample2x_bilinear<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if native_bilinear_ok::<B>(&x.device()) {
        let [_, _, h, w] = x.dims();
        interpolate(
            x,
            [2 * h, 2 * w],
            InterpolateOptions::new(InterpolateMode::Bilinear),
        )
    } else {
        upsample2x_composite(x)
    }
}
