//! What the evaluator must show: the evaluator on freshly generated sets (Fig. 3 check, Table 1 coarse
//! verdicts, contrastive ordering), upscale invariance, and ground-truth agreement.
use empirical_rules::eval::TrimVariant;
use empirical_rules::*;
use hidden_rules_core::eq4::{eq4_error, Ddof, Trim};

fn set(task: Task, n: usize, kind: Kind) -> Dataset {
    generate(&GenConfig {
        task,
        n,
        size: 32,
        seed: 7,
        kind,
    })
    .unwrap()
}

fn check_fig3(task: Task) {
    let ds = set(task, 2000, Kind::Train);
    let rep = evaluate(task, &ds.images, &EvalConfig::default()).unwrap();
    let s = &rep.summary;
    let k = task.target_slope();
    println!(
        "task {task}: invalid {:.2} % {:?}, coarse violations {}",
        s.invalid_pct, s.invalid_reasons, s.coarse_violations
    );
    for t in &s.eq4_by_trim {
        let e = t.eq4.as_ref().unwrap();
        println!(
            "  {:<15} slope {:.4} R2 {:.5} Error {:.4} (bias {:.4}, var {:.4})",
            t.trim, e.fit.beta1, e.fit.r_squared, e.total, e.bias_part, e.variance_part
        );
    }
    assert_eq!(s.coarse_violations, 0, "training set flagged");
    // the pairs the requirement is checked on: all valid images, except for Task B (see below)
    let keep = |i: usize| task != Task::B || ds.records[i].features[3] * 32.0 >= 2.0;
    if task == Task::B {
        // Genuine limit: h2 = h1 x1 / x2 with x1 ~ U(0, 0.3 S) puts ~2 % of rectangles 2 under
        // 0.1 px tall (missing) and ~15 % under 2 px (no fully covered pixel row), where colour and coverage cannot be told
        // apart in one image. Invalid images must all be sub-pixel rectangles (all but one of
        // 47 are < 0.2 px; one 0.88 px rectangle has a colour at the corner of its S/V range).
        assert!(s.invalid_pct <= 3.0, "{}", s.invalid_pct);
        for r in rep.per_image.iter().filter(|r| !r.valid) {
            assert!(
                ds.records[r.index].features[3] * 32.0 < 1.0,
                "invalid B image with h2 = {}",
                ds.records[r.index].features[3] * 32.0
            );
        }
    } else {
        assert!(s.invalid_pct <= 1.0, "{}", s.invalid_pct);
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) = rep
        .per_image
        .iter()
        .filter(|r| r.valid && keep(r.index))
        .map(|r| (r.x.unwrap(), r.y.unwrap()))
        .unzip();
    for trim in [Trim::None, Trim::PAPER_PER_COORDINATE, Trim::PAPER_RATIO] {
        let e = eq4_error(&xs, &ys, k, trim, Ddof::Population).unwrap();
        println!(
            "  checked subset n={} {:?}: slope {:.4} R2 {:.5} Error {:.4}",
            xs.len(),
            trim,
            e.fit.beta1,
            e.fit.r_squared,
            e.total
        );
        assert!(e.fit.r_squared >= 0.99, "R2 {}", e.fit.r_squared);
        assert!(e.total <= 0.05, "Error {}", e.total);
        assert!(
            (e.fit.beta1 / k - 1.0).abs() <= 0.02,
            "slope {}",
            e.fit.beta1
        );
    }
}

#[test]
fn fig3_check_task_a() {
    check_fig3(Task::A)
}
#[test]
fn fig3_check_task_b() {
    check_fig3(Task::B)
}
#[test]
fn fig3_check_task_c() {
    check_fig3(Task::C)
}
#[test]
fn fig3_check_task_d() {
    check_fig3(Task::D)
}

#[test]
fn coarse_violating_sets_are_flagged() {
    for task in Task::ALL {
        let ds = set(task, 1000, Kind::CoarseViolating);
        let s = evaluate(task, &ds.images, &EvalConfig::default())
            .unwrap()
            .summary;
        println!(
            "task {task}: coarse-violating flagged {}/{} valid ({:.2} %)",
            s.coarse_violations, s.n_valid, s.coarse_violation_pct
        );
        assert!(
            s.coarse_violation_pct >= 99.0,
            "task {task}: {}",
            s.coarse_violation_pct
        );
    }
}

