//! The rule-conforming error of Def. 4.3: psi_t(x_t), target alpha_t / beta_t^2,
//! E = E[(psi - target)^2] = bias^2 + variance, by sampling and in closed form.

use crate::data::TwoPatchModel;
use crate::error::{invalid, Result};
use crate::loss::{pair_expect, patch_rule, uni_expect, Convention};
use crate::network::ScoreNet;
use crate::schedule::NoiseLevel;
use crate::score::ExactScore;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Rule-conforming error and its bias/variance split (Def. 4.3, Sec. 4 decomposition).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleError {
    /// E psi_t
    pub mean_psi: f64,
    /// alpha_t / beta_t^2
    pub target: f64,
    /// |E psi - target| (E_bias)
    pub bias: f64,
    /// E_bias^2
    pub bias_sq: f64,
    /// Var psi (E_variance; population variance of the samples when sampled)
    pub variance: f64,
    /// E = E[(psi - target)^2]
    pub mse: f64,
    /// number of samples (0 = closed form)
    pub n: usize,
    /// standard error of `mse` (0 for closed form)
    pub mse_std_err: f64,
}

impl RuleError {
    /// From samples of psi: mse is the sample mean of (psi - target)^2, variance the 1/n sample variance,
    /// so bias_sq + variance = mse up to rounding.
    pub fn from_samples(psi: &[f64], target: f64) -> Result<Self> {
        if psi.is_empty() {
            return Err(invalid("n-psi", "need at least one psi sample"));
        }
        let n = psi.len() as f64;
        let mean = psi.iter().sum::<f64>() / n;
        let variance = psi.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n;
        let sq: Vec<f64> = psi.iter().map(|p| (p - target).powi(2)).collect();
        let mse = sq.iter().sum::<f64>() / n;
        let se = if psi.len() > 1 {
            (sq.iter().map(|s| (s - mse).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
        } else {
            f64::NAN
        };
        let bias = (mean - target).abs();
        Ok(Self {
            mean_psi: mean,
            target,
            bias,
            bias_sq: bias * bias,
            variance,
            mse,
            n: psi.len(),
            mse_std_err: se,
        })
    }

    /// From exact first and second moments of psi.
    pub fn from_moments(mean: f64, second: f64, target: f64) -> Self {
        let variance = (second - mean * mean).max(0.0);
        let bias = (mean - target).abs();
        Self {
            mean_psi: mean,
            target,
            bias,
            bias_sq: bias * bias,
            variance,
            mse: second - 2.0 * target * mean + target * target,
            n: 0,
            mse_std_err: 0.0,
        }
    }
}

/// n samples of psi_t(x_t), x_t drawn from the model at `level`.
pub fn psi_samples<R: Rng + ?Sized>(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    n: usize,
    rng: &mut R,
) -> Result<Vec<f64>> {
    (0..n)
        .map(|_| {
            let s = model.sample_xt(level, rng);
            net.psi(model, &s.xt_1, &s.xt_2)
        })
        .collect()
}

/// Sampled rule error from n draws of x_t.
pub fn rule_error_mc<R: Rng + ?Sized>(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    n: usize,
    rng: &mut R,
) -> Result<RuleError> {
    RuleError::from_samples(&psi_samples(net, model, level, n, rng)?, level.target())
}

/// Exact rule error for polynomial activations (any m): given zeta, psi_p = sum_r sigma(a_r) <w_r, f_p>
/// with a Gaussian; E[psi | zeta] and E[psi^2 | zeta] are Gaussian moments (the two patches are
/// conditionally independent), polynomials of degree <= 6 in zeta, integrated exactly by the
/// 4-node Gauss rule of D_zeta. ReLU: the same with the bivariate-normal-CDF closed forms and
/// [`crate::loss::RELU_ZETA_NODES`] Gauss nodes in zeta (analytic integrand; not exact).
pub fn rule_error_exact(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
) -> Result<RuleError> {
    let (al, b2) = (level.alpha_t, level.beta_t.powi(2));
    let rule = patch_rule(model, 1, net.activation); // nodes are zeta; patch 2 uses 1 - zeta
    let mut per_patch = Vec::new();
    for p in 1..=2usize {
        let w = net.weights(p);
        let b = w * model.feature(p);
        let g = w * w.transpose();
        let m = net.m;
        let mut moments = Vec::new();
        for &(z, _) in &rule {
            let c = if p == 1 { z } else { 1.0 - z };
            let mu: Vec<f64> = b.iter().map(|br| al * c * br).collect();
            let mut e1 = 0.0;
            let mut e2 = 0.0;
            for r in 0..m {
                e1 += b[r] * uni_expect(net.activation, mu[r], b2 * g[(r, r)])[0];
                for s in 0..m {
                    let e = pair_expect(
                        net.activation,
                        mu[r],
                        mu[s],
                        b2 * g[(r, r)],
                        b2 * g[(s, s)],
                        b2 * g[(r, s)],
                        r == s,
                        false,
                    );
                    e2 += b[r] * b[s] * e[0];
                }
            }
            moments.push((e1, e2));
        }
        per_patch.push(moments);
    }
    let mut mean = 0.0;
    let mut second = 0.0;
    for (i, &(_, prob)) in rule.iter().enumerate() {
        let (a1, s1) = per_patch[0][i];
        let (a2, s2) = per_patch[1][i];
        mean += prob * (a1 + a2);
        second += prob * (s1 + s2 + 2.0 * a1 * a2);
    }
    Ok(RuleError::from_moments(mean, second, level.target()))
}

/// Rule error of the Bayes-optimal predictor under a convention: closed form and sampled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesRuleError {
    /// convention
    pub convention: Convention,
    /// closed form
    pub exact: RuleError,
    /// from sampled x_t with the exact posterior (Thm 4.2)
    pub sampled: RuleError,
}

/// The minimiser over all functions of Eq. 2's loss and its rule error.
/// - `score`: s*(x) = E[-eps/beta | x_t] = grad log p_t (Tweedie), psi* = (alpha/beta^2)(E[pi zeta] + E[pi (1-zeta)])
///   = alpha/beta^2 exactly by identity (*): E = 0.
/// - `paper`: s*(x) = E[eps | x_t] = (x_t - alpha E[x_0|x_t]) / beta, so
///   psi* = (1/beta^2 + 1/beta)(<x^(1),u> + <x^(2),v>) - (alpha/beta)(E[pi zeta] + E[pi (1-zeta)])
///   = alpha/beta^2 + kappa (<eps^(1),u> + <eps^(2),v>), kappa = 1 + 1/beta:
///   zero bias but variance 2 kappa^2, so E = 2 (1 + 1/beta)^2 > 0.
///
/// The sampled value evaluates psi* through the numerical posterior means (`quad_nodes` Gauss nodes).
pub fn bayes_optimal_rule_error<R: Rng + ?Sized>(
    model: &TwoPatchModel,
    level: NoiseLevel,
    conv: Convention,
    n: usize,
    quad_nodes: usize,
    rng: &mut R,
) -> Result<BayesRuleError> {
    let target = level.target();
    let (al, be) = (level.alpha_t, level.beta_t);
    let b2 = be * be;
    let exact = match conv {
        Convention::Score => RuleError::from_moments(target, target * target, target),
        Convention::Paper => {
            let k = conv.kappa(level);
            RuleError::from_moments(target, target * target + 2.0 * k * k, target)
        }
    };
    let sc = ExactScore::new(model, level, quad_nodes);
    let mut psi = Vec::with_capacity(n);
    for _ in 0..n {
        let s = model.sample_xt(level, rng);
        let (m1, m2) = sc.posterior_means(&s.xt_1, &s.xt_2)?;
        let v = match conv {
            Convention::Score => al / b2 * (m1 + m2),
            Convention::Paper => {
                let s1: f64 = s.xt_1.iter().zip(model.u.iter()).map(|(a, b)| a * b).sum();
                let s2: f64 = s.xt_2.iter().zip(model.v.iter()).map(|(a, b)| a * b).sum();
                (1.0 / b2 + 1.0 / be) * (s1 + s2) - al / be * (m1 + m2)
            }
        };
        psi.push(v);
    }
    Ok(BayesRuleError {
        convention: conv,
        exact,
        sampled: RuleError::from_samples(&psi, target)?,
    })
}
