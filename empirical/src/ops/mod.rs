//! Fused operations for the U-Net's hot spots, as a burn backend extension.
//!
//! [`FusedOps`] is a trait of extra backend ops whose default methods are the composite tensor
//! programs they replace, so that any backend can implement it by falling back. It is
//! implemented natively for burn-flex ([`burn::backend::Flex`], one pass per op over the data,
//! threads over batch x group) and for `Autodiff<B>` over any `B: FusedOps` with its own backward
//! node, so that one fused op is one node of the autodiff graph instead of a dozen.
//!
//! The model stays generic over `B: Backend`: [`group_norm_act`] recognises at run time the
//! backends that implement [`FusedOps`] natively (`Flex` and `Autodiff<Flex>`) and calls the
//! composite ops on every other backend (CUDA among them). Fusion is on by default and turned
//! off by the environment variable `HIDDEN_RULES_FUSED=0` (see [`switch`]).
//!
//! Ops: GroupNorm (Wu & He 2018) with its per-channel affine map and the following activation
//! (identity, ReLU, GELU or SiLU), forward and backward.
//!
//! [`upsample`]: the up blocks' 2x bilinear upsampling, as gathers and lerps on the backends whose
//! bilinear `interpolate` has no backward (autodiff over CUDA or wgpu).
//!
//! [`adamw`]: AdamW's update of one parameter in one pass over its buffers on burn-flex.
//!
//! [`conv`]: the 2-D convolutions with bias, with an im2col + GEMM backward on burn-flex
//! ([`conv::conv2d_bias`], [`conv::FusedConv`]).
pub mod adamw;
mod autodiff;
pub mod composite;
pub mod conv;
mod dispatch;
mod flex;
pub mod group_norm;
pub mod switch;
pub mod upsample;

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

pub use dispatch::group_norm_act;
pub use group_norm::{Act, GroupNormSpec, ShapeError};

/// Extra backend ops used by the U-Net. Default methods run the composite ops.
pub trait FusedOps: Backend {
    /// GroupNorm + affine + activation of `x` `[N, C, H, W]` with `gamma`, `beta` `[C]`
    /// (see [`group_norm`]).
    fn group_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        spec: GroupNormSpec,
    ) -> FloatTensor<Self> {
        composite_forward::<Self>(x, gamma, beta, spec)
    }

    /// Gradients `[dx, dgamma, dbeta]` of [`FusedOps::group_norm_act`] for the output gradient
    /// `grad`. The default runs the closed-form backward on the composite ops.
    fn group_norm_act_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: GroupNormSpec,
    ) -> [FloatTensor<Self>; 3] {
        composite_backward::<Self>(x, gamma, beta, grad, spec)
    }
}

fn float<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

/// [`composite::group_norm_act`] on primitives.
fn composite_forward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    spec: GroupNormSpec,
) -> FloatTensor<B> {
    composite::group_norm_act::<B>(float(x), float(gamma), float(beta), spec)
        .into_primitive()
        .tensor()
}

/// [`composite::group_norm_act_backward`] on primitives.
fn composite_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    grad: FloatTensor<B>,
    spec: GroupNormSpec,
) -> [FloatTensor<B>; 3] {
    let (dx, dg, db) = composite::group_norm_act_backward::<B>(
        float(x),
        float(gamma),
        float(beta),
        float(grad),
        spec,
    );
    [
        dx.into_primitive().tensor(),
        dg.into_primitive().tensor(),
        db.into_primitive().tensor(),
    ]
}
