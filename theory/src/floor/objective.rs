//! Fixed seeded samples of x_t with the Bayes-optimal g*(x_t), the (rule-aware) DSM objective and
//! gradient descent or L-BFGS with a stationarity certificate (see [`crate::floor`]).
use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::loss::Convention;
use crate::schedule::NoiseLevel;
use crate::score::ExactScore;
use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A learned part g(x) in R^{2d} of s(x) = -x/beta^2 + g(x), with a vector-Jacobian product.
pub trait Predictor {
    /// length of the parameter vector (and of the gradient)
    fn n_params(&self) -> usize;
    /// number of trainable parameters (entries fixed at 0 by a block mask or a switched-off bias are
    /// in the parameter vector with zero gradient but not counted)
    fn n_trainable(&self) -> usize {
        self.n_params()
    }
    /// parameters as a flat vector
    fn params(&self) -> Vec<f64>;
    /// set parameters from a flat vector (same layout as [`Predictor::params`])
    fn set_params(&mut self, p: &[f64]);
    /// g(x), x = [x^(1); x^(2)]
    fn forward(&self, x: &DVector<f64>) -> DVector<f64>;
    /// add J_theta(g)(x)^T c to `grad` (length n_params)
    fn vjp(&self, x: &DVector<f64>, c: &DVector<f64>, grad: &mut [f64]);
}

/// n draws x_t = alpha x_0 + beta eps (Def. 4.1, patches 1 and 2 stacked) with the Bayes-optimal
/// g*(x_t) of the convention and the Eq. 2 target T (for the paired check and the Bayes loss).
#[derive(Debug, Clone)]
pub struct FloorSample {
    /// noise level
    pub level: NoiseLevel,
    /// convention
    pub convention: Convention,
    /// f = [u; v] in R^{2d}
    pub f: DVector<f64>,
    /// x_t
    pub x: Vec<DVector<f64>>,
    /// g*(x_t)
    pub gstar: Vec<DVector<f64>>,
    /// Eq. 2 target T = alpha c f / beta^2 + kappa eps (E[T | x_t] = g*(x_t))
    pub target: Vec<DVector<f64>>,
    /// Var(zeta | x_t) (same posterior as g*), for the Rao-Blackwellised Bayes loss
    pub post_var: Vec<f64>,
}

