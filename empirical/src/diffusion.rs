//! Forward process and training objective (Ho et al. 2020, Eq. 4 and Algorithm 1; Sec. 3.2):
//! x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, loss = || eps - eps_theta(x_t, t) ||^2
//! with t uniform over the T steps and eps ~ N(0, I).
//!
//! All randomness comes from the caller's ChaCha8 stream (host-side draws turned into tensors),
//! never from the backend's global RNG.
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::config::LossWeighting;
use crate::denoiser::Denoiser;
use crate::schedule::Schedule;

/// `n` independent N(0, 1) draws.
pub fn normal_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect()
}

/// A `[n, c, h, w]` tensor of N(0, 1) draws from `rng`.
pub fn normal_tensor<B: Backend>(
    rng: &mut ChaCha8Rng,
    shape: [usize; 4],
    device: &B::Device,
) -> Tensor<B, 4> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(normal_vec(rng, n), shape), device)
}

/// `n` step indices uniform on 0..T (the paper's t uniform on 1..T).
pub fn uniform_steps(rng: &mut ChaCha8Rng, n: usize, timesteps: usize) -> Vec<usize> {
    (0..n).map(|_| rng.random_range(0..timesteps)).collect()
}

/// Per-sample coefficient tensor `[n, 1, 1, 1]`.
fn coef<B: Backend>(values: Vec<f32>, device: &B::Device) -> Tensor<B, 4> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n, 1, 1, 1]), device)
}

/// q(x_t | x_0) sample: sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, per-sample t.
pub fn q_sample<B: Backend>(
    sched: &Schedule,
    x0: Tensor<B, 4>,
    t: &[usize],
    eps: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let device = x0.device();
    let a = coef::<B>(
        t.iter().map(|&i| sched.sqrt_alpha_bar(i) as f32).collect(),
        &device,
    );
    let s = coef::<B>(
        t.iter()
            .map(|&i| sched.sqrt_one_minus_alpha_bar(i) as f32)
            .collect(),
        &device,
    );
    x0 * a + eps * s
}

/// The eps-prediction MSE (mean over all elements) for clean images `x0`, steps `t`, noise `eps`.
pub fn loss<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    x0: Tensor<B, 4>,
    t: &[usize],
    eps: Tensor<B, 4>,
) -> Tensor<B, 1> {
    residual(model, sched, x0, t, eps).powi_scalar(2).mean()
}

/// eps_theta(x_t, t) - eps for x_t = q_sample(x0, t, eps).
fn residual<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    x0: Tensor<B, 4>,
    t: &[usize],
    eps: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let xt = q_sample(sched, x0, t, eps.clone());
    model.predict_eps(xt, t) - eps
}

/// Per-sample weights of the MSE at steps `t` ([`LossWeighting`]; `Uniform` gives all ones).
pub fn loss_weights(
    sched: &Schedule,
    t: &[usize],
    weighting: LossWeighting,
    gamma: f64,
) -> Vec<f32> {
    t.iter()
        .map(|&i| match weighting {
            LossWeighting::Uniform => 1.0,
            LossWeighting::MinSnr => {
                let ab = sched.alpha_bar[i];
                let snr = ab / (1.0 - ab);
                (snr.min(gamma) / snr) as f32
            }
        })
        .collect()
}

/// The weighted eps-prediction MSE: mean over samples i of `weights[i]` times sample i's mean
/// squared error (equal to [`loss`] when every weight is 1).
pub fn weighted_loss<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    x0: Tensor<B, 4>,
    t: &[usize],
    eps: Tensor<B, 4>,
    weights: &[f32],
) -> Tensor<B, 1> {
    let w = coef::<B>(weights.to_vec(), &x0.device());
    (residual(model, sched, x0, t, eps).powi_scalar(2) * w).mean()
}
