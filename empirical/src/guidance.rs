//! Classifier-guided sampling (Sec. 5 "Guided DDPM", App. G.1; Dhariwal & Nichol 2021,
//! Algorithms 1 and 2): the reverse process is steered toward class 1 ("follows the fine rule")
//! of a noise-aware classifier f_theta(x_t, t) by the gradient
//! g = grad_x log softmax(f_theta(x_t, t))[class].
//!
//! - DDPM (Algorithm 1 of Dhariwal & Nichol): x_{t-1} ~ N(mu + w_t Sigma_t g, Sigma_t) with the
//!   unguided sampler's Sigma_t = sigma_t^2 = beta_t ([`crate::sampler::reverse_step`]).
//! - DDIM (their Algorithm 2): eps_hat = eps_theta(x_t) - w_t sqrt(1 - alpha_bar_t) g, then the
//!   DDIM update of [`crate::sampler::ddim_update`] with eps_hat.
//!
//! The weight w_t follows a [`GuidanceSchedule`] (constant, or the paper's "piecewise" ramp over
//! the final 20 denoising steps). Where w_t = 0 the classifier is not evaluated and the step *is*
//! the unguided sampler's step, so scale 0 reproduces [`crate::sampler::sample`] bit for bit for
//! the same seed (same ChaCha8 draws in the same order).
//!
//! The classifier runs on an autodiff backend `BA` whose inner backend `B` runs the U-Net; any
//! classifier plugs in through the [`NoisyClassifier`] trait.
//!
//! Differences from the authors' guided sampler (`DDPMDiffusion::contrastive_sample` in their
//! code): (1) it uses the posterior variance
//! beta-tilde_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) both as Sigma_t in the shift
//! and as the noise variance, while their unguided sampler (and ours) uses beta_t; we keep
//! Sigma_t = beta_t so that scale 0 is the unguided sampler. beta-tilde_t / beta_t is 0.45, 0.61,
//! 0.78, 0.86, 0.92 at t = 1, 2, 5, 10, 19 (T = 1000, linear 1e-4..2e-2) and 0 at t = 0, so their
//! piecewise guidance is weaker in exactly its window. (2) their loop runs t = 999..1 (index 0 is
//! never visited). (3) their default schedule `linear` is w = c + 3 (1 - t / 1000), not constant.
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use image::RgbImage;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

use crate::config::RunConfig;
use crate::denoiser::Denoiser;
use crate::error::{Error, Result};
use crate::sampler::{self, GuidanceHook, Guide, SamplerOptions, StepPos};
use crate::schedule::Schedule;

/// Number of classes of the contrastive sets (App. G.1: classes 0 and 2 break the fine rule in
/// opposite directions, class 1 follows it).
pub const NUM_CLASSES: usize = 3;

/// A noise-aware classifier f_theta(x_t, t) (Sec. 5, Eq. 3) seen by the guided sampler.
pub trait NoisyClassifier<BA: AutodiffBackend> {
    /// Logits `[N, classes]` of noisy images `x` `[N, C, H, W]` at 0-based step indices `t`
    /// (one per sample; index t stands for the paper's step t + 1, as in [`crate::schedule`]).
    fn logits(&self, x: Tensor<BA, 4>, t: &[usize]) -> Tensor<BA, 2>;
}

/// grad_x log p_theta(class | x_t, t) = grad_x log softmax(f_theta(x_t, t))[class] for every
/// sample of the batch `x` at step index `t` (Dhariwal & Nichol's guidance gradient). The
/// per-sample log-probabilities are summed before the backward pass; as sample i's logits depend
/// only on x_i, row i of the result is sample i's own gradient. A classifier that does not depend
/// on `x` gives zeros. `class` must be below the number of logits.
pub fn grad_log_prob<BA, C>(
    classifier: &C,
    x: Tensor<BA::InnerBackend, 4>,
    t: usize,
    class: usize,
) -> Tensor<BA::InnerBackend, 4>
where
    BA: AutodiffBackend,
    C: NoisyClassifier<BA>,
{
    let dims = x.dims();
    let device = x.device();
    let n = dims[0];
    let xa = Tensor::<BA, 4>::from_inner(x).require_grad();
    let logits = classifier.logits(xa.clone(), &vec![t; n]);
    let selected = log_softmax(logits, 1).slice([0..n, class..class + 1]).sum();
    let grads = selected.backward();
    xa.grad(&grads)
        .unwrap_or_else(|| Tensor::zeros(dims, &device))
}

