//! Claims checked against the `theory` crate: its exact score (Thm 4.2) against finite
//! differences of this crate's own density, its closed-form stationary points and C0/C1
//! (Thm 4.5) against GD and Monte Carlo, Thm 4.4's lower bound for trained networks of each
//! activation and width, and the Figure 6 / App. F Monte Carlo recipe.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use theory::{Activation, ExactScore, NoiseLevel, TwoPatchModel, ZetaLaw};

use crate::checks::app_e::{gd_stationary, stationary_both};
use crate::checks::thm42::fd_score;
use crate::claim::{CheckError, Claim, Convention, Ctx, Draw, Evidence, Relation};
use crate::minimal::{Level, LinearPatch, Zeta};
use crate::stats::{normal, se_of_variance, Welford};

fn te(e: theory::TheoryError) -> CheckError {
    CheckError::Theory(e.to_string())
}

/// The same law in `theory`'s type.
pub fn to_theory_law(z: &Zeta) -> ZetaLaw {
    match z {
        Zeta::Uniform { a, b } => ZetaLaw::Uniform { a: *a, b: *b },
        Zeta::Beta { p, q, a, b } => ZetaLaw::Beta {
            p: *p,
            q: *q,
            a: *a,
            b: *b,
        },
        Zeta::Discrete { values } => ZetaLaw::Discrete {
            values: values.clone(),
            weights: vec![1.0 / values.len() as f64; values.len()],
        },
    }
}

fn to_theory_conv(c: Convention) -> theory::Convention {
    match c {
        Convention::Paper => theory::Convention::Paper,
        Convention::Score => theory::Convention::Score,
    }
}

fn level_of(l: Level) -> Result<NoiseLevel, CheckError> {
    NoiseLevel::new(l.alpha, l.beta).map_err(te)
}

/// `theory.score`: theory's exact score vs central FD of this crate's `log p_t` (its own
/// 200-node Gauss-Legendre quadrature for continuous laws; exact atoms for discrete ones).
pub fn check_theory_score(
    ctx: &Ctx,
    _c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let mut ev = Evidence::default();
    let laws = Zeta::catalogue();
    for _ in 0..ctx.size(30, 8) {
        let zi = rng.random_range(0..4);
        let d = [2usize, 4, 8][rng.random_range(0..3)];
        let t = rng.random_range(0.05..1.5);
        let level = Level::from_t(t);
        let model = TwoPatchModel::new(d, to_theory_law(&laws[zi])).map_err(te)?;
        let sc = ExactScore::new(&model, level_of(level)?, 64);
        let z = laws[zi].sample(rng);
        let mut x1: Vec<f64> = (0..d).map(|_| level.beta * normal(rng)).collect();
        let mut x2: Vec<f64> = (0..d).map(|_| level.beta * normal(rng)).collect();
        x1[0] += level.alpha * z;
        x2[1] += level.alpha * (1.0 - z);
        let (s1, s2) = sc.score(&x1, &x2).map_err(te)?;
        let (f1, f2) = fd_score(&x1, &x2, level, &laws[zi].quadrature(200), 1e-5);
        let (mut bp, mut bf, mut best) = (0.0, 0.0, -1.0);
        for (a, b) in s1.iter().chain(&s2).zip(f1.iter().chain(&f2)) {
            if (a - b).abs() > best {
                best = (a - b).abs();
                bp = *a;
                bf = *b;
            }
        }
        ev.draws.push(Draw::new(
            &[("d", d as f64), ("t", t), ("zeta_law", zi as f64)],
            bp,
            bf,
            Relation::Approx,
            1e-5 * (1.0 + bp.abs()),
            d as f64 + t,
        ));
    }
    Ok(ev)
}

