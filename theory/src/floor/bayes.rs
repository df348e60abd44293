//! Bayes references of the floor study by quadrature: the Bayes loss L*, the loss of the trivial
//! predictor that knows only D_zeta, and the best predictor that sees one patch at a time (the limit
//! of every per-patch network), each with its DSM excess and rule error (Def. 4.3).
//!
//! **Setting.** Patches 1, 2 of Def. 4.1 at level (alpha, beta): x^(1) = alpha zeta u + beta eps^(1),
//! x^(2) = alpha (1 - zeta) v + beta eps^(2), and the Eq. 2 target T = (alpha/beta^2) x_0 + kappa eps
//! ([`crate::loss`]; kappa = 0 score, 1 + 1/beta paper). The posterior of zeta depends on x_t only
//! through s1 = <u, x^(1)> = alpha zeta + beta e1 and s2 = <v, x^(2)> = alpha (1 - zeta) + beta e2
//! (e1, e2 iid N(0, 1)): with ||u|| = ||v|| = 1 the Gaussian likelihoods give, up to zeta-free terms,
//! - both patches: log p(x_t | zeta) = alpha (zeta s1 + (1 - zeta) s2)/beta^2
//!   - alpha^2 (zeta^2 + (1 - zeta)^2)/(2 beta^2) (as in [`crate::score::ExactScore`]);
//! - patch 1 alone: alpha zeta s1/beta^2 - alpha^2 zeta^2/(2 beta^2);
//! - patch 2 alone: alpha (1 - zeta) s2/beta^2 - alpha^2 (1 - zeta)^2/(2 beta^2).
//!
//! Write zhat = E[zeta | x_t], zhat1 = E[zeta | x^(1)], zhat2 = E[zeta | x^(2)], A = E Var(zeta | x_t),
//! B_p = E Var(zeta | x^(p)), D = zhat1 - zhat2, K_s = (alpha/beta^2)^2, K_p = (alpha/beta)^2.
//!
//! **Bayes loss.** g* = E[T | x_t]. Score: T - g* = (alpha/beta^2)(x_0 - E[x_0 | x_t]) =
//! (alpha/beta^2)[(zeta - zhat) u; -(zeta - zhat) v], so L* = E||T - g*||^2 = 2 K_s A. Paper: since
//! eps = (x_t - alpha x_0)/beta, E[eps | x_t] = (x_t - alpha E[x_0 | x_t])/beta and
//! T - g* = (alpha/beta^2 - kappa alpha/beta)(x_0 - E[x_0 | x_t]) = -(alpha/beta)(x_0 - E[x_0 | x_t]),
//! so L* = 2 K_p A = beta^2 L*_score. Both are the Rao-Blackwellised form of the per-draw loss
//! (Var(zeta | x_t) in place of (zeta - zhat)^2), which [`crate::floor::BayesReference`] also averages
//! over a sample, with a standard error.
//!
//! **Trivial predictor** (zhat replaced by E zeta: g = E[T] score, g = (alpha/beta^2) E x_0 +
//! kappa (x_t - alpha E x_0)/beta paper): loss 2 K Var zeta >= L* (law of total variance, A <= Var zeta);
//! psi = alpha/beta^2 exactly under the score convention (rule error 0) and
//! psi - alpha/beta^2 = (kappa/beta)(s1 + s2 - alpha) under the paper convention (rule error
//! (kappa/beta)^2 2 beta^2 = 2 kappa^2, the Bayes value).
//!
//! **Per-patch limit.** A network whose output on patch p is a function of x^(p) alone has DSM loss
//! sum_p E||g^(p)(x^(p)) - T^(p)||^2, minimised by g^(p) = E[T^(p) | x^(p)]: zhat replaced by zhat1 on
//! patch 1 and by zhat2 on patch 2 in g*. Its excess over L* is (Pythagoras, zhat_p = E[zhat | x^(p)])
//! K (E(zhat1 - zhat)^2 + E(zhat2 - zhat)^2) = K (B1 + B2 - 2 A), K = K_s or K_p; every per-patch
//! network has DSM excess >= this (its own excess is this plus E||g - g_pp||^2). The rule error is
//! that of the per-patch optimum, not a bound: score, psi - alpha/beta^2 = (alpha/beta^2) D, rule error
//! K_s E D^2; paper, psi - alpha/beta^2 = -(alpha/beta) D + (kappa/beta)(s1 + s2 - alpha), rule error
//! K_p E D^2 - 2 (alpha kappa/beta) E[D (e1 + e2)] + 2 kappa^2, where Stein's lemma with
//! d zhat1/d s1 = (alpha/beta^2) Var(zeta | s1) and d zhat2/d s2 = -(alpha/beta^2) Var(zeta | s2) gives
//! E[D (e1 + e2)] = (alpha/beta)(B1 + B2) (checked against the direct quadrature in the tests).
//! E D = 0 (tower property), so both conventions have bias 0 and the rule error is all variance.
//!
//! **Quadrature.** E over (zeta, e1, e2) by the tensor rule (n_zeta Gauss nodes of D_zeta) x
//! (n_gh Gauss-Hermite nodes)^2; each posterior by the n_post Gauss nodes of D_zeta (as g* of the
//! samples). Node doubling and Monte Carlo checks are in the tests.
use crate::data::TwoPatchModel;
use crate::error::{invalid, Result};
use crate::floor::objective::Predictor;
use crate::loss::Convention;
use crate::quad::{gauss_hermite_normal, log_sum_exp};
use crate::schedule::NoiseLevel;
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// Posterior moments of zeta on the n_post Gauss nodes of D_zeta.
#[derive(Debug, Clone)]
struct Posterior {
    alpha: f64,
    beta2: f64,
    nodes: Vec<f64>,
    log_w: Vec<f64>,
}

