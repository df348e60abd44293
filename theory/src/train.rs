//! Gradient descent on the DSM loss (Eq. 2) from small Gaussian initialisation (Thm 4.5's setting),
//! with a stationarity certificate ||grad L|| and an error on NaN/divergence.
//!
//! **Exact reduction.** The loss depends on patch p's weights only through a = W x and g = W^T sigma(a),
//! and every gradient lies in span(f_p, rows of W): GD started at W^0 never leaves
//! S_p = span(f_p, w_1^0, ..., w_m^0) (dimension k <= m + 1). Writing W = W~ Q^T with Q an orthonormal
//! basis of S_p, the loss equals the same loss in R^k with feature Q^T f_p, plus the constant
//! kappa^2 (d - k) from the noise outside S_p; the exact gradients coincide. For sampled estimators
//! the reduced gradient is the full one averaged over the noise outside S_p (a Rao-Blackwellisation).
//! So [`Estimator::Exact`] and [`Estimator::CommonRandomNumbers`] train in R^k; the result is mapped
//! back to R^d and the certificate ||grad L|| is recomputed in R^d with
//! [`crate::loss::population_loss_and_gradient`] (independently of the reduction; for the CRN
//! estimator it is thus the population gradient at the CRN optimum).

use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::loss::{
    ctx, exact_patch, mc_loss_and_gradient, patch_rule, population_loss_and_gradient,
    sampled_patch, Convention, PatchCtx,
};
use crate::network::{Activation, ScoreNet};
use crate::schedule::NoiseLevel;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How the loss and gradient are evaluated during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Population loss/gradient in closed form: exact for polynomial activations; for ReLU the
    /// bivariate-normal-CDF closed forms with 12 Gauss nodes in zeta (see [`crate::loss`]).
    Exact,
    /// A fixed sample drawn once (common random numbers): zeta at the `n_zeta`-node Gauss rule of
    /// D_zeta, `n_eps` antithetic noises per node in the reduced space. Deterministic objective; kept
    /// for comparison: for ReLU at d = 100, m = 20 its optimum is far from a population stationary
    /// point (population ||grad L|| ~ 3 at 8 x 256 samples, ~ 1.5 at 8 x 1024).
    CommonRandomNumbers {
        /// Gauss nodes of D_zeta
        n_zeta: usize,
        /// noises per node (rounded up to even: antithetic pairs)
        n_eps: usize,
    },
    /// App. F's recipe: fresh n data x n_eps noises every iteration, full space, fixed step.
    MonteCarlo {
        /// data per epoch
        n: usize,
        /// noises per datum
        n_eps: usize,
    },
    /// [`Estimator::Exact`] (all four activations).
    Auto,
}

/// Step-size rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepRule {
    /// w <- w - lr grad, lr fixed.
    Fixed,
    /// Gradient descent with Armijo backtracking (halve on failure, x1.25 on success), for the
    /// deterministic estimators; falls back to Fixed for MonteCarlo.
    Armijo,
    /// Gradient descent with Barzilai-Borwein step sizes lr_k = <s,s>/<s,y> (s = step, y = change of
    /// gradient), safeguarded by a non-monotone Armijo test against the largest of the last 10 losses
    /// (Grippo-Lampariello-Lucidi); deterministic estimators only (Fixed for MonteCarlo).
    BarzilaiBorwein,
}

/// Gradient-descent settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GdConfig {
    /// (initial) learning rate
    pub lr: f64,
    /// iteration cap
    pub max_iters: usize,
    /// stop when ||grad L|| <= grad_tol
    pub grad_tol: f64,
    /// init scale sigma0; None = 0.5 / sqrt(d) (O(d^{-1/2}) as in Thm 4.5)
    pub sigma0: Option<f64>,
    /// seed of the initialisation (and of sampled estimators)
    pub seed: u64,
    /// loss evaluation
    pub estimator: Estimator,
    /// step-size rule
    pub step: StepRule,
}

impl Default for GdConfig {
    fn default() -> Self {
        Self {
            lr: 0.05,
            max_iters: 20_000,
            grad_tol: 1e-8,
            sigma0: None,
            seed: 0,
            estimator: Estimator::Auto,
            step: StepRule::BarzilaiBorwein,
        }
    }
}

