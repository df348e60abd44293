//! Reverse process samplers (Sec. 3.3 / App. D.1): full ancestral DDPM (Ho et al. 2020,
//! Algorithm 2, sigma_t^2 = beta_t) and DDIM (Song et al. 2021, Eq. 12) on a subsequence.
//!
//! One loop, [`p_sample_loop`], drives every sampler: at each step of the step sequence it asks
//! the [`Denoiser`] for eps_theta(x_t, t), asks an optional [`GuidanceHook`] for a guidance term
//! (classifier guidance, [`crate::guidance`]), and applies the scheduler update
//! ([`reverse_step`]). Noise comes from the caller's ChaCha8 stream, so a fixed seed gives fixed
//! samples.
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand_chacha::ChaCha8Rng;

use crate::config::SampleMethod;
use crate::denoiser::Denoiser;
use crate::diffusion::normal_tensor;
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

impl SamplerOptions {
    /// The full ancestral DDPM sampler (the DDIM fields unused).
    pub fn ancestral() -> Self {
        SamplerOptions {
            method: SampleMethod::Ddpm,
            ddim_steps: 0,
            ddim_eta: 0.0,
            clip_x0: false,
        }
    }
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

/// Where a step sits in the sampler's step sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepPos {
    /// Position in the sequence (0 = first, noisiest).
    pub k: usize,
    /// Length of the sequence.
    pub n_steps: usize,
    /// The step's 0-based index t.
    pub t: usize,
    /// The index the step goes to (`None` = to x_0).
    pub t_prev: Option<usize>,
}

impl StepPos {
    /// A single ancestral step from index `t` to `t - 1` (to x_0 at t = 0), outside any
    /// sequence.
    pub fn single(t: usize) -> Self {
        StepPos {
            k: 0,
            n_steps: 1,
            t,
            t_prev: t.checked_sub(1),
        }
    }
}

/// A guidance term of one step: weight w_t and gradient g = grad_x log p(y | x_t) (Dhariwal &
/// Nichol 2021). [`reverse_step`] applies it as their Algorithm 1 (DDPM: the mean moves by
/// w beta_t g) or Algorithm 2 (DDIM: eps_hat = eps - w sqrt(1 - alpha_bar_t) g).
pub struct Guide<B: Backend> {
    pub w: f64,
    pub grad: Tensor<B, 4>,
}

/// What steers a sampler: called at every step with the current x_t, it returns the step's
/// guidance term, or `None` for an unguided step.
pub trait GuidanceHook<B: Backend> {
    fn guide(&mut self, x: &Tensor<B, 4>, pos: StepPos) -> Option<Guide<B>>;
}

/// No guidance: every step is the plain sampler's.
pub struct Unguided;

impl<B: Backend> GuidanceHook<B> for Unguided {
    fn guide(&mut self, _x: &Tensor<B, 4>, _pos: StepPos) -> Option<Guide<B>> {
        None
    }
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
        let z = normal_tensor::<B>(rng, mean.dims(), &mean.device());
        mean + z.mul_scalar(sched.beta[t].sqrt())
    } else {
        mean
    }
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
        let z = normal_tensor::<B>(rng, out.dims(), &out.device());
        out + z.mul_scalar(sigma)
    } else {
        out
    }
}

/// The scheduler update of one step at `pos` given eps_theta(x_t, t) and an optional guidance
/// term:
/// - DDPM (Algorithm 2; with guidance Dhariwal & Nichol's Algorithm 1, Sigma_t = beta_t):
///   x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) + w beta_t g
///   + sqrt(beta_t) z, z = 0 at the last step;
/// - DDIM (Eq. 12; with guidance their Algorithm 2): [`ddim_update`] with
///   eps_hat = eps - w sqrt(1 - alpha_bar_t) g.
pub fn reverse_step<B: Backend>(
    sched: &Schedule,
    opts: &SamplerOptions,
    x: Tensor<B, 4>,
    eps: Tensor<B, 4>,
    pos: StepPos,
    guide: Option<Guide<B>>,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    let t = pos.t;
    match opts.method {
        SampleMethod::Ddpm => {
            let mut mean = ddpm_mean(sched, x, eps, t);
            if let Some(g) = guide {
                // Sigma_t = sigma_t^2 = beta_t, the unguided sampler's variance
                mean = mean + g.grad.mul_scalar(g.w * sched.beta[t]);
            }
            ddpm_add_noise(sched, mean, t, rng)
        }
        SampleMethod::Ddim => {
            let eps = match guide {
                Some(g) => eps - g.grad.mul_scalar(g.w * (1.0 - sched.alpha_bar[t]).sqrt()),
                None => eps,
            };
            ddim_update(sched, x, eps, t, pos.t_prev, opts, rng)
        }
    }
}

/// One step of the sampler at `pos`: eps_theta(x_t, t), the hook's guidance term, the update.
pub fn p_sample<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    opts: &SamplerOptions,
    x: Tensor<B, 4>,
    pos: StepPos,
    hook: &mut dyn GuidanceHook<B>,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    let guide = hook.guide(&x, pos);
    let n = x.dims()[0];
    let eps = model.predict_eps(x.clone(), &vec![pos.t; n]);
    reverse_step(sched, opts, x, eps, pos, guide, rng)
}

/// One unguided ancestral DDPM step from index `t` (Algorithm 2).
pub fn ddpm_step<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    x: Tensor<B, 4>,
    t: usize,
    rng: &mut ChaCha8Rng,
) -> Tensor<B, 4> {
    let opts = SamplerOptions::ancestral();
    p_sample(
        model,
        sched,
        &opts,
        x,
        StepPos::single(t),
        &mut Unguided,
        rng,
    )
}

/// Draw a batch `[N, C, S, S]` of `shape` from x_T ~ N(0, I) down the step sequence of `opts`
/// (values unclipped; clip to [-1, 1] when converting to images), steered by `hook`.
/// `on_step` is called after every denoising step (progress bars).
#[allow(clippy::too_many_arguments)]
pub fn p_sample_loop<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    shape: [usize; 4],
    opts: &SamplerOptions,
    hook: &mut dyn GuidanceHook<B>,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    on_step: &mut dyn FnMut(),
) -> Tensor<B, 4> {
    let mut x = normal_tensor::<B>(rng, shape, device);
    let seq = step_sequence(opts, sched.len());
    for (k, &t) in seq.iter().enumerate() {
        let pos = StepPos {
            k,
            n_steps: seq.len(),
            t,
            t_prev: seq.get(k + 1).copied(),
        };
        x = p_sample(model, sched, opts, x, pos, hook, rng);
        on_step();
    }
    x
}

/// Draw `n` unguided samples `[n, C, S, S]` ([`p_sample_loop`] with no hook).
#[allow(clippy::too_many_arguments)]
pub fn sample<B: Backend>(
    model: &dyn Denoiser<B>,
    sched: &Schedule,
    n: usize,
    channels: usize,
    size: usize,
    opts: &SamplerOptions,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    on_step: &mut dyn FnMut(),
) -> Tensor<B, 4> {
    p_sample_loop(
        model,
        sched,
        [n, channels, size, size],
        opts,
        &mut Unguided,
        rng,
        device,
        on_step,
    )
}
