//! Thm 4.5 (linear, m = 1): gradient descent from small init reaches the closed form of
//! `theory::stationary`, for both conventions; C0/C1 agree with the exact and sampled rule error.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use theory::*;

#[test]
fn gd_reaches_closed_form_stationary_point() {
    for zeta in ["uniform:0.2:0.8", "beta:2:5:0.1:0.9", "discrete:0.3,0.6"] {
        let zeta = ZetaLaw::parse(zeta).unwrap();
        let model = TwoPatchModel::new(20, zeta.clone()).unwrap();
        for t in [0.2, 0.8] {
            let level = Schedule::Continuous.level(t).unwrap();
            for cv in [Convention::Paper, Convention::Score] {
                let cfg = GdConfig {
                    seed: 3,
                    grad_tol: 1e-10,
                    ..GdConfig::default()
                };
                let out = train(&model, level, Activation::Linear, 1, cv, &cfg).unwrap();
                assert!(out.converged, "{cv} t={t}: ||grad|| = {}", out.grad_norm);
                let sol = thm45_solution(&zeta, level, cv);
                for (p, sp) in [(1usize, sol.patch1), (2, sol.patch2)] {
                    let w = out.net.weights(p).row(0).transpose();
                    let f = model.feature(p);
                    let n = w.norm_squared();
                    let g = w.dot(f).powi(2);
                    assert!(
                        (n - sp.w_norm_sq).abs() < 1e-8 * sp.w_norm_sq,
                        "{cv} t={t} p={p}: GD n={n} closed {}",
                        sp.w_norm_sq
                    );
                    assert!(
                        (g - sp.w_dot_f_sq).abs() < 1e-8 * sp.w_dot_f_sq,
                        "{cv} t={t} p={p}: GD g={g} closed {}",
                        sp.w_dot_f_sq
                    );
                    assert!(sp.local_min);
                }
                // C0, C1 vs the exact rule error of the trained net
                let ex = rule_error_exact(&out.net, &model, level).unwrap();
                assert!(
                    (ex.bias - sol.rule.c0).abs() < 1e-7 * (1.0 + sol.rule.c0),
                    "C0 {} vs {}",
                    sol.rule.c0,
                    ex.bias
                );
                assert!(
                    (ex.variance - sol.rule.c1).abs() < 1e-7 * (1.0 + sol.rule.c1),
                    "C1 {} vs {}",
                    sol.rule.c1,
                    ex.variance
                );
                assert!(sol.rule.c0 > 0.0 && sol.rule.c1 > 0.0);
            }
        }
    }
}

#[test]
fn only_aligned_points_are_minima() {
    let zeta = ZetaLaw::parse("uniform:0.2:0.8").unwrap();
    for t in [0.05, 0.4, 1.5] {
        let level = Schedule::Continuous.level(t).unwrap();
        for cv in [Convention::Paper, Convention::Score] {
            let pts = stationary_points_patch(zeta.moment(2), level, cv);
            assert_eq!(pts.len(), if cv == Convention::Paper { 3 } else { 2 });
            for p in &pts {
                assert_eq!(
                    p.local_min,
                    p.kind == StationaryKind::Aligned,
                    "{cv} t={t} {:?}",
                    p
                );
            }
        }
    }
}

#[test]
fn closed_form_c0_c1_match_sampling() {
    let zeta = ZetaLaw::parse("beta:2:2:0.2:0.9").unwrap();
    let model = TwoPatchModel::new(8, zeta.clone()).unwrap();
    let level = Schedule::Continuous.level(0.4).unwrap();
    for cv in [Convention::Paper, Convention::Score] {
        let out = train(
            &model,
            level,
            Activation::Linear,
            1,
            cv,
            &GdConfig::default(),
        )
        .unwrap();
        let sol = thm45_solution(&zeta, level, cv);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mc = rule_error_mc(&out.net, &model, level, 200_000, &mut rng).unwrap();
        assert!(
            (mc.mse - sol.rule.mse).abs() <= 5.0 * mc.mse_std_err,
            "{cv}: mc {} ± {} closed {}",
            mc.mse,
            mc.mse_std_err,
            sol.rule.mse
        );
        assert!((mc.bias_sq + mc.variance - mc.mse).abs() < 1e-9 * mc.mse);
    }
}