/// p_theta(class | x, t) per sample (softmax of the logits; no gradient is kept), e.g. the
/// classifier's verdict on finished samples at t = 0.
pub fn class_probs<BA, C>(
    classifier: &C,
    x: Tensor<BA::InnerBackend, 4>,
    t: usize,
    class: usize,
) -> Vec<f64>
where
    BA: AutodiffBackend,
    C: NoisyClassifier<BA>,
{
    let n = x.dims()[0];
    let logits = classifier
        .logits(Tensor::<BA, 4>::from_inner(x), &vec![t; n])
        .inner();
    let p = softmax(logits, 1).slice([0..n, class..class + 1]);
    p.into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("f64 data")
}

/// Which strength profile w_t the guidance follows (App. G.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum GuidanceSchedule {
    /// w_t = scale at every denoising step ("standard weighting", App. G.1).
    Constant,
    /// Guidance only in the final `last_steps` steps of the sampler's step sequence, rising
    /// linearly to the scale (App. G.1: "activated only in the final 20 denoising steps. The
    /// weight linearly increases from 0 to predefined gradient scale factors").
    ///
    /// Reading implemented: with j = 0..L-1 the position inside the window of the final
    /// L = `last_steps` steps, **w = scale * (j + 1) / L**: c/L at the first window step, c at the
    /// last, 0 before (the ramp starts from 0 at the step just before the window). For the full
    /// T-step DDPM sampler (0-based t = T-1..0, window t = L-1..0) this is exactly the reference
    /// notes' w_t = c (20 - i) / 20 with i = the 0-based t, the index the authors' sampler loop
    /// (`dms-rules`, `contrastive_sample`, `if i <= 20: w_t = cfg_scale * (20 - i) / 20`) feeds
    /// into its beta / alpha_hat arrays, which is this crate's t.
    ///
    /// The other readings differ by one step: "0 -> c inclusive" (w = c j / (L - 1), zero at the
    /// first window step, slope c / (L - 1)) has only L - 1 active steps; and i = the 1-based
    /// paper step t + 1 gives w = c j / L (0 at the first window step, 19c/20 at the last), i.e.
    /// this ramp shifted one step later. (The authors' loop also stops at index 1, so their
    /// final guided step is i = 1 with w = 19c/20 - and there their Sigma = beta-tilde_1 = 0.)
    Piecewise { last_steps: usize },
}

/// The schedule's name alone (CLI / serde friendly: `constant`, `piecewise`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GuidanceScheduleKind {
    Constant,
    Piecewise,
}

impl GuidanceSchedule {
    /// The schedule of `kind`; `last_steps` is used by `piecewise` only.
    pub fn from_kind(kind: GuidanceScheduleKind, last_steps: usize) -> Self {
        match kind {
            GuidanceScheduleKind::Constant => GuidanceSchedule::Constant,
            GuidanceScheduleKind::Piecewise => GuidanceSchedule::Piecewise { last_steps },
        }
    }
    /// The schedule's name.
    pub fn kind(&self) -> GuidanceScheduleKind {
        match self {
            GuidanceSchedule::Constant => GuidanceScheduleKind::Constant,
            GuidanceSchedule::Piecewise { .. } => GuidanceScheduleKind::Piecewise,
        }
    }
}

/// Guidance strength, schedule and target class of one guided sampling call.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuidanceOptions {
    /// The gradient scale c (paper: 7 for Tasks A/C, 10 for B/D).
    pub scale: f64,
    pub schedule: GuidanceSchedule,
    /// Class to guide toward (1 = follows the fine rule).
    pub class: usize,
}

impl Default for GuidanceOptions {
    /// Scale 7, constant, class 1.
    fn default() -> Self {
        GuidanceOptions {
            scale: 7.0,
            schedule: GuidanceSchedule::Constant,
            class: 1,
        }
    }
}

impl GuidanceOptions {
    /// Reject a non-finite or negative scale, a class outside 0..3 and an empty piecewise window.
    pub fn validate(&self) -> Result<()> {
        if !self.scale.is_finite() || self.scale < 0.0 {
            return Err(Error::config(
                "scale",
                format!("must be finite and >= 0, got {}", self.scale),
            ));
        }
        if self.class >= NUM_CLASSES {
            return Err(Error::config(
                "guidance-class",
                format!(
                    "must be one of 0..{} (1 = follows the fine rule), got {}",
                    NUM_CLASSES - 1,
                    self.class
                ),
            ));
        }
        if let GuidanceSchedule::Piecewise { last_steps } = self.schedule {
            if last_steps == 0 {
                return Err(Error::config(
                    "guidance-last-steps",
                    "must be at least 1".to_string(),
                ));
            }
        }
        Ok(())
    }