/// `theory.stationary`: theory's closed-form Aligned point (the one it says GD reaches) vs GD,
/// and: it is the only stationary point theory marks as a local minimum.
pub fn check_theory_stationary(
    ctx: &Ctx,
    c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let conv = c.unwrap_or(Convention::Paper);
    let mut ev = Evidence::default();
    let ts: &[f64] = if ctx.quick {
        &[0.1, 0.6]
    } else {
        &[0.05, 0.2, 0.4, 0.8, 1.2]
    };
    for &t in ts {
        for (zi, law) in Zeta::catalogue().iter().enumerate() {
            for patch in 1..=2usize {
                let m2 = if patch == 1 {
                    law.moment(2)
                } else {
                    law.m2_complement()
                };
                let level = Level::from_t(t);
                let lp = LinearPatch { level, m2, conv };
                let (n, g2, _) = gd_stationary(&lp, 16, 0.1 / 4.0, rng)?;
                let pts =
                    theory::stationary_points_patch(m2, level_of(level)?, to_theory_conv(conv));
                let mins: Vec<_> = pts.iter().filter(|p| p.local_min).collect();
                let ps = [
                    ("t", t),
                    ("zeta_law", zi as f64),
                    ("patch", patch as f64),
                    ("n_local_min", mins.len() as f64),
                ];
                let (tn, tg) = if mins.len() == 1 {
                    (mins[0].w_norm_sq, mins[0].w_dot_f_sq)
                } else {
                    (f64::NAN, f64::NAN)
                };
                ev.draws
                    .push(Draw::new(&ps, tn, n, Relation::Approx, 1e-7 * (1.0 + n), t));
                ev.draws.push(Draw::new(
                    &ps,
                    tg,
                    g2,
                    Relation::Approx,
                    1e-7 * (1.0 + n),
                    t,
                ));
            }
        }
    }
    ev.notes.push("paper side = theory::stationary_points_patch's unique local minimum (NaN if not unique); computed = GD (suite, d = 16)".into());
    Ok(ev)
}

/// `theory.c0_c1`: theory's `c0_c1` vs Monte Carlo of psi at the suite's GD stationary point.
pub fn check_theory_c0_c1(
    ctx: &Ctx,
    c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let conv = c.unwrap_or(Convention::Paper);
    let mut ev = Evidence::default();
    let ts: &[f64] = if ctx.quick {
        &[0.2, 0.8]
    } else {
        &[0.1, 0.2, 0.4, 0.8, 1.2]
    };
    let n_mc = ctx.size(40_000, 8_000);
    for &t in ts {
        for (zi, law) in Zeta::catalogue()
            .iter()
            .enumerate()
            .take(if ctx.quick { 3 } else { 6 })
        {
            let level = Level::from_t(t);
            let st = stationary_both(level, law, conv, 8, n_mc, rng)?;
            let (c0, c1) =
                theory::c0_c1(&to_theory_law(law), level_of(level)?, to_theory_conv(conv));
            let mut w = Welford::new();
            st.psi.iter().for_each(|p| w.push(*p));
            ev.draws.push(Draw::new(
                &[("t", t), ("zeta_law", zi as f64), ("quantity", 0.0)],
                c0,
                (w.mean() - level.target()).abs(),
                Relation::Approx,
                5.0 * w.se(),
                t,
            ));
            ev.draws.push(Draw::new(
                &[("t", t), ("zeta_law", zi as f64), ("quantity", 1.0)],
                c1,
                w.var(),
                Relation::Approx,
                5.0 * se_of_variance(&st.psi),
                t,
            ));
        }
    }
    ev.notes.push("quantity 0: C0 (bias), 1: C1 (variance); computed by Monte Carlo of psi at the suite's GD stationary point".into());
    Ok(ev)
}

/// psi (Def. 4.3) computed here from the weights (independent of `theory::ScoreNet::psi`).
fn psi_own(net: &theory::ScoreNet, x1: &[f64], x2: &[f64]) -> f64 {
    let mut s = 0.0;
    for (p, x, fi) in [(1usize, x1, 0usize), (2, x2, 1)] {
        let w = net.weights(p);
        for r in 0..w.nrows() {
            let a: f64 = (0..x.len()).map(|i| w[(r, i)] * x[i]).sum();
            s += net.activation.eval(a) * w[(r, fi)];
        }
    }
    s
}

