//! The DSM loss of Eq. 2 for the first two patches, in two conventions, with exact and Monte Carlo
//! evaluation of its value and weight gradient.
//!
//! Write g^(p)(x) = sum_r sigma(<w_r, x>) w_r, so s_w^(p)(x) = -x/beta^2 + g^(p)(x), and
//! x_t^(p) = alpha c_p f_p + beta eps with (c_1, f_1) = (zeta, u), (c_2, f_2) = (1 - zeta, v).
//! Both conventions are `E || g(x_t) - T ||^2` with target T = alpha c f / beta^2 + kappa eps:
//! - [`Convention::Paper`], Eq. 2 exactly as printed, ||s_w - eps||^2: T = x/beta^2 + eps, kappa = 1 + 1/beta;
//! - [`Convention::Score`], standard DSM ||s_w + eps/beta||^2: T = x/beta^2 - eps/beta, kappa = 0.
//!
//! Gradient (pathwise): d/dw_r ||g - T||^2 = 2 [sigma'(a_r) <w_r, e> x + sigma(a_r) e], e = g - T.
//!
//! **Which activation uses which evaluation.**
//! - linear / quadratic / cubic: exact population loss and gradient. Given zeta the pre-activations
//!   a = W x are Gaussian, N(alpha c W f, beta^2 W W^T); every term is a polynomial in a (bivariate
//!   Gaussian moments up to degree 3+3, [`crate::gauss`]) after Stein's lemma
//!   E[h(eps) eps] = E[grad h(eps)] removes the explicit eps factors; the result is a polynomial of
//!   degree <= 6 in zeta, integrated exactly by the 4-node Gauss rule of D_zeta (exact atoms for a
//!   discrete law).
//! - ReLU: the same formulas (Stein's lemma holds with sigma'' = delta, sigma''' = delta' as
//!   distributions) with the Gaussian expectations E[relu(a_r) relu(a_s)], E[1{a_r>0} relu(a_s)],
//!   P(a_r>0, a_s>0), E[delta(a_r) relu(a_s)] in closed form through Phi, phi and the bivariate normal
//!   CDF ([`crate::gauss::bvn_cdf`], 24-node Gauss-Legendre in the angle: not elementary, accurate to
//!   ~1e-12 in tests); zeta by the [`RELU_ZETA_NODES`]-node Gauss rule of D_zeta (analytic integrand,
//!   not exact). Checked against finite differences and Monte Carlo in the tests. The brief's original
//!   plan (a fixed Monte Carlo sample, [`crate::train::Estimator::CommonRandomNumbers`]) is still
//!   available but its optimum is not a population stationary point at practical sample sizes.
//! - any activation: the App. F Monte Carlo estimator [`mc_loss_and_gradient`] (n data x n_eps noises).

use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::gauss::{central_table, raw_entry, raw_uni, relu_pair, relu_uni};
use crate::network::{Activation, ScoreNet};
use crate::schedule::NoiseLevel;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The two readings of the DSM loss (Eq. 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// Eq. 2 exactly as printed: ||s_w(x_t) - eps_t||^2 with s_w of Eq. 1.
    Paper,
    /// Standard denoising score matching: ||s_w(x_t) + eps_t / beta_t||^2.
    Score,
}

impl Convention {
    /// Parse `paper|score`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "paper" => Ok(Convention::Paper),
            "score" => Ok(Convention::Score),
            o => Err(invalid(
                "convention",
                format!("unknown convention `{o}` (paper|score)"),
            )),
        }
    }
    /// Lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Convention::Paper => "paper",
            Convention::Score => "score",
        }
    }
    /// kappa: the coefficient of eps in the target T = alpha c f / beta^2 + kappa eps.
    pub fn kappa(&self, level: NoiseLevel) -> f64 {
        match self {
            Convention::Paper => 1.0 + 1.0 / level.beta_t,
            Convention::Score => 0.0,
        }
    }
}

impl std::fmt::Display for Convention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Gradient of the loss with respect to both patches' weights (each m x d).
#[derive(Debug, Clone)]
pub struct NetGradient {
    /// dL/dW^(1)
    pub g1: DMatrix<f64>,
    /// dL/dW^(2)
    pub g2: DMatrix<f64>,
}

impl NetGradient {
    /// Frobenius norm of the full gradient (the stationarity certificate).
    pub fn norm(&self) -> f64 {
        (self.g1.norm_squared() + self.g2.norm_squared()).sqrt()
    }
}

