//! Gaussian moments used by the closed forms: raw bivariate moments E[a^i b^j], i, j <= 3, of a
//! jointly Gaussian pair (Isserlis' theorem for the central moments, binomial expansion for the means).

/// Central moments `K[p][q] = E[X^p Y^q]` of a centred Gaussian pair with Var X = va, Var Y = vb,
/// Cov = c (p, q <= 3).
pub fn central_table(va: f64, vb: f64, c: f64) -> [[f64; 4]; 4] {
    let mut k = [[0.0; 4]; 4];
    k[0][0] = 1.0;
    k[2][0] = va;
    k[0][2] = vb;
    k[1][1] = c;
    k[3][1] = 3.0 * va * c;
    k[1][3] = 3.0 * vb * c;
    k[2][2] = va * vb + 2.0 * c * c;
    k[3][3] = 9.0 * va * vb * c + 6.0 * c * c * c;
    k
}

const BINOM: [[f64; 4]; 4] = [
    [1.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 0.0, 0.0],
    [1.0, 2.0, 1.0, 0.0],
    [1.0, 3.0, 3.0, 1.0],
];

/// Raw moments `R[i][j] = E[a^i b^j]` (i, j <= `deg` <= 3) of a Gaussian pair with means (ma, mb),
/// variances (va, vb) and covariance c. Entries beyond `deg` are left 0.
pub fn raw_table(ma: f64, mb: f64, va: f64, vb: f64, c: f64, deg: usize) -> [[f64; 4]; 4] {
    let k = central_table(va, vb, c);
    let pa = [1.0, ma, ma * ma, ma * ma * ma];
    let pb = [1.0, mb, mb * mb, mb * mb * mb];
    let mut r = [[0.0; 4]; 4];
    for i in 0..=deg {
        for j in 0..=deg {
            let mut s = 0.0;
            for p in 0..=i {
                for q in 0..=j {
                    if (p + q) % 2 == 0 {
                        s += BINOM[i][p] * BINOM[j][q] * pa[i - p] * pb[j - q] * k[p][q];
                    }
                }
            }
            r[i][j] = s;
        }
    }
    r
}

/// One raw moment E[a^i b^j] from the central table `k` and the mean powers `pa`, `pb`
/// (`pa[e] = ma^e`, `pb[e] = mb^e`); i, j <= 3.
#[inline]
pub fn raw_entry(i: usize, j: usize, pa: &[f64; 4], pb: &[f64; 4], k: &[[f64; 4]; 4]) -> f64 {
    let mut s = 0.0;
    for p in 0..=i {
        for q in ((p % 2)..=j).step_by(2) {
            s += BINOM[i][p] * BINOM[j][q] * pa[i - p] * pb[j - q] * k[p][q];
        }
    }
    s
}

/// Univariate raw moments E[a^j], j <= 3, of N(m, v).
pub fn raw_uni(m: f64, v: f64) -> [f64; 4] {
    [1.0, m, m * m + v, m * m * m + 3.0 * m * v]
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    #[test]
    fn raw_table_matches_monte_carlo() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (ma, mb, va, vb, c) = (0.3, -0.5, 1.2, 0.7, 0.4);
        let r = raw_table(ma, mb, va, vb, c, 3);
        let l11 = va.sqrt();
        let l21 = c / l11;
        let l22 = (vb - l21 * l21).sqrt();
        let n = 400_000;
        let mut acc = [[0.0; 4]; 4];
        let mut acc2 = [[0.0; 4]; 4];
        for _ in 0..n {
            let z1: f64 = StandardNormal.sample(&mut rng);
            let z2: f64 = StandardNormal.sample(&mut rng);
            let a = ma + l11 * z1;
            let b = mb + l21 * z1 + l22 * z2;
            for i in 0..4 {
                for j in 0..4 {
                    let x = a.powi(i as i32) * b.powi(j as i32);
                    acc[i][j] += x;
                    acc2[i][j] += x * x;
                }
            }
        }
        for i in 0..4 {
            for j in 0..4 {
                let mean = acc[i][j] / n as f64;
                let se = ((acc2[i][j] / n as f64 - mean * mean) / n as f64).sqrt();
                assert!(
                    (mean - r[i][j]).abs() <= 5.0 * se + 1e-12,
                    "({i},{j}): mc {mean} exact {} se {se}",
                    r[i][j]
                );
            }
        }
        let u = raw_uni(ma, va);
        let k = central_table(va, vb, c);
        let pa = [1.0, ma, ma * ma, ma * ma * ma];
        let pb = [1.0, mb, mb * mb, mb * mb * mb];
        for j in 0..4 {
            assert!((u[j] - r[j][0]).abs() < 1e-14);
            for i in 0..4 {
                assert!((raw_entry(i, j, &pa, &pb, &k) - r[i][j]).abs() < 1e-13);
            }
        }
    }
}

