//! Workspace-level test: the main job's code path (`empirical run`) at a tiny size, from data
//! generation through training, sampling and evaluation, to the bridge table.

use empirical::backend::CpuAutodiff;
use empirical::config::Preset;
use empirical::config::RunConfig;
use empirical::pipeline::{run_task, RunTaskOptions};
use empirical_rules::results::scan_runs;
use empirical_rules::Task;

#[test]
fn main_job_path_runs_end_to_end_at_tiny_size() {
    let cfg = RunConfig::preset(Preset::Tiny, Task::A).expect("tiny preset");
    let runs = tempfile::tempdir().unwrap();
    let opts = RunTaskOptions {
        retrain: true,
        checkpoint_dir: runs.path().join("no-shipped-checkpoints"),
        quiet: true,
        backend: "cpu".into(),
        command: "tests/main_job.rs".into(),
    };
    let row = run_task::<CpuAutodiff>(&cfg, &runs.path().join("A"), &opts, &Default::default())
        .expect("tiny main-job path");
    assert_eq!(row.task, Task::A);
    assert!(row.n_samples > 0);
    assert!(row.train_steps > 0, "retrain must train");
    assert!((0.0..=100.0).contains(&row.invalid_pct));
    assert!(row.n_valid <= row.n_samples);
    // The run directory holds what the bridge reads.
    let scan = scan_runs(runs.path());
    assert!(scan.unreadable.is_empty(), "{:?}", scan.unreadable);
    assert_eq!(scan.results.len(), 1, "one eval/results.json");
    assert_eq!(scan.results[0].task, Task::A);
    assert_eq!(scan.results[0].n, row.n_samples);
}
