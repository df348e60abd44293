//! The paper's PRINTED formulas of Appendix E (proof of Thm 4.5), transcribed literally so that
//! each can be evaluated and compared with an independent computation. Nothing here is
//! corrected: where the printed text is ambiguous the reading is named in the function.
//! Notation: `alpha = alpha_t`, `beta = beta_t`, `m2 = E[zeta^2]` (patch 1) or
//! `E[(1-zeta)^2]` (patch 2), `n = ||w||^2`, `g = <w,u>`.

use crate::stats::{dot, norm_sq};

/// App. E, `I_1 = (alpha^2 <w,x_0>^2 + beta^2 ||w||^2) ||w||^2`.
pub fn i1(alpha: f64, beta: f64, w: &[f64], x0: &[f64]) -> f64 {
    let n = norm_sq(w);
    (alpha.powi(2) * dot(w, x0).powi(2) + beta.powi(2) * n) * n
}

/// App. E, `I_2 = alpha^2/beta^4 ||x_0||^2 + (1 + 1/beta)^2 d`.
pub fn i2(alpha: f64, beta: f64, x0: &[f64]) -> f64 {
    alpha.powi(2) / beta.powi(4) * norm_sq(x0) + (1.0 + 1.0 / beta).powi(2) * x0.len() as f64
}

/// App. E, `I_3 = alpha^2/beta^2 <w,x_0>^2 + (1 + beta) ||w||^2`.
pub fn i3(alpha: f64, beta: f64, w: &[f64], x0: &[f64]) -> f64 {
    alpha.powi(2) / beta.powi(2) * dot(w, x0).powi(2) + (1.0 + beta) * norm_sq(w)
}

/// App. E, `L^(1)(w) = (alpha^2 E[zeta^2] g^2 + beta^2 n) n - 2 alpha^2/beta^2 E[zeta^2] g^2
/// - 2 (1+beta) n + I_2`, with `I_2` taken as its expectation over zeta,
/// `alpha^2/beta^4 E[zeta^2] + (1 + 1/beta)^2 d` (the paper calls it a constant).
pub fn loss_l1(alpha: f64, beta: f64, m2: f64, w: &[f64], u: &[f64]) -> f64 {
    let n = norm_sq(w);
    let g = dot(w, u);
    let a2 = alpha.powi(2);
    let b2 = beta.powi(2);
    (a2 * m2 * g * g + b2 * n) * n - 2.0 * a2 / b2 * m2 * g * g - 2.0 * (1.0 + beta) * n
        + a2 / beta.powi(4) * m2
        + (1.0 + 1.0 / beta).powi(2) * w.len() as f64
}

/// App. E, printed gradient:
/// `grad L^(1) = n (2 alpha^2 E[zeta^2] g u + 2 beta^2 w) + 2 (alpha^2 E[zeta^2] g^2 + beta^2 n) w
/// - 2 alpha^2/beta^2 E[zeta^2] g u - 2 (1 + beta) w`.
pub fn grad_l1(alpha: f64, beta: f64, m2: f64, w: &[f64], u: &[f64]) -> Vec<f64> {
    let n = norm_sq(w);
    let g = dot(w, u);
    let a2 = alpha.powi(2);
    let b2 = beta.powi(2);
    w.iter()
        .zip(u)
        .map(|(wi, ui)| {
            n * (2.0 * a2 * m2 * g * ui + 2.0 * b2 * wi) + 2.0 * (a2 * m2 * g * g + b2 * n) * wi
                - 2.0 * a2 / b2 * m2 * g * ui
                - 2.0 * (1.0 + beta) * wi
        })
        .collect()
}

/// App. E, printed projected GD update along `u`:
/// `g_{k+1} = (1 + eta (2 alpha^2 beta^-2 E[zeta^2] + 2(1+beta) - 2 alpha^2 E[zeta^2] n_k
/// - 4 beta^2 n_k - 2 alpha^2 E[zeta^2] g_k^2)) g_k`.
pub fn gd_update_u(eta: f64, alpha: f64, beta: f64, m2: f64, n: f64, g: f64) -> f64 {
    let a2m = alpha.powi(2) * m2;
    let b2 = beta.powi(2);
    (1.0 + eta
        * (2.0 * a2m / b2 + 2.0 * (1.0 + beta) - 2.0 * a2m * n - 4.0 * b2 * n - 2.0 * a2m * g * g))
        * g
}

