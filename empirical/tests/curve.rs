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

/// A run folder whose milestones 1 and 2 hold `images` as their samples and a point with
/// made-up scores (as a curve measured with an older evaluator would).
fn run_with_scored_samples(images: &[image::RgbImage]) -> (tempfile::TempDir, RunDir, RunConfig) {
    let cfg = tiny(2);
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    run.write_config(&cfg).unwrap();
    let mut points = Vec::new();
    for epoch in [1u64, 2] {
        let m = curve::milestone_dir(&run, epoch);
        std::fs::create_dir_all(&m).unwrap();
        empirical::pipeline::write_npy_u8(&m.join("samples.npy"), images).unwrap();
        let p = CurvePoint {
            epoch,
            step: 10 * epoch,
            train_loss: Some(0.5),
            train_seconds: 7.0,
            n: images.len(),
            invalid_pct: 100.0,
            n_valid: 0,
            coarse_violations: 0,
            coarse_resolved: None,
            r_squared: None,
            error: None,
            bias_part: None,
            variance_part: None,
            error_interval: None,
            r_squared_interval: None,
        };
        std::fs::write(m.join("point.json"), serde_json::to_vec(&p).unwrap()).unwrap();
        points.push(p);
    }
    let c = curve::Curve {
        task: cfg.task,
        epochs: vec![1, 2],
        points,
    };
    curve::write_curve(&run, &c).unwrap();
    (dir, run, cfg)
}

#[test]
fn rescoring_evaluates_kept_samples_again_and_fills_intervals_from_per_image_csv() {
    // contrastive images break the fine rule by 0.8x and 1.2x: a nonzero Error with spread
    let ds = empirical_rules::generate(&empirical_rules::GenConfig {
        task: Task::A,
        n: 60,
        size: 32,
        seed: 5,
        kind: empirical_rules::Kind::Contrastive { delta: 0.2 },
    })
    .unwrap();
    let (_dir, run, cfg) = run_with_scored_samples(&ds.images);
    let (c, how) = curve::rescore(&cfg, &run).unwrap();
    assert_eq!(how, vec![curve::Rescored::Samples; 2]);
    let p = &c.points[0];
    // the training fields are kept, the scores are the evaluator's
    assert_eq!(
        (p.step, p.train_loss, p.train_seconds),
        (10, Some(0.5), 7.0)
    );
    assert!(p.n_valid > 30, "{p:?}");
    let (e, iv) = (p.error.unwrap(), p.error_interval.unwrap());
    assert!(e > 0.0 && iv.lo < iv.hi, "{p:?}");
    assert!(p.r_squared_interval.is_some());
    assert_eq!(curve::load(&run).unwrap(), c);
    // rescoring with an unchanged evaluator changes nothing
    assert_eq!(curve::rescore(&cfg, &run).unwrap().0, c);

    // milestone 2's samples are not kept: its point keeps its scores and gets intervals from
    // per_image.csv, the same pairs as the full evaluation (to the CSV's 8 decimals)
    let m2 = curve::milestone_dir(&run, 2);
    std::fs::remove_file(m2.join("samples.npy")).unwrap();
    let stripped = CurvePoint {
        error_interval: None,
        r_squared_interval: None,
        ..c.points[1].clone()
    };
    std::fs::write(
        m2.join("point.json"),
        serde_json::to_vec(&stripped).unwrap(),
    )
    .unwrap();
    let (again, how) = curve::rescore(&cfg, &run).unwrap();
    assert_eq!(
        how,
        vec![curve::Rescored::Samples, curve::Rescored::IntervalsOnly]
    );
    let (full, csv) = (
        c.points[1].error_interval.unwrap(),
        again.points[1].error_interval.unwrap(),
    );
    assert!(
        (full.lo - csv.lo).abs() < 1e-6 && (full.hi - csv.hi).abs() < 1e-6,
        "{full:?} vs {csv:?}"
    );
    assert_eq!(again.points[1].error, c.points[1].error);

    // a milestone with neither file is refused before anything is written
    std::fs::remove_file(m2.join("per_image.csv")).unwrap();
    let before = std::fs::read(run.layout().curve()).unwrap();
    let err = curve::rescore(&cfg, &run).unwrap_err();
    assert!(err.to_string().contains("neither"), "{err}");
    assert_eq!(std::fs::read(run.layout().curve()).unwrap(), before);
}