/// Which part of x_t a posterior conditions on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Information {
    /// both patches (s1, s2): the Bayes-optimal g*
    Joint,
    /// patch 1 alone for g^(1), patch 2 alone for g^(2): the per-patch optimum
    PerPatch,
    /// nothing (the prior D_zeta): the trivial predictor
    Prior,
}

impl Posterior {
    fn new(model: &TwoPatchModel, level: NoiseLevel, n_post: usize) -> Self {
        let rule = model.zeta.quadrature(n_post.max(1));
        Self {
            alpha: level.alpha_t,
            beta2: level.beta_t * level.beta_t,
            nodes: rule.iter().map(|p| p.0).collect(),
            log_w: rule.iter().map(|p| p.1.ln()).collect(),
        }
    }

    /// (E, Var) of zeta given log-likelihood terms l_i (prior included).
    fn moments(&self, l: &[f64]) -> (f64, f64) {
        let lse = log_sum_exp(l);
        let p: Vec<f64> = l.iter().map(|li| (li - lse).exp()).collect();
        let m: f64 = p.iter().zip(&self.nodes).map(|(p, z)| p * z).sum();
        // about the mean: no cancellation when Var << m^2
        let var = p
            .iter()
            .zip(&self.nodes)
            .map(|(p, z)| p * (z - m).powi(2))
            .sum();
        (m, var)
    }

    fn joint(&self, s1: f64, s2: f64) -> (f64, f64) {
        let (a, b2) = (self.alpha, self.beta2);
        let l: Vec<f64> = self
            .nodes
            .iter()
            .zip(&self.log_w)
            .map(|(&z, &lw)| {
                lw + a * (z * s1 + (1.0 - z) * s2) / b2
                    - a * a * (z * z + (1.0 - z) * (1.0 - z)) / (2.0 * b2)
            })
            .collect();
        self.moments(&l)
    }

    fn patch1(&self, s1: f64) -> (f64, f64) {
        let (a, b2) = (self.alpha, self.beta2);
        let l: Vec<f64> = self
            .nodes
            .iter()
            .zip(&self.log_w)
            .map(|(&z, &lw)| lw + a * z * s1 / b2 - a * a * z * z / (2.0 * b2))
            .collect();
        self.moments(&l)
    }

    fn patch2(&self, s2: f64) -> (f64, f64) {
        let (a, b2) = (self.alpha, self.beta2);
        let l: Vec<f64> = self
            .nodes
            .iter()
            .zip(&self.log_w)
            .map(|(&z, &lw)| {
                lw + a * (1.0 - z) * s2 / b2 - a * a * (1.0 - z) * (1.0 - z) / (2.0 * b2)
            })
            .collect();
        self.moments(&l)
    }

    fn prior(&self) -> (f64, f64) {
        self.moments(&self.log_w)
    }
}