/// App. E, printed projected GD update along `w~0 / ||w~0||`
/// (`p = <w, w~0> / ||w~0||`):
/// `p_{k+1} = (1 + eta (2(1+beta) - 4 beta^2 n_k - 2 alpha^2 E[zeta^2] g_k^2)) p_k`.
pub fn gd_update_perp(eta: f64, alpha: f64, beta: f64, m2: f64, n: f64, g: f64, p: f64) -> f64 {
    (1.0 + eta * (2.0 * (1.0 + beta) - 4.0 * beta.powi(2) * n - 2.0 * alpha.powi(2) * m2 * g * g))
        * p
}

/// App. E, printed `<grad L^(1)(w), w> = n (2 alpha^2 E[zeta^2] g^2 + 2 beta^2 n)
/// + 2 (alpha^2 E[zeta^2] g^2 + beta^2 n) n - 2 alpha^2/beta^2 E[zeta^2] g^2 - 2 (1+beta) n`.
pub fn grad_dot_w(alpha: f64, beta: f64, m2: f64, n: f64, g: f64) -> f64 {
    let a2m = alpha.powi(2) * m2;
    let b2 = beta.powi(2);
    n * (2.0 * a2m * g * g + 2.0 * b2 * n) + 2.0 * (a2m * g * g + b2 * n) * n
        - 2.0 * a2m / b2 * g * g
        - 2.0 * (1.0 + beta) * n
}

/// App. E, printed `<grad L^(1)(w), u> = n (2 alpha^2 E[zeta^2] mu^2 g + 2 beta^2 g)
/// + 2 (alpha^2 E[zeta^2] g^2 + beta^2 n) g - 2 alpha^2/beta^2 E[zeta^2] mu^2 g - 2 (1+beta) g`.
/// `mu` is not defined anywhere in the paper; the only reading under which this is an inner
/// product of the printed gradient with `u` is `mu^2 = ||u||^2 = 1` (pass `mu = 1`).
pub fn grad_dot_u(alpha: f64, beta: f64, m2: f64, n: f64, g: f64, mu: f64) -> f64 {
    let a2m = alpha.powi(2) * m2;
    let b2 = beta.powi(2);
    n * (2.0 * a2m * mu * mu * g + 2.0 * b2 * g) + 2.0 * (a2m * g * g + b2 * n) * g
        - 2.0 * a2m / b2 * mu * mu * g
        - 2.0 * (1.0 + beta) * g
}

/// App. E, printed stationary `||w^(1)||^2`, both roots `(+, -)`:
/// `(6 a2m/b2 + 6 + 2 beta +- sqrt(4 a2m^2/b2^2 + (56 + 16 beta) a2m/b2 + 28 + 16 beta + 4 beta^2))
/// / (8 a2m + 8 b2)`, `a2m = alpha^2 E[zeta^2]`, `b2 = beta^2`.
pub fn stationary_norm_sq(alpha: f64, beta: f64, m2: f64) -> (f64, f64) {
    let a2m = alpha.powi(2) * m2;
    let b2 = beta.powi(2);
    let r = a2m / b2;
    let disc = 4.0 * r * r + (56.0 + 16.0 * beta) * r + 28.0 + 16.0 * beta + 4.0 * beta * beta;
    let num = 6.0 * r + 6.0 + 2.0 * beta;
    let den = 8.0 * a2m + 8.0 * b2;
    ((num + disc.sqrt()) / den, (num - disc.sqrt()) / den)
}

/// App. E, printed stationary `<w^(1),u>^2` AS PRINTED:
/// `n (1 + beta - 2 beta^2 n) / (alpha^2 E[zeta^2] - 2 n - beta^-2)`.
pub fn stationary_wu_sq_as_printed(alpha: f64, beta: f64, m2: f64, n: f64) -> f64 {
    n * (1.0 + beta - 2.0 * beta.powi(2) * n) / (alpha.powi(2) * m2 - 2.0 * n - beta.powi(-2))
}