impl GdConfig {
    /// Validate the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(invalid("lr", format!("must be > 0, got {}", self.lr)));
        }
        if self.max_iters == 0 {
            return Err(invalid("iters", "must be >= 1"));
        }
        if self.grad_tol.is_nan() || self.grad_tol < 0.0 {
            return Err(invalid("grad-tol", "must be >= 0"));
        }
        if let Some(s) = self.sigma0 {
            if !(s.is_finite() && s > 0.0) {
                return Err(invalid("sigma0", format!("must be > 0, got {s}")));
            }
        }
        match self.estimator {
            Estimator::CommonRandomNumbers { n_zeta, n_eps } if n_zeta == 0 || n_eps == 0 => {
                Err(invalid("n-eps", "sample sizes must be >= 1"))
            }
            Estimator::MonteCarlo { n, n_eps } if n == 0 || n_eps == 0 => {
                Err(invalid("n-eps", "sample sizes must be >= 1"))
            }
            _ => Ok(()),
        }
    }
}

/// Result of [`train`].
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// trained network
    pub net: ScoreNet,
    /// initial network W^0
    pub init: ScoreNet,
    /// iterations done
    pub iters: usize,
    /// final loss (Eq. 2 over patches 1, 2, including the w-independent constant)
    pub final_loss: f64,
    /// stationarity certificate ||grad L|| at the end (exact for polynomial activations, else of the estimator)
    pub grad_norm: f64,
    /// whether grad_norm <= grad_tol was reached
    pub converged: bool,
    /// estimator actually used ("exact", "crn", "monte_carlo")
    pub estimator: String,
    /// final step size
    pub lr_final: f64,
}

/// Orthonormal basis (columns) of span(f, rows of w0), modified Gram-Schmidt twice.
pub(crate) fn span_basis(f: &DVector<f64>, w0: &DMatrix<f64>) -> DMatrix<f64> {
    let mut cols: Vec<DVector<f64>> = Vec::new();
    let mut cands = vec![f.clone()];
    for r in 0..w0.nrows() {
        cands.push(w0.row(r).transpose());
    }
    for c in cands {
        let scale = c.norm();
        let mut v = c;
        for _ in 0..2 {
            for q in &cols {
                let p = q.dot(&v);
                v -= q * p;
            }
        }
        let n = v.norm();
        if n > 1e-10 * scale.max(1e-300) && n > 0.0 {
            cols.push(v / n);
        }
    }
    DMatrix::from_columns(&cols)
}

struct Reduced {
    q: DMatrix<f64>,
    f: DVector<f64>,
    rule: Vec<(f64, f64)>,
    crn: Option<Vec<(f64, f64, DMatrix<f64>)>>,
    pctx: PatchCtx,
}

impl Reduced {
    fn eval(&self, w: &DMatrix<f64>) -> (f64, DMatrix<f64>) {
        match &self.crn {
            None => {
                let (l, g) = exact_patch(&self.pctx, w, &self.f, &self.rule, true);
                (l, g.unwrap())
            }
            Some(blocks) => {
                let parts: Vec<(f64, DMatrix<f64>)> = blocks
                    .par_iter()
                    .map(|(c, prob, eps)| {
                        let cs = vec![*c; eps.ncols()];
                        let (l, g) = sampled_patch(&self.pctx, w, &self.f, &cs, eps, true);
                        (prob * l, g.unwrap() * *prob)
                    })
                    .collect();
                let mut l = 0.0;
                let mut g = DMatrix::zeros(w.nrows(), w.ncols());
                for (a, b) in parts {
                    l += a;
                    g += b;
                }
                (l, g)
            }
        }
    }
}

fn finite(m: &DMatrix<f64>) -> bool {
    m.iter().all(|x| x.is_finite())
}

