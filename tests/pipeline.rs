//! Workspace-level test: generate a task -> evaluate it -> bridge table.
//!
//! The evaluator's Eq. 4 numbers must reach the bridge table unchanged: both sides call
//! `hidden_rules_core::eq4::eq4_error`, and the bridge reads the evaluator's `results.json` from a run folder.

use bridge::table::experiment_rows;
use empirical_rules::results::{scan_runs, Method};
use empirical_rules::{evaluate, generate, EvalConfig, GenConfig, Kind, Task};

#[test]
fn generated_task_is_evaluated_and_reaches_the_bridge_table_unchanged() {
    let ds = generate(&GenConfig {
        task: Task::A,
        n: 300,
        size: 32,
        seed: 5,
        kind: Kind::Train,
    })
    .expect("generate Task A");
    let report = evaluate(Task::A, &ds.images, &EvalConfig::default()).expect("evaluate");
    let eq4 = report.summary.eq4.expect("training data has a fit");
    // Training data follows the fine rule: the evaluator must see that (Fig. 3).
    assert!(
        eq4.fit.r_squared > 0.95,
        "training-set R^2 {}",
        eq4.fit.r_squared
    );
    assert_eq!(report.summary.coarse_violations, 0);

    let runs = tempfile::tempdir().expect("temp dir");
    let eval_dir = runs.path().join("task-a-demo").join("eval");
    std::fs::create_dir_all(&eval_dir).unwrap();
    std::fs::write(
        eval_dir.join("results.json"),
        serde_json::to_string(&report).expect("report serialises"),
    )
    .unwrap();

    let scan = scan_runs(runs.path());
    assert!(scan.unreadable.is_empty(), "{:?}", scan.unreadable);
    assert_eq!(scan.results.len(), 1);
    assert_eq!(scan.results[0].eq4, Some(eq4));

    let rows = experiment_rows(&scan, &[Task::A, Task::B]);
    let a_ddpm = rows
        .iter()
        .find(|r| r.setting.contains('A') && r.quantity == Method::Ddpm.name())
        .expect("Task A DDPM row");
    assert_eq!(a_ddpm.error, Some(eq4.total));
    assert_eq!(a_ddpm.bias_part, Some(eq4.bias_part));
    assert_eq!(a_ddpm.variance_part, Some(eq4.variance_part));
    assert_eq!(a_ddpm.r_squared, Some(eq4.fit.r_squared));
    // Task B has no run: its rows say so instead of failing.
    let b_rows: Vec<_> = rows.iter().filter(|r| r.setting.contains('B')).collect();
    assert_eq!(b_rows.len(), 3);
    assert!(b_rows.iter().all(|r| r.error.is_none()));
}