/// Convention-free expectations by quadrature (see the module docs for the notation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PosteriorExpectations {
    /// Var zeta (prior, on the n_post nodes)
    pub prior_var: f64,
    /// A = E Var(zeta | x_t)
    pub ev_joint: f64,
    /// B1 = E Var(zeta | x^(1))
    pub ev_patch1: f64,
    /// B2 = E Var(zeta | x^(2))
    pub ev_patch2: f64,
    /// E(zhat1 - zhat)^2 + E(zhat2 - zhat)^2, directly (equals B1 + B2 - 2 A)
    pub patch_gap: f64,
    /// E D, D = zhat1 - zhat2 (0 by the tower property)
    pub mean_d: f64,
    /// E D^2
    pub mean_d2: f64,
    /// E[D (e1 + e2)] (Stein: (alpha/beta)(B1 + B2))
    pub mean_d_noise: f64,
    /// (n_zeta, n_gh, n_post)
    pub nodes: (usize, usize, usize),
}

impl PosteriorExpectations {
    /// Tensor quadrature over (zeta, e1, e2); n_zeta, n_gh, n_post >= 1.
    pub fn compute(
        model: &TwoPatchModel,
        level: NoiseLevel,
        n_zeta: usize,
        n_gh: usize,
        n_post: usize,
    ) -> Result<Self> {
        if n_zeta == 0 || n_gh == 0 || n_post == 0 {
            return Err(invalid("quad-nodes", "need >= 1 node of each rule"));
        }
        let post = Posterior::new(model, level, n_post);
        let outer = model.zeta.quadrature(n_zeta);
        let gh = gauss_hermite_normal(n_gh);
        let (al, be) = (level.alpha_t, level.beta_t);
        let mut acc = Self {
            prior_var: post.prior().1,
            ev_joint: 0.0,
            ev_patch1: 0.0,
            ev_patch2: 0.0,
            patch_gap: 0.0,
            mean_d: 0.0,
            mean_d2: 0.0,
            mean_d_noise: 0.0,
            nodes: (n_zeta, n_gh, n_post),
        };
        for &(z, wz) in &outer {
            let p1: Vec<(f64, f64)> = gh
                .iter()
                .map(|&(e, _)| post.patch1(al * z + be * e))
                .collect();
            let p2: Vec<(f64, f64)> = gh
                .iter()
                .map(|&(e, _)| post.patch2(al * (1.0 - z) + be * e))
                .collect();
            for (i, &(e1, w1)) in gh.iter().enumerate() {
                let s1 = al * z + be * e1;
                let (m1, v1) = p1[i];
                acc.ev_patch1 += wz * w1 * v1;
                acc.ev_patch2 += wz * w1 * p2[i].1;
                for (j, &(e2, w2)) in gh.iter().enumerate() {
                    let s2 = al * (1.0 - z) + be * e2;
                    let w = wz * w1 * w2;
                    let (m, v) = post.joint(s1, s2);
                    let m2 = p2[j].0;
                    let dd = m1 - m2;
                    acc.ev_joint += w * v;
                    acc.patch_gap += w * ((m1 - m).powi(2) + (m2 - m).powi(2));
                    acc.mean_d += w * dd;
                    acc.mean_d2 += w * dd * dd;
                    acc.mean_d_noise += w * dd * (e1 + e2);
                }
            }
        }
        Ok(acc)
    }
}

/// The three references of one (convention, level) by quadrature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesLimits {
    /// convention
    pub convention: Convention,
    /// the quadrature expectations they are built from
    pub expectations: PosteriorExpectations,
    /// Bayes loss L* = 2 K A
    pub bayes_loss: f64,
    /// Bayes rule error: 0 (score), 2 kappa^2 (paper)
    pub bayes_rule_error: f64,
    /// trivial predictor's loss 2 K Var zeta (>= L*)
    pub trivial_loss: f64,
    /// its rule error: 0 (score), 2 kappa^2 (paper)
    pub trivial_rule_error: f64,
    /// per-patch optimum's DSM excess over L*, K (B1 + B2 - 2 A)
    pub per_patch_excess: f64,
    /// per-patch optimum's rule error
    pub per_patch_rule_error: f64,
    /// its bias |E psi - alpha/beta^2| (0 up to quadrature error)
    pub per_patch_bias: f64,
}