/// App. E, printed stationary `<w^(1),u>^2`, PRODUCT READING (the denominator read as
/// `alpha^2 E[zeta^2] (2 n - beta^-2)`, the reading the printed bias line 3 uses):
/// `n (1 + beta - 2 beta^2 n) / (alpha^2 E[zeta^2] (2 n - beta^-2))`.
pub fn stationary_wu_sq_product(alpha: f64, beta: f64, m2: f64, n: f64) -> f64 {
    n * (1.0 + beta - 2.0 * beta.powi(2) * n) / (alpha.powi(2) * m2 * (2.0 * n - beta.powi(-2)))
}

/// App. E, printed bias, second line:
/// `| alpha E[zeta] g1^2 + alpha E[1-zeta] g2^2 - alpha/beta^2 |` (`g1 = <w1,u>`, `g2 = <w2,v>`).
pub fn bias_line2(alpha: f64, beta: f64, mean_zeta: f64, g1sq: f64, g2sq: f64) -> f64 {
    (alpha * mean_zeta * g1sq + alpha * (1.0 - mean_zeta) * g2sq - alpha / beta.powi(2)).abs()
}

/// App. E, printed bias, third line (after substituting the stationary `<w,u>^2`):
/// `| E[zeta] n1 / (alpha E[zeta^2]) (1 + beta - 2 beta^2 n1) / (2 n1 - beta^-2)
/// + E[1-zeta] n2 / (alpha E[(1-zeta)^2]) (1 + beta - 2 beta^2 n2) / (2 n2 - beta^-2) - alpha/beta^2 |`.
pub fn bias_line3(
    alpha: f64,
    beta: f64,
    mean_zeta: f64,
    m2_1: f64,
    m2_2: f64,
    n1: f64,
    n2: f64,
) -> f64 {
    let b2 = beta.powi(2);
    let term = |mean: f64, m2: f64, n: f64| {
        mean * n / (alpha * m2) * (1.0 + beta - 2.0 * b2 * n) / (2.0 * n - 1.0 / b2)
    };
    (term(mean_zeta, m2_1, n1) + term(1.0 - mean_zeta, m2_2, n2) - alpha / b2).abs()
}

/// Moments of zeta used by the printed variance.
#[derive(Clone, Copy, Debug)]
pub struct ZetaMoments {
    /// `E[zeta]`
    pub mean: f64,
    /// `E[zeta^2]`
    pub m2: f64,
}

/// App. E, printed variance, first line:
/// `(alpha^2 E[zeta^2] g1^2 + beta^2 n1) g1^2 + (alpha^2 E[(1-zeta)^2] g2^2 + beta^2 n2) g2^2
/// + 2 alpha^2 E[zeta(1-zeta)] g1^2 g2^2 - (alpha E[zeta] g1^2 + alpha E[1-zeta] g2^2)^2`.
pub fn variance_line1(
    alpha: f64,
    beta: f64,
    z: ZetaMoments,
    n1: f64,
    g1sq: f64,
    n2: f64,
    g2sq: f64,
) -> f64 {
    let a2 = alpha.powi(2);
    let b2 = beta.powi(2);
    let m2c = 1.0 - 2.0 * z.mean + z.m2;
    let ezc = z.mean - z.m2;
    (a2 * z.m2 * g1sq + b2 * n1) * g1sq
        + (a2 * m2c * g2sq + b2 * n2) * g2sq
        + 2.0 * a2 * ezc * g1sq * g2sq
        - (alpha * z.mean * g1sq + alpha * (1.0 - z.mean) * g2sq).powi(2)
}

