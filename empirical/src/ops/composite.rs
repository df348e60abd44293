//! The composite tensor programs that the fused ops replace, on any backend: the reference for
//! the fused kernels' values (forward) and gradients (autodiff of the forward, or the closed
//! form of [`group_norm_act_backward`]).
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::group_norm::{Act, GroupNormSpec};

/// `act(x)` with burn's activation ops.
pub fn act<B: Backend, const D: usize>(a: Act, x: Tensor<B, D>) -> Tensor<B, D> {
    match a {
        Act::Identity => x,
        Act::Relu => activation::relu(x),
        Act::Gelu => activation::gelu(x),
        Act::Silu => activation::silu(x),
    }
}

/// GroupNorm (biased variance) of `x` `[N, C, H, W]`, affine map by `gamma`, `beta` `[C]`,
/// then the activation: the U-Net's composite ops.
pub fn group_norm_act<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    spec: GroupNormSpec,
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let g = spec.groups;
    let xg = x.reshape([n, g, (c / g) * h * w]);
    let mean = xg.clone().mean_dim(2);
    let centred = xg - mean;
    let var = centred.clone().powi_scalar(2).mean_dim(2);
    let normed = (centred / (var + spec.eps).sqrt()).reshape([n, c, h, w]);
    let y = normed * gamma.reshape([1, c, 1, 1]) + beta.reshape([1, c, 1, 1]);
    act(spec.act, y)
}

/// `act'(y)` with burn's tensor ops.
fn act_derivative<B: Backend>(a: Act, y: Tensor<B, 4>) -> Tensor<B, 4> {
    match a {
        Act::Identity => y.ones_like(),
        Act::Relu => y.greater_elem(0.0).float(),
        Act::Gelu => {
            let cdf = (y.clone().div_scalar(std::f64::consts::SQRT_2).erf() + 1.0) * 0.5;
            let inv_sqrt_2pi = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
            let pdf = (y.clone().powi_scalar(2) * -0.5).exp() * inv_sqrt_2pi;
            cdf + y * pdf
        }
        Act::Silu => {
            let s = activation::sigmoid(y.clone());
            let one_minus = s.clone().neg() + 1.0;
            s * (y * one_minus + 1.0)
        }
    }
}

/// Closed-form gradients `(dx, dgamma, dbeta)` of [`group_norm_act`] for the output gradient
/// `grad` (formulas in [`super::group_norm`]).
pub fn group_norm_act_backward<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    grad: Tensor<B, 4>,
    spec: GroupNormSpec,
) -> (Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>) {
    let [n, c, h, w] = x.dims();
    let g = spec.groups;
    let m = (c / g) * h * w;
    let xg = x.reshape([n, g, m]);
    let mean = xg.clone().mean_dim(2);
    let centred = xg - mean;
    let var = centred.clone().powi_scalar(2).mean_dim(2);
    let r = (var + spec.eps).sqrt().recip(); // [n, g, 1]
    let xh = (centred * r.clone()).reshape([n, c, h, w]);
    let gamma4 = gamma.reshape([1, c, 1, 1]);
    let y = xh.clone() * gamma4.clone() + beta.reshape([1, c, 1, 1]);
    let dy = grad * act_derivative(spec.act, y);
    let per_channel = |t: Tensor<B, 4>| {
        t.swap_dims(0, 1)
            .reshape([c, n * h * w])
            .sum_dim(1)
            .reshape([c])
    };
    let dbeta = per_channel(dy.clone());
    let dgamma = per_channel(dy.clone() * xh.clone());
    let dxh = (dy * gamma4).reshape([n, g, m]);
    let xhg = xh.reshape([n, g, m]);
    let a = dxh.clone().mean_dim(2);
    let b = (dxh.clone() * xhg.clone()).mean_dim(2);
    let dx = ((dxh - a - xhg * b) * r).reshape([n, c, h, w]);
    (dx, dgamma, dbeta)
}
