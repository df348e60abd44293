//! Property tests of the exact DSM loss (Eq. 2) and its gradient: finite differences, Monte Carlo.

use nalgebra::DMatrix;
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
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    )
}

fn zeta_strategy() -> impl Strategy<Value = ZetaLaw> {
    prop_oneof![
        (0.05f64..0.5, 0.1f64..0.8).prop_map(|(a, w)| ZetaLaw::Uniform { a, b: a + w }),
        (0.5f64..3.0, 0.5f64..3.0, 0.05f64..0.5, 0.1f64..0.8)
            .prop_map(|(p, q, a, w)| ZetaLaw::Beta { p, q, a, b: a + w }),
        prop::collection::vec(0.05f64..1.2, 1..4).prop_map(|v| {
            let n = v.len();
            ZetaLaw::Discrete {
                values: v,
                weights: vec![1.0 / n as f64; n],
            }
        }),
    ]
}

fn poly_act() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Linear),
        Just(Activation::Quadratic),
        Just(Activation::Cubic)
    ]
}

fn conv() -> impl Strategy<Value = Convention> {
    prop_oneof![Just(Convention::Paper), Just(Convention::Score)]
}

/// Central finite differences of the exact population loss agree with the analytic gradient.
#[test]
fn exact_gradient_matches_finite_differences() {
    runner(24)
        .run(
            &(
                zeta_strategy(),
                poly_act(),
                conv(),
                0.1f64..1.0,
                1usize..4,
                2usize..5,
                any::<u64>(),
            ),
            |(zeta, act, cv, t, m, d, seed)| {
                let model = TwoPatchModel::new(d, zeta).unwrap();
                let level = Schedule::Continuous.level(t).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let net = ScoreNet::init_gaussian(act, d, m, 0.6, &mut rng).unwrap();
                let (_, g) = population_loss_and_gradient(&net, &model, level, cv).unwrap();
                let h = 1e-5;
                for p in 1..=2 {
                    for r in 0..m {
                        for j in 0..d {
                            let mut plus = net.clone();
                            plus.weights_mut(p)[(r, j)] += h;
                            let mut minus = net.clone();
                            minus.weights_mut(p)[(r, j)] -= h;
                            let fd = (population_loss(&plus, &model, level, cv).unwrap()
                                - population_loss(&minus, &model, level, cv).unwrap())
                                / (2.0 * h);
                            let an = if p == 1 { g.g1[(r, j)] } else { g.g2[(r, j)] };
                            prop_assert!(
                                (fd - an).abs() <= 1e-5 * (1.0 + an.abs()),
                                "p={p} r={r} j={j}: fd {fd} analytic {an}"
                            );
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The exact population loss lies within 5 standard errors of the App. F Monte Carlo estimate,
/// and each gradient entry within 5 standard errors of its Monte Carlo estimate.
#[test]
fn exact_loss_matches_monte_carlo() {
    runner(6)
        .run(
            &(
                zeta_strategy(),
                poly_act(),
                conv(),
                0.2f64..1.0,
                any::<u64>(),
            ),
            |(zeta, act, cv, t, seed)| {
                let (d, m) = (3, 2);
                let model = TwoPatchModel::new(d, zeta).unwrap();
                let level = Schedule::Continuous.level(t).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let net = ScoreNet::init_gaussian(act, d, m, 0.5, &mut rng).unwrap();
                let (exact, _) = population_loss_and_gradient(&net, &model, level, cv).unwrap();
                // n independent data, each with n_eps = 1 noise: i.i.d. terms, so se is the usual one
                let (mc, _, se) =
                    mc_loss_and_gradient(&net, &model, level, cv, 40_000, 1, &mut rng).unwrap();
                prop_assert!(
                    (mc - exact).abs() <= 5.0 * se,
                    "exact {exact} mc {mc} se {se}"
                );
                Ok(())
            },
        )
        .unwrap();
}

/// MC gradient (n x n_eps) agrees with the exact gradient within a tolerance set by repeated MC runs.
#[test]
fn exact_gradient_matches_monte_carlo() {
    let model = TwoPatchModel::new(3, ZetaLaw::parse("beta:2:3:0.1:0.9").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.4).unwrap();
    for act in [Activation::Linear, Activation::Quadratic, Activation::Cubic] {
        for cv in [Convention::Paper, Convention::Score] {
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            let net = ScoreNet::init_gaussian(act, 3, 2, 0.5, &mut rng).unwrap();
            let (_, g) = population_loss_and_gradient(&net, &model, level, cv).unwrap();
            let reps = 8;
            let mut runs: Vec<DMatrix<f64>> = Vec::new();
            for _ in 0..reps {
                let (_, gm, _) =
                    mc_loss_and_gradient(&net, &model, level, cv, 4000, 4, &mut rng).unwrap();
                runs.push(gm.g1);
            }
            for r in 0..2 {
                for j in 0..3 {
                    let xs: Vec<f64> = runs.iter().map(|x| x[(r, j)]).collect();
                    let mean = xs.iter().sum::<f64>() / reps as f64;
                    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                        / (reps - 1) as f64)
                        .sqrt();
                    let se = sd / (reps as f64).sqrt();
                    assert!(
                        (mean - g.g1[(r, j)]).abs() <= 6.0 * se + 1e-9,
                        "{act} {cv} ({r},{j}): mc {mean} exact {} se {se}",
                        g.g1[(r, j)]
                    );
                }
            }
        }
    }
}

/// ReLU semi-closed form (bivariate normal CDF, 12 Gauss nodes in zeta): gradient vs finite differences,
/// loss vs Monte Carlo within 5 standard errors, gradient vs Monte Carlo within 6 standard errors.
#[test]
fn relu_population_loss_and_gradient() {
    runner(10)
        .run(
            &(zeta_strategy(), conv(), 0.1f64..1.0, any::<u64>()),
            |(zeta, cv, t, seed)| {
                let (d, m) = (3, 3);
                let model = TwoPatchModel::new(d, zeta).unwrap();
                let level = Schedule::Continuous.level(t).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let net = ScoreNet::init_gaussian(Activation::Relu, d, m, 0.6, &mut rng).unwrap();
                let (exact, g) = population_loss_and_gradient(&net, &model, level, cv).unwrap();
                let h = 1e-5;
                for p in 1..=2 {
                    for r in 0..m {
                        for j in 0..d {
                            let mut plus = net.clone();
                            plus.weights_mut(p)[(r, j)] += h;
                            let mut minus = net.clone();
                            minus.weights_mut(p)[(r, j)] -= h;
                            let fd = (population_loss(&plus, &model, level, cv).unwrap()
                                - population_loss(&minus, &model, level, cv).unwrap())
                                / (2.0 * h);
                            let an = if p == 1 { g.g1[(r, j)] } else { g.g2[(r, j)] };
                            prop_assert!(
                                (fd - an).abs() <= 1e-5 * (1.0 + an.abs()),
                                "p={p} r={r} j={j}: fd {fd} analytic {an}"
                            );
                        }
                    }
                }
                let (mc, _, se) =
                    mc_loss_and_gradient(&net, &model, level, cv, 40_000, 1, &mut rng).unwrap();
                prop_assert!(
                    (mc - exact).abs() <= 5.0 * se,
                    "exact {exact} mc {mc} se {se}"
                );
                Ok(())
            },
        )
        .unwrap();
    // gradient vs Monte Carlo
    let model = TwoPatchModel::new(3, ZetaLaw::parse("uniform:0.2:0.8").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.4).unwrap();
    for cv in [Convention::Paper, Convention::Score] {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let net = ScoreNet::init_gaussian(Activation::Relu, 3, 2, 0.6, &mut rng).unwrap();
        let (_, g) = population_loss_and_gradient(&net, &model, level, cv).unwrap();
        let reps = 8;
        let runs: Vec<DMatrix<f64>> = (0..reps)
            .map(|_| {
                mc_loss_and_gradient(&net, &model, level, cv, 4000, 4, &mut rng)
                    .unwrap()
                    .1
                    .g2
            })
            .collect();
        for r in 0..2 {
            for j in 0..3 {
                let xs: Vec<f64> = runs.iter().map(|x| x[(r, j)]).collect();
                let mean = xs.iter().sum::<f64>() / reps as f64;
                let sd =
                    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt();
                let se = sd / (reps as f64).sqrt();
                assert!(
                    (mean - g.g2[(r, j)]).abs() <= 6.0 * se + 1e-9,
                    "relu {cv} ({r},{j}): mc {mean} exact {} se {se}",
                    g.g2[(r, j)]
                );
            }
        }
    }
}