#[test]
fn contrastive_ratio_orders_the_classes() {
    let delta = 0.1;
    for task in Task::ALL {
        let ds = set(task, 999, Kind::Contrastive { delta });
        let rep = evaluate(task, &ds.images, &EvalConfig::default()).unwrap();
        let k = task.target_slope();
        let (mut bad_all, mut bad_checked, mut n_checked) = (0, 0, 0);
        for r in rep.per_image.iter().filter(|r| r.valid) {
            let g = &ds.records[r.index];
            let q = r.ratio.unwrap_or(f64::NAN) / k;
            let ok = match g.class.unwrap() {
                0 => q < 1.0 - delta / 2.0,
                1 => (q - 1.0).abs() < delta / 2.0,
                _ => q > 1.0 + delta / 2.0,
            };
            // Tasks A and B: sub-pixel lengths are not resolved (see fig3 B note; A: l1 -> 0)
            let f = g.features.map(|v| v * 32.0);
            let resolved = match task {
                Task::A => f[0] >= 1.0 && f[1] >= 1.0,
                Task::B => f[3] >= 2.0,
                _ => true,
            };
            bad_all += !ok as usize;
            if resolved {
                n_checked += 1;
                bad_checked += !ok as usize;
            }
        }
        println!("task {task}: misordered {bad_all}/{} valid; {bad_checked}/{n_checked} with resolved lengths (A: l1, l2 >= 1 px; B: h2 >= 2 px)", rep.summary.n_valid);
        assert_eq!(bad_checked, 0, "task {task}");
    }
}

#[test]
fn features_match_ground_truth_and_upscaling_changes_nothing() {
    for task in Task::ALL {
        let ds = set(task, 60, Kind::Train);
        let a = evaluate(task, &ds.images, &EvalConfig::default()).unwrap();
        let b = evaluate(
            task,
            &ds.images,
            &EvalConfig {
                upscale: 128,
                ..EvalConfig::default()
            },
        )
        .unwrap();
        let mut errs = vec![];
        for ((ra, rb), g) in a.per_image.iter().zip(&b.per_image).zip(&ds.records) {
            assert_eq!(ra.valid, rb.valid);
            if let (Some(fa), Some(fb)) = (ra.feature_vec(task), rb.feature_vec(task)) {
                for k in 0..4 {
                    assert!(
                        (fa[k] - fb[k]).abs() < 1e-6,
                        "task {task} upscale changed feature {k}: {} vs {}",
                        fa[k],
                        fb[k]
                    );
                    errs.push((fa[k] - g.features[k]).abs() * 32.0);
                }
            }
        }
        errs.sort_by(f64::total_cmp);
        let med = errs[errs.len() / 2];
        println!("task {task}: median |feature error| {med:.4} px");
        assert!(med < 0.02, "task {task}: median error {med} px");
    }
}

#[test]
fn trim_variants_are_all_reported_and_default_is_per_coordinate() {
    let ds = set(Task::D, 100, Kind::Train);
    let s = evaluate(Task::D, &ds.images, &EvalConfig::default())
        .unwrap()
        .summary;
    let names: Vec<&str> = s.eq4_by_trim.iter().map(|t| t.trim.as_str()).collect();
    assert_eq!(names, ["none", "per_coordinate", "ratio"]);
    assert_eq!(s.default_trim, TrimVariant::PerCoordinate.name());
    assert_eq!(s.eq4, s.eq4_by_trim[1].eq4);
    assert!(s.within_001_share > 0.99, "{}", s.within_001_share);
}

/// The Task B shortfall at 32 px is a resolution limit, not a measurement error: at 64 px
/// (App. D.3's resolution) the fit requirements hold on the full valid set. Invalid images
/// (0.9-1.4 % depending on the seed) are still only rectangles under 0.5 px (0.43 px the largest seen).
#[test]
fn fig3_check_task_b_full_set_at_64px() {
    let ds = generate(&GenConfig {
        task: Task::B,
        n: 2000,
        size: 64,
        seed: 7,
        kind: Kind::Train,
    })
    .unwrap();
    let rep = evaluate(Task::B, &ds.images, &EvalConfig::default()).unwrap();
    let s = &rep.summary;
    println!("task B at 64 px: invalid {:.2} %", s.invalid_pct);
    for r in rep.per_image.iter().filter(|r| !r.valid) {
        assert!(
            ds.records[r.index].features[3] * 64.0 < 0.5,
            "invalid B image with h2 = {} px",
            ds.records[r.index].features[3] * 64.0
        );
    }
    for t in &s.eq4_by_trim {
        let e = t.eq4.as_ref().unwrap();
        println!(
            "  {:<15} slope {:.4} R2 {:.5} Error {:.4}",
            t.trim, e.fit.beta1, e.fit.r_squared, e.total
        );
        assert!(
            e.fit.r_squared >= 0.99 && e.total <= 0.05 && (e.fit.beta1 - 1.0).abs() <= 0.02,
            "{t:?}"
        );
    }
}
