//! Exact score of the first two patches (Thm 4.2):
//! grad log p_t = -x_t / beta_t^2 + (alpha_t / beta_t^2) [E(pi_t zeta) u ; E(pi_t (1 - zeta)) v],
//! with posterior weights pi_t computed by log-sum-exp over the nodes of D_zeta (exact atoms for a
//! discrete law; the law's own n-node Gauss rule, see [`crate::zeta::ZetaLaw::quadrature`], for continuous ones).

use crate::data::TwoPatchModel;
use crate::error::{Result, TheoryError};
use crate::quad::log_sum_exp;
use crate::schedule::NoiseLevel;
use nalgebra::DVector;

/// Exact posterior/score evaluator at one noise level.
#[derive(Debug, Clone)]
pub struct ExactScore {
    level: NoiseLevel,
    d: usize,
    u: DVector<f64>,
    v: DVector<f64>,
    nodes: Vec<f64>,
    log_w: Vec<f64>,
}

impl ExactScore {
    /// Build with `quad_nodes` Gauss nodes for a continuous D_zeta (ignored for a discrete one).
    pub fn new(model: &TwoPatchModel, level: NoiseLevel, quad_nodes: usize) -> Self {
        let rule = model.zeta.quadrature(quad_nodes.max(1));
        Self {
            level,
            d: model.d,
            u: model.u.clone(),
            v: model.v.clone(),
            nodes: rule.iter().map(|p| p.0).collect(),
            log_w: rule.iter().map(|p| p.1.ln()).collect(),
        }
    }

    fn check(&self, x1: &[f64], x2: &[f64]) -> Result<()> {
        if x1.len() != self.d || x2.len() != self.d {
            return Err(TheoryError::Dimension(format!(
                "x_t patches must have length {}",
                self.d
            )));
        }
        Ok(())
    }

    /// log of (weight_i * N(x_t; mu_t(zeta_i), beta^2 I)) up to the zeta-independent factor.
    fn log_terms(&self, s1: f64, s2: f64) -> Vec<f64> {
        let (a, b2) = (self.level.alpha_t, self.level.beta_t.powi(2));
        self.nodes
            .iter()
            .zip(&self.log_w)
            .map(|(&z, &lw)| {
                lw + (a * z * s1 + a * (1.0 - z) * s2) / b2
                    - a * a * (z * z + (1.0 - z) * (1.0 - z)) / (2.0 * b2)
            })
            .collect()
    }

    /// Posterior weights pi_t(zeta_i, x_t) times the prior weight (they sum to 1: identity (*)'s
    /// E[pi_t] = 1), as (node, posterior probability).
    pub fn posterior(&self, xt1: &[f64], xt2: &[f64]) -> Result<Vec<(f64, f64)>> {
        self.check(xt1, xt2)?;
        let s1: f64 = self.u.iter().zip(xt1).map(|(a, b)| a * b).sum();
        let s2: f64 = self.v.iter().zip(xt2).map(|(a, b)| a * b).sum();
        let l = self.log_terms(s1, s2);
        let lse = log_sum_exp(&l);
        Ok(self
            .nodes
            .iter()
            .zip(&l)
            .map(|(&z, &li)| (z, (li - lse).exp()))
            .collect())
    }

    /// (E_{D_zeta}[pi_t zeta], E_{D_zeta}[pi_t (1 - zeta)]) of Thm 4.2; their sum is 1 (identity (*)).
    pub fn posterior_means(&self, xt1: &[f64], xt2: &[f64]) -> Result<(f64, f64)> {
        let post = self.posterior(xt1, xt2)?;
        Ok((
            post.iter().map(|(z, p)| p * z).sum(),
            post.iter().map(|(z, p)| p * (1.0 - z)).sum(),
        ))
    }

    /// grad log p_t(x_t^(1), x_t^(2)) split by patch (Thm 4.2).
    pub fn score(&self, xt1: &[f64], xt2: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let (m1, m2) = self.posterior_means(xt1, xt2)?;
        let (a, b2) = (self.level.alpha_t, self.level.beta_t.powi(2));
        let s1 = xt1
            .iter()
            .zip(self.u.iter())
            .map(|(x, u)| -x / b2 + a / b2 * m1 * u)
            .collect();
        let s2 = xt2
            .iter()
            .zip(self.v.iter())
            .map(|(x, v)| -x / b2 + a / b2 * m2 * v)
            .collect();
        Ok((s1, s2))
    }

    /// log p_t(x_t^(1), x_t^(2)) = log E_{D_zeta} N(x_t; mu_t(zeta), beta_t^2 I_{2d}).
    pub fn log_density(&self, xt1: &[f64], xt2: &[f64]) -> Result<f64> {
        self.check(xt1, xt2)?;
        let b2 = self.level.beta_t.powi(2);
        let s1: f64 = self.u.iter().zip(xt1).map(|(a, b)| a * b).sum();
        let s2: f64 = self.v.iter().zip(xt2).map(|(a, b)| a * b).sum();
        let sq: f64 = xt1.iter().chain(xt2).map(|x| x * x).sum();
        Ok(
            -(self.d as f64) * (2.0 * std::f64::consts::PI * b2).ln() - sq / (2.0 * b2)
                + log_sum_exp(&self.log_terms(s1, s2)),
        )
    }
}
