//! Training curves (`empirical curve`): one run stopped at epoch milestones, on the tiny preset.
use empirical::backend::CpuAutodiff;
use empirical::config::{Preset, RunConfig};
use empirical::curve::{self, CurveOptions, CurvePoint};
use empirical::rundir::RunDir;
use empirical_rules::Task;

fn tiny(epochs: usize) -> RunConfig {
    let mut cfg = RunConfig::preset(Preset::Tiny, Task::A).unwrap();
    cfg.train.epochs = epochs;
    cfg.train.max_steps = 0;
    cfg
}

fn quiet() -> CurveOptions {
    CurveOptions {
        quiet: true,
        ..Default::default()
    }
}

/// A point without its wall-clock field (which differs between two equal runs).
fn timeless(p: &CurvePoint) -> CurvePoint {
    CurvePoint {
        train_seconds: 0.0,
        ..p.clone()
    }
}

#[test]
fn milestones_are_points_of_one_run_and_a_second_call_resumes() {
    let cfg = tiny(2);
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    run.write_config(&cfg).unwrap();
    let c = curve::run_curve::<CpuAutodiff>(&cfg, &run, &[2, 1], &quiet(), &Default::default())
        .unwrap();
    let spe = empirical::train::steps_per_epoch(cfg.data.n_train, cfg.train.batch_size);
    assert_eq!(c.epochs, vec![1, 2]);
    let steps: Vec<u64> = c.points.iter().map(|p| p.step).collect();
    assert_eq!(steps, vec![spe, 2 * spe]);
    for p in &c.points {
        assert_eq!(p.n, cfg.sample.n);
        assert!(p.n_valid <= p.n && p.coarse_violations <= p.n_valid);
        assert!(p.train_loss.is_some_and(|l| l.is_finite() && l > 0.0));
        let m = curve::milestone_dir(&run, p.epoch);
        for f in [
            "point.json",
            "results.json",
            "per_image.csv",
            "samples_grid.png",
        ] {
            assert!(m.join(f).is_file(), "{}", m.join(f).display());
        }
    }
    assert_eq!(curve::load(&run).unwrap(), c);
    let csv = std::fs::read_to_string(dir.path().join("curve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");

    // a longer curve in the same run: the measured points are read back, training continues
    let longer = tiny(3);
    let c3 =
        curve::run_curve::<CpuAutodiff>(&longer, &run, &[1, 2, 3], &quiet(), &Default::default())
            .unwrap();
    assert_eq!(c3.points[..2], c.points[..]);
    assert_eq!(c3.points[2].step, 3 * spe);

    // with a constant learning rate, the point after one epoch of this run is the point of a
    // run trained for one epoch only
    let short = tiny(1);
    let dir1 = tempfile::tempdir().unwrap();
    let run1 = RunDir::create(dir1.path()).unwrap();
    run1.write_config(&short).unwrap();
    let c1 = curve::run_curve::<CpuAutodiff>(&short, &run1, &[1], &quiet(), &Default::default())
        .unwrap();
    assert_eq!(timeless(&c1.points[0]), timeless(&c.points[0]));
}

#[test]
fn a_milestone_behind_the_newest_checkpoint_is_refused() {
    let cfg = tiny(2);
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    run.write_config(&cfg).unwrap();
    curve::run_curve::<CpuAutodiff>(&cfg, &run, &[2], &quiet(), &Default::default()).unwrap();
    let err = curve::run_curve::<CpuAutodiff>(&cfg, &run, &[1, 2], &quiet(), &Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("cannot go back"), "{err}");
}
