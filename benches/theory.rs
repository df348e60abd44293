//! Criterion benches of the `theory` crate (docs/benchmarks.md).
//!
//! Setting ([`bench_setting`]): d = 100, m = 20, t = 0.4 (continuous schedule), D_zeta =
//! uniform[0.2, 0.8], convention `paper`, weights at a seeded N(0, (0.5/sqrt(d))^2) initialisation.
//! - `theory/figure6_grid`: the whole Figure 6 grid (4 activations x 4 t, 5000 psi each); target <= 10 s.
//! - `theory/exact_epoch/<act>`: one exact population loss + gradient (polynomial activations).
//! - `theory/mc_epoch/<act>`: one App. F Monte Carlo epoch, n = 1000 x n_eps = 1000, as printed
//!   (ReLU and cubic; the ratio to `exact_epoch` is the cost of the paper's recipe).
//! - `theory/exact_score`: one Thm 4.2 score evaluation (64-node quadrature).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;
use theory::figure6::{figure6_grid, Figure6Config, Figure6Panel};
use theory::loss::{mc_loss_and_gradient, population_loss_and_gradient, Convention, NetGradient};
use theory::network::ScoreNet;
use theory::schedule::{NoiseLevel, Schedule};
use theory::zeta::ZetaLaw;
use theory::{Activation, ExactScore, TwoPatchModel};

/// The benchmark setting: (model, level, initial network).
pub fn bench_setting(
    activation: Activation,
    seed: u64,
) -> theory::Result<(TwoPatchModel, NoiseLevel, ScoreNet)> {
    let model = TwoPatchModel::new(100, ZetaLaw::Uniform { a: 0.2, b: 0.8 })?;
    let level = Schedule::Continuous.level(0.4)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let net = ScoreNet::init_gaussian(activation, 100, 20, 0.05, &mut rng)?;
    Ok((model, level, net))
}

/// The whole Figure 6 grid with default settings (4 activations x 4 t, d = 100, m = 20, 5000 psi each).
pub fn figure6_default_grid() -> theory::Result<Vec<Figure6Panel>> {
    figure6_grid(&Figure6Config::default())
}

/// One App. F Monte Carlo epoch (n data x n_eps noises, value + gradient) in the bench setting.
pub fn mc_epoch(
    activation: Activation,
    n: usize,
    n_eps: usize,
    seed: u64,
) -> theory::Result<(f64, NetGradient)> {
    let (model, level, net) = bench_setting(activation, seed)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    let (l, g, _) =
        mc_loss_and_gradient(&net, &model, level, Convention::Paper, n, n_eps, &mut rng)?;
    Ok((l, g))
}

/// One exact population loss + gradient evaluation in the bench setting (polynomial activations),
/// the exact counterpart of [`mc_epoch`].
pub fn exact_epoch(activation: Activation, seed: u64) -> theory::Result<(f64, NetGradient)> {
    let (model, level, net) = bench_setting(activation, seed)?;
    population_loss_and_gradient(&net, &model, level, Convention::Paper)
}

const ACTIVATIONS: [Activation; 4] = [
    Activation::Relu,
    Activation::Linear,
    Activation::Quadratic,
    Activation::Cubic,
];

fn figure6(c: &mut Criterion) {
    let mut g = c.benchmark_group("theory");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("figure6_grid", |b| {
        b.iter(|| black_box(figure6_default_grid().expect("figure 6 grid")))
    });
    g.finish();
}

fn epochs(c: &mut Criterion) {
    let mut g = c.benchmark_group("theory/exact_epoch");
    for act in ACTIVATIONS.into_iter().filter(|a| a.degree().is_some()) {
        g.bench_function(act.name(), |b| {
            b.iter(|| black_box(exact_epoch(act, 7).expect("exact epoch")))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("theory/mc_epoch");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(1_000_000));
    // Two activations keep the tracked run short; `theory mc-epoch --activation A` runs any.
    for act in [Activation::Relu, Activation::Cubic] {
        g.bench_function(act.name(), |b| {
            b.iter(|| black_box(mc_epoch(act, 1000, 1000, 7).expect("mc epoch")))
        });
    }
    g.finish();
}

fn score(c: &mut Criterion) {
    let (model, level, _) = bench_setting(Activation::Linear, 3).expect("setting");
    let exact = ExactScore::new(&model, level, 64);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let s = model.sample_xt(level, &mut rng);
    c.bench_function("theory/exact_score", |b| {
        b.iter(|| black_box(exact.score(&s.xt_1, &s.xt_2).expect("score")))
    });
}

criterion_group!(benches, figure6, epochs, score);
criterion_main!(benches);
