//! The bridge table's rows equal the numbers each side computes by itself.

use bridge::table::{experiment_rows, theory_rows, to_csv, to_markdown};
use bridge::theory_side::{errors, evaluate_net, patch_mapping, theory_point, TheoryRowsConfig};
use bridge::{eq4_error, Ddof, Trim};
use empirical_rules::results::{scan_runs, Method};
use empirical_rules::Task;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use theory::{Activation, Convention, GdConfig, Schedule, TwoPatchModel, ZetaLaw};

fn small_setting(
    act: Activation,
    conv: Convention,
) -> (TwoPatchModel, theory::NoiseLevel, theory::ScoreNet) {
    let model = TwoPatchModel::new(8, ZetaLaw::Uniform { a: 0.2, b: 0.8 }).unwrap();
    let level = Schedule::Continuous.level(0.4).unwrap();
    let gd = GdConfig {
        max_iters: 300,
        seed: 3,
        ..GdConfig::default()
    };
    let out = theory::train(&model, level, act, 3, conv, &gd).unwrap();
    (model, level, out.net)
}

#[test]
fn psi_row_equals_theory_rule_error() {
    for (act, conv) in [
        (Activation::Cubic, Convention::Paper),
        (Activation::Linear, Convention::Score),
        (Activation::Relu, Convention::Score),
    ] {
        let (model, level, net) = small_setting(act, conv);
        let n = 400;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let point = evaluate_net(&net, &model, level, 0.4, conv, n, 32, &mut rng).unwrap();
        let e = errors(&point).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let rule = theory::rule_error_mc(&net, &model, level, n, &mut rng).unwrap();
        let scale = level.beta_t.powi(2) / level.alpha_t;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1.0);
        assert!(
            close(e.psi.bias_part, rule.bias * scale),
            "{act:?}: {} vs {}",
            e.psi.bias_part,
            rule.bias * scale
        );
        assert!(close(e.psi.variance_part, rule.variance.sqrt() * scale));
        assert!(close(e.psi.mean, rule.mean_psi * scale));
        // And the table row carries exactly these numbers.
        let rows = theory_rows(&point, &e);
        assert_eq!(rows[0].bias_part, Some(e.psi.bias_part));
        assert_eq!(rows[0].variance_part, Some(e.psi.variance_part));
        assert_eq!(rows[0].error, Some(e.psi.bias_part + e.psi.variance_part));
        assert_eq!(rows[0].r_squared, None);
        assert_eq!(rows[1].error, Some(e.patches.total));
        assert_eq!(rows[1].r_squared, Some(e.patches.fit.r_squared));
    }
}

#[test]
fn per_patch_coefficients_add_up_to_psi_and_posterior_means_to_one() {
    let (model, level, net) = small_setting(Activation::Quadratic, Convention::Score);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let p = evaluate_net(
        &net,
        &model,
        level,
        0.4,
        Convention::Score,
        200,
        32,
        &mut rng,
    )
    .unwrap();
    for ((c, m), psi) in p
        .net_coefficients
        .iter()
        .zip(&p.posterior_means)
        .zip(&p.psi_normalised)
    {
        assert!((c.0 + c.1 - psi).abs() < 1e-9 * psi.abs().max(1.0));
        assert!((m.0 + m.1 - 1.0).abs() < 1e-12, "identity (*)");
        assert!(m.0 > 0.2 - 1e-12 && m.0 < 0.8 + 1e-12);
    }
    // The patches row is bridge::eq4_error on the pooled pairs.
    let x: Vec<f64> = p
        .posterior_means
        .iter()
        .map(|m| m.0)
        .chain(p.posterior_means.iter().map(|m| m.1))
        .collect();
    let y: Vec<f64> = p
        .net_coefficients
        .iter()
        .map(|m| m.0)
        .chain(p.net_coefficients.iter().map(|m| m.1))
        .collect();
    let direct = eq4_error(&x, &y, 1.0, Trim::None, Ddof::Population).unwrap();
    assert_eq!(errors(&p).unwrap().patches, direct);
    // The exact score as "network" has zero Error on the patches mapping.
    let perfect = patch_mapping(&p.posterior_means, &p.posterior_means).unwrap();
    assert!(perfect.total < 1e-12 && (perfect.fit.r_squared - 1.0).abs() < 1e-12);
}

