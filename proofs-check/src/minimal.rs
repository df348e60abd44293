//! MINIMAL VERSIONS of model pieces, written inside proofs-check (not in `theory`) so that
//! the checks are independent computations and never blocked on the `theory` crate:
//! the law of zeta (Def. 4.1), the noise level (App. F schedule), the linear single-neuron
//! population loss and gradient per patch (App. E, derived here), gradient descent on it, and the
//! two-patch density `p_t` of Thm 4.2 by quadrature.
//!
//! Derivation (per patch, `x_0 = c e` with `e` a unit feature and `E[c^2] = m2`, network
//! `s_w(x) = <w,x> w - x / beta^2`, target `T = k_c eps`, `k_c = 1` (paper) or `-1/beta` (score)):
//! with `N = ||w||^2`, `g = <w,e>`, `a = alpha^2 m2`, `b = beta^2`, `kappa = beta (1/beta + k_c)`
//! (paper: `1 + beta`, score: `0`),
//! `L(w) = (a g^2 + b N) N - 2 (a/b) g^2 - 2 kappa N + a/b^2 + (1/beta + k_c)^2 d` and
//! `grad L(w) = (4 b N + 2 a g^2 - 4 kappa) w + g (2 a N - 4 a / b) e`.
//! Stationary points: `w = 0`; `w` orthogonal to `e` with `N = kappa / b` (a saddle);
//! `w = +-g* e` with `g*^2 = N = (kappa + a/b) / (a + b)`; points with both components would need
//! `N = 2/b`, `a g^2 = 2 kappa - 4 < 0`, so they do not exist.

use rand::Rng;
use rand_distr::{Beta as BetaDist, Distribution};

use crate::claim::Convention;

/// Law of zeta on `[c_low, c_high]` (Def. 4.1). Minimal version of `theory::ZetaLaw`.
#[derive(Clone, Debug, PartialEq)]
pub enum Zeta {
    /// Uniform on `[a, b]`.
    Uniform {
        /// lower end
        a: f64,
        /// upper end
        b: f64,
    },
    /// `a + (b - a) B`, `B ~ Beta(p, q)`.
    Beta {
        /// shape p
        p: f64,
        /// shape q
        q: f64,
        /// lower end
        a: f64,
        /// upper end
        b: f64,
    },
    /// Equally weighted atoms.
    Discrete {
        /// atoms
        values: Vec<f64>,
    },
}