/// App. E, printed variance, second line:
/// `alpha^2 Var(zeta) g1^4 + alpha^2 Var(1-zeta) g2^4 - 2 alpha^2 Cov(zeta, 1-zeta) g1^2 g2^2
/// + beta^2 n1 g1^2 + beta^2 n2 g2^2` (`Cov(zeta, 1-zeta) = -Var(zeta)`).
pub fn variance_line2(
    alpha: f64,
    beta: f64,
    z: ZetaMoments,
    n1: f64,
    g1sq: f64,
    n2: f64,
    g2sq: f64,
) -> f64 {
    let a2 = alpha.powi(2);
    let var = z.m2 - z.mean * z.mean;
    a2 * var * g1sq * g1sq + a2 * var * g2sq * g2sq - 2.0 * a2 * (-var) * g1sq * g2sq
        + beta.powi(2) * (n1 * g1sq + n2 * g2sq)
}

/// App. E, printed variance, third line:
/// `alpha^2 Var(zeta g1^2 - (1-zeta) g2^2) + beta^2 n1 g1^2 + beta^2 n2 g2^2`
/// (`Var(zeta g1^2 - (1-zeta) g2^2) = Var(zeta) (g1^2 + g2^2)^2`).
pub fn variance_line3(
    alpha: f64,
    beta: f64,
    z: ZetaMoments,
    n1: f64,
    g1sq: f64,
    n2: f64,
    g2sq: f64,
) -> f64 {
    let var = z.m2 - z.mean * z.mean;
    alpha.powi(2) * var * (g1sq + g2sq).powi(2) + beta.powi(2) * (n1 * g1sq + n2 * g2sq)
}

/// Lemma E.1 bound on `|<w^0, u>|`: `sqrt(2 log(8/delta)) sigma_0`.
pub fn lemma_e1_inner_bound(delta: f64, sigma0: f64) -> f64 {
    (2.0 * (8.0 / delta).ln()).sqrt() * sigma0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_lines_two_and_three_agree() {
        let z = ZetaMoments { mean: 0.4, m2: 0.2 };
        let a = variance_line2(0.8, 0.6, z, 1.3, 0.9, 1.1, 0.7);
        let b = variance_line3(0.8, 0.6, z, 1.3, 0.9, 1.1, 0.7);
        assert!((a - b).abs() < 1e-12);
    }

    #[test]
    fn printed_gd_update_is_printed_gradient_projection() {
        let (alpha, beta, m2, eta) = (0.7, 0.5, 0.3, 0.01);
        let w = [0.2, 0.1, -0.3];
        let u = [1.0, 0.0, 0.0];
        let g = grad_l1(alpha, beta, m2, &w, &u);
        let n = norm_sq(&w);
        let next = gd_update_u(eta, alpha, beta, m2, n, w[0]);
        assert!((next - (w[0] - eta * g[0])).abs() < 1e-14);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    proptest! {
        #![proptest_config(Config { cases: 64, rng_seed: RngSeed::Fixed(20250), failure_persistence: None, ..Config::default() })]

        /// The printed L^(1) equals the suite's closed form under the paper convention (same loss).
        #[test]
        fn printed_loss_equals_suite_loss(t in 0.05f64..2.0, m2 in 0.01f64..0.9, w in proptest::collection::vec(-1.5f64..1.5, 2..6)) {
            let level = crate::minimal::Level::from_t(t);
            let mut u = vec![0.0; w.len()];
            u[0] = 1.0;
            let lp = crate::minimal::LinearPatch { level, m2, conv: crate::claim::Convention::Paper };
            let a = loss_l1(level.alpha, level.beta, m2, &w, &u);
            let b = lp.loss(&w, &u);
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()));
        }

        /// Printed variance lines 2 and 3 are the same expression.
        #[test]
        fn variance_lines_2_3_identical(a in 0.1f64..1.0, b in 0.1f64..1.0, mean in 0.2f64..0.8, n1 in 0.0f64..3.0, g1 in 0.0f64..3.0, n2 in 0.0f64..3.0, g2 in 0.0f64..3.0) {
            let z = ZetaMoments { mean, m2: mean * mean + 0.01 };
            let l2 = variance_line2(a, b, z, n1, g1, n2, g2);
            let l3 = variance_line3(a, b, z, n1, g1, n2, g2);
            prop_assert!((l2 - l3).abs() <= 1e-10 * (1.0 + l2.abs()));
        }
    }
}
