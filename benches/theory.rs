//! Criterion benches of the `theory` crate (docs/benchmarks.md).
//!
//! Setting (see `theory::bench_support`): d = 100, m = 20, t = 0.4, D_zeta = uniform[0.2, 0.8].
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
use theory::bench_support::{bench_setting, exact_epoch, figure6_default_grid, mc_epoch};
use theory::{Activation, ExactScore};

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