#[test]
fn theory_point_is_deterministic() {
    let mut cfg = TheoryRowsConfig::default();
    cfg.fig6.d = 6;
    cfg.fig6.m = 2;
    cfg.fig6.n_psi = 50;
    cfg.fig6.gd.max_iters = 100;
    let a = theory_point(&cfg, Activation::Linear, 0.6, Convention::Paper, 9).unwrap();
    let b = theory_point(&cfg, Activation::Linear, 0.6, Convention::Paper, 9).unwrap();
    assert_eq!(a, b);
}

/// A real evaluator report (a few generated Task `task` images) whose Eq. 4 summary is replaced
/// by the fit of `x`, `y`, so that the expected Error is known exactly.
fn results_json(task: &str, x: &[f64], y: &[f64], k: f64) -> (String, bridge::Eq4Error) {
    use empirical_rules::{evaluate, generate, EvalConfig, GenConfig, Kind, Task};
    let e = eq4_error(x, y, k, Trim::None, Ddof::Population).unwrap();
    let task: Task = task.parse().unwrap();
    let data = generate(&GenConfig {
        task,
        n: 4,
        size: 32,
        seed: 0,
        kind: Kind::Train,
    })
    .unwrap();
    let mut report = evaluate(task, &data.images, &EvalConfig::default()).unwrap();
    report.summary.eq4 = Some(e);
    (serde_json::to_string(&report).unwrap(), e)
}

#[test]
fn experiment_rows_come_from_results_files_and_missing_runs_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let x = [0.1, 0.2, 0.3, 0.4];
    let y = [0.12, 0.19, 0.33, 0.41];
    let (json, e) = results_json("A", &x, &y, 1.0);
    std::fs::create_dir_all(dir.path().join("runA/eval")).unwrap();
    std::fs::write(dir.path().join("runA/eval/results.json"), json).unwrap();
    let (json, eg) = results_json("A", &x, &x, 1.0);
    std::fs::create_dir_all(dir.path().join("runA/guided")).unwrap();
    std::fs::write(dir.path().join("runA/guided/results.json"), json).unwrap();
    std::fs::create_dir_all(dir.path().join("broken/eval")).unwrap();
    std::fs::write(dir.path().join("broken/eval/results.json"), "{not json").unwrap();

    let scan = scan_runs(dir.path());
    assert_eq!(scan.results.len(), 2);
    assert_eq!(scan.results[0].method, Method::Ddpm);
    assert_eq!(scan.unreadable.len(), 1);
    let rows = experiment_rows(&scan, &[Task::A, Task::B]);
    let ddpm = rows
        .iter()
        .find(|r| r.setting == "Task A" && r.quantity == "DDPM")
        .unwrap();
    // serde_json's default float parsing may differ from the written value in the last ulp.
    let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() <= 1e-14 * b.abs().max(1e-3);
    assert!(near(ddpm.error, e.total));
    assert!(near(ddpm.bias_part, e.bias_part));
    assert!(near(ddpm.variance_part, e.variance_part));
    assert!(near(ddpm.r_squared, e.fit.r_squared));
    let guided = rows
        .iter()
        .find(|r| r.setting == "Task A" && r.quantity == "Guidance")
        .unwrap();
    assert!(near(guided.error, eg.total));
    let filt = rows
        .iter()
        .find(|r| r.setting == "Task A" && r.quantity == "Filtering")
        .unwrap();
    assert_eq!((filt.error, filt.source.as_str()), (None, "no run"));
    assert_eq!(
        rows.iter()
            .filter(|r| r.setting == "Task B" && r.source == "no run")
            .count(),
        3
    );
    assert!(rows.iter().any(|r| r.source.starts_with("unreadable")));

    // A missing runs folder is not an error: every row says "no run".
    let none = experiment_rows(&scan_runs(&dir.path().join("nope")), &[Task::A]);
    assert_eq!(none.len(), 3);
    assert!(none.iter().all(|r| r.source == "no run"));

    // Markdown has one line per row plus the header; CSV parses back.
    let md = to_markdown(&rows);
    assert_eq!(md.lines().count(), rows.len() + 2);
    let csv = to_csv(&rows).unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let back: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(back.len(), rows.len());
    let i = rows
        .iter()
        .position(|r| r.quantity == "DDPM" && r.setting == "Task A")
        .unwrap();
    assert_eq!(back[i][8].parse::<f64>().ok(), rows[i].error);
}
