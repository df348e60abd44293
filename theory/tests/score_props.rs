//! Thm 4.2 and identity (*): property tests with fixed seeds.

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
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    )
}

fn zeta_strategy() -> impl Strategy<Value = ZetaLaw> {
    prop_oneof![
        (0.05f64..0.5, 0.1f64..0.8).prop_map(|(a, w)| ZetaLaw::Uniform { a, b: a + w }),
        (0.3f64..4.0, 0.3f64..4.0, 0.05f64..0.5, 0.1f64..0.8)
            .prop_map(|(p, q, a, w)| ZetaLaw::Beta { p, q, a, b: a + w }),
        prop::collection::vec((0.05f64..1.5, 0.1f64..1.0), 1..6).prop_map(|v| {
            let tot: f64 = v.iter().map(|x| x.1).sum();
            ZetaLaw::Discrete {
                values: v.iter().map(|x| x.0).collect(),
                weights: v.iter().map(|x| x.1 / tot).collect(),
            }
        }),
    ]
}

/// Identity (*): E[pi zeta] + E[pi (1 - zeta)] = 1 for random D_zeta, t and x_t (including x_t far from the data).
#[test]
fn identity_star_holds() {
    runner(64)
        .run(
            &(
                zeta_strategy(),
                0.01f64..3.0,
                2usize..6,
                prop::collection::vec(-8.0f64..8.0, 12),
            ),
            |(zeta, t, d, xs)| {
                let model = TwoPatchModel::new(d, zeta).unwrap();
                let level = Schedule::Continuous.level(t).unwrap();
                let sc = ExactScore::new(&model, level, 48);
                let (m1, m2) = sc.posterior_means(&xs[..d], &xs[6..6 + d]).unwrap();
                prop_assert!((m1 + m2 - 1.0).abs() < 1e-12, "m1 + m2 = {}", m1 + m2);
                let (a, b) = model.zeta.support();
                prop_assert!(
                    m1 >= a - 1e-12 && m1 <= b + 1e-12,
                    "posterior mean outside support"
                );
                Ok(())
            },
        )
        .unwrap();
}

/// The exact score equals central finite differences of log p_t.
#[test]
fn score_matches_finite_differences_of_log_density() {
    runner(32)
        .run(
            &(zeta_strategy(), 0.05f64..2.0, 2usize..5, any::<u64>()),
            |(zeta, t, d, seed)| {
                let model = TwoPatchModel::new(d, zeta).unwrap();
                let level = Schedule::Continuous.level(t).unwrap();
                let sc = ExactScore::new(&model, level, 48);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let s = model.sample_xt(level, &mut rng);
                let (g1, g2) = sc.score(&s.xt_1, &s.xt_2).unwrap();
                let h = 1e-5;
                for p in 0..2 {
                    for j in 0..d {
                        let (mut a1, mut a2) = (s.xt_1.clone(), s.xt_2.clone());
                        let (mut b1, mut b2) = (s.xt_1.clone(), s.xt_2.clone());
                        if p == 0 {
                            a1[j] += h;
                            b1[j] -= h;
                        } else {
                            a2[j] += h;
                            b2[j] -= h;
                        }
                        let fd = (sc.log_density(&a1, &a2).unwrap()
                            - sc.log_density(&b1, &b2).unwrap())
                            / (2.0 * h);
                        let an = if p == 0 { g1[j] } else { g2[j] };
                        prop_assert!(
                            (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                            "p={p} j={j}: fd {fd} exact {an}"
                        );
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// log p_t integrates the Gaussian mixture correctly: for a one-atom law it is a Gaussian log-density.
#[test]
fn log_density_of_point_mass_is_gaussian() {
    let model = TwoPatchModel::new(3, ZetaLaw::parse("discrete:0.3").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.5).unwrap();
    let sc = ExactScore::new(&model, level, 8);
    let x1 = [0.2, -0.1, 0.4];
    let x2 = [0.0, 0.7, -0.3];
    let mu1 = [level.alpha_t * 0.3, 0.0, 0.0];
    let mu2 = [0.0, level.alpha_t * 0.7, 0.0];
    let b2 = level.beta_t.powi(2);
    let sq: f64 = x1
        .iter()
        .zip(mu1)
        .chain(x2.iter().zip(mu2))
        .map(|(x, m)| (x - m).powi(2))
        .sum();
    let want = -3.0 * (2.0 * std::f64::consts::PI * b2).ln() - sq / (2.0 * b2);
    assert!((sc.log_density(&x1, &x2).unwrap() - want).abs() < 1e-12);
}

/// Tweedie: the Bayes-optimal `score` predictor conforms exactly (E = 0); under `paper` it has
/// E = 2 (1 + 1/beta)^2, checked against sampling.
#[test]
fn bayes_optimal_predictor_rule_error() {
    for zeta in [
        "uniform:0.2:0.8",
        "beta:0.5:0.5:0.1:0.9",
        "discrete:0.2,0.9",
    ] {
        let model = TwoPatchModel::new(4, ZetaLaw::parse(zeta).unwrap()).unwrap();
        for t in [0.1, 0.6, 1.5] {
            let level = Schedule::Continuous.level(t).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let s = bayes_optimal_rule_error(&model, level, Convention::Score, 2000, 64, &mut rng)
                .unwrap();
            assert_eq!(s.exact.mse, 0.0);
            assert!(
                s.sampled.mse < 1e-20,
                "{zeta} t={t}: sampled E = {}",
                s.sampled.mse
            );
            let p =
                bayes_optimal_rule_error(&model, level, Convention::Paper, 20_000, 64, &mut rng)
                    .unwrap();
            let k = 1.0 + 1.0 / level.beta_t;
            assert!((p.exact.mse - 2.0 * k * k).abs() < 1e-12);
            assert!(
                (p.sampled.mse - p.exact.mse).abs() <= 5.0 * p.sampled.mse_std_err,
                "{zeta} t={t}: {} vs {}",
                p.sampled.mse,
                p.exact.mse
            );
        }
    }
}