impl Zeta {
    /// A short label.
    pub fn label(&self) -> String {
        match self {
            Zeta::Uniform { a, b } => format!("uniform:{a}:{b}"),
            Zeta::Beta { p, q, a, b } => format!("beta:{p}:{q}:{a}:{b}"),
            Zeta::Discrete { values } => format!(
                "discrete:{}",
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// The laws used across the checks (index = the `zeta` parameter in draws).
    pub fn catalogue() -> Vec<Zeta> {
        vec![
            Zeta::Uniform { a: 0.2, b: 0.8 },
            Zeta::Uniform { a: 0.05, b: 0.45 },
            Zeta::Beta {
                p: 2.0,
                q: 5.0,
                a: 0.1,
                b: 0.9,
            },
            Zeta::Discrete {
                values: vec![0.25, 0.75],
            },
            Zeta::Discrete {
                values: vec![0.1, 0.3, 0.35],
            },
            Zeta::Uniform { a: 0.49, b: 0.51 },
        ]
    }

    /// `E[zeta^k]`, exact.
    pub fn moment(&self, k: i32) -> f64 {
        match self {
            Zeta::Uniform { a, b } => (b.powi(k + 1) - a.powi(k + 1)) / ((k + 1) as f64 * (b - a)),
            Zeta::Beta { p, q, a, b } => {
                // E[(a + (b-a)B)^k] by the binomial expansion and E[B^j] = prod (p+i)/(p+q+i).
                let mut s = 0.0;
                for j in 0..=k {
                    let mut eb = 1.0;
                    for i in 0..j {
                        eb *= (p + i as f64) / (p + q + i as f64);
                    }
                    s += binom(k, j) * a.powi(k - j) * (b - a).powi(j) * eb;
                }
                s
            }
            Zeta::Discrete { values } => {
                values.iter().map(|v| v.powi(k)).sum::<f64>() / values.len() as f64
            }
        }
    }

    /// `E[zeta]`.
    pub fn mean(&self) -> f64 {
        self.moment(1)
    }

    /// `Var(zeta)`.
    pub fn variance(&self) -> f64 {
        self.moment(2) - self.mean().powi(2)
    }

    /// `E[(1 - zeta)^2]`.
    pub fn m2_complement(&self) -> f64 {
        1.0 - 2.0 * self.moment(1) + self.moment(2)
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Zeta::Uniform { a, b } => a + (b - a) * rng.random::<f64>(),
            Zeta::Beta { p, q, a, b } => {
                let bd = BetaDist::new(*p, *q).expect("valid beta shapes");
                a + (b - a) * bd.sample(rng)
            }
            Zeta::Discrete { values } => values[rng.random_range(0..values.len())],
        }
    }

    /// Quadrature `(node, weight)` with weights summing to 1: exact atoms for discrete laws,
    /// `n`-point Gauss-Legendre with density weights for continuous ones.
    pub fn quadrature(&self, n: usize) -> Vec<(f64, f64)> {
        match self {
            Zeta::Discrete { values } => {
                let w = 1.0 / values.len() as f64;
                values.iter().map(|v| (*v, w)).collect()
            }
            Zeta::Uniform { a, b } => gauss_legendre(n, *a, *b)
                .into_iter()
                .map(|(x, w)| (x, w / (b - a)))
                .collect(),
            Zeta::Beta { p, q, a, b } => {
                let nodes = gauss_legendre(n, *a, *b);
                let dens: Vec<f64> = nodes
                    .iter()
                    .map(|(x, w)| {
                        let y = (x - a) / (b - a);
                        w * y.powf(p - 1.0) * (1.0 - y).powf(q - 1.0)
                    })
                    .collect();
                let z: f64 = dens.iter().sum();
                nodes
                    .iter()
                    .zip(dens)
                    .map(|((x, _), w)| (*x, w / z))
                    .collect()
            }
        }
    }
}

fn binom(n: i32, k: i32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// `n`-point Gauss-Legendre nodes and weights on `[a, b]` (Newton on `P_n`).
pub fn gauss_legendre(n: usize, a: f64, b: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    let (xm, xl) = (0.5 * (b + a), 0.5 * (b - a));
    for i in 0..n {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut pp = 0.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = ((2 * j + 1) as f64 * z * p2 - j as f64 * p3) / (j + 1) as f64;
            }
            pp = n as f64 * (z * p1 - p2) / (z * z - 1.0);
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() < 1e-15 {
                break;
            }
        }
        out.push((xm - xl * z, 2.0 * xl / ((1.0 - z * z) * pp * pp)));
    }
    out
}

/// Noise level `x_t = alpha_t x_0 + beta_t eps` of the continuous schedule of App. F:
/// `alpha_t = e^{-t}`, `beta_t = sqrt(1 - e^{-2t})`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// alpha_t
    pub alpha: f64,
    /// beta_t
    pub beta: f64,
}

impl Level {
    /// App. F schedule at time `t > 0`.
    pub fn from_t(t: f64) -> Self {
        Level {
            alpha: (-t).exp(),
            beta: (1.0 - (-2.0 * t).exp()).sqrt(),
        }
    }
    /// Rule target `alpha_t / beta_t^2` (Def. 4.3).
    pub fn target(&self) -> f64 {
        self.alpha / (self.beta * self.beta)
    }
}

/// Linear (sigma(x) = x), single-neuron patch of the score network (Eq. 1 with m = 1), with its
/// population DSM loss and gradient derived in this module's doc (App. E setting).
#[derive(Clone, Copy, Debug)]
pub struct LinearPatch {
    /// noise level
    pub level: Level,
    /// `E[c^2]` of the patch coefficient (`E[zeta^2]` or `E[(1-zeta)^2]`)
    pub m2: f64,
    /// loss convention
    pub conv: Convention,
}

