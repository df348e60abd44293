//! Criterion bench of `proofs-check`: the full report (every claim, full sizes; at most
//! 60 s on 2 cores, docs/benchmarks.md) and the quick report that `cargo test -p proofs-check` runs.

use criterion::{criterion_group, criterion_main, Criterion};
use proofs_check::claim::{Claim, Ctx};
use proofs_check::report::run_claims;
use std::hint::black_box;
use std::time::Duration;

fn report(c: &mut Criterion) {
    let reg = proofs_check::registry();
    let all: Vec<&Claim> = reg.iter().collect();
    let mut g = c.benchmark_group("proofs");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    for (name, quick) in [("quick_report", true), ("full_report", false)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let rep = run_claims(&all, &Ctx { quick, seed: 0 });
                assert!(
                    rep.errors.is_empty(),
                    "a check could not run: {:?}",
                    rep.errors
                );
                black_box(rep)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