/// Per-patch problem constants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PatchCtx {
    pub act: Activation,
    pub alpha: f64,
    pub beta: f64,
    pub kappa: f64,
    /// dimensions of the patch outside the coordinates in use (adds kappa^2 * extra_dim to the loss)
    pub extra_dim: f64,
    /// include the w-independent constant E||T||^2 (false inside gradient descent, for precision)
    pub include_const: bool,
}

/// Univariate Gaussian expectations [E s(a), E s'(a), E s''(a), E s'''(a)] of sigma = s, a ~ N(m, v)
/// (monomial moments for polynomial activations; Phi/phi closed forms for ReLU, derivatives as distributions).
pub(crate) fn uni_expect(act: Activation, m: f64, v: f64) -> [f64; 4] {
    match act.degree() {
        None => relu_uni(m, v),
        Some(_) => {
            let u = raw_uni(m, v);
            let mut e = [0.0; 4];
            for (k, ek) in e.iter_mut().enumerate() {
                let (c, p) = act.monomial(k).expect("polynomial");
                *ek = c * u[p];
            }
            e
        }
    }
}

/// Pair expectations [E s(a)s(b), E s'(a)s(b), E s'(a)s'(b), E s''(a)s(b)] of sigma = s for a jointly
/// Gaussian pair (bivariate moments for polynomial activations; bivariate normal CDF closed forms for ReLU).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pair_expect(
    act: Activation,
    ma: f64,
    mb: f64,
    va: f64,
    vb: f64,
    c: f64,
    same: bool,
    want_grad: bool,
) -> [f64; 4] {
    match act.degree() {
        None => relu_pair(ma, mb, va, vb, c, same),
        Some(_) => {
            let mono: [(f64, usize); 3] = [
                act.monomial(0).unwrap(),
                act.monomial(1).unwrap(),
                act.monomial(2).unwrap(),
            ];
            let pa = [1.0, ma, ma * ma, ma * ma * ma];
            let pb = [1.0, mb, mb * mb, mb * mb * mb];
            let k = central_table(va, vb, c);
            let e_ss = mono[0].0 * mono[0].0 * raw_entry(mono[0].1, mono[0].1, &pa, &pb, &k);
            if !want_grad {
                return [e_ss, 0.0, 0.0, 0.0];
            }
            let e_ds = mono[1].0 * mono[0].0 * raw_entry(mono[1].1, mono[0].1, &pa, &pb, &k);
            let e_dd = mono[1].0 * mono[1].0 * raw_entry(mono[1].1, mono[1].1, &pa, &pb, &k);
            let e_2s = if mono[2].0 != 0.0 {
                mono[2].0 * mono[0].0 * raw_entry(mono[2].1, mono[0].1, &pa, &pb, &k)
            } else {
                0.0
            };
            [e_ss, e_ds, e_dd, e_2s]
        }
    }
}

/// E_{zeta, eps} ||g(x) - T||^2 and its gradient for one patch with weights `w` (m x D), feature `f`,
/// and a rule (c, prob) over the coefficient c (see [`patch_rule`]).
pub(crate) fn exact_patch(
    ctx: &PatchCtx,
    w: &DMatrix<f64>,
    f: &DVector<f64>,
    rule: &[(f64, f64)],
    want_grad: bool,
) -> (f64, Option<DMatrix<f64>>) {
    let (m, dd) = w.shape();
    let (al, be, ka) = (ctx.alpha, ctx.beta, ctx.kappa);
    let b2 = be * be;
    let b = w * f;
    let g = w * w.transpose();
    let mut loss = 0.0;
    let mut grad = DMatrix::<f64>::zeros(m, dd);
    let mut p_mat = DMatrix::<f64>::zeros(m, m);
    let mut q = DVector::<f64>::zeros(m);
    let mut z = DVector::<f64>::zeros(m);
    for &(c, prob) in rule {
        let mu: Vec<f64> = b.iter().map(|br| al * c * br).collect();
        // univariate E[sigma^(k)(a_r)], k = 0..3
        let es: Vec<[f64; 4]> = (0..m)
            .map(|r| uni_expect(ctx.act, mu[r], b2 * g[(r, r)]))
            .collect();
        let mut lc = 0.0;
        for r in 0..m {
            let mut h1 = 0.0;
            let mut h2 = 0.0;
            for s in 0..m {
                let [e_ss, e_ds, e_dd, e_2s] = pair_expect(
                    ctx.act,
                    mu[r],
                    mu[s],
                    b2 * g[(r, r)],
                    b2 * g[(s, s)],
                    b2 * g[(r, s)],
                    r == s,
                    want_grad,
                );
                lc += g[(r, s)] * e_ss;
                if want_grad {
                    h1 += g[(r, s)] * e_ds;
                    h2 += g[(r, s)] * e_2s;
                    p_mat[(r, s)] = e_ss + b2 * g[(r, s)] * e_dd;
                }
            }
            lc -= 2.0 * (al * c * b[r] / b2 * es[r][0] + ka * be * g[(r, r)] * es[r][1]);
            if want_grad {
                h1 -= al * c * b[r] / b2 * es[r][1] + ka * be * g[(r, r)] * es[r][2];
                h2 -= al * c * b[r] / b2 * es[r][2] + ka * be * g[(r, r)] * es[r][3];
                q[r] = -2.0 * ka * be * es[r][1] + b2 * h2;
                z[r] = -(al * c / b2) * es[r][0] + al * c * h1;
            }
        }
        if ctx.include_const {
            lc += al * al * c * c / (b2 * b2) + ka * ka * (dd as f64 + ctx.extra_dim);
        }
        loss += prob * lc;
        if want_grad {
            let mut gc = &p_mat * w;
            for r in 0..m {
                let (qr, zr) = (q[r], z[r]);
                for j in 0..dd {
                    gc[(r, j)] += qr * w[(r, j)] + zr * f[j];
                }
            }
            grad += gc * (2.0 * prob);
        }
    }
    (loss, if want_grad { Some(grad) } else { None })
}

