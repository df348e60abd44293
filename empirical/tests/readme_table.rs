//! README's main-job table is generated: `empirical run --readme README.md` stores its rows in
//! `docs/main-job.json` and writes their table into README. Rendering the stored rows again must
//! give README's block exactly.
use empirical::readme_table;
use std::path::PathBuf;

fn readme() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

#[test]
fn readme_has_the_stored_main_job_table() {
    let rows = readme_table::load(&readme()).unwrap();
    let text = std::fs::read_to_string(readme()).unwrap();
    let block = readme_table::MARKERS
        .block(&text)
        .expect("README has the main-job table's markers");
    assert_eq!(
        block,
        readme_table::render(&rows),
        "README's table is not the stored rows': run `cargo run -p empirical --release -- run --readme README.md`"
    );
}

#[test]
fn the_stored_rows_are_one_per_task_in_order() {
    let rows = readme_table::load(&readme()).unwrap();
    let tasks: Vec<_> = rows.iter().map(|r| r.task).collect();
    assert_eq!(tasks, empirical_rules::Task::ALL);
    for r in &rows {
        assert!(r.n_samples > 0 && r.n_valid <= r.n_samples, "{r:?}");
        assert!(r.coarse_violations <= r.n_valid, "{r:?}");
    }
}