impl LinearPatch {
    /// `a = alpha^2 m2`.
    pub fn a(&self) -> f64 {
        self.level.alpha.powi(2) * self.m2
    }
    /// `b = beta^2`.
    pub fn b(&self) -> f64 {
        self.level.beta.powi(2)
    }
    /// `kappa = beta (1/beta + k_c)`: paper `1 + beta`, score `0`.
    pub fn kappa(&self) -> f64 {
        let beta = self.level.beta;
        beta * (1.0 / beta + self.conv.target_coeff(beta))
    }
    /// Population loss of the patch, constant included (`d` = patch dimension).
    pub fn loss(&self, w: &[f64], e: &[f64]) -> f64 {
        let (a, b, k) = (self.a(), self.b(), self.kappa());
        let n = crate::stats::norm_sq(w);
        let g = crate::stats::dot(w, e);
        let beta = self.level.beta;
        let kc = 1.0 / beta + self.conv.target_coeff(beta);
        (a * g * g + b * n) * n - 2.0 * (a / b) * g * g - 2.0 * k * n
            + a / (b * b)
            + kc * kc * w.len() as f64
    }
    /// Population gradient `(4bN + 2a g^2 - 4 kappa) w + g (2aN - 4a/b) e`.
    pub fn grad(&self, w: &[f64], e: &[f64]) -> Vec<f64> {
        let (a, b, k) = (self.a(), self.b(), self.kappa());
        let n = crate::stats::norm_sq(w);
        let g = crate::stats::dot(w, e);
        let cw = 4.0 * b * n + 2.0 * a * g * g - 4.0 * k;
        let ce = g * (2.0 * a * n - 4.0 * a / b);
        w.iter().zip(e).map(|(wi, ei)| cw * wi + ce * ei).collect()
    }
    /// The stationary point GD reaches from a small init: `w = +-g* e`,
    /// `||w||^2 = <w,e>^2 = (kappa + a/b) / (a + b)`.
    pub fn stationary_norm_sq(&self) -> f64 {
        let (a, b) = (self.a(), self.b());
        (self.kappa() + a / b) / (a + b)
    }
    /// A safe GD step size (Hessian at the stationary point is at most `8 (kappa + a/b)`).
    pub fn safe_lr(&self) -> f64 {
        0.2 / (1.0 + self.kappa() + self.a() / self.b())
    }
}

/// Result of gradient descent in the coordinates `(g, p)` of `span(w0, e)`.
#[derive(Clone, Copy, Debug)]
pub struct Gd2 {
    /// `<w, e>`
    pub g: f64,
    /// `<w, w~0>/||w~0||` (component orthogonal to `e`)
    pub p: f64,
    /// GD iterations used
    pub iters: usize,
    /// gradient norm after the Newton polish
    pub grad_norm: f64,
    /// smallest Hessian eigenvalue in the `(g, p)` plane at the end (> 0: a local minimum)
    pub min_hess_eig: f64,
}

impl LinearPatch {
    /// Gradient of `L(g e + p w^)` in `(g, p)`: `L = a g^2 N + b N^2 - 2(a/b) g^2 - 2 kappa N`,
    /// `N = g^2 + p^2`; equals the components of [`LinearPatch::grad`] along `e` and `w^`.
    pub fn grad_2d(&self, g: f64, p: f64) -> (f64, f64) {
        let (a, b, k) = (self.a(), self.b(), self.kappa());
        let n = g * g + p * p;
        (
            g * (2.0 * a * n + 2.0 * a * g * g + 4.0 * b * n - 4.0 * a / b - 4.0 * k),
            p * (2.0 * a * g * g + 4.0 * b * n - 4.0 * k),
        )
    }
    /// Hessian of `L(g e + p w^)` in `(g, p)`.
    pub fn hess_2d(&self, g: f64, p: f64) -> [[f64; 2]; 2] {
        let (a, b, k) = (self.a(), self.b(), self.kappa());
        let n = g * g + p * p;
        let hgg = 2.0 * a * n + 2.0 * a * g * g + 4.0 * b * n - 4.0 * a / b - 4.0 * k
            + g * g * (8.0 * a + 8.0 * b);
        let hgp = g * p * (4.0 * a + 8.0 * b);
        let hpp = 2.0 * a * g * g + 4.0 * b * n - 4.0 * k + 8.0 * b * p * p;
        [[hgg, hgp], [hgp, hpp]]
    }
    /// GD on the loss restricted to `span(w0, e)` (GD never leaves it: claim `E.thm45.span`),
    /// written in the coordinates `(g, p)`: the same iterates as full-dimensional GD, at O(1) cost
    /// per step. Stops at `||grad|| < gd_tol`, then polishes with Newton steps (quadratic
    /// convergence) to `||grad|| < 1e-13` and reports the smallest Hessian eigenvalue.
    pub fn gd_2d(&self, g0: f64, p0: f64, lr: f64, max_iters: usize, gd_tol: f64) -> Gd2 {
        let (mut g, mut p) = (g0, p0);
        let mut iters = max_iters;
        for it in 0..max_iters {
            let (dg, dp) = self.grad_2d(g, p);
            if (dg * dg + dp * dp).sqrt() < gd_tol {
                iters = it;
                break;
            }
            g -= lr * dg;
            p -= lr * dp;
        }
        for _ in 0..50 {
            let (dg, dp) = self.grad_2d(g, p);
            if (dg * dg + dp * dp).sqrt() < 1e-13 {
                break;
            }
            let h = self.hess_2d(g, p);
            let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
            if det.abs() < 1e-300 {
                break;
            }
            g -= (h[1][1] * dg - h[0][1] * dp) / det;
            p -= (-h[1][0] * dg + h[0][0] * dp) / det;
        }
        let (dg, dp) = self.grad_2d(g, p);
        let h = self.hess_2d(g, p);
        let tr = h[0][0] + h[1][1];
        let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
        let min_eig = 0.5 * (tr - (tr * tr - 4.0 * det).max(0.0).sqrt());
        Gd2 {
            g,
            p,
            iters,
            grad_norm: (dg * dg + dp * dp).sqrt(),
            min_hess_eig: min_eig,
        }
    }
}