impl FloorSample {
    /// Draw n samples; the posterior means use `quad_nodes` Gauss nodes of D_zeta ([`ExactScore`]).
    pub fn draw<R: Rng + ?Sized>(
        model: &TwoPatchModel,
        level: NoiseLevel,
        convention: Convention,
        n: usize,
        quad_nodes: usize,
        rng: &mut R,
    ) -> Result<Self> {
        if n < 2 {
            return Err(invalid("n", "need at least 2 samples"));
        }
        let d = model.d;
        let (al, be) = (level.alpha_t, level.beta_t);
        let b2 = be * be;
        let kappa = convention.kappa(level);
        let sc = ExactScore::new(model, level, quad_nodes);
        let f = DVector::from_iterator(2 * d, model.u.iter().chain(model.v.iter()).copied());
        let mut x = Vec::with_capacity(n);
        let mut gstar = Vec::with_capacity(n);
        let mut target = Vec::with_capacity(n);
        let mut post_var = Vec::with_capacity(n);
        for _ in 0..n {
            let s = model.sample_xt(level, rng);
            let post = sc.posterior(&s.xt_1, &s.xt_2)?;
            let m1: f64 = post.iter().map(|(z, p)| p * z).sum();
            let m2: f64 = post.iter().map(|(z, p)| p * (1.0 - z)).sum();
            post_var.push(post.iter().map(|(z, p)| p * (z - m1).powi(2)).sum());
            let xv = DVector::from_iterator(2 * d, s.xt_1.iter().chain(&s.xt_2).copied());
            let mean_part = DVector::from_iterator(
                2 * d,
                model
                    .u
                    .iter()
                    .map(|u| m1 * u)
                    .chain(model.v.iter().map(|v| m2 * v)),
            );
            let g = match convention {
                Convention::Score => mean_part * (al / b2),
                Convention::Paper => &xv * (1.0 / be + 1.0 / b2) - mean_part * (al / be),
            };
            let x0 = DVector::from_iterator(2 * d, s.x0_1.iter().chain(&s.x0_2).copied());
            let eps = DVector::from_iterator(2 * d, s.eps_1.iter().chain(&s.eps_2).copied());
            target.push(x0 * (al / b2) + eps * kappa);
            x.push(xv);
            gstar.push(g);
        }
        Ok(Self {
            level,
            convention,
            f,
            x,
            gstar,
            target,
            post_var,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether the sample is empty (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Dimension 2d of x.
    pub fn dim(&self) -> usize {
        self.f.len()
    }
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

/// Objective on a fixed sample: J = DSM excess + lambda * rule error, with
/// DSM excess = mean ||g(x_i) - g*(x_i)||^2 and rule error = mean (psi(x_i) - alpha/beta^2)^2.
/// Returns (J, dJ/dtheta, DSM excess, rule error). lambda = 0 adds exactly nothing to J or its gradient.
pub fn objective(
    pred: &dyn Predictor,
    sample: &FloorSample,
    lambda: f64,
) -> (f64, Vec<f64>, f64, f64) {
    let n = sample.len() as f64;
    let tgt = sample.level.target();
    let mut grad = vec![0.0; pred.n_params()];
    let (mut dsm, mut rule) = (0.0, 0.0);
    for (x, gs) in sample.x.iter().zip(&sample.gstar) {
        let g = pred.forward(x);
        let e = g - gs;
        let psi = e.dot(&sample.f) + gs.dot(&sample.f);
        let rho = psi - tgt;
        dsm += e.norm_squared();
        rule += rho * rho;
        let mut c = e * (2.0 / n);
        if lambda != 0.0 {
            c += &sample.f * (2.0 * lambda * rho / n);
        }
        pred.vjp(x, &c, &mut grad);
    }
    let (dsm, rule) = (dsm / n, rule / n);
    let j = if lambda != 0.0 {
        dsm + lambda * rule
    } else {
        dsm
    };
    (j, grad, dsm, rule)
}

/// The plain DSM objective on a fixed sample (no rule term): (mean ||g(x_i) - g*(x_i)||^2, gradient).
/// Eq. 2's loss minus the Bayes loss L* (see [`crate::floor`]).
pub fn dsm_objective(pred: &dyn Predictor, sample: &FloorSample) -> (f64, Vec<f64>) {
    let n = sample.len() as f64;
    let mut grad = vec![0.0; pred.n_params()];
    let mut dsm = 0.0;
    for (x, gs) in sample.x.iter().zip(&sample.gstar) {
        let e = pred.forward(x) - gs;
        dsm += e.norm_squared();
        pred.vjp(x, &(e * (2.0 / n)), &mut grad);
    }
    (dsm / n, grad)
}

/// Descent settings for [`train_floor`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FloorGd {
    /// initial step
    pub lr: f64,
    /// iteration cap
    pub max_iters: usize,
    /// stop when ||grad J|| <= grad_tol
    pub grad_tol: f64,
    /// 0: gradient descent; k >= 1: L-BFGS with the last k curvature pairs
    #[serde(default)]
    pub memory: usize,
}

impl Default for FloorGd {
    fn default() -> Self {
        Self {
            lr: 0.1,
            max_iters: 2000,
            grad_tol: 1e-6,
            memory: 0,
        }
    }
}

/// What [`train_floor`] did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GdReport {
    /// iterations done
    pub iters: usize,
    /// final objective on the training sample
    pub objective: f64,
    /// certificate ||grad J|| on the training sample at the end
    pub grad_norm: f64,
    /// grad_norm <= grad_tol reached
    pub converged: bool,
}

/// Minimise [`objective`] on the fixed sample: gradient descent with Armijo backtracking (halve on
/// failure, x1.25 on success) when `cfg.memory == 0`, else [`train_lbfgs`]; deterministic. Errors on
/// NaN/inf. The certificate is ||grad J|| at the returned weights.
pub fn train_floor(
    pred: &mut dyn Predictor,
    sample: &FloorSample,
    lambda: f64,
    cfg: &FloorGd,
) -> Result<GdReport> {
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) || cfg.max_iters == 0 {
        return Err(invalid("lr", "need lr > 0 and max_iters >= 1"));
    }
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(invalid("lambda", format!("must be >= 0, got {lambda}")));
    }
    if cfg.memory > 0 {
        return train_lbfgs(pred, sample, lambda, cfg);
    }
    let mut p = pred.params();
    let (mut j, mut g, _, _) = objective(pred, sample, lambda);
    let mut lr = cfg.lr;
    let mut iters = 0;
    let norm = |g: &[f64]| g.iter().map(|a| a * a).sum::<f64>().sqrt();
    while iters < cfg.max_iters && norm(&g) > cfg.grad_tol {
        if !j.is_finite() {
            return Err(TheoryError::Diverged {
                iter: iters,
                reason: format!("objective {j}"),
            });
        }
        let gn2 = norm(&g).powi(2);
        let mut accepted = false;
        for _ in 0..60 {
            let cand: Vec<f64> = p.iter().zip(&g).map(|(a, b)| a - lr * b).collect();
            pred.set_params(&cand);
            let (jc, gc, _, _) = objective(pred, sample, lambda);
            if jc.is_finite() && jc <= j - 1e-4 * lr * gn2 {
                p = cand;
                j = jc;
                g = gc;
                lr *= 1.25;
                accepted = true;
                break;
            }
            lr *= 0.5;
        }
        iters += 1;
        if !accepted {
            pred.set_params(&p);
            break; // no decrease possible at machine precision: stop, certificate tells
        }
    }
    pred.set_params(&p);
    let gn = norm(&g);
    Ok(GdReport {
        iters,
        objective: j,
        grad_norm: gn,
        converged: gn <= cfg.grad_tol,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// L-BFGS (Nocedal & Wright, Alg. 7.4 two-loop recursion, H_0 = (s^T y / y^T y) I) with Armijo
/// backtracking from the unit step (the first step, and any after a reset, is steepest descent from
/// `cfg.lr`); a curvature pair is kept only when s^T y > 1e-12 ||s|| ||y||; a direction that is not a
/// descent direction, or a line search that fails, clears the memory and retries steepest descent
/// once before stopping.
fn train_lbfgs(
    pred: &mut dyn Predictor,
    sample: &FloorSample,
    lambda: f64,
    cfg: &FloorGd,
) -> Result<GdReport> {
    let mut p = pred.params();
    let (mut j, mut g, _, _) = objective(pred, sample, lambda);
    let norm = |g: &[f64]| dot(g, g).sqrt();
    let mut hist: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::new();
    let mut iters = 0;
    let mut sd_lr = cfg.lr;
    while iters < cfg.max_iters && norm(&g) > cfg.grad_tol {
        if !j.is_finite() {
            return Err(TheoryError::Diverged {
                iter: iters,
                reason: format!("objective {j}"),
            });
        }
        // two-loop recursion: d = -H g
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(hist.len());
        for (sv, yv, rho) in hist.iter().rev() {
            let a = rho * dot(sv, &q);
            q.iter_mut().zip(yv).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let (step0, mut dir) = match hist.back() {
            Some((sv, yv, _)) => {
                let gamma = dot(sv, yv) / dot(yv, yv);
                q.iter_mut().for_each(|qi| *qi *= gamma);
                for ((sv, yv, rho), a) in hist.iter().zip(alphas.iter().rev()) {
                    let b = rho * dot(yv, &q);
                    q.iter_mut()
                        .zip(sv)
                        .for_each(|(qi, si)| *qi += (a - b) * si);
                }
                (1.0, q.iter().map(|v| -v).collect::<Vec<f64>>())
            }
            None => (sd_lr, g.iter().map(|v| -v).collect()),
        };
        let mut slope = dot(&g, &dir);
        if slope.is_nan() || slope >= 0.0 {
            hist.clear();
            dir = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        let mut step = if hist.is_empty() { sd_lr } else { step0 };
        let mut accepted = None;
        for _ in 0..60 {
            let cand: Vec<f64> = p.iter().zip(&dir).map(|(a, b)| a + step * b).collect();
            pred.set_params(&cand);
            let (jc, gc, _, _) = objective(pred, sample, lambda);
            if jc.is_finite() && jc <= j + 1e-4 * step * slope {
                accepted = Some((cand, jc, gc));
                break;
            }
            step *= 0.5;
        }
        iters += 1;
        match accepted {
            Some((cand, jc, gc)) => {
                if hist.is_empty() {
                    sd_lr = step * 1.25;
                }
                let sv: Vec<f64> = cand.iter().zip(&p).map(|(a, b)| a - b).collect();
                let yv: Vec<f64> = gc.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&sv, &yv);
                if sy > 1e-12 * norm(&sv) * norm(&yv) {
                    if hist.len() == cfg.memory {
                        hist.pop_front();
                    }
                    hist.push_back((sv, yv, 1.0 / sy));
                }
                p = cand;
                j = jc;
                g = gc;
            }
            None if !hist.is_empty() => hist.clear(),
            None => break, // no decrease at machine precision: stop, the certificate tells
        }
    }
    pred.set_params(&p);
    let gn = norm(&g);
    Ok(GdReport {
        iters,
        objective: j,
        grad_norm: gn,
        converged: gn <= cfg.grad_tol,
    })
}

/// Held-out evaluation: DSM excess and rule error (Def. 4.3) with standard errors, bias/variance of psi.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FloorEval {
    /// E||g - g*||^2 (DSM excess over the Bayes loss)
    pub dsm_excess: f64,
    /// its standard error
    pub dsm_excess_se: f64,
    /// E psi_t
    pub mean_psi: f64,
    /// |E psi - alpha/beta^2|
    pub bias: f64,
    /// Var psi
    pub variance: f64,
    /// E (psi - alpha/beta^2)^2
    pub rule_error: f64,
    /// its standard error
    pub rule_error_se: f64,
}

/// Evaluate a predictor on a (held-out) sample.
pub fn evaluate(pred: &dyn Predictor, sample: &FloorSample) -> FloorEval {
    let tgt = sample.level.target();
    let mut ex = Vec::with_capacity(sample.len());
    let mut psi = Vec::with_capacity(sample.len());
    for (x, gs) in sample.x.iter().zip(&sample.gstar) {
        let g = pred.forward(x);
        ex.push((&g - gs).norm_squared());
        psi.push(g.dot(&sample.f));
    }
    from_psi(&ex, &psi, tgt)
}

fn from_psi(ex: &[f64], psi: &[f64], tgt: f64) -> FloorEval {
    let (dsm_excess, dsm_excess_se) = mean_se(ex);
    let n = psi.len() as f64;
    let mean_psi = psi.iter().sum::<f64>() / n;
    let variance = psi.iter().map(|p| (p - mean_psi).powi(2)).sum::<f64>() / n;
    let sq: Vec<f64> = psi.iter().map(|p| (p - tgt).powi(2)).collect();
    let (rule_error, rule_error_se) = mean_se(&sq);
    FloorEval {
        dsm_excess,
        dsm_excess_se,
        mean_psi,
        bias: (mean_psi - tgt).abs(),
        variance,
        rule_error,
        rule_error_se,
    }
}

/// The Bayes-optimal predictor g* on a sample: its Eq. 2 loss L* (patches 1, 2) two ways, and its
/// rule error; with the quadrature references of [`crate::floor::bayes`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesReference {
    /// L* = mean ||g*(x_i) - T_i||^2 (plain Monte Carlo)
    pub dsm_loss: f64,
    /// its standard error
    pub dsm_loss_se: f64,
    /// L* = mean 2 K Var(zeta | x_i) (Rao-Blackwellised: K = (alpha/beta^2)^2 score,
    /// (alpha/beta)^2 paper; see [`crate::floor::bayes`])
    pub dsm_loss_rb: f64,
    /// its standard error
    pub dsm_loss_rb_se: f64,
    /// rule error etc. of psi* (dsm_excess = 0 by definition)
    pub eval: FloorEval,
}

/// K of L* = 2 K E Var(zeta | x_t): (alpha/beta^2)^2 (score), (alpha/beta)^2 (paper).
pub fn bayes_loss_factor(level: crate::schedule::NoiseLevel, conv: Convention) -> f64 {
    let (al, be) = (level.alpha_t, level.beta_t);
    match conv {
        Convention::Score => (al / (be * be)).powi(2),
        Convention::Paper => (al / be).powi(2),
    }
}

impl BayesReference {
    /// From a sample.
    pub fn from_sample(sample: &FloorSample) -> Self {
        let l: Vec<f64> = sample
            .gstar
            .iter()
            .zip(&sample.target)
            .map(|(g, t)| (g - t).norm_squared())
            .collect();
        let (dsm_loss, dsm_loss_se) = mean_se(&l);
        let k2 = 2.0 * bayes_loss_factor(sample.level, sample.convention);
        let rb: Vec<f64> = sample.post_var.iter().map(|v| k2 * v).collect();
        let (dsm_loss_rb, dsm_loss_rb_se) = mean_se(&rb);
        let psi: Vec<f64> = sample.gstar.iter().map(|g| g.dot(&sample.f)).collect();
        Self {
            dsm_loss,
            dsm_loss_se,
            dsm_loss_rb,
            dsm_loss_rb_se,
            eval: from_psi(&vec![0.0; psi.len()], &psi, sample.level.target()),
        }
    }
}
