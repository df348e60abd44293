//! Reverse process samplers (Sec. 3.3 / App. D.1): full ancestral DDPM (Ho et al. 2020,
//! Algorithm 2, sigma_t^2 = beta_t) and DDIM (Song et al. 2021, Eq. 12) on a subsequence.
//! Noise comes from the caller's ChaCha8 stream, so a fixed seed gives fixed samples.
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand_chacha::ChaCha8Rng;

use crate::config::SampleMethod;
use crate::diffusion::normal_tensor;
use crate::model::UNet;
use crate::schedule::Schedule;

/// Options of one sampling call.
#[derive(Clone, Copy, Debug)]
pub struct SamplerOptions {
    pub method: SampleMethod,
    /// DDIM: number of steps of the evenly spaced subsequence.
    pub ddim_steps: usize,
    /// DDIM: eta (0 = deterministic).
    pub ddim_eta: f64,
    /// DDIM: clip the predicted x_0 to [-1, 1] (and recompute eps from it).
    pub clip_x0: bool,
}

/// The step indices visited by the sampler, from the noisiest down to 0.
pub fn step_sequence(opts: &SamplerOptions, timesteps: usize) -> Vec<usize> {
    match opts.method {
        SampleMethod::Ddpm => (0..timesteps).rev().collect(),
        SampleMethod::Ddim => {
            let s = opts.ddim_steps.clamp(1, timesteps);
            let mut seq: Vec<usize> = if s == 1 {
                vec![timesteps - 1]
            } else {
                (0..s)
                    .map(|i| {
                        ((i as f64) * (timesteps - 1) as f64 / (s - 1) as f64).round() as usize
                    })
                    .collect()
            };
            seq.dedup();
            seq.reverse();
            seq
        }
    }
}

/// One ancestral DDPM step from index `t` (Algorithm 2):
/// x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) + sqrt(beta_t) z,
/// z = 0 at the last step.
pub fn ddpm_step<B: Backend>(
    model: &UNet<B>,
    sched: &Schedule,
    x: Tensor<B, 4>,
    t: usize,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    let n = x.dims()[0];
    let eps = model.forward(x.clone(), &vec![t; n]);
    ddpm_add_noise(sched, ddpm_mean(sched, x, eps, t), t, rng)
}

/// The posterior mean of Algorithm 2: 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps).
pub fn ddpm_mean<B: Backend>(
    sched: &Schedule,
    x: Tensor<B, 4>,
    eps: Tensor<B, 4>,
    t: usize,
) -> Tensor<B, 4> {
    let c1 = 1.0 / sched.alpha[t].sqrt();
    let c2 = sched.beta[t] / sched.sqrt_one_minus_alpha_bar(t);
    (x - eps.mul_scalar(c2)).mul_scalar(c1)
}

/// `mean + sqrt(beta_t) z` (sigma_t^2 = beta_t), or `mean` itself at t = 0.
pub fn ddpm_add_noise<B: Backend>(
    sched: &Schedule,
    mean: Tensor<B, 4>,
    t: usize,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    if t > 0 {
        let z = normal_tensor::<B>(rng, x_dims(&mean), &mean.device());
        mean + z.mul_scalar(sched.beta[t].sqrt())
    } else {
        mean
    }
}

fn x_dims<B: Backend>(x: &Tensor<B, 4>) -> [usize; 4] {
    x.dims()
}

/// One DDIM step from index `t` to `t_prev` (`None` = to x_0).
pub fn ddim_step<B: Backend>(
    model: &UNet<B>,
    sched: &Schedule,
    x: Tensor<B, 4>,
    t: usize,
    t_prev: Option<usize>,
    opts: &SamplerOptions,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    let n = x.dims()[0];
    let eps = model.forward(x.clone(), &vec![t; n]);
    ddim_update(sched, x, eps, t, t_prev, opts, rng)
}

/// The DDIM update (Song et al. 2021, Eq. 12) of `x` at index `t` given a noise estimate `eps`:
/// predicted x_0 (optionally clipped, eps recomputed from it), direction to x_{t_prev}, and
/// noise of std sigma_t(eta) drawn from `rng` when eta > 0.
pub fn ddim_update<B: Backend>(
    sched: &Schedule,
    x: Tensor<B, 4>,
    mut eps: Tensor<B, 4>,
    t: usize,
    t_prev: Option<usize>,
    opts: &SamplerOptions,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    let ab = sched.alpha_bar[t];
    let ab_prev = t_prev.map_or(1.0, |p| sched.alpha_bar[p]);
    let mut x0 = (x.clone() - eps.clone().mul_scalar((1.0 - ab).sqrt())).div_scalar(ab.sqrt());
    if opts.clip_x0 {
        x0 = x0.clamp(-1.0, 1.0);
        eps = (x - x0.clone().mul_scalar(ab.sqrt())).div_scalar((1.0 - ab).sqrt());
    }
    let sigma = opts.ddim_eta
        * ((1.0 - ab_prev) / (1.0 - ab)).sqrt()
        * (1.0 - ab / ab_prev).max(0.0).sqrt();
    let dir = eps.mul_scalar((1.0 - ab_prev - sigma * sigma).max(0.0).sqrt());
    let out = x0.mul_scalar(ab_prev.sqrt()) + dir;
    if sigma > 0.0 && t_prev.is_some() {
        let z = normal_tensor::<B>(rng, x_dims(&out), &out.device());
        out + z.mul_scalar(sigma)
    } else {
        out
    }
}

/// Draw `n` samples `[n, C, S, S]` (values unclipped; clip to [-1, 1] when converting to images).
/// `on_step` is called after every denoising step (progress bars).
pub fn sample<B: Backend>(
    model: &UNet<B>,
    sched: &Schedule,
    n: usize,
    channels: usize,
    size: usize,
    opts: &SamplerOptions,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    on_step: &mut dyn FnMut(),
) -> Tensor<B, 4> {
    let mut x = normal_tensor::<B>(rng, [n, channels, size, size], device);
    let seq = step_sequence(opts, sched.len());
    for (k, &t) in seq.iter().enumerate() {
        x = match opts.method {
            SampleMethod::Ddpm => ddpm_step(model, sched, x, t, rng),
            SampleMethod::Ddim => ddim_step(model, sched, x, t, seq.get(k + 1).copied(), opts, rng),
        };
        on_step();
    }
    x
}