/// `Thm44.bound`: E >= Thm 4.4's bound for GD-trained networks of each activation and width.
pub fn check_thm44(
    ctx: &Ctx,
    c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let conv = c.unwrap_or(Convention::Paper);
    let mut ev = Evidence::default();
    let widths: &[usize] = if ctx.quick { &[1, 3] } else { &[1, 3, 6] };
    let d = 8;
    let t = 0.4;
    let level = Level::from_t(t);
    let law = Zeta::catalogue()[0].clone();
    let model = TwoPatchModel::new(d, to_theory_law(&law)).map_err(te)?;
    let n_mc = ctx.size(40_000, 8_000);
    let n_outer = ctx.size(3_000, 600);
    for act in Activation::ALL {
        for &m in widths {
            let seed = rng.random::<u64>();
            let gd = theory::GdConfig {
                seed,
                max_iters: ctx.size(1500, 300),
                grad_tol: 1e-7,
                ..theory::GdConfig::default()
            };
            let out = theory::train(&model, level_of(level)?, act, m, to_theory_conv(conv), &gd)
                .map_err(te)?;
            let mut r2 = ChaCha8Rng::seed_from_u64(seed ^ 0xB0B);
            let bound = theory::thm44_lower_bound(&out, &model, level_of(level)?, n_outer, &mut r2)
                .map_err(te)?;
            let mut acc = Welford::new();
            for _ in 0..n_mc {
                let z = law.sample(rng);
                let x1: Vec<f64> = (0..d)
                    .map(|i| if i == 0 { level.alpha * z } else { 0.0 } + level.beta * normal(rng))
                    .collect();
                let x2: Vec<f64> = (0..d).map(|i| if i == 1 { level.alpha * (1.0 - z) } else { 0.0 } + level.beta * normal(rng)).collect();
                acc.push((psi_own(&out.net, &x1, &x2) - level.target()).powi(2));
            }
            let tol = 5.0 * (acc.se().powi(2) + bound.std_err.powi(2)).sqrt();
            let ps = [
                ("activation", act as u8 as f64),
                ("m", m as f64),
                ("d", d as f64),
                ("t", t),
            ];
            ev.draws.push(Draw::new(
                &ps,
                bound.value,
                acc.mean(),
                Relation::AtLeast,
                tol,
                m as f64,
            ));
            ev.notes.push(format!(
                "{} m = {m}: E (MC) = {:.5} +- {:.5}, bound = {:.5} +- {:.5}, bound/E = {:.3}; GD grad norm {:.2e} after {} iters (converged: {}), span residual {:.1e}",
                act.name(),
                acc.mean(),
                acc.se(),
                bound.value,
                bound.std_err,
                bound.value / acc.mean(),
                out.grad_norm,
                out.iters,
                out.converged,
                bound.max_span_residual
            ));
        }
    }
    ev.notes.push("activation 0 relu, 1 linear, 2 quadratic, 3 cubic; networks trained by theory::train (Auto estimator, Armijo GD); E by this crate's own Monte Carlo of psi; bound by theory::thm44_lower_bound (nested MC + Gauss-Hermite)".into());
    Ok(ev)
}

