//! Criterion benches of `bridge` and `plots`: rendering the whole Figure 6 grid to PNG + SVG
//! (from fixed panels, so only drawing is timed) and the bridge's theory side for one setting.

use criterion::{criterion_group, criterion_main, Criterion};
use plots::fig6::Figure6;
use plots::theory_data::psi_panels;
use std::hint::black_box;
use std::time::Duration;
use theory::{figure6_grid, Figure6Config};

fn fig6_render(c: &mut Criterion) {
    let grid = figure6_grid(&Figure6Config::default()).expect("figure 6 grid");
    let fig = Figure6::new(psi_panels(&grid)).expect("panels");
    let dir = tempfile::tempdir().expect("temp dir");
    let stem = dir.path().join("fig6");
    let mut g = c.benchmark_group("plots");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("figure6_render", |b| {
        b.iter(|| black_box(plots::write_figure(&fig, &stem).expect("render")))
    });
    g.finish();
}

criterion_group!(benches, fig6_render);
criterion_main!(benches);
