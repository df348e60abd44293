//! 2x bilinear upsampling with aligned corners (burn's `interpolate` in `Bilinear` mode with its
//! default `align_corners = true`), the U-Net's up blocks' upsampling, on every backend with a
//! backward pass.
//!
//! burn 0.21's cubecl backends (CUDA, wgpu) have no bilinear `interpolate` backward: training
//! with autodiff over them panics. [`upsample2x_bilinear`] therefore runs burn's `interpolate`
//! where its backward exists or none is needed (burn-flex with or without autodiff, and every
//! backend without autodiff) and elsewhere the same linear map as [`upsample2x_composite`]: two
//! matrix products with constant 1-D interpolation matrices ([`linear_matrix`]), whose backward
//! every backend has. Both compute the same weighted sums of the same pixels; they differ only
//! in f32 rounding.
use std::any::TypeId;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Tensor, TensorData};

/// The `[n_out, n_in]` row-major matrix of 1-D linear interpolation with aligned corners: output
/// `o` sits at input coordinate `o (n_in - 1) / (n_out - 1)` and takes weights `1 - f` and `f`
/// from its two neighbours (the weights of burn-flex's bilinear kernel; each row sums to 1).
pub fn linear_matrix(n_in: usize, n_out: usize) -> Vec<f32> {
    assert!(n_in > 0, "linear_matrix: empty input");
    let ratio = (n_in as f64 - 1.0) / (n_out.max(1) - 1).max(1) as f64;
    let mut m = vec![0.0f32; n_out * n_in];
    for o in 0..n_out {
        let y = o as f64 * ratio;
        let low = y.floor().max(0.0) as usize;
        let high = (low + 1).min(n_in - 1);
        let f = (y - low as f64).max(0.0) as f32;
        m[o * n_in + low] += 1.0 - f;
        m[o * n_in + high] += f;
    }
    m
}

/// 2x bilinear upsampling of `x` `[N, C, H, W]` to `[N, C, 2H, 2W]` as two matrix products
/// (rows, then columns) with [`linear_matrix`].
pub fn upsample2x_composite<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let matrix_t = |n_in: usize| {
        let m = TensorData::new(linear_matrix(n_in, 2 * n_in), [2 * n_in, n_in]);
        Tensor::<B, 2>::from_data(m, &device).transpose()
    };
    // rows: [N C W, H] x [H, 2H]
    let y = x
        .swap_dims(2, 3)
        .reshape([n * c * w, h])
        .matmul(matrix_t(h));
    // columns: [N C 2H, W] x [W, 2W]
    y.reshape([n, c, w, 2 * h])
        .swap_dims(2, 3)
        .reshape([n * c * 2 * h, w])
        .matmul(matrix_t(w))
        .reshape([n, c, 2 * h, 2 * w])
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
