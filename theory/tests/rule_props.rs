//! Def. 4.3 and Thm 4.4: exact rule error vs sampling, bias^2 + variance = E, Thm 4.4 bound <= E.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use theory::*;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[5; 32]),
    )
}

fn poly_act() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Linear),
        Just(Activation::Quadratic),
        Just(Activation::Cubic)
    ]
}

/// The exact rule error (Gaussian moments + Gauss rule in zeta) agrees with sampling within 5 standard
/// errors, its mean within 5 standard errors, and bias^2 + variance = E in both.
#[test]
fn exact_rule_error_matches_sampling() {
    runner(8)
        .run(
            &(poly_act(), 0.1f64..1.0, 1usize..4, any::<u64>()),
            |(act, t, m, seed)| {
                let model =
                    TwoPatchModel::new(5, ZetaLaw::parse("beta:2:3:0.1:0.9").unwrap()).unwrap();
                let level = Schedule::Continuous.level(t).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let net = ScoreNet::init_gaussian(act, 5, m, 0.5, &mut rng).unwrap();
                let ex = rule_error_exact(&net, &model, level).unwrap();
                let psi = psi_samples(&net, &model, level, 40_000, &mut rng).unwrap();
                let mc = RuleError::from_samples(&psi, level.target()).unwrap();
                let se_mean = (mc.variance / psi.len() as f64).sqrt();
                prop_assert!(
                    (mc.mean_psi - ex.mean_psi).abs() <= 5.0 * se_mean,
                    "mean {} vs {}",
                    mc.mean_psi,
                    ex.mean_psi
                );
                prop_assert!(
                    (mc.mse - ex.mse).abs() <= 5.0 * mc.mse_std_err,
                    "E {} ± {} vs {}",
                    mc.mse,
                    mc.mse_std_err,
                    ex.mse
                );
                prop_assert!((ex.bias_sq + ex.variance - ex.mse).abs() <= 1e-9 * (1.0 + ex.mse));
                prop_assert!((mc.bias_sq + mc.variance - mc.mse).abs() <= 1e-9 * (1.0 + mc.mse));
                Ok(())
            },
        )
        .unwrap();
}

/// Thm 4.4: for trained networks (all four activations, both conventions) the bound does not exceed E
/// (exact E for polynomial activations, sampled for ReLU), allowing 4 standard errors of the estimates.
#[test]
fn thm44_bound_below_rule_error() {
    let model = TwoPatchModel::new(12, ZetaLaw::parse("uniform:0.2:0.8").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.4).unwrap();
    for act in Activation::ALL {
        for cv in [Convention::Paper, Convention::Score] {
            let cfg = GdConfig {
                max_iters: 2000,
                grad_tol: 1e-6,
                seed: 9,
                estimator: Estimator::Auto,
                ..GdConfig::default()
            };
            let out = train(&model, level, act, 3, cv, &cfg).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let b = thm44_lower_bound(&out, &model, level, 4000, &mut rng).unwrap();
            assert!(
                b.max_span_residual < 1e-8,
                "weights left span(f, W0): {}",
                b.max_span_residual
            );
            let (e, se) = match rule_error_exact(&out.net, &model, level) {
                Ok(r) => (r.mse, 0.0),
                Err(_) => {
                    let r = rule_error_mc(&out.net, &model, level, 40_000, &mut rng).unwrap();
                    (r.mse, r.mse_std_err)
                }
            };
            assert!(b.value > 0.0, "{act} {cv}: bound {}", b.value);
            assert!(
                b.value - 4.0 * b.std_err <= e + 4.0 * se,
                "{act} {cv}: bound {} ± {} > E {} ± {}",
                b.value,
                b.std_err,
                e,
                se
            );
        }
    }
}

/// GD: seeded runs are reproducible, and NaN-producing settings give an error, not a panic.
#[test]
fn gd_is_deterministic_and_reports_divergence() {
    let model = TwoPatchModel::new(6, ZetaLaw::parse("uniform:0.2:0.8").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.3).unwrap();
    let cfg = GdConfig {
        seed: 4,
        max_iters: 300,
        ..GdConfig::default()
    };
    let a = train(&model, level, Activation::Cubic, 2, Convention::Score, &cfg).unwrap();
    let b = train(&model, level, Activation::Cubic, 2, Convention::Score, &cfg).unwrap();
    assert_eq!(a.net.w1, b.net.w1);
    let bad = GdConfig {
        lr: 1e3,
        step: StepRule::Fixed,
        max_iters: 200,
        ..cfg
    };
    match train(&model, level, Activation::Cubic, 2, Convention::Paper, &bad) {
        Err(TheoryError::Diverged { .. }) => {}
        other => panic!(
            "expected divergence error, got {:?}",
            other.map(|o| o.grad_norm)
        ),
    }
    assert!(train(
        &model,
        level,
        Activation::Relu,
        2,
        Convention::Paper,
        &GdConfig { lr: 0.0, ..cfg }
    )
    .is_err());
}
