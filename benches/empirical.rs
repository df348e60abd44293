//! Criterion benches of the burn DDPM on the CPU backend (flex): one training step (images/s) and
//! one ancestral sampling step, for the `cpu` and the `paper` U-Net configs, and one
//! classifier-guided sampling step with the same preset's noise-aware U-Net classifier.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use empirical::bench_support::{bench_config, GuidedSampleBench, SampleBench, TrainBench};
use empirical::config::Preset;
use std::hint::black_box;
use std::time::Duration;

fn ddpm(c: &mut Criterion) {
    for (preset, batch) in [(Preset::Cpu, 16usize), (Preset::Paper, 16)] {
        let cfg = bench_config(preset, batch);
        let mut g = c.benchmark_group(format!("empirical/{preset}"));
        g.sample_size(10).measurement_time(Duration::from_secs(15));
        g.throughput(Throughput::Elements(batch as u64));
        let mut train = TrainBench::new(&cfg);
        g.bench_function("train_step", |b| b.iter(|| black_box(train.step())));
        let mut sample = SampleBench::new(&cfg, batch);
        g.bench_function("sample_step", |b| b.iter(|| black_box(sample.step())));
        let mut guided = GuidedSampleBench::new(&cfg, preset, batch);
        g.bench_function("guided_sample_step", |b| {
            b.iter(|| black_box(guided.step()))
        });
        g.finish();
    }
}

criterion_group!(benches, ddpm);
criterion_main!(benches);