/// `F.fig6`: App. F's Monte Carlo training recipe (reduced sizes) gives non-zero bias and
/// variance of psi for all four activations at t in {0.2, 0.4, 0.6, 0.8}.
pub fn check_fig6(
    ctx: &Ctx,
    c: Option<Convention>,
    rng: &mut ChaCha8Rng,
) -> Result<Evidence, CheckError> {
    let conv = c.unwrap_or(Convention::Paper);
    let mut ev = Evidence::default();
    let cfg = theory::Figure6Config {
        d: ctx.size(16, 10),
        m: ctx.size(6, 4),
        n_psi: ctx.size(5000, 2000),
        convention: to_theory_conv(conv),
        seed: rng.random::<u64>(),
        gd: theory::GdConfig {
            lr: 0.02,
            max_iters: ctx.size(1000, 400),
            grad_tol: 0.0,
            estimator: theory::Estimator::MonteCarlo {
                n: ctx.size(60, 50),
                n_eps: 4,
            },
            step: theory::StepRule::Fixed,
            ..theory::GdConfig::default()
        },
        ..theory::Figure6Config::default()
    };
    // figure6_panel per (activation, t) so that the cubic network gets a smaller fixed step
    // (0.02 diverges for it); panels in parallel.
    use rayon::prelude::*;
    let jobs: Vec<(usize, Activation, f64)> = Activation::ALL
        .iter()
        .flat_map(|a| cfg.ts.iter().map(move |t| (*a, *t)))
        .enumerate()
        .map(|(i, (a, t))| (i, a, t))
        .collect();
    let panels: Vec<theory::Figure6Panel> = jobs
        .par_iter()
        .map(|&(i, a, t)| {
            let lr = if a == Activation::Cubic { 0.005 } else { 0.02 };
            let c2 = theory::Figure6Config {
                gd: theory::GdConfig { lr, ..cfg.gd },
                ..cfg.clone()
            };
            theory::figure6_panel(&c2, a, t, cfg.seed.wrapping_add(i as u64))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(te)?;
    for p in &panels {
        let n = p.psi.len() as f64;
        let se_mean = (p.rule.variance / n).sqrt();
        let ps = [
            ("activation", p.activation as u8 as f64),
            ("t", p.t),
            ("quantity", 0.0),
        ];
        ev.draws.push(Draw::new(
            &ps,
            0.0,
            p.rule.bias,
            Relation::Positive,
            5.0 * se_mean,
            p.t,
        ));
        let ps = [
            ("activation", p.activation as u8 as f64),
            ("t", p.t),
            ("quantity", 1.0),
        ];
        ev.draws.push(Draw::new(
            &ps,
            0.0,
            p.rule.variance,
            Relation::Positive,
            5.0 * se_of_variance(&p.psi),
            p.t,
        ));
        ev.notes.push(format!(
            "{} t = {}: target {:.4}, mean psi {:.4}, bias {:.4}, variance {:.4}, last grad norm {:.2e}",
            p.activation.name(),
            p.t,
            p.target,
            p.rule.mean_psi,
            p.rule.bias,
            p.rule.variance,
            p.grad_norm
        ));
    }
    ev.notes.push(format!(
        "App. F recipe at reduced size: d = {}, m = {}, fresh n = {} data x n_eps = 4 noises per step, fixed lr 0.02 (cubic 0.005), {} steps, {} psi samples (paper: d = 100, m = 20, 1000 x 1000 per epoch, 5000 epochs, 5000 samples); quantity 0: bias > 5 SE of the mean, 1: variance > 5 SE of the variance; activation 0 relu, 1 linear, 2 quadratic, 3 cubic",
        cfg.d, cfg.m, ctx.size(60, 50), cfg.gd.max_iters, cfg.n_psi
    ));
    Ok(ev)
}

const MC5: &str = "5 Monte Carlo standard errors (estimated from the samples)";

/// The claims that call into `theory`.
pub fn claims() -> Vec<Claim> {
    vec![
        Claim {
            id: "theory.score",
            paper_location: "Sec. 4, Thm 4.2 (theory::ExactScore)",
            statement: "theory's implementation of the Thm 4.2 score is the gradient of log p_t.",
            method: "central finite differences of this crate's own log p_t (200-node Gauss-Legendre / exact atoms)",
            tolerance: "1e-5 (1 + |value|): FD truncation and rounding (see Thm42.score) plus quadrature differences far below it",
            draws: "30 (quick 8) points: d in {2,4,8}, t ~ U(0.05,1.5), 4 laws",
            paper_label: "theory score",
            computed_label: "FD of log p_t",
            convention_dependent: false,
            run: check_theory_score,
        },
        Claim {
            id: "theory.stationary",
            paper_location: "Sec. 4, Thm 4.5 / App. E (theory::stationary_points_patch)",
            statement: "theory's closed form: the unique local minimum is w* parallel to the feature with ||w*||^2 = <w*,f>^2 = (kappa beta + A/beta^2)/(A + beta^2); GD reaches it.",
            method: "GD (this crate) to ||grad|| < 1e-13",
            tolerance: "1e-7 (1 + ||w||^2) (GD certificate)",
            draws: "t in {0.05,0.2,0.4,0.8,1.2} (quick {0.1,0.6}) x 6 laws x 2 patches",
            paper_label: "theory closed form",
            computed_label: "GD",
            convention_dependent: true,
            run: check_theory_stationary,
        },
        Claim {
            id: "theory.c0_c1",
            paper_location: "Sec. 4, Thm 4.5 (theory::c0_c1)",
            statement: "theory's C0 (bias) and C1 (variance) at the stationary point equal the Monte Carlo bias and variance of psi there.",
            method: "Monte Carlo of psi at this crate's GD stationary point",
            tolerance: MC5,
            draws: "t in {0.1,0.2,0.4,0.8,1.2} (quick {0.2,0.8}) x 6 (quick 3) laws",
            paper_label: "theory C0 / C1",
            computed_label: "MC",
            convention_dependent: true,
            run: check_theory_c0_c1,
        },
        Claim {
            id: "Thm44.bound",
            paper_location: "Sec. 4, Thm 4.4",
            statement: "For a stationary point of the DDPM loss, E >= sum_p E[Var(sigma~_p(<f_p, eps_perp>) | zeta, eps_-)].",
            method: "networks of each activation and width trained by GD (theory::train); E by Monte Carlo of psi (own code); bound by theory::thm44_lower_bound",
            tolerance: "E >= bound - 5 combined standard errors",
            draws: "4 activations x m in {1,3,6} (quick {1,3}), d = 8, t = 0.4, zeta ~ U[0.2,0.8]",
            paper_label: "bound",
            computed_label: "MC E",
            convention_dependent: true,
            run: check_thm44,
        },
        Claim {
            id: "F.fig6",
            paper_location: "Sec. 4 Figure 6, App. F",
            statement: "With App. F's Monte Carlo training recipe, psi_t has non-zero bias and variance for ReLU, linear, quadratic and cubic activations at t in {0.2,0.4,0.6,0.8}.",
            method: "theory::figure6_grid with the MonteCarlo estimator (fresh samples each step, fixed step) at reduced sizes; bias and variance of psi samples",
            tolerance: "bias > 5 SE of the mean; variance > 5 SE of the sample variance",
            draws: "4 activations x 4 times, one trained network each",
            paper_label: "0",
            computed_label: "bias / variance",
            convention_dependent: true,
            run: check_fig6,
        },
    ]
}