    /// Weight w of the step at position `k` (0 = first, noisiest) of a step sequence of
    /// `n_steps` steps; `t` is that step's 0-based index (unused by the current schedules, which
    /// are defined on the sequence so that they also apply to DDIM subsequences). See
    /// [`GuidanceSchedule`] for the piecewise reading.
    pub fn weight(&self, k: usize, n_steps: usize, t: usize) -> f64 {
        let _ = t;
        match self.schedule {
            GuidanceSchedule::Constant => self.scale,
            GuidanceSchedule::Piecewise { last_steps } => {
                if last_steps == 0 || k + last_steps < n_steps {
                    0.0
                } else {
                    // j = k - (n_steps - last_steps), the position inside the window
                    let j = k + last_steps - n_steps;
                    self.scale * (j + 1) as f64 / last_steps as f64
                }
            }
        }
    }

    /// One-line description for logs and run files, e.g. `scale 7, piecewise (last 20), class 1`.
    pub fn describe(&self) -> String {
        let sched = match self.schedule {
            GuidanceSchedule::Constant => "constant".to_string(),
            GuidanceSchedule::Piecewise { last_steps } => format!("piecewise (last {last_steps})"),
        };
        format!("scale {}, {sched}, class {}", self.scale, self.class)
    }
}

/// Classifier guidance as a sampler hook (Dhariwal & Nichol 2021): at step k of the sequence the
/// weight is w = `options.weight(k, n_steps, t)`; where w = 0 the classifier is not evaluated
/// and the step is the unguided sampler's, elsewhere the hook returns w and
/// g = [`grad_log_prob`] toward `options.class`, applied by [`sampler::reverse_step`].
pub struct ClassifierGuidance<'a, BA, C> {
    classifier: &'a C,
    options: GuidanceOptions,
    backend: PhantomData<BA>,
}

impl<'a, BA, C> ClassifierGuidance<'a, BA, C>
where
    BA: AutodiffBackend,
    C: NoisyClassifier<BA>,
{
    /// Guidance by `classifier` with strength, schedule and class from `options`.
    pub fn new(classifier: &'a C, options: GuidanceOptions) -> Self {
        ClassifierGuidance {
            classifier,
            options,
            backend: PhantomData,
        }
    }
}

impl<BA, C> GuidanceHook<BA::InnerBackend> for ClassifierGuidance<'_, BA, C>
where
    BA: AutodiffBackend,
    C: NoisyClassifier<BA>,
{
    fn guide(
        &mut self,
        x: &Tensor<BA::InnerBackend, 4>,
        pos: StepPos,
    ) -> Option<Guide<BA::InnerBackend>> {
        let w = self.options.weight(pos.k, pos.n_steps, pos.t);
        if w == 0.0 {
            return None;
        }
        let grad = grad_log_prob::<BA, C>(self.classifier, x.clone(), pos.t, self.options.class);
        Some(Guide { w, grad })
    }
}

/// Draw `n` guided samples `[n, C, S, S]` (unclipped): [`sampler::p_sample_loop`] with
/// [`ClassifierGuidance`], so the initial noise and step sequence are the unguided sampler's.
/// `on_step` is called after every denoising step.
#[allow(clippy::too_many_arguments)]
pub fn sample_guided<B, BA, C>(
    model: &dyn Denoiser<B>,
    classifier: &C,
    sched: &Schedule,
    n: usize,
    channels: usize,
    size: usize,
    opts: &SamplerOptions,
    guidance: &GuidanceOptions,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    on_step: &mut dyn FnMut(),
) -> Tensor<B, 4>
where
    B: Backend,
    BA: AutodiffBackend<InnerBackend = B>,
    C: NoisyClassifier<BA>,
{
    let mut hook = ClassifierGuidance::<BA, C>::new(classifier, *guidance);
    sampler::p_sample_loop(
        model,
        sched,
        [n, channels, size, size],
        opts,
        &mut hook,
        rng,
        device,
        on_step,
    )
}

