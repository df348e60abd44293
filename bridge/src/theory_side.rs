//! The theory side of the bridge table: how the two-layer score network of
//! Section 4 is mapped onto the one Eq. 4 metric ([`crate::eq4_error`]).
//!
//! # The mapping
//!
//! The true score restricted to the first two patches is (Thm 4.2)
//! `s^(1) = −x_t^(1)/β_t² + (α_t/β_t²)·E[π_t ζ]·u` and
//! `s^(2) = −x_t^(2)/β_t² + (α_t/β_t²)·E[π_t (1−ζ)]·v`, and the hidden rule
//! (*) says `E[π_t ζ] + E[π_t (1−ζ)] = 1` for every `x_t`. The network of
//! Eq. 1 has the same residual term, so its *per-patch coefficients*
//!
//! `ĉ_1(x_t) = ⟨s_w^(1)(x_t) + x_t^(1)/β_t², u⟩ · β_t²/α_t` (estimate of `E[π_t ζ]`),
//! `ĉ_2(x_t) = ⟨s_w^(2)(x_t) + x_t^(2)/β_t², v⟩ · β_t²/α_t` (estimate of `E[π_t (1−ζ)]`)
//!
//! are its estimates of the two posterior means, and
//! `ĉ_1 + ĉ_2 = ψ_t(x_t)·β_t²/α_t` (Def. 4.3) is its estimate of the rule
//! value 1. All of these are in the units of ζ, the norm of a feature patch
//! (a number in `[0, 1]` for the default `D_ζ = U[0.2, 0.8]`), just as the
//! experiment's features are lengths and products of lengths divided by the
//! image side (numbers in `[0, 1]`). Two rows per setting:
//!
//! - **`psi`** (rule (*)): truth = 1 for every sampled `x_t`, estimate =
//!   `ψ_t(x_t)·β_t²/α_t`. The truth does not vary, so Eq. 4 reduces to
//!   [`crate::eq4_constant_truth`]: bias part `|mean − 1|`, variance part
//!   `sd`; these are the theory's `E_bias` and `sqrt(E_variance)` of Section 4
//!   divided by `α_t/β_t²`, the correspondence Section 5.1 states. No R².
//! - **`patches`** (the score's coefficients): pairs
//!   `(x, y) = (E[π_t ζ](x_t), ĉ_1(x_t))` and `(E[π_t (1−ζ)](x_t), ĉ_2(x_t))`,
//!   pooled over both patches, truth line `y = x` (`k = 1`), full Eq. 4 with
//!   OLS and R², exactly as the experiment's `(x, y)` against `y = k·x`. The
//!   posterior means are computed exactly by `theory::ExactScore`
//!   (log-sum-exp over the quadrature of `D_ζ`).
//!
//! No trimming is applied on the theory side ([`crate::Trim::None`]): the
//! `x_t` are exact draws, there are no extraction failures to trim; the
//! residual variance uses the population convention ([`crate::Ddof::Population`]),
//! like `theory::RuleError`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use theory::{
    Activation, Convention, ExactScore, Figure6Config, NoiseLevel, ScoreNet, TwoPatchModel,
};

use crate::error::{eq4_constant_truth, eq4_error, ConstantTruthError, Ddof, Eq4Error, Trim};
use crate::BridgeError;

/// Salt mixed into a setting's seed for the `x_t` draws of the bridge rows.
const SAMPLE_SALT: u64 = 0xB1D6_E000_0000_0007;

/// Per-`x_t` quantities of one trained network, in units of ζ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryPoint {
    /// Activation of the network.
    pub activation: Activation,
    /// Time `t` of the schedule.
    pub t: f64,
    /// Loss convention the network was trained with.
    pub convention: Convention,
    /// Noise level.
    pub alpha_t: f64,
    /// Noise level.
    pub beta_t: f64,
    /// `ψ_t(x_t)·β_t²/α_t` per sampled `x_t` (truth 1).
    pub psi_normalised: Vec<f64>,
    /// `(ĉ_1, ĉ_2)` per sampled `x_t`.
    pub net_coefficients: Vec<(f64, f64)>,
    /// `(E[π_t ζ], E[π_t (1−ζ)])` per sampled `x_t` (exact).
    pub posterior_means: Vec<(f64, f64)>,
    /// Gradient-norm certificate of training.
    pub grad_norm: f64,
    /// Whether training reached its gradient tolerance.
    pub converged: bool,
}

/// The two Eq. 4 results of one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryErrors {
    /// Rule (*) mapping (see module docs).
    pub psi: ConstantTruthError,
    /// Per-patch coefficient mapping (see module docs).
    pub patches: Eq4Error,
}

/// `ĉ_p(x) = ⟨s_w^(p)(x) + x/β_t², f_p⟩·β_t²/α_t` for patch `p ∈ {1, 2}`.
pub fn net_coefficient(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    patch: usize,
    x: &[f64],
) -> Result<f64, BridgeError> {
    let s = net.forward(patch, x, level)?;
    let b2 = level.beta_t * level.beta_t;
    let f = model.feature(patch);
    let inner: f64 = s
        .iter()
        .zip(x)
        .zip(f.iter())
        .map(|((si, xi), fi)| (si + xi / b2) * fi)
        .sum();
    Ok(inner * b2 / level.alpha_t)
}