/// Result of gradient descent.
#[derive(Clone, Debug)]
pub struct GdResult {
    /// final weights
    pub w: Vec<f64>,
    /// iterations used
    pub iters: usize,
    /// final gradient norm (the stationarity certificate)
    pub grad_norm: f64,
}

/// Plain gradient descent on [`LinearPatch::loss`] from `w0`.
pub fn gd_linear(
    p: &LinearPatch,
    w0: &[f64],
    e: &[f64],
    lr: f64,
    max_iters: usize,
    grad_tol: f64,
) -> GdResult {
    let mut w = w0.to_vec();
    let mut gn = f64::INFINITY;
    for it in 0..max_iters {
        let g = p.grad(&w, e);
        gn = crate::stats::norm_sq(&g).sqrt();
        if gn < grad_tol {
            return GdResult {
                w,
                iters: it,
                grad_norm: gn,
            };
        }
        w.iter_mut().zip(&g).for_each(|(wi, gi)| *wi -= lr * gi);
    }
    GdResult {
        w,
        iters: max_iters,
        grad_norm: gn,
    }
}

/// `log p_t(x^(1), x^(2))` of Def. 4.1 computed from the definition
/// `p_t = E_zeta[ N(x; mu_t(zeta), beta^2 I_{2d}) ]` with `u = e_1`, `v = e_2` and the given
/// quadrature of zeta (full Gaussian log-densities, log-sum-exp over nodes).
pub fn log_density(x1: &[f64], x2: &[f64], level: Level, quad: &[(f64, f64)]) -> f64 {
    let d = x1.len();
    let b2 = level.beta * level.beta;
    let logs: Vec<f64> = quad
        .iter()
        .map(|(z, w)| {
            let mut s = 0.0;
            for i in 0..d {
                let m1 = if i == 0 { level.alpha * z } else { 0.0 };
                let m2 = if i == 1 { level.alpha * (1.0 - z) } else { 0.0 };
                s += (x1[i] - m1).powi(2) + (x2[i] - m2).powi(2);
            }
            w.ln() - s / (2.0 * b2) - (d as f64) * (2.0 * std::f64::consts::PI * b2).ln()
        })
        .collect();
    let mx = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    mx + logs.iter().map(|l| (l - mx).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_integrates_polynomials() {
        let q = gauss_legendre(8, 0.0, 2.0);
        let s: f64 = q.iter().map(|(x, w)| w * x.powi(7)).sum();
        assert!((s - 2f64.powi(8) / 8.0).abs() < 1e-10);
    }

    #[test]
    fn zeta_moments_match_quadrature() {
        for z in Zeta::catalogue() {
            let q = z.quadrature(64);
            for k in 1..=4 {
                let s: f64 = q.iter().map(|(x, w)| w * x.powi(k)).sum();
                assert!(
                    (s - z.moment(k)).abs() < 1e-6,
                    "{z:?} k={k}: {s} vs {}",
                    z.moment(k)
                );
            }
        }
    }

    #[test]
    fn linear_gradient_matches_finite_differences() {
        let p = LinearPatch {
            level: Level::from_t(0.4),
            m2: 0.3,
            conv: Convention::Paper,
        };
        let w = [0.3, -0.2, 0.5];
        let e = [1.0, 0.0, 0.0];
        let g = p.grad(&w, &e);
        for j in 0..3 {
            let mut wp = w;
            let mut wm = w;
            wp[j] += 1e-5;
            wm[j] -= 1e-5;
            let fd = (p.loss(&wp, &e) - p.loss(&wm, &e)) / 2e-5;
            assert!((fd - g[j]).abs() < 1e-6, "{j}: {fd} vs {}", g[j]);
        }
    }
}