/// Draw `n` guided images with `model` and `classifier` in batches of `batch`, seeded by `seed`,
/// with a progress bar: [`crate::pipeline::sample_images`] with [`sample_guided`] as sampler
/// (same seed derivation, same batches, so scale 0 reproduces it exactly).
#[allow(clippy::too_many_arguments)]
pub fn sample_images_guided<B, BA, C>(
    model: &dyn Denoiser<B>,
    classifier: &C,
    cfg: &RunConfig,
    n: usize,
    batch: usize,
    opts: &SamplerOptions,
    guidance: &GuidanceOptions,
    seed: u64,
    quiet: bool,
    device: &B::Device,
) -> Vec<RgbImage>
where
    B: Backend,
    BA: AutodiffBackend<InnerBackend = B>,
    C: NoisyClassifier<BA>,
{
    let sched = Schedule::from_config(&cfg.diffusion);
    let (c, s) = (cfg.model.in_channels, cfg.image_size);
    crate::pipeline::sample_images_with(
        cfg,
        n,
        batch,
        opts,
        seed,
        quiet,
        "guided",
        |nb, rng, on_step| {
            sample_guided::<B, BA, C>(
                model, classifier, &sched, nb, c, s, opts, guidance, rng, device, on_step,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(scale: f64, schedule: GuidanceSchedule) -> GuidanceOptions {
        GuidanceOptions {
            scale,
            schedule,
            class: 1,
        }
    }

    #[test]
    fn constant_weight_everywhere() {
        let o = opts(7.0, GuidanceSchedule::Constant);
        for k in 0..1000 {
            assert_eq!(o.weight(k, 1000, 999 - k), 7.0);
        }
    }

    #[test]
    fn piecewise_ddpm_matches_reference_formula() {
        // full DDPM: k = T-1-t; reference notes: w_t = c (20 - t) / 20 for t < 20, 0 otherwise
        let c = 7.0;
        let o = opts(c, GuidanceSchedule::Piecewise { last_steps: 20 });
        let big_t = 1000;
        for t in (0..big_t).rev() {
            let k = big_t - 1 - t;
            let expect = if t < 20 {
                c * (20 - t) as f64 / 20.0
            } else {
                0.0
            };
            let w = o.weight(k, big_t, t);
            assert!((w - expect).abs() < 1e-12, "t={t}: {w} vs {expect}");
        }
        // zero before the window, linear (constant increments c/20) inside, c at the last step
        assert_eq!(o.weight(979, big_t, 20), 0.0);
        assert!((o.weight(980, big_t, 19) - c / 20.0).abs() < 1e-12);
        for k in 981..1000 {
            let d = o.weight(k, big_t, 999 - k) - o.weight(k - 1, big_t, 1000 - k);
            assert!((d - c / 20.0).abs() < 1e-12);
        }
        assert_eq!(o.weight(999, big_t, 0), c);
    }

    #[test]
    fn piecewise_on_short_sequences() {
        let o = opts(10.0, GuidanceSchedule::Piecewise { last_steps: 4 });
        let w: Vec<f64> = (0..6).map(|k| o.weight(k, 6, 0)).collect();
        assert_eq!(w, vec![0.0, 0.0, 2.5, 5.0, 7.5, 10.0]);
        // window longer than the sequence: the tail of the ramp, still c at the end
        let w: Vec<f64> = (0..2).map(|k| o.weight(k, 2, 0)).collect();
        assert_eq!(w, vec![7.5, 10.0]);
    }

    #[test]
    fn validation_names_the_key() {
        let bad = [
            (opts(-1.0, GuidanceSchedule::Constant), "scale"),
            (opts(f64::NAN, GuidanceSchedule::Constant), "scale"),
            (opts(f64::INFINITY, GuidanceSchedule::Constant), "scale"),
            (
                opts(7.0, GuidanceSchedule::Piecewise { last_steps: 0 }),
                "guidance-last-steps",
            ),
            (
                GuidanceOptions {
                    class: 3,
                    ..GuidanceOptions::default()
                },
                "guidance-class",
            ),
        ];
        for (o, key) in bad {
            match o.validate() {
                Err(Error::Config { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{o:?}: expected config error on {key}, got {other:?}"),
            }
        }
        assert!(GuidanceOptions::default().validate().is_ok());
        assert!(opts(0.0, GuidanceSchedule::Piecewise { last_steps: 1 })
            .validate()
            .is_ok());
    }

    #[test]
    fn schedule_serde_and_names() {
        let o = opts(10.0, GuidanceSchedule::Piecewise { last_steps: 20 });
        let s = serde_json::to_string(&o).unwrap();
        assert!(s.contains("\"piecewise\""), "{s}");
        let back: GuidanceOptions = serde_json::from_str(&s).unwrap();
        assert_eq!(back, o);
        assert_eq!(
            GuidanceSchedule::from_kind(GuidanceScheduleKind::Piecewise, 5).kind(),
            GuidanceScheduleKind::Piecewise
        );
        assert_eq!(o.describe(), "scale 10, piecewise (last 20), class 1");
    }
}
