//! Theorem 4.5 (linear activation, m = 1): stationary points derived here in closed form, for both
//! conventions, and the bias C0 / variance C1 of the rule-conforming error at the point GD reaches.
//!
//! # Derivation (one patch; c = zeta for patch 1 with f = u, c = 1 - zeta for patch 2 with f = v)
//! Let n = ||w||^2, gamma = <w, f>, g = gamma^2, A = alpha^2 E[c^2], and the target
//! T = alpha c f / beta^2 + kappa eps (kappa = 1 + 1/beta for `paper`, 0 for `score`, see [`crate::loss`]).
//! With sigma(z) = z, g(x) = <w, x> w and x = alpha c f + beta eps:
//! - E||g||^2 = E[<w,x>^2] n = (alpha^2 E[c^2] g + beta^2 n) n = (A g + beta^2 n) n;
//! - E<g, T> = E[<w,x> <w,T>] = E[(alpha c gamma + beta <w,eps>)(alpha c gamma / beta^2 + kappa <w,eps>)]
//!   = A g / beta^2 + kappa beta n;
//!
//! so L(w) = A g n + beta^2 n^2 - 2 A g / beta^2 - 2 kappa beta n + E||T||^2.
//! With L_n = A g + 2 beta^2 n - 2 kappa beta and L_g = A n - 2 A / beta^2, the gradient is
//! grad L = 2 L_n w + 2 L_g gamma f. Writing w = gamma f + w_perp, stationarity is
//! gamma (L_n + L_g) = 0 and L_n w_perp = 0. The solutions:
//! 1. w = 0 (Zero);
//! 2. w_perp = 0, gamma != 0 (Aligned): n = g and L_n + L_g = 0, i.e. 2 (A + beta^2) n = 2 (kappa beta + A / beta^2):
//!    **n = g = (kappa beta + A/beta^2) / (A + beta^2)**
//!    (score: A / (beta^2 (A + beta^2)); paper: (1 + beta + A/beta^2) / (A + beta^2));
//! 3. gamma = 0, w_perp != 0 (Orthogonal): L_n = 0 with g = 0: n = kappa / beta: exists only for `paper`
//!    (n = (1 + beta)/beta^2); along f, L_g = (A/beta^2)(kappa beta - 2) = (A/beta^2)(beta - 1) < 0: a saddle;
//! 4. gamma != 0, w_perp != 0 (Mixed): L_n = L_g = 0: n = 2/beta^2, g = (2 kappa beta - 4)/A, which is < 0
//!    for both conventions (kappa beta = 1 + beta < 2 for beta < 1): no such point.
//!
//! The Aligned point is a strict local minimum (checked numerically from the Hessian below): along f
//! L = (A + beta^2) gamma^4 - 2 (kappa beta + A/beta^2) gamma^2, and across, L_n = (A + 2 beta^2) n - 2 kappa beta > 0
//! iff A/beta^2 + 2 > kappa beta, always true. From small initialisation the f-component grows fastest
//! (rate 2(kappa beta + A/beta^2) vs 2 kappa beta), and GD converges to the Aligned point: w* = +-sqrt(n) f.
//!
//! # Rule error at the Aligned points
//! psi = sum_p <w_p, x_p> <w_p, f_p> = alpha (zeta g_1 + (1 - zeta) g_2) + beta (g_1 Z_1 + g_2 Z_2)
//! (Z_p = <f_p, eps_p> independent N(0,1) when w_p = gamma_p f_p; in general the noise part has
//! variance beta^2 (n_1 g_1 + n_2 g_2)). Hence
//! - E psi = alpha (E[zeta] g_1 + E[1 - zeta] g_2), **C0 = |E psi - alpha/beta^2|**;
//! - **C1 = Var psi = alpha^2 Var(zeta) (g_1 - g_2)^2 + beta^2 (n_1 g_1 + n_2 g_2)**
//!   (the zeta-parts of the two patches are perfectly anti-correlated: Cov(zeta, 1 - zeta) = -Var zeta).

use crate::loss::Convention;
use crate::schedule::NoiseLevel;
use crate::zeta::ZetaLaw;
use serde::{Deserialize, Serialize};

/// Which family of stationary points (see the module derivation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StationaryKind {
    /// w = 0
    Zero,
    /// w parallel to the feature f
    Aligned,
    /// w orthogonal to f (paper convention only)
    Orthogonal,
    /// both components non-zero (does not occur for t > 0; kept so that the check is explicit)
    Mixed,
}

/// A stationary point of one patch's loss (linear, m = 1), described by n = ||w||^2 and g = <w, f>^2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StationaryPoint {
    /// family
    pub kind: StationaryKind,
    /// ||w||^2
    pub w_norm_sq: f64,
    /// <w, f>^2 (f = u for patch 1, v for patch 2)
    pub w_dot_f_sq: f64,
    /// the w-dependent part of the loss, A g n + beta^2 n^2 - 2 A g/beta^2 - 2 kappa beta n
    pub reduced_loss: f64,
    /// eigenvalues of the Hessian of the loss in the (gamma, |w_perp|) plane
    pub hessian_eigs: [f64; 2],
    /// strict local minimum (Hessian eigenvalues > 0 and curvature across >= 0)
    pub local_min: bool,
}

