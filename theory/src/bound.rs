//! Theorem 4.4's lower bound for a trained network:
//! E >= sum_p E_{zeta, eps_-^(p)} [ Var( psi_p | zeta, eps_-^(p) ) ],
//! where eps_-^(p) is the projection of eps^(p) onto span(w_1^(p),0, ..., w_m^(p),0) (the initial weights)
//! and psi_p = sum_r sigma(<w_r^(p), x^(p)>) <w_r^(p), f_p> is patch p's part of psi_t.
//!
//! GD keeps w_r^(p) in span(f_p, W^0) = span(W^0) + span(f_perp), f_perp = (I - P_0) f_p normalised.
//! Given (zeta, eps_-), the only randomness left in psi_p is Z = <f_perp, eps_perp> ~ N(0, 1)
//! (the paper's <u, eps_perp> up to the factor ||(I - P_0) u||):
//! a_r = alpha c <w_r, f> + beta <P_0 w_r, eps_-> + beta rho_r Z with rho_r = <w_r, f_perp>. The inner variance over Z is computed by Gauss-Hermite
//! quadrature (exact for polynomial activations with 8 nodes; 64 nodes, approximate, for ReLU), the outer
//! expectation over (zeta, eps_-) by Monte Carlo (nested: outer MC, inner quadrature), with its standard error.

use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::network::ScoreNet;
use crate::quad::gauss_hermite_normal;
use crate::schedule::NoiseLevel;
use crate::train::TrainOutcome;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Thm 4.4's bound, estimated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thm44Bound {
    /// the bound (sum over patches)
    pub value: f64,
    /// Monte Carlo standard error of `value`
    pub std_err: f64,
    /// patch 1's term
    pub patch1: f64,
    /// patch 2's term
    pub patch2: f64,
    /// outer samples
    pub n_outer: usize,
    /// largest norm of a trained w_r's component outside span(f, W^0) (should be ~0; the bound assumes 0)
    pub max_span_residual: f64,
}

fn row_basis(w0: &DMatrix<f64>) -> DMatrix<f64> {
    let mut cols: Vec<DVector<f64>> = Vec::new();
    for r in 0..w0.nrows() {
        let mut v = w0.row(r).transpose();
        let scale = v.norm();
        for _ in 0..2 {
            for q in &cols {
                let p = q.dot(&v);
                v -= q * p;
            }
        }
        let n = v.norm();
        if n > 1e-10 * scale && n > 0.0 {
            cols.push(v / n);
        }
    }
    DMatrix::from_columns(&cols)
}

/// Evaluate the bound for trained weights `net` started from `init` (same shapes).
pub fn thm44_lower_bound_weights<R: Rng + ?Sized>(
    net: &ScoreNet,
    init: &ScoreNet,
    model: &TwoPatchModel,
    level: NoiseLevel,
    n_outer: usize,
    rng: &mut R,
) -> Result<Thm44Bound> {
    if n_outer < 2 {
        return Err(invalid("n-outer", "need at least 2 outer samples"));
    }
    if net.d != model.d || init.d != net.d || init.m != net.m {
        return Err(TheoryError::Dimension(
            "trained net, init and model must agree".into(),
        ));
    }
    let act = net.activation;
    let gh = gauss_hermite_normal(if act.degree().is_some() { 8 } else { 64 });
    let (al, be) = (level.alpha_t, level.beta_t);
    struct P {
        b: DVector<f64>,
        pm: DMatrix<f64>,
        rho: DVector<f64>,
    }
    let mut parts = Vec::new();
    let mut max_res: f64 = 0.0;
    for p in 1..=2usize {
        let w = net.weights(p);
        let b0 = row_basis(init.weights(p));
        let f = model.feature(p);
        let fperp = f - &b0 * b0.tr_mul(f);
        let nf = fperp.norm();
        let ubar = if nf > 1e-12 {
            fperp / nf
        } else {
            DVector::zeros(model.d)
        };
        let pm = w * &b0; // m x k: rows P_0 w_r in B0 coordinates
        let rho = w * &ubar;
        for r in 0..net.m {
            let wr = w.row(r).transpose();
            let res = &wr - &b0 * pm.row(r).transpose() - &ubar * rho[r];
            max_res = max_res.max(res.norm());
        }
        parts.push(P { b: w * f, pm, rho });
    }
    let mut acc = [0.0f64; 2];
    let mut tot = Vec::with_capacity(n_outer);
    for _ in 0..n_outer {
        let z = model.zeta.sample(rng);
        let mut sample_tot = 0.0;
        for (i, pp) in parts.iter().enumerate() {
            let c = if i == 0 { z } else { 1.0 - z };
            let xi = DVector::from_fn(pp.pm.ncols(), |_, _| rng.sample::<f64, _>(StandardNormal));
            let a0 = &pp.pm * xi * be + &pp.b * (al * c);
            let (mut m1, mut m2) = (0.0, 0.0);
            for &(zn, wn) in &gh {
                let h: f64 = (0..a0.len())
                    .map(|r| pp.b[r] * act.eval(a0[r] + be * pp.rho[r] * zn))
                    .sum();
                m1 += wn * h;
                m2 += wn * h * h;
            }
            let var = (m2 - m1 * m1).max(0.0);
            acc[i] += var;
            sample_tot += var;
        }
        tot.push(sample_tot);
    }
    let n = n_outer as f64;
    let value = tot.iter().sum::<f64>() / n;
    let sd = (tot.iter().map(|x| (x - value).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Ok(Thm44Bound {
        value,
        std_err: sd / n.sqrt(),
        patch1: acc[0] / n,
        patch2: acc[1] / n,
        n_outer,
        max_span_residual: max_res,
    })
}

/// Thm 4.4's bound for a trained network ([`TrainOutcome`] carries the initial weights).
pub fn thm44_lower_bound<R: Rng + ?Sized>(
    trained: &TrainOutcome,
    model: &TwoPatchModel,
    level: NoiseLevel,
    n_outer: usize,
    rng: &mut R,
) -> Result<Thm44Bound> {
    thm44_lower_bound_weights(&trained.net, &trained.init, model, level, n_outer, rng)
}