/// Standard normal CDF Phi(x) (statrs' erfc).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal density phi(x).
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn gl_nodes() -> &'static [(f64, f64)] {
    static NODES: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    NODES.get_or_init(|| crate::quad::gauss_beta01(1.0, 1.0, 24))
}

/// Bivariate standard normal CDF P(Z1 <= h, Z2 <= k) with correlation rho, from
/// Phi2 = Phi(h) Phi(k) + (1/2pi) int_0^{asin rho} exp(-(h^2 + k^2 - 2hk sin th) / (2 cos^2 th)) dth
/// (d Phi2 / d rho = bivariate density; rho = sin th), integrated by 24-node Gauss-Legendre.
/// |rho| = 1 is handled by its limits.
pub fn bvn_cdf(h: f64, k: f64, rho: f64) -> f64 {
    if rho >= 1.0 {
        return norm_cdf(h.min(k));
    }
    if rho <= -1.0 {
        return (norm_cdf(h) + norm_cdf(k) - 1.0).max(0.0);
    }
    let th = rho.asin();
    let mut s = 0.0;
    for &(x, w) in gl_nodes() {
        let t = th * x;
        let (sn, cs) = t.sin_cos();
        s += w * (-(h * h + k * k - 2.0 * h * k * sn) / (2.0 * cs * cs)).exp();
    }
    (norm_cdf(h) * norm_cdf(k) + th * s / (2.0 * std::f64::consts::PI)).clamp(0.0, 1.0)
}

/// E[relu(Y)] for Y ~ N(m, sd^2).
pub fn relu_mean(m: f64, sd: f64) -> f64 {
    if sd <= 0.0 {
        return m.max(0.0);
    }
    let h = m / sd;
    m * norm_cdf(h) + sd * norm_pdf(h)
}

/// ReLU univariate expectations for a ~ N(m, v): [E relu(a), E 1{a>0}, E delta(a), E delta'(a)]
/// (derivatives in the distributional sense, as used by Gaussian integration by parts).
pub fn relu_uni(m: f64, v: f64) -> [f64; 4] {
    let s = v.max(1e-300).sqrt();
    let h = m / s;
    let p = norm_pdf(h);
    [
        m * norm_cdf(h) + s * p,
        norm_cdf(h),
        p / s,
        -m * p / (s * s * s),
    ]
}

/// ReLU pair expectations for (a, b) jointly Gaussian (means ma, mb; variances va, vb; covariance c):
/// [E relu(a) relu(b), E 1{a>0} relu(b), E 1{a>0} 1{b>0}, E delta(a) relu(b)].
/// `same` = the pair is one neuron with itself (a = b).
pub fn relu_pair(ma: f64, mb: f64, va: f64, vb: f64, c: f64, same: bool) -> [f64; 4] {
    let (s1, s2) = (va.max(1e-300).sqrt(), vb.max(1e-300).sqrt());
    let (h1, h2) = (ma / s1, mb / s2);
    if same {
        let (cdf, pdf) = (norm_cdf(h1), norm_pdf(h1));
        return [
            (ma * ma + va) * cdf + ma * s1 * pdf,
            ma * cdf + s1 * pdf,
            cdf,
            0.0,
        ];
    }
    let rho = (c / (s1 * s2)).clamp(-1.0 + 1e-12, 1.0 - 1e-12);
    let r = (1.0 - rho * rho).sqrt();
    let p = bvn_cdf(h1, h2, rho);
    let (f1, f2) = (norm_pdf(h1), norm_pdf(h2));
    let q12 = norm_cdf((h1 - rho * h2) / r); // P(Z1 > -h1 | Z2 = -h2)
    let q21 = norm_cdf((h2 - rho * h1) / r); // P(Z2 > -h2 | Z1 = -h1)
                                             // A = {Z1 > -h1, Z2 > -h2}
    let ez1 = f1 * q21 + rho * f2 * q12;
    let ez2 = f2 * q12 + rho * f1 * q21;
    let ezz =
        f1 * (-rho * h1 * q21 + r * norm_pdf((h2 - rho * h1) / r)) + rho * (p - h2 * f2 * q12);
    let e_dd = p;
    let e_ds = mb * p + s2 * ez2;
    let e_ss = ma * mb * p + ma * s2 * ez2 + mb * s1 * ez1 + s1 * s2 * ezz;
    let e_2s = f1 / s1 * relu_mean(mb - s2 * rho * h1, s2 * r);
    [e_ss, e_ds, e_dd, e_2s]
}