fn point(
    kind: StationaryKind,
    a: f64,
    level: NoiseLevel,
    kappa: f64,
    n: f64,
    g: f64,
) -> StationaryPoint {
    let b2 = level.beta_t.powi(2);
    let kb = kappa * level.beta_t;
    let ln = a * g + 2.0 * b2 * n - 2.0 * kb;
    let lg = a * n - 2.0 * a / b2;
    let (lnn, lng) = (2.0 * b2, a);
    let gamma2 = g;
    let rho2 = n - g;
    let hgg = 2.0 * (ln + lg) + 4.0 * gamma2 * (lnn + 2.0 * lng);
    let hrr = 2.0 * ln + 4.0 * rho2 * lnn;
    let hgr = 4.0 * (gamma2 * rho2).max(0.0).sqrt() * (lnn + lng);
    let tr = hgg + hrr;
    let det = hgg * hrr - hgr * hgr;
    let disc = ((tr * tr / 4.0) - det).max(0.0).sqrt();
    let eigs = [tr / 2.0 - disc, tr / 2.0 + disc];
    StationaryPoint {
        kind,
        w_norm_sq: n,
        w_dot_f_sq: g,
        reduced_loss: a * g * n + b2 * n * n - 2.0 * a * g / b2 - 2.0 * kb * n,
        hessian_eigs: eigs,
        local_min: eigs[0] > 0.0 && ln >= -1e-12,
    }
}

/// All stationary points of one patch's loss, given `second_moment` = E[c^2] (E[zeta^2] for
/// patch 1, E[(1 - zeta)^2] for patch 2).
pub fn stationary_points_patch(
    second_moment: f64,
    level: NoiseLevel,
    conv: Convention,
) -> Vec<StationaryPoint> {
    let (al, be) = (level.alpha_t, level.beta_t);
    let b2 = be * be;
    let a = al * al * second_moment;
    let kappa = conv.kappa(level);
    let mut out = vec![point(StationaryKind::Zero, a, level, kappa, 0.0, 0.0)];
    let n_al = (kappa * be + a / b2) / (a + b2);
    out.push(point(StationaryKind::Aligned, a, level, kappa, n_al, n_al));
    if kappa > 0.0 {
        out.push(point(
            StationaryKind::Orthogonal,
            a,
            level,
            kappa,
            kappa / be,
            0.0,
        ));
    }
    // Mixed points need g = (2 kappa beta - 4)/A in (0, n = 2/beta^2): check rather than assume.
    let g_mixed = (2.0 * kappa * be - 4.0) / a;
    if g_mixed > 0.0 && g_mixed < 2.0 / b2 {
        out.push(point(
            StationaryKind::Mixed,
            a,
            level,
            kappa,
            2.0 / b2,
            g_mixed,
        ));
    }
    out
}

/// Bias C0, variance C1 and their combination for a linear m = 1 network with per-patch
/// (n_p, g_p) = (||w_p||^2, <w_p, f_p>^2) (formula of the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearRuleError {
    /// E psi
    pub mean_psi: f64,
    /// alpha / beta^2
    pub target: f64,
    /// C0 = |E psi - target|
    pub c0: f64,
    /// C1 = Var psi
    pub c1: f64,
    /// E = C0^2 + C1
    pub mse: f64,
}

/// Rule error of a linear m = 1 network from (n_p, g_p).
pub fn linear_m1_rule_error(
    zeta: &ZetaLaw,
    level: NoiseLevel,
    n1: f64,
    g1: f64,
    n2: f64,
    g2: f64,
) -> LinearRuleError {
    let (al, b2) = (level.alpha_t, level.beta_t.powi(2));
    let mean = al * (zeta.mean() * g1 + (1.0 - zeta.mean()) * g2);
    let target = al / b2;
    let c0 = (mean - target).abs();
    let c1 = al * al * zeta.variance() * (g1 - g2).powi(2) + b2 * (n1 * g1 + n2 * g2);
    LinearRuleError {
        mean_psi: mean,
        target,
        c0,
        c1,
        mse: c0 * c0 + c1,
    }
}

/// Theorem 4.5's quantities at the point GD reaches (the Aligned local minimum of each patch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thm45Solution {
    /// convention
    pub convention: Convention,
    /// alpha_t
    pub alpha_t: f64,
    /// beta_t
    pub beta_t: f64,
    /// reached stationary point of patch 1
    pub patch1: StationaryPoint,
    /// reached stationary point of patch 2
    pub patch2: StationaryPoint,
    /// all stationary points of patch 1
    pub all_patch1: Vec<StationaryPoint>,
    /// all stationary points of patch 2
    pub all_patch2: Vec<StationaryPoint>,
    /// bias/variance at the reached points
    pub rule: LinearRuleError,
}

/// Closed-form Thm 4.5 solution for both patches.
pub fn thm45_solution(zeta: &ZetaLaw, level: NoiseLevel, conv: Convention) -> Thm45Solution {
    let all1 = stationary_points_patch(zeta.moment(2), level, conv);
    let all2 = stationary_points_patch(zeta.moment_one_minus(2), level, conv);
    let p1 = all1[1];
    let p2 = all2[1];
    let rule = linear_m1_rule_error(
        zeta,
        level,
        p1.w_norm_sq,
        p1.w_dot_f_sq,
        p2.w_norm_sq,
        p2.w_dot_f_sq,
    );
    Thm45Solution {
        convention: conv,
        alpha_t: level.alpha_t,
        beta_t: level.beta_t,
        patch1: p1,
        patch2: p2,
        all_patch1: all1,
        all_patch2: all2,
        rule,
    }
}

/// (C0, C1) of Thm 4.5 at the point gradient descent reaches.
pub fn c0_c1(zeta: &ZetaLaw, level: NoiseLevel, conv: Convention) -> (f64, f64) {
    let s = thm45_solution(zeta, level, conv);
    (s.rule.c0, s.rule.c1)
}
