//! Fixed workloads for the workspace's criterion benches (speed targets: evaluate 2000 32x32
//! images <= 1 s on 2 cores; generate 4000 Task A images <= 2 s).
use crate::eval::{evaluate, EvalConfig, EvalReport};
use crate::generate::{generate, Dataset, GenConfig, Kind};
use crate::task::Task;

/// Training set of `task` (`n` images, 32 x 32, seed 0).
pub fn training_set(task: Task, n: usize) -> Dataset {
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
pub fn generate_task_a_4000() -> Dataset {
    training_set(Task::A, 4000)
}

/// Bench body: evaluate images with the default configuration.
pub fn evaluate_default(task: Task, ds: &Dataset) -> EvalReport {
    evaluate(task, &ds.images, &EvalConfig::default()).expect("valid config")
}
