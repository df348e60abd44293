//! The CLI reads run directories: a fake run made from generated images (so
//! no DDPM is needed) yields Figures 4, 5, the sweeps and the sample grid;
//! an empty runs folder makes `fig4` a skip with a reason, and a run whose points admit no
//! line fit is left out of `fig4` with a warning instead of failing the figure.

use std::path::Path;

use empirical_rules::{EvalConfig, GenConfig, Kind, Task};
use plots::cli::{make, Args, Outcome, Which};

fn fake_run(root: &Path, name: &str, task: Task, epochs: usize, seed: u64) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("eval")).unwrap();
    std::fs::create_dir_all(dir.join("samples")).unwrap();
    let data = empirical_rules::generate(&GenConfig {
        task,
        n: 24,
        size: 32,
        seed,
        kind: Kind::Train,
    })
    .unwrap();
    for (i, img) in data.images.iter().enumerate() {
        img.save(dir.join(format!("samples/{i:05}.png"))).unwrap();
    }
    let mut report = empirical_rules::evaluate(task, &data.images, &EvalConfig::default()).unwrap();
    let train =
        empirical_rules::evaluate(task, &data.images[..12], &EvalConfig::default()).unwrap();
    empirical_rules::eval::add_nearest_neighbours(&mut report, &train.per_image);
    std::fs::write(
        dir.join("eval/results.json"),
        serde_json::to_string(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("task = \"{}\"\n[train]\nepochs = {epochs}\n", task.letter()),
    )
    .unwrap();
}

fn args(runs: &Path, out: &Path, which: Which) -> Args {
    use clap::Parser;
    let mut a = Args::parse_from(["plots", "fig4"]);
    a.which = which;
    a.runs = runs.to_path_buf();
    a.out = out.to_path_buf();
    a
}

#[test]
fn figures_from_run_directories() {
    let root = tempfile::tempdir().unwrap();
    let runs = root.path().join("runs");
    fake_run(&runs, "a_e200", Task::A, 200, 1);
    fake_run(&runs, "a_e400", Task::A, 400, 2);
    let out = std::env::var_os("PLOTS_TEST_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or(root.path().join("out"));
    for which in [Which::Fig4, Which::Fig5, Which::Sweep, Which::Grid] {
        match make(which, &args(&runs, &out, which)).unwrap() {
            Outcome::Made(files) => {
                assert!(!files.is_empty(), "{which:?}");
                for f in files {
                    assert!(std::fs::metadata(&f.png).unwrap().len() > 1000);
                    assert!(std::fs::metadata(&f.svg).unwrap().len() > 1000);
                }
            }
            Outcome::Skipped(why) => panic!("{which:?} skipped: {why}"),
        }
    }
    // No runs: a skip with a reason, not a failure.
    let empty = root.path().join("none");
    match make(Which::Fig4, &args(&empty, &out, Which::Fig4)).unwrap() {
        Outcome::Skipped(why) => assert!(why.contains("no run"), "{why}"),
        Outcome::Made(_) => panic!("made a figure from nothing"),
    }
}

#[test]
fn fig4_leaves_out_a_run_with_no_line_fit() {
    let root = tempfile::tempdir().unwrap();
    let runs = root.path().join("runs");
    fake_run(&runs, "good", Task::A, 200, 1);
    fake_run(&runs, "flat", Task::A, 200, 2);
    // every valid image of `flat` gets the same x: the OLS slope of Eq. 4 is undefined
    let path = runs.join("flat/eval/results.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for img in v["per_image"].as_array_mut().unwrap() {
        if img["x"].is_number() {
            img["x"] = serde_json::json!(0.25);
        }
    }
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let out = root.path().join("out");
    match make(Which::Fig4, &args(&runs, &out, Which::Fig4)).unwrap() {
        Outcome::Made(files) => assert_eq!(files.len(), 1),
        Outcome::Skipped(why) => panic!("fig4 skipped: {why}"),
    }
    // only the flat run: a skip with a reason, not an error
    std::fs::remove_dir_all(runs.join("good")).unwrap();
    match make(Which::Fig4, &args(&runs, &out, Which::Fig4)).unwrap() {
        Outcome::Skipped(why) => assert!(why.contains("fittable"), "{why}"),
        Outcome::Made(_) => panic!("made a figure from an unfittable run"),
    }
}

#[cfg(unix)]
#[test]
fn figure_files_are_readable_by_others_under_umask_022() {
    use std::os::unix::fs::PermissionsExt;
    let Some(umask) = theory::fsio::process_umask() else {
        eprintln!("umask unknown: mode not checked");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let runs = root.path().join("runs");
    fake_run(&runs, "a", Task::A, 200, 1);
    let out = root.path().join("out");
    let Outcome::Made(files) = make(Which::Fig4, &args(&runs, &out, Which::Fig4)).unwrap() else {
        panic!("fig4 skipped");
    };
    for f in [&files[0].png, &files[0].svg] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask, "{}: mode {mode:o}", f.display());
    }
}

#[test]
fn curve_figure_from_a_runs_curve_json() {
    use empirical_rules::curve::{Curve, CurvePoint};
    let root = tempfile::tempdir().unwrap();
    let runs = root.path().join("runs");
    let out = root.path().join("out");
    let run = runs.join("curve-A-cpu-s0");
    std::fs::create_dir_all(&run).unwrap();
    let point = |epoch: u64, r2: Option<f64>| CurvePoint {
        epoch,
        step: epoch * 250,
        train_loss: Some(0.05),
        train_seconds: 1.0,
        n: 300,
        invalid_pct: 5.0,
        n_valid: 285,
        coarse_violations: 1,
        coarse_resolved: Some((0, 280)),
        r_squared: r2,
        error: r2.map(|r| 1.0 - r),
        bias_part: r2.map(|r| (1.0 - r) / 2.0),
        variance_part: r2.map(|r| (1.0 - r) / 2.0),
        error_interval: None,
        r_squared_interval: None,
    };
    let write = |points: Vec<CurvePoint>| {
        let c = Curve {
            task: Task::A,
            epochs: vec![25, 50, 100],
            points,
        };
        std::fs::write(run.join("curve.json"), serde_json::to_vec(&c).unwrap()).unwrap();
    };
    // one fitted milestone is not a curve
    write(vec![point(25, None), point(50, Some(0.8))]);
    assert!(matches!(
        make(Which::Curve, &args(&runs, &out, Which::Curve)).unwrap(),
        Outcome::Skipped(_)
    ));
    write(vec![
        point(25, None),
        point(50, Some(0.8)),
        point(100, Some(0.9)),
    ]);
    match make(Which::Curve, &args(&runs, &out, Which::Curve)).unwrap() {
        Outcome::Made(files) => {
            assert_eq!(files.len(), 1);
            assert!(files[0].png.ends_with("curve_curve-A-cpu-s0.png"));
            assert!(std::fs::metadata(&files[0].png).unwrap().len() > 1000);
        }
        Outcome::Skipped(why) => panic!("skipped: {why}"),
    }
}