/// Train Eq. 1's network on Eq. 2 (patches 1, 2) by gradient descent from W^0 ~ N(0, sigma0^2 I).
pub fn train(
    model: &TwoPatchModel,
    level: NoiseLevel,
    activation: Activation,
    m: usize,
    conv: Convention,
    cfg: &GdConfig,
) -> Result<TrainOutcome> {
    cfg.validate()?;
    if m == 0 {
        return Err(invalid("width", "m must be >= 1"));
    }
    let d = model.d;
    let sigma0 = cfg.sigma0.unwrap_or(0.5 / (d as f64).sqrt());
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let init = ScoreNet::init_gaussian(activation, d, m, sigma0, &mut rng)?;
    let est = match cfg.estimator {
        Estimator::Auto => Estimator::Exact,
        e => e,
    };
    if let Estimator::MonteCarlo { n, n_eps } = est {
        return train_mc(model, level, conv, cfg, init, n, n_eps, &mut rng);
    }
    // reduced problems
    let mut red = Vec::new();
    let mut w = Vec::new();
    for p in 1..=2usize {
        let q = span_basis(model.feature(p), init.weights(p));
        let k = q.ncols();
        let mut pctx = ctx(activation, level, conv, (d - k) as f64);
        pctx.include_const = false;
        let crn = if let Estimator::CommonRandomNumbers { n_zeta, n_eps } = est {
            let half = n_eps.div_ceil(2);
            let blocks = model
                .zeta
                .quadrature(n_zeta)
                .into_iter()
                .map(|(z, prob)| {
                    let e = DMatrix::from_fn(k, half, |_, _| rng.sample::<f64, _>(StandardNormal));
                    let eps = DMatrix::from_fn(k, 2 * half, |i, j| {
                        if j < half {
                            e[(i, j)]
                        } else {
                            -e[(i, j - half)]
                        }
                    });
                    (if p == 1 { z } else { 1.0 - z }, prob, eps)
                })
                .collect();
            Some(blocks)
        } else {
            None
        };
        w.push(init.weights(p) * &q);
        red.push(Reduced {
            f: q.tr_mul(model.feature(p)),
            q,
            rule: patch_rule(model, p, activation),
            crn,
            pctx,
        });
    }
    let eval = |w: &[DMatrix<f64>]| -> (f64, Vec<DMatrix<f64>>) {
        let (l1, g1) = red[0].eval(&w[0]);
        let (l2, g2) = red[1].eval(&w[1]);
        (l1 + l2, vec![g1, g2])
    };
    let mut lr = cfg.lr;
    let (mut l, mut g) = eval(&w);
    let mut iters = 0;
    let mut recent: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let mut bb_lr: Option<f64> = None;
    let gnorm = |g: &[DMatrix<f64>]| (g[0].norm_squared() + g[1].norm_squared()).sqrt();
    while iters < cfg.max_iters {
        let gn = gnorm(&g);
        if !(l.is_finite() && gn.is_finite()) {
            return Err(TheoryError::Diverged {
                iter: iters,
                reason: format!("loss {l:.6e}, ||grad|| {gn:.6e}"),
            });
        }
        if gn <= cfg.grad_tol {
            break;
        }
        iters += 1;
        match cfg.step {
            StepRule::Fixed => {
                let nw: Vec<DMatrix<f64>> = w.iter().zip(&g).map(|(a, b)| a - b * lr).collect();
                if !nw.iter().all(finite) || nw.iter().any(|x| x.norm() > 1e8) {
                    return Err(TheoryError::Diverged {
                        iter: iters,
                        reason: format!("weights blew up (lr {lr:.3e} too large?)"),
                    });
                }
                w = nw;
                (l, g) = eval(&w);
            }
            StepRule::BarzilaiBorwein => {
                let gn2 = gn * gn;
                let lmax = recent.iter().cloned().fold(l, f64::max);
                let mut step = bb_lr.unwrap_or(lr);
                loop {
                    let nw: Vec<DMatrix<f64>> =
                        w.iter().zip(&g).map(|(a, b)| a - b * step).collect();
                    let (nl, ng) = eval(&nw);
                    let ok = nl.is_finite() && ng.iter().all(finite);
                    if ok
                        && (nl <= lmax - 1e-4 * step * gn2
                            || ((nl - l).abs() <= 256.0 * f64::EPSILON * l.abs().max(1.0)
                                && gnorm(&ng) < gn))
                    {
                        // BB1 step for the next iteration
                        let mut ss = 0.0;
                        let mut sy = 0.0;
                        for p in 0..2 {
                            let sp = &nw[p] - &w[p];
                            let yp = &ng[p] - &g[p];
                            ss += sp.norm_squared();
                            sy += sp.dot(&yp);
                        }
                        bb_lr = if sy > 0.0 {
                            Some((ss / sy).clamp(cfg.lr * 1e-6, cfg.lr * 1e4))
                        } else {
                            Some(lr)
                        };
                        recent.push_back(l);
                        if recent.len() > 10 {
                            recent.pop_front();
                        }
                        w = nw;
                        l = nl;
                        g = ng;
                        lr = step;
                        break;
                    }
                    step *= 0.5;
                    if step < cfg.lr * 1e-14 {
                        iters = cfg.max_iters;
                        break;
                    }
                }
            }
            StepRule::Armijo => {
                let gn2 = gn * gn;
                loop {
                    let nw: Vec<DMatrix<f64>> = w.iter().zip(&g).map(|(a, b)| a - b * lr).collect();
                    let (nl, ng) = eval(&nw);
                    if nl.is_finite() && nl <= l - 1e-4 * lr * gn2 && ng.iter().all(finite) {
                        w = nw;
                        l = nl;
                        g = ng;
                        lr = (lr * 1.25).min(cfg.lr * 1e3);
                        break;
                    }
                    // at the floating-point floor of the loss, Armijo cannot see the decrease:
                    // accept a step that keeps the loss within rounding and shrinks the gradient
                    if nl.is_finite()
                        && (nl - l).abs() <= 256.0 * f64::EPSILON * l.abs().max(1.0)
                        && gnorm(&ng) < gn
                    {
                        w = nw;
                        l = nl;
                        g = ng;
                        break;
                    }
                    lr *= 0.5;
                    if lr < cfg.lr * 1e-14 {
                        // no decrease detectable in floating point: stop here, certificate tells how close
                        iters = cfg.max_iters;
                        break;
                    }
                }
            }
        }
    }
    // map back to R^d
    let mut net = init.clone();
    net.w1 = &w[0] * red[0].q.transpose();
    net.w2 = &w[1] * red[1].q.transpose();
    // certificate recomputed in R^d with the population gradient (independent of the reduction);
    // for the CRN estimator this is the population gradient at the CRN optimum
    let (final_loss, fg) = population_loss_and_gradient(&net, model, level, conv)?;
    let grad_norm = fg.norm();
    let name = if est == Estimator::Exact {
        "exact"
    } else {
        "crn"
    };
    let _ = l;
    if !(final_loss.is_finite() && grad_norm.is_finite()) {
        return Err(TheoryError::Diverged {
            iter: iters,
            reason: "non-finite final loss/gradient".into(),
        });
    }
    Ok(TrainOutcome {
        net,
        init,
        iters,
        final_loss,
        grad_norm,
        converged: grad_norm <= cfg.grad_tol,
        estimator: name.into(),
        lr_final: lr,
    })
}

