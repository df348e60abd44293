//! Criterion benches of the burn DDPM on the CPU backend (flex): one training step (images/s) and
//! one ancestral sampling step, for the `cpu` and the `paper` U-Net configs, and one
//! classifier-guided sampling step with the same preset's noise-aware U-Net classifier; and a
//! 1000-point sweep: its plan, and the Slurm array script of its unfinished points.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use empirical::config::Preset;
use empirical::workload::{bench_config, GuidedSampleBench, SampleBench, TrainBench};
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

/// 4 tasks x 25 seeds x 10 step budgets: 1000 points.
const SWEEP_1000: &str = r#"
name = "grid-1000"
steps = ["train", "sample", "eval"]

[base]
preset = "cpu"

[[axis]]
key = "task"
values = ["A", "B", "C", "D"]

[[axis]]
key = "seed"
values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]

[[axis]]
key = "train.max_steps"
values = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]
"#;

fn sweep(c: &mut Criterion) {
    use empirical::backend::DeviceKind;
    use empirical::sweep::slurm::{sbatch_script, SlurmOptions};
    use empirical::sweep::{plan, record, SweepLayout, SweepSpec};
    use std::path::Path;
    let dir = tempfile::tempdir().expect("temporary folder");
    let spec_path = dir.path().join("grid-1000.toml");
    std::fs::write(&spec_path, SWEEP_1000).expect("spec written");
    let layout = SweepLayout::new(dir.path().join("out"));
    let mut g = c.benchmark_group("empirical/sweep_1000");
    g.sample_size(10);
    g.bench_function("plan", |b| {
        b.iter(|| {
            let spec = SweepSpec::from_file(&spec_path).expect("valid spec");
            let points = plan(&spec).expect("plannable");
            assert_eq!(points.len(), 1000);
            black_box(points)
        })
    });
    let options = SlurmOptions {
        partition: None,
        time: "04:00:00".into(),
        cpus: 2,
        gpus: 1,
        mem: None,
        max_parallel: None,
        device: DeviceKind::Cuda,
        exe: Path::new("/opt/hidden-rules/empirical").to_path_buf(),
        extra: Vec::new(),
    };
    g.bench_function("plan_and_sbatch_script", |b| {
        b.iter(|| {
            let spec = SweepSpec::from_file(&spec_path).expect("valid spec");
            let points = plan(&spec).expect("plannable");
            let todo: Vec<usize> = points
                .iter()
                .filter(|p| record::finished(&layout, &spec, p).is_none())
                .map(|p| p.index)
                .collect();
            black_box(sbatch_script(
                &spec.name,
                &spec_path,
                &layout,
                points.len(),
                &todo,
                &options,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, ddpm, sweep);
criterion_main!(benches);
