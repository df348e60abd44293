//! Gradient descent: the reduced-space trainer equals plain full-space GD on the exact gradient,
//! and App. F's Monte Carlo trainer runs and lowers the loss.

#![allow(clippy::needless_update)]
use theory::*;

/// `train` (which works in span(f, W^0)) takes exactly the steps of full-space GD with the exact gradient.
#[test]
fn reduced_training_equals_full_space_gd() {
    let model = TwoPatchModel::new(9, ZetaLaw::parse("beta:2:3:0.1:0.9").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.5).unwrap();
    for act in [Activation::Linear, Activation::Quadratic, Activation::Cubic] {
        for cv in [Convention::Paper, Convention::Score] {
            let (lr, k) = (0.01, 60);
            let cfg = GdConfig {
                lr,
                max_iters: k,
                grad_tol: 0.0,
                seed: 21,
                sigma0: Some(0.3),
                step: StepRule::Fixed,
                estimator: Estimator::Exact,
                ..GdConfig::default()
            };
            let out = train(&model, level, act, 3, cv, &cfg).unwrap();
            assert_eq!(out.iters, k);
            // full-space GD from the same initialisation
            let mut net = out.init.clone();
            for _ in 0..k {
                let g = population_gradient(&net, &model, level, cv).unwrap();
                net.w1 -= &g.g1 * lr;
                net.w2 -= &g.g2 * lr;
            }
            let diff = (&net.w1 - &out.net.w1).norm() + (&net.w2 - &out.net.w2).norm();
            assert!(
                diff < 1e-10 * (1.0 + net.w1.norm()),
                "{act} {cv}: reduced vs full differ by {diff}"
            );
            let g = population_gradient(&net, &model, level, cv).unwrap();
            assert!((g.norm() - out.grad_norm).abs() < 1e-9 * (1.0 + g.norm()));
        }
    }
}

/// The App. F estimator (fresh samples, fixed step) trains and decreases the exact loss.
#[test]
fn monte_carlo_training_decreases_loss() {
    let model = TwoPatchModel::new(6, ZetaLaw::parse("uniform:0.2:0.8").unwrap()).unwrap();
    let level = Schedule::Continuous.level(0.4).unwrap();
    let cfg = GdConfig {
        lr: 0.02,
        max_iters: 60,
        grad_tol: 0.0,
        seed: 2,
        sigma0: Some(0.3),
        step: StepRule::Fixed,
        estimator: Estimator::MonteCarlo { n: 64, n_eps: 4 },
        ..GdConfig::default()
    };
    let out = train(
        &model,
        level,
        Activation::Quadratic,
        2,
        Convention::Score,
        &cfg,
    )
    .unwrap();
    let l0 = population_loss(&out.init, &model, level, Convention::Score).unwrap();
    let l1 = population_loss(&out.net, &model, level, Convention::Score).unwrap();
    assert!(l1 < l0, "loss {l0} -> {l1}");
    assert_eq!(out.estimator, "monte_carlo");
    // the same seed reproduces the run
    let again = train(
        &model,
        level,
        Activation::Quadratic,
        2,
        Convention::Score,
        &cfg,
    )
    .unwrap();
    assert_eq!(again.net.w1, out.net.w1);
}
