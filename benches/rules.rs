//! Criterion benches of `empirical-rules` (docs/benchmarks.md).
//! - `rules/generate_task_a_4000`: generate 4000 Task A images, 32 x 32; target <= 2 s.
//! - `rules/evaluate_2000/<task>`: evaluate 2000 images of 32 x 32; target <= 1 s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use empirical_rules::{evaluate, generate, Dataset, EvalConfig, EvalReport, GenConfig, Kind, Task};
use std::hint::black_box;
use std::time::Duration;

/// Training set of `task` (`n` images, 32 x 32, seed 0).
fn training_set(task: Task, n: usize) -> Dataset {
    generate(&GenConfig {
        task,
        n,
        size: 32,
        seed: 0,
        kind: Kind::Train,
    })
    .expect("valid config")
}

/// Bench body: generate 4000 Task A images (32 x 32).
fn generate_task_a_4000() -> Dataset {
    training_set(Task::A, 4000)
}

/// Bench body: evaluate images with the default configuration.
fn evaluate_default(task: Task, ds: &Dataset) -> EvalReport {
    evaluate(task, &ds.images, &EvalConfig::default()).expect("valid config")
}

fn generation(c: &mut Criterion) {
    let mut g = c.benchmark_group("rules");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(4000));
    g.bench_function("generate_task_a_4000", |b| {
        b.iter(|| black_box(generate_task_a_4000()))
    });
    g.finish();
}

fn evaluation(c: &mut Criterion) {
    let mut g = c.benchmark_group("rules/evaluate_2000");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(2000));
    for task in [Task::A, Task::B, Task::C, Task::D] {
        let ds = training_set(task, 2000);
        g.bench_function(format!("{task:?}"), |b| {
            b.iter(|| black_box(evaluate_default(task, &ds)))
        });
    }
    g.finish();
}

criterion_group!(benches, generation, evaluation);
criterion_main!(benches);
