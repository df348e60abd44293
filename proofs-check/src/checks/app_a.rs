//! Appendix A: the two-component Gaussian mixture `p` (Eq. 5) and the single Gaussian `q`
//! (Eq. 6) have the same mean and covariance, hence Frechet distance 0 (Eq. 7), but a different
//! dependence between x and y.

use nalgebra::Matrix2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::claim::{CheckError, Convention, Ctx, Draw, Evidence, Relation};
use crate::stats::{normal, Welford};

/// One draw from the mixture of Eq. (5): `1/2 N((1,1), I) + 1/2 N((-1,-1), I)`.
fn sample_p<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    let s = if rng.random::<bool>() { 1.0 } else { -1.0 };
    (s + normal(rng), s + normal(rng))
}

/// One draw from `q = N(0, [[2,1],[1,2]])` of Eq. (6) (Cholesky factor `[[sqrt2,0],[1/sqrt2, sqrt(3/2)]]`).
fn sample_q<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    let (z1, z2) = (normal(rng), normal(rng));
    let s2 = 2f64.sqrt();
    (s2 * z1, z1 / s2 + (1.5f64).sqrt() * z2)
}

/// Exact mean and covariance of a Gaussian mixture by the law of total covariance.
fn mixture_moments(
    weights: &[f64],
    means: &[[f64; 2]],
    covs: &[Matrix2<f64>],
) -> ([f64; 2], Matrix2<f64>) {
    let mut mu = [0.0; 2];
    for (w, m) in weights.iter().zip(means) {
        mu[0] += w * m[0];
        mu[1] += w * m[1];
    }
    let mut cov = Matrix2::zeros();
    for ((w, m), c) in weights.iter().zip(means).zip(covs) {
        let dm = nalgebra::Vector2::new(m[0] - mu[0], m[1] - mu[1]);
        cov += (c + dm * dm.transpose()) * *w;
    }
    (mu, cov)
}

/// Symmetric PSD square root via the eigen-decomposition.
fn sqrtm_sym(a: &Matrix2<f64>) -> Matrix2<f64> {
    let e = a.symmetric_eigen();
    let d = Matrix2::from_diagonal(&e.eigenvalues.map(|l| l.max(0.0).sqrt()));
    e.eigenvectors * d * e.eigenvectors.transpose()
}

/// Frechet distance `||mu_p - mu_q||^2 + Tr(S_p + S_q - 2 (S_p^{1/2} S_q S_p^{1/2})^{1/2})`.
pub fn frechet(mu_p: [f64; 2], sp: &Matrix2<f64>, mu_q: [f64; 2], sq: &Matrix2<f64>) -> f64 {
    let r = sqrtm_sym(sp);
    let cross = sqrtm_sym(&(r * sq * r));
    (mu_p[0] - mu_q[0]).powi(2) + (mu_p[1] - mu_q[1]).powi(2) + (sp + sq - cross * 2.0).trace()
}

/// `A.moments_fid`: the printed mean (0,0), covariance [[2,1],[1,2]] and FID 0.
pub fn check_moments(
    ctx: &Ctx,
    _c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let mut ev = Evidence::default();
    let i = Matrix2::identity();
    let (mu_p, sp) = mixture_moments(&[0.5, 0.5], &[[1.0, 1.0], [-1.0, -1.0]], &[i, i]);
    let mu_q = [0.0, 0.0];
    let sq = Matrix2::new(2.0, 1.0, 1.0, 2.0);
    // exact (law of total covariance) vs printed
    let printed = [0.0, 0.0, 2.0, 1.0, 2.0];
    let exact = [mu_p[0], mu_p[1], sp[(0, 0)], sp[(0, 1)], sp[(1, 1)]];
    for (k, (p, e)) in printed.iter().zip(exact).enumerate() {
        ev.draws.push(Draw::new(
            &[("entry", k as f64), ("source", 0.0)],
            *p,
            e,
            Relation::Approx,
            1e-12,
            0.0,
        ));
    }
    // Monte Carlo moments of p
    let n = ctx.size(400_000, 60_000);
    let (mut mx, mut my, mut xx, mut xy, mut yy) = (
        Welford::new(),
        Welford::new(),
        Welford::new(),
        Welford::new(),
        Welford::new(),
    );
    for _ in 0..n {
        let (x, y) = sample_p(rng);
        mx.push(x);
        my.push(y);
        xx.push(x * x);
        xy.push(x * y);
        yy.push(y * y);
    }
    let mc = [mx.mean(), my.mean(), xx.mean(), xy.mean(), yy.mean()];
    let se = [mx.se(), my.se(), xx.se(), xy.se(), yy.se()];
    for k in 0..5 {
        ev.draws.push(Draw::new(
            &[("entry", k as f64), ("source", 1.0), ("n", n as f64)],
            printed[k],
            mc[k],
            Relation::Approx,
            5.0 * se[k],
            1.0,
        ));
    }
    let fid = frechet(mu_p, &sp, mu_q, &sq);
    ev.draws.push(Draw::new(
        &[("entry", 5.0)],
        0.0,
        fid,
        Relation::Approx,
        1e-10,
        0.0,
    ));
    ev.notes.push(format!(
        "entries 0..4 = (mean_x, mean_y, S_xx, S_xy, S_yy); source 0 = exact law of total covariance, 1 = Monte Carlo (n = {n}); entry 5 = Frechet distance of (mu_p,S_p) vs (mu_q,S_q) = {fid:.3e}"
    ));
    ev.notes.push("the printed covariance line writes (mu_i - mu_q)(mu_i - mu_q)^T = [[1,1],[1,1]] for both components: correct since mu_q = 0".into());
    Ok(ev)
}