/// Sample `n` values `x_t` (one `model.sample_xt` call each, nothing else
/// drawn from `rng`, so the draws are those of `theory::psi_samples` with the
/// same generator) and compute every per-`x_t` quantity of the mapping.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_net<R: rand::Rng + ?Sized>(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    t: f64,
    convention: Convention,
    n: usize,
    quad_nodes: usize,
    rng: &mut R,
) -> Result<TheoryPoint, BridgeError> {
    let exact = ExactScore::new(model, level, quad_nodes);
    let scale = level.beta_t * level.beta_t / level.alpha_t;
    let mut psi_normalised = Vec::with_capacity(n);
    let mut net_coefficients = Vec::with_capacity(n);
    let mut posterior_means = Vec::with_capacity(n);
    for _ in 0..n {
        let s = model.sample_xt(level, rng);
        psi_normalised.push(net.psi(model, &s.xt_1, &s.xt_2)? * scale);
        net_coefficients.push((
            net_coefficient(net, model, level, 1, &s.xt_1)?,
            net_coefficient(net, model, level, 2, &s.xt_2)?,
        ));
        posterior_means.push(exact.posterior_means(&s.xt_1, &s.xt_2)?);
    }
    Ok(TheoryPoint {
        activation: net.activation,
        t,
        convention,
        alpha_t: level.alpha_t,
        beta_t: level.beta_t,
        psi_normalised,
        net_coefficients,
        posterior_means,
        grad_norm: f64::NAN,
        converged: false,
    })
}

/// Rule (*) mapping: Eq. 4 of `ψ_t·β_t²/α_t` against the constant truth 1.
pub fn psi_mapping(psi_normalised: &[f64]) -> Result<ConstantTruthError, BridgeError> {
    Ok(eq4_constant_truth(1.0, psi_normalised, Ddof::Population)?)
}

/// Per-patch mapping: Eq. 4 of the network coefficients against the exact
/// posterior means, both patches pooled, truth line `y = x`.
pub fn patch_mapping(
    posterior_means: &[(f64, f64)],
    net_coefficients: &[(f64, f64)],
) -> Result<Eq4Error, BridgeError> {
    let x: Vec<f64> = posterior_means
        .iter()
        .map(|p| p.0)
        .chain(posterior_means.iter().map(|p| p.1))
        .collect();
    let y: Vec<f64> = net_coefficients
        .iter()
        .map(|p| p.0)
        .chain(net_coefficients.iter().map(|p| p.1))
        .collect();
    Ok(eq4_error(&x, &y, 1.0, Trim::None, Ddof::Population)?)
}

/// Both mappings of one setting.
pub fn errors(point: &TheoryPoint) -> Result<TheoryErrors, BridgeError> {
    Ok(TheoryErrors {
        psi: psi_mapping(&point.psi_normalised)?,
        patches: patch_mapping(&point.posterior_means, &point.net_coefficients)?,
    })
}

/// Settings of the theory rows: Figure 6's configuration (App. F: d = 100,
/// m = 20, t ∈ {0.2, 0.4, 0.6, 0.8}, 5000 `x_t`, `D_ζ = U[0.2, 0.8]`) for
/// every activation × t × convention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryRowsConfig {
    /// Network, data, schedule, GD and sampling settings (its `convention`
    /// field is replaced by each entry of `conventions`).
    pub fig6: Figure6Config,
    /// Loss conventions to run.
    pub conventions: Vec<Convention>,
    /// Gauss nodes of the exact posterior means.
    pub quad_nodes: usize,
}

impl Default for TheoryRowsConfig {
    fn default() -> Self {
        TheoryRowsConfig {
            fig6: Figure6Config::default(),
            conventions: vec![Convention::Paper, Convention::Score],
            quad_nodes: 64,
        }
    }
}

/// One setting: train (as `theory::figure6_panel` does, seed `seed`) and
/// evaluate the mapping on `n_psi` fresh `x_t`.
pub fn theory_point(
    cfg: &TheoryRowsConfig,
    activation: Activation,
    t: f64,
    convention: Convention,
    seed: u64,
) -> Result<TheoryPoint, BridgeError> {
    let f = &cfg.fig6;
    let model = TwoPatchModel::new(f.d, f.zeta.clone())?;
    let level = f.schedule.level(t)?;
    let gd = theory::GdConfig { seed, ..f.gd };
    let out = theory::train(&model, level, activation, f.m, convention, &gd)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SAMPLE_SALT);
    let mut p = evaluate_net(
        &out.net,
        &model,
        level,
        t,
        convention,
        f.n_psi,
        cfg.quad_nodes,
        &mut rng,
    )?;
    p.grad_norm = out.grad_norm;
    p.converged = out.converged;
    Ok(p)
}

/// Every setting (conventions × activations × ts, in that order), in
/// parallel; setting `i` uses seed `fig6.seed + i`.
pub fn theory_points(cfg: &TheoryRowsConfig) -> Result<Vec<TheoryPoint>, BridgeError> {
    let f = &cfg.fig6;
    let mut jobs = Vec::new();
    for &c in &cfg.conventions {
        for &a in &f.activations {
            for &t in &f.ts {
                jobs.push((jobs.len(), c, a, t));
            }
        }
    }
    jobs.par_iter()
        .map(|&(i, c, a, t)| theory_point(cfg, a, t, c, f.seed.wrapping_add(i as u64)))
        .collect()
}