impl BayesLimits {
    /// From the expectations (formulas in the module docs).
    pub fn new(level: NoiseLevel, conv: Convention, e: PosteriorExpectations) -> Self {
        let (al, be) = (level.alpha_t, level.beta_t);
        let kappa = conv.kappa(level);
        let (k, bias) = match conv {
            Convention::Score => ((al / (be * be)).powi(2), al / (be * be) * e.mean_d),
            Convention::Paper => ((al / be).powi(2), -al / be * e.mean_d),
        };
        let per_patch_rule_error = match conv {
            Convention::Score => k * e.mean_d2,
            Convention::Paper => {
                k * e.mean_d2 - 2.0 * al * kappa / be * e.mean_d_noise + 2.0 * kappa * kappa
            }
        };
        Self {
            convention: conv,
            expectations: e,
            bayes_loss: 2.0 * k * e.ev_joint,
            bayes_rule_error: 2.0 * kappa * kappa,
            trivial_loss: 2.0 * k * e.prior_var,
            trivial_rule_error: 2.0 * kappa * kappa,
            per_patch_excess: k * (e.ev_patch1 + e.ev_patch2 - 2.0 * e.ev_joint),
            per_patch_rule_error,
            per_patch_bias: bias.abs(),
        }
    }

    /// The trivial predictor's DSM excess over L*: 2 K (Var zeta - A) >= 0.
    pub fn trivial_excess(&self) -> f64 {
        self.trivial_loss - self.bayes_loss
    }

    /// Quadrature for `model` at `level` under `conv`.
    pub fn compute(
        model: &TwoPatchModel,
        level: NoiseLevel,
        conv: Convention,
        n_zeta: usize,
        n_gh: usize,
        n_post: usize,
    ) -> Result<Self> {
        let e = PosteriorExpectations::compute(model, level, n_zeta, n_gh, n_post)?;
        Ok(Self::new(level, conv, e))
    }
}

/// The posterior-mean predictor g = E[T^(p) | information] with no parameters:
/// g^(1) = (alpha/beta^2) m1 u + kappa (x^(1) - alpha m1 u)/beta and
/// g^(2) = (alpha/beta^2) m2 v + kappa (x^(2) - alpha m2 v)/beta, with (m1, m2) =
/// (zhat, 1 - zhat) [`Information::Joint`] (g*), (zhat1, 1 - zhat2) [`Information::PerPatch`],
/// (E zeta, 1 - E zeta) [`Information::Prior`]. For kappa = 0 (score) this is (alpha/beta^2)[m1 u; m2 v];
/// for the paper convention it is (1/beta + 1/beta^2) x - (alpha/beta)[m1 u; m2 v].
#[derive(Debug, Clone)]
pub struct PosteriorPredictor {
    /// what the posterior conditions on
    pub information: Information,
    /// convention
    pub convention: Convention,
    level: NoiseLevel,
    u: DVector<f64>,
    v: DVector<f64>,
    post: Posterior,
}

impl PosteriorPredictor {
    /// With `n_post` Gauss nodes of D_zeta for the posteriors (as [`crate::floor::FloorSample`]).
    pub fn new(
        model: &TwoPatchModel,
        level: NoiseLevel,
        convention: Convention,
        information: Information,
        n_post: usize,
    ) -> Self {
        Self {
            information,
            convention,
            level,
            u: model.u.clone(),
            v: model.v.clone(),
            post: Posterior::new(model, level, n_post),
        }
    }

    /// (m1, m2): the posterior means of zeta and 1 - zeta the output uses at x.
    pub fn means(&self, x: &DVector<f64>) -> (f64, f64) {
        let d = self.u.len();
        let s1 = self.u.dot(&x.rows(0, d));
        let s2 = self.v.dot(&x.rows(d, d));
        match self.information {
            Information::Joint => {
                let m = self.post.joint(s1, s2).0;
                (m, 1.0 - m)
            }
            Information::PerPatch => (self.post.patch1(s1).0, 1.0 - self.post.patch2(s2).0),
            Information::Prior => {
                let m = self.post.prior().0;
                (m, 1.0 - m)
            }
        }
    }
}

impl Predictor for PosteriorPredictor {
    fn n_params(&self) -> usize {
        0
    }
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn set_params(&mut self, _p: &[f64]) {}
    fn forward(&self, x: &DVector<f64>) -> DVector<f64> {
        let (m1, m2) = self.means(x);
        let (al, be) = (self.level.alpha_t, self.level.beta_t);
        let kappa = self.convention.kappa(self.level);
        let mean = DVector::from_iterator(
            x.len(),
            self.u
                .iter()
                .map(|u| m1 * u)
                .chain(self.v.iter().map(|v| m2 * v)),
        );
        // (alpha/beta^2) x_0hat + kappa (x - alpha x_0hat)/beta
        mean * (al / (be * be) - kappa * al / be) + x * (kappa / be)
    }
    fn vjp(&self, _x: &DVector<f64>, _c: &DVector<f64>, _grad: &mut [f64]) {}
}