#[cfg(test)]
mod relu_tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn bvn_limits_and_symmetry() {
        assert!(
            (bvn_cdf(0.0, 0.0, 0.5) - (0.25 + 0.5f64.asin() / (2.0 * std::f64::consts::PI))).abs()
                < 1e-14
        );
        assert!((bvn_cdf(0.3, -0.7, 0.0) - norm_cdf(0.3) * norm_cdf(-0.7)).abs() < 1e-15);
        assert!((bvn_cdf(0.3, -0.7, 0.6) - bvn_cdf(-0.7, 0.3, 0.6)).abs() < 1e-15);
        // continuity towards rho = 1
        assert!((bvn_cdf(0.4, 0.9, 0.999999) - norm_cdf(0.4)).abs() < 1e-4);
    }

    #[test]
    fn relu_pair_matches_monte_carlo() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for &(ma, mb, va, vb, c) in &[
            (0.3, -0.5, 1.2, 0.7, 0.4),
            (-0.8, 0.2, 0.5, 2.0, -0.9),
            (1.0, 1.5, 0.3, 0.4, 0.34),
        ] {
            let e = relu_pair(ma, mb, va, vb, c, false);
            let l11 = f64::sqrt(va);
            let l21 = c / l11;
            let l22 = (vb - l21 * l21).sqrt();
            let n = 400_000;
            let mut acc = [0.0; 3];
            let mut acc2 = [0.0; 3];
            // E delta(a) relu(b) checked by a narrow-window estimate: P(|a| < eps)/(2 eps) E[relu(b) | |a| < eps]
            let eps = 0.01;
            let mut win = 0.0;
            for _ in 0..n {
                let z1: f64 = StandardNormal.sample(&mut rng);
                let z2: f64 = StandardNormal.sample(&mut rng);
                let a: f64 = ma + l11 * z1;
                let b: f64 = mb + l21 * z1 + l22 * z2;
                let x = [
                    a.max(0.0) * b.max(0.0),
                    if a > 0.0 { b.max(0.0) } else { 0.0 },
                    if a > 0.0 && b > 0.0 { 1.0 } else { 0.0 },
                ];
                for i in 0..3 {
                    acc[i] += x[i];
                    acc2[i] += x[i] * x[i];
                }
                if a.abs() < eps {
                    win += b.max(0.0);
                }
            }
            for i in 0..3 {
                let mean = acc[i] / n as f64;
                let se = ((acc2[i] / n as f64 - mean * mean) / n as f64).sqrt();
                assert!(
                    (mean - e[i]).abs() <= 5.0 * se,
                    "entry {i}: mc {mean} exact {} se {se}",
                    e[i]
                );
            }
            let delta = win / n as f64 / (2.0 * eps);
            assert!(
                (delta - e[3]).abs() < 0.05 * e[3].abs() + 0.01,
                "delta term mc {delta} exact {}",
                e[3]
            );
            let same = relu_pair(ma, ma, va, va, va, true);
            let near = relu_pair(ma, ma, va, va, va * (1.0 - 1e-9), false);
            for i in 0..3 {
                assert!(
                    (same[i] - near[i]).abs() < 1e-3,
                    "diagonal {i}: {} vs {}",
                    same[i],
                    near[i]
                );
            }
        }
    }
}