/// Sample average of ||g(x) - T||^2 (+ kappa^2 extra_dim) and its pathwise gradient over the
/// samples (c_i, eps_i): `cs` (length n) and `eps` (D x n, one sample per column).
pub(crate) fn sampled_patch(
    ctx: &PatchCtx,
    w: &DMatrix<f64>,
    f: &DVector<f64>,
    cs: &[f64],
    eps: &DMatrix<f64>,
    want_grad: bool,
) -> (f64, Option<DMatrix<f64>>) {
    let n = cs.len();
    let (al, be, ka) = (ctx.alpha, ctx.beta, ctx.kappa);
    let b2 = be * be;
    let crow = DMatrix::from_row_slice(1, n, cs);
    let fc = f * &crow; // D x n
    let x = &fc * al + eps * be;
    let a = w * &x; // m x n
    let sa = a.map(|v| ctx.act.eval(v));
    let gx = w.tr_mul(&sa); // D x n
    let t = &fc * (al / b2) + eps * ka;
    let loss = if ctx.include_const {
        (&gx - &t).norm_squared() / n as f64 + ka * ka * ctx.extra_dim
    } else {
        // ||g||^2 - 2 <g, T>: the w-independent ||T||^2 is dropped
        (gx.norm_squared() - 2.0 * gx.dot(&t)) / n as f64
    };
    let e = gx - t;
    if !want_grad {
        return (loss, None);
    }
    let we = w * &e; // m x n
    let mut coef = a.map(|v| ctx.act.derivative(v));
    coef.component_mul_assign(&we);
    let grad = (coef * x.transpose() + sa * e.transpose()) * (2.0 / n as f64);
    (loss, Some(grad))
}

fn check(net: &ScoreNet, model: &TwoPatchModel) -> Result<()> {
    if net.d != model.d {
        return Err(TheoryError::Dimension(format!(
            "network d = {} but model d = {}",
            net.d, model.d
        )));
    }
    Ok(())
}

/// Gauss nodes of D_zeta used for ReLU's semi-closed form (its zeta-integrand is analytic, not polynomial).
pub const RELU_ZETA_NODES: usize = 12;

/// Rule (c, prob) of patch p's coefficient c_1 = zeta, c_2 = 1 - zeta: 4 Gauss nodes of D_zeta for
/// polynomial activations (exact: integrands have degree <= 6), [`RELU_ZETA_NODES`] for ReLU; a discrete
/// law always uses its exact atoms.
pub(crate) fn patch_rule(model: &TwoPatchModel, patch: usize, act: Activation) -> Vec<(f64, f64)> {
    let n = if act.degree().is_some() {
        4
    } else {
        RELU_ZETA_NODES
    };
    model
        .zeta
        .quadrature(n)
        .into_iter()
        .map(|(z, w)| (if patch == 1 { z } else { 1.0 - z }, w))
        .collect()
}

