//! Gauss quadrature rules derived here (Golub-Welsch: eigen-decomposition of the Jacobi matrix of
//! the three-term recurrence, nalgebra's symmetric eigen solver). Used for D_zeta (Gauss-Jacobi
//! rules for the scaled Beta/uniform laws) and for standard normal expectations (Gauss-Hermite).
//! An n-node rule is exact for polynomials of degree <= 2n-1 of its weight measure.

use nalgebra::DMatrix;

/// Golub-Welsch: nodes and probability weights (summing to 1) of the Gauss rule whose monic
/// orthogonal polynomials have recurrence diagonal `diag` and off-diagonal `offdiag` (sqrt b_k).
pub fn golub_welsch(diag: &[f64], offdiag: &[f64]) -> Vec<(f64, f64)> {
    let n = diag.len();
    let mut j = DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        j[(i, i)] = diag[i];
        if i + 1 < n {
            j[(i, i + 1)] = offdiag[i];
            j[(i + 1, i)] = offdiag[i];
        }
    }
    let eig = j.symmetric_eigen();
    let mut out: Vec<(f64, f64)> = (0..n)
        .map(|i| (eig.eigenvalues[i], eig.eigenvectors[(0, i)].powi(2)))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    let s: f64 = out.iter().map(|p| p.1).sum();
    for p in &mut out {
        p.1 /= s;
    }
    out
}

/// n-node Gauss rule for the Beta(p, q) law on [0, 1] (Gauss-Jacobi with alpha = q-1, beta = p-1
/// on [-1, 1], mapped by y = (x+1)/2). Beta(1,1) is Gauss-Legendre. Weights are probabilities.
pub fn gauss_beta01(p: f64, q: f64, n: usize) -> Vec<(f64, f64)> {
    let (al, be) = (q - 1.0, p - 1.0);
    let s = al + be;
    let mut diag = Vec::with_capacity(n);
    let mut off = Vec::with_capacity(n.saturating_sub(1));
    for k in 0..n {
        let kf = k as f64;
        let a = if k == 0 {
            (be - al) / (s + 2.0)
        } else {
            (be * be - al * al) / ((2.0 * kf + s) * (2.0 * kf + s + 2.0))
        };
        diag.push(a);
    }
    for k in 1..n {
        let kf = k as f64;
        let b = if k == 1 {
            4.0 * (1.0 + al) * (1.0 + be) / ((2.0 + s).powi(2) * (3.0 + s))
        } else {
            4.0 * kf * (kf + al) * (kf + be) * (kf + s)
                / ((2.0 * kf + s).powi(2) * (2.0 * kf + s + 1.0) * (2.0 * kf + s - 1.0))
        };
        off.push(b.sqrt());
    }
    golub_welsch(&diag, &off)
        .into_iter()
        .map(|(x, w)| ((x + 1.0) / 2.0, w))
        .collect()
}

/// n-node Gauss-Hermite rule for the standard normal N(0,1) (probabilists' Hermite, b_k = k).
pub fn gauss_hermite_normal(n: usize) -> Vec<(f64, f64)> {
    let diag = vec![0.0; n];
    let off: Vec<f64> = (1..n).map(|k| (k as f64).sqrt()).collect();
    golub_welsch(&diag, &off)
}

/// Numerically stable log(sum exp(l_i)).
pub fn log_sum_exp(l: &[f64]) -> f64 {
    let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if !mx.is_finite() {
        return mx;
    }
    mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn legendre_exact_on_polynomials() {
        let r = gauss_beta01(1.0, 1.0, 4);
        for k in 0..8 {
            let q: f64 = r.iter().map(|(x, w)| w * x.powi(k)).sum();
            assert!((q - 1.0 / (k as f64 + 1.0)).abs() < 1e-13, "k={k} q={q}");
        }
    }
    #[test]
    fn beta_rule_exact_moments() {
        let (p, q) = (0.5, 2.5);
        let r = gauss_beta01(p, q, 5);
        let mut exact = 1.0;
        for k in 0..10 {
            let qv: f64 = r.iter().map(|(x, w)| w * x.powi(k)).sum();
            assert!((qv - exact).abs() < 1e-12, "k={k}: {qv} vs {exact}");
            exact *= (p + k as f64) / (p + q + k as f64);
        }
    }
    #[test]
    fn hermite_moments() {
        let r = gauss_hermite_normal(5);
        let m: Vec<f64> = (0..10)
            .map(|k| r.iter().map(|(x, w)| w * x.powi(k)).sum())
            .collect();
        let exact = [1.0, 0.0, 1.0, 0.0, 3.0, 0.0, 15.0, 0.0, 105.0, 0.0];
        for k in 0..10 {
            assert!((m[k] - exact[k]).abs() < 1e-10, "k={k}");
        }
    }
}