/// Exact log-density of `p` and its marginals, for the mutual information.
fn log_p_joint(x: f64, y: f64) -> f64 {
    let c = -(2.0 * std::f64::consts::PI).ln();
    let a = c - 0.5 * ((x - 1.0).powi(2) + (y - 1.0).powi(2));
    let b = c - 0.5 * ((x + 1.0).powi(2) + (y + 1.0).powi(2));
    let m = a.max(b);
    m + (0.5 * (a - m).exp() + 0.5 * (b - m).exp()).ln()
}

fn log_p_marg(x: f64) -> f64 {
    let c = -0.5 * (2.0 * std::f64::consts::PI).ln();
    let a = c - 0.5 * (x - 1.0).powi(2);
    let b = c - 0.5 * (x + 1.0).powi(2);
    let m = a.max(b);
    m + (0.5 * (a - m).exp() + 0.5 * (b - m).exp()).ln()
}

/// `A.dependence`: a dependence measure separates `p` and `q`.
pub fn check_dependence(
    ctx: &Ctx,
    _c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let mut ev = Evidence::default();
    let n = ctx.size(400_000, 60_000);
    // Cov(x^2, y^2) = E[x^2 y^2] - E[x^2]E[y^2]: exact 0 under p, 2 under q.
    let cov_est = |sampler: &mut dyn FnMut() -> (f64, f64)| {
        let mut xs = Vec::with_capacity(n);
        for _ in 0..n {
            xs.push(sampler());
        }
        let ex2 = xs.iter().map(|(x, _)| x * x).sum::<f64>() / n as f64;
        let ey2 = xs.iter().map(|(_, y)| y * y).sum::<f64>() / n as f64;
        // influence-function samples of Cov(x^2,y^2) for its standard error
        let mut w = Welford::new();
        for (x, y) in &xs {
            w.push((x * x - ex2) * (y * y - ey2));
        }
        (w.mean(), w.se())
    };
    let mut r1 = rand_chacha::ChaCha8Rng::from_rng(&mut *rng);
    let (cp, sep) = cov_est(&mut || sample_p(&mut r1));
    let mut r2 = rand_chacha::ChaCha8Rng::from_rng(&mut *rng);
    let (cq, seq) = cov_est(&mut || sample_q(&mut r2));
    ev.draws.push(Draw::new(
        &[("measure", 0.0), ("n", n as f64)],
        0.0,
        cp,
        Relation::Approx,
        5.0 * sep,
        0.0,
    ));
    ev.draws.push(Draw::new(
        &[("measure", 1.0), ("n", n as f64)],
        2.0,
        cq,
        Relation::Approx,
        5.0 * seq,
        0.0,
    ));
    let sed = (sep * sep + seq * seq).sqrt();
    ev.draws.push(Draw::new(
        &[("measure", 2.0), ("n", n as f64)],
        0.0,
        (cq - cp).abs(),
        Relation::Positive,
        5.0 * sed,
        0.0,
    ));
    // Mutual information: q exact -0.5 ln(1 - rho^2), rho = 1/2; p by Monte Carlo of the exact log-ratio.
    let mi_q = -0.5 * (1.0 - 0.25f64).ln();
    let mut w = Welford::new();
    for _ in 0..n {
        let (x, y) = sample_p(rng);
        w.push(log_p_joint(x, y) - log_p_marg(x) - log_p_marg(y));
    }
    ev.draws.push(Draw::new(
        &[("measure", 3.0), ("n", n as f64)],
        0.0,
        (w.mean() - mi_q).abs(),
        Relation::Positive,
        5.0 * w.se(),
        0.0,
    ));
    ev.notes.push(format!(
        "Cov(x^2,y^2): p = {cp:.4} +- {sep:.4} (exact 0), q = {cq:.4} +- {seq:.4} (exact 2); mutual information: p = {:.4} +- {:.4} nats (MC), q = {mi_q:.4} nats (exact). Cov(x,y) = 1 under BOTH, so the paper's sentence 'under q, x and y are dependent with Cov = 1' does not by itself distinguish them; the dependence differs in higher moments.",
        w.mean(),
        w.se()
    ));
    ev.notes.push("measure 0/1: Cov(x^2,y^2) under p/q vs exact; 2: |difference| > 5 SE; 3: |MI_p - MI_q| > 5 SE".into());
    Ok(ev)
}

use rand::SeedableRng;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frechet_of_identical_gaussians_is_zero_and_positive_otherwise() {
        let s = Matrix2::new(2.0, 1.0, 1.0, 2.0);
        assert!(frechet([0.0, 0.0], &s, [0.0, 0.0], &s).abs() < 1e-12);
        let t = Matrix2::new(1.0, 0.0, 0.0, 1.0);
        assert!(frechet([0.0, 0.0], &s, [0.0, 0.0], &t) > 0.1);
    }
}