pub(crate) fn ctx(
    act: Activation,
    level: NoiseLevel,
    conv: Convention,
    extra_dim: f64,
) -> PatchCtx {
    PatchCtx {
        act,
        alpha: level.alpha_t,
        beta: level.beta_t,
        kappa: conv.kappa(level),
        extra_dim,
        include_const: true,
    }
}

/// Population loss (Eq. 2, patches 1 and 2) and its gradient in closed form (exact for polynomial
/// activations; ReLU via the bivariate normal CDF and a Gauss rule in zeta, see the module docs).
pub fn population_loss_and_gradient(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    conv: Convention,
) -> Result<(f64, NetGradient)> {
    check(net, model)?;
    let c = ctx(net.activation, level, conv, 0.0);
    let (l1, g1) = exact_patch(
        &c,
        &net.w1,
        &model.u,
        &patch_rule(model, 1, net.activation),
        true,
    );
    let (l2, g2) = exact_patch(
        &c,
        &net.w2,
        &model.v,
        &patch_rule(model, 2, net.activation),
        true,
    );
    Ok((
        l1 + l2,
        NetGradient {
            g1: g1.unwrap(),
            g2: g2.unwrap(),
        },
    ))
}

/// Population loss (Eq. 2, patches 1 and 2) in closed form (see [`population_loss_and_gradient`]).
pub fn population_loss(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    conv: Convention,
) -> Result<f64> {
    check(net, model)?;
    let c = ctx(net.activation, level, conv, 0.0);
    Ok(exact_patch(
        &c,
        &net.w1,
        &model.u,
        &patch_rule(model, 1, net.activation),
        false,
    )
    .0 + exact_patch(
        &c,
        &net.w2,
        &model.v,
        &patch_rule(model, 2, net.activation),
        false,
    )
    .0)
}

/// Population gradient in closed form (see [`population_loss_and_gradient`]).
pub fn population_gradient(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    conv: Convention,
) -> Result<NetGradient> {
    Ok(population_loss_and_gradient(net, model, level, conv)?.1)
}

/// Monte Carlo estimate as in App. F: n data x_0,i, each with n_eps noises per patch,
/// L = 1/(n n_eps) sum_i sum_j sum_{p=1,2} ||s_w(x^(p)_{t,i,j}) - target||^2, value and gradient,
/// any activation. Deterministic for a given `rng` state (per-datum seeds are drawn from it first,
/// so the result does not depend on the number of threads). Returns (loss, gradient, standard error of the loss).
pub fn mc_loss_and_gradient<R: Rng + ?Sized>(
    net: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    conv: Convention,
    n: usize,
    n_eps: usize,
    rng: &mut R,
) -> Result<(f64, NetGradient, f64)> {
    check(net, model)?;
    if n == 0 || n_eps == 0 {
        return Err(invalid("n", "need n >= 1 and n_eps >= 1"));
    }
    let c = ctx(net.activation, level, conv, 0.0);
    let data: Vec<(f64, u64)> = (0..n)
        .map(|_| (model.zeta.sample(rng), rng.random::<u64>()))
        .collect();
    let d = model.d;
    let parts: Vec<(f64, f64, DMatrix<f64>, DMatrix<f64>)> = data
        .par_iter()
        .map(|&(zeta, seed)| {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let mut out = (0.0, DMatrix::zeros(net.m, d), DMatrix::zeros(net.m, d));
            for p in 1..=2usize {
                let eps = DMatrix::from_fn(d, n_eps, |_, _| r.sample::<f64, _>(StandardNormal));
                let cp = if p == 1 { zeta } else { 1.0 - zeta };
                let cs = vec![cp; n_eps];
                let (l, g) = sampled_patch(&c, net.weights(p), model.feature(p), &cs, &eps, true);
                out.0 += l;
                if p == 1 {
                    out.1 = g.unwrap();
                } else {
                    out.2 = g.unwrap();
                }
            }
            (out.0, out.0 * out.0, out.1, out.2)
        })
        .collect();
    let mut loss = 0.0;
    let mut sq = 0.0;
    let mut g1 = DMatrix::zeros(net.m, d);
    let mut g2 = DMatrix::zeros(net.m, d);
    for (l, l2, a, b) in parts {
        loss += l;
        sq += l2;
        g1 += a;
        g2 += b;
    }
    let nf = n as f64;
    loss /= nf;
    // standard error across data points (each datum's n_eps-average is one i.i.d. draw)
    let se = if n > 1 {
        ((sq / nf - loss * loss).max(0.0) / (nf - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    Ok((
        loss,
        NetGradient {
            g1: g1 / nf,
            g2: g2 / nf,
        },
        se,
    ))
}