#[allow(clippy::too_many_arguments)]
fn train_mc(
    model: &TwoPatchModel,
    level: NoiseLevel,
    conv: Convention,
    cfg: &GdConfig,
    init: ScoreNet,
    n: usize,
    n_eps: usize,
    rng: &mut ChaCha8Rng,
) -> Result<TrainOutcome> {
    let mut net = init.clone();
    let mut last = (f64::NAN, f64::NAN);
    let mut iters = 0;
    let mut converged = false;
    while iters < cfg.max_iters {
        let (l, g, _) = mc_loss_and_gradient(&net, model, level, conv, n, n_eps, rng)?;
        let gn = g.norm();
        if !(l.is_finite() && gn.is_finite()) {
            return Err(TheoryError::Diverged {
                iter: iters,
                reason: format!("loss {l:.6e}, ||grad|| {gn:.6e}"),
            });
        }
        last = (l, gn);
        if gn <= cfg.grad_tol {
            converged = true;
            break;
        }
        iters += 1;
        net.w1 -= &g.g1 * cfg.lr;
        net.w2 -= &g.g2 * cfg.lr;
        if net.w1.norm() > 1e8 || net.w2.norm() > 1e8 {
            return Err(TheoryError::Diverged {
                iter: iters,
                reason: format!("weights blew up (lr {} too large?)", cfg.lr),
            });
        }
    }
    Ok(TrainOutcome {
        net,
        init,
        iters,
        final_loss: last.0,
        grad_norm: last.1,
        converged,
        estimator: "monte_carlo".into(),
        lr_final: cfg.lr,
    })
}
