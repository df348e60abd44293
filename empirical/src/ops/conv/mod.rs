//! 2-D convolution with bias (stride 1, dilation 1, one group, zero padding), the U-Net's 3x3
//! and 1x1 convolutions, with a backward pass by im2col and GEMM.
//!
//! `y[b, co, oy, ox] = bias[co] + sum over ci, ky, kx of
//! w[co, ci, ky, kx] x[b, ci, oy + ky - ph, ox + kx - pw]` (zero outside the image). Its
//! gradients for the output gradient `dY` are `dx = col2im(W^T dY)`, `dW = dY im2col(x)^T` and
//! `db = sum of dY` over batch and pixels (see [`kernel`]).
//!
//! [`FusedConv`] is the backend extension, mirroring [`super::FusedOps`]: its default methods
//! are burn's own `conv2d` and its backward (`conv2d_x_backward`, `conv2d_weight_backward`),
//! so any backend can implement it by falling back. burn-flex implements it natively with
//! [`shifted`] (the forward and, from 16 x 16 up, the weight gradient, as one GEMM per kernel
//! tap or row on a padded copy) and [`kernel`] (the rest of the backward by im2col),
//! and `Autodiff<B>` over any `B: FusedConv` records one node whose backward calls
//! [`FusedConv::conv_bias_backward`]. [`conv2d_bias`] is the entry point for generic model
//! code: fused on burn-flex, with or without autodiff, unless [`super::switch`] is off;
//! burn's `conv2d` on every other backend and shape.
mod autodiff;
mod flex;
pub mod kernel;
pub mod shifted;
#[cfg(test)]
mod testing;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, FloatTensor};
use burn::tensor::{Shape, Tensor, TensorMetadata, TensorPrimitive};

use super::dispatch::cast;
use super::switch;

pub use kernel::{ConvDims, ConvShapeError, Wanted};

/// The convolution's options besides the kernel (its size is the weight's): zero padding
/// `[ph, pw]`; stride, dilation and groups are 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dSpec {
    pub padding: [usize; 2],
}

impl Conv2dSpec {
    /// burn's options for this convolution.
    pub fn options(self) -> ConvOptions<2> {
        ConvOptions::new([1, 1], self.padding, [1, 1], 1)
    }
}

/// Backend ops of [`conv2d_bias`]. Default methods run burn's `conv2d` and its backward.
pub trait FusedConv: Backend {
    /// Convolution of `x` `[N, C_in, H, W]` with `weight` `[C_out, C_in, kh, kw]` plus `bias`
    /// `[C_out]`.
    fn conv_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: Conv2dSpec,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, Some(bias), spec.options())
    }

    /// Gradients `[dx, dweight, dbias]` of [`FusedConv::conv_bias`] for the output gradient
    /// `grad`, each only where `wanted`. The default runs burn's backward ops.
    fn conv_bias_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: Conv2dSpec,
        wanted: Wanted,
    ) -> [Option<FloatTensor<Self>>; 3] {
        composite_backward::<Self>(x, weight, grad, spec, wanted)
    }
}

/// burn's conv2d backward (`conv2d_x_backward`, `conv2d_weight_backward`, and the sum of
/// `grad` over batch and pixels for the bias).
pub fn composite_backward<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    spec: Conv2dSpec,
    wanted: Wanted,
) -> [Option<FloatTensor<B>>; 3] {
    let opts = spec.options();
    let dx = wanted
        .x
        .then(|| B::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), opts.clone()));
    let dw = wanted
        .weight
        .then(|| B::conv2d_weight_backward(x, weight, grad.clone(), opts));
    let db = wanted.bias.then(|| {
        let [n, c, h, w] = grad.shape().dims();
        let g = B::float_swap_dims(grad, 0, 1);
        let g = B::float_reshape(g, Shape::new([c, n * h * w]));
        B::float_reshape(B::float_sum_dim(g, 1), Shape::new([c]))
    });
    [dx, dw, db]
}

type Prims<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// Run `F::conv_bias` when `B` is `F`; else hand the inputs back.
fn via<B: Backend, F: FusedConv>(p: Prims<B>, spec: Conv2dSpec) -> Result<Tensor<B, 4>, Prims<B>> {
    let (x, w, b) = cast::<Prims<B>, Prims<F>>(p)?;
    let out = F::conv_bias(x, w, b, spec);
    match cast::<FloatTensor<F>, FloatTensor<B>>(out) {
        Ok(out) => Ok(Tensor::from_primitive(TensorPrimitive::Float(out))),
        Err(_) => unreachable!("B and F are one type"),
    }
}

thread_local! {
    static CONV_ON: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Run `f` with the fused convolution on (`true`) or off on this thread while the other fused
/// ops follow [`switch`], then restore the previous setting (also when `f` unwinds): for
/// measuring the convolution's share alone.
pub fn with_conv_fused<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CONV_ON.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CONV_ON.with(|c| c.replace(on)));
    f()
}

/// Whether the fused kernels accept these shapes (else burn's `conv2d` runs as it is).
fn applies(x: [usize; 4], w: [usize; 4], b: [usize; 1], spec: Conv2dSpec) -> bool {
    let d = ConvDims::of(x, w, spec.padding);
    w[1] == x[1] && b[0] == w[0] && d.check(&[]).is_ok()
}

/// Convolution of `x` `[N, C_in, H, W]` with `weight` `[C_out, C_in, kh, kw]` plus `bias`
/// `[C_out]`, stride 1, zero padding `spec.padding`. On burn-flex (with the switch and
/// [`with_conv_fused`] on) the forward of [`shifted`], under autodiff one node with the backward of
/// [`kernel`]; burn's `conv2d` (with its own backward) on every other backend.
pub fn conv2d_bias<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
    spec: Conv2dSpec,
) -> Tensor<B, 4> {
    if !switch::fused_enabled()
        || !CONV_ON.with(|c| c.get())
        || !applies(x.dims(), weight.dims(), bias.dims(), spec)
    {
        return conv2d(x, weight, Some(bias), spec.options());
    }
    let p = (
        x.into_primitive().tensor(),
        weight.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    );
    let p = match via::<B, Autodiff<Flex>>(p, spec) {
        Ok(out) => return out,
        Err(p) => p,
    };
    let (x, w, b) = match via::<B, Flex>(p, spec) {
        Ok(out) => return out,
        Err(p) => p,
    };
    let t4 = |t| Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(t));
    conv2d(
        t4(x),
        t4(w),
        Some(Tensor::from_primitive(TensorPrimitive::Float(b))),
        spec.options(),
    )
}
