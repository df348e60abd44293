//! `cargo run -p plots --release -- <figure|all> --runs DIR --out DIR`.
//!
//! `all` makes every figure it has data for and says which it skipped and
//! why; `fig6`, `fig3`, `fig4`, `fig5`, `sweep`, `curve`, `fig8`, `grid` make one
//! (no data for it -> message and exit status 2).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use empirical_rules::curve::Curve;
use empirical_rules::{EvalConfig, GenConfig, Kind, RunLayout, Task};

use crate::error::PlotError;
use crate::fig5::{ConformingCount, Figure5a, Figure5b, NnDistances};
use crate::fig6::Figure6;
use crate::grid::{AnnotatedImage, KeyPoint, SampleGrid};
use crate::render::{write_figure, Written};
use crate::runs::{config_value, load_runs, scatter_panel, Run};
use crate::scatter::ScatterFigure;
use crate::sweep::{SweepFigure, SweepPoint};

/// Figures of the paper as PNG + SVG.
#[derive(Debug, Parser)]
#[command(name = "plots", version, about)]
pub struct Args {
    /// Which figure(s).
    #[command(subcommand)]
    pub which: Which,
    /// Folder of run directories (`<runs>/<name>/eval/results.json`, `config.toml`, `samples/`).
    #[arg(long, global = true, default_value = "runs")]
    pub runs: PathBuf,
    /// Output folder.
    #[arg(long, global = true, default_value = "out/figures")]
    pub out: PathBuf,
    /// Seed of generated data (Fig. 3, Fig. 8) and of Figure 6.
    #[arg(long, global = true, default_value_t = 0)]
    pub seed: u64,
    /// Figure 6: sampled x_t per panel (App. F: 5000).
    #[arg(long, global = true, default_value_t = 5000)]
    pub n_psi: usize,
    /// Figure 6: maximum gradient-descent iterations per panel.
    #[arg(long, global = true, default_value_t = 3000)]
    pub max_iters: usize,
    /// Figure 6: patch dimension d (App. F: 100).
    #[arg(long, global = true, default_value_t = 100)]
    pub d: usize,
    /// Figure 6: width m (App. F: 20).
    #[arg(long, global = true, default_value_t = 20)]
    pub m: usize,
    /// Figure 6: loss conventions (paper, score), comma separated; one figure each.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "paper,score"
    )]
    pub conventions: Vec<String>,
    /// Floor study: `floor.csv` written by `theory floor --out DIR`.
    #[arg(long, global = true, default_value = "out/floor/floor.csv")]
    pub floor_csv: PathBuf,
    /// Figure 3: generated training images per task.
    #[arg(long, global = true, default_value_t = 400)]
    pub n_train: usize,
}

/// The figure to make.
#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Which {
    /// Every figure with data; report the skipped ones.
    All,
    /// Figure 6: psi_t distributions from `theory` (no run needed).
    Fig6,
    /// Figure 3: fine-rule fit on generated training data (no run needed).
    Fig3,
    /// Figure 4: fine-rule fit on each run's samples.
    Fig4,
    /// Figure 5: (a) rule-conforming counts, (b) nearest-neighbour distances.
    Fig5,
    /// Figures 12-14: R^2 and Error against epochs / training-set size / resolution.
    Sweep,
    /// Figure 12 from training curves: R^2 and Error at each milestone of every
    /// `<runs>/<name>/curve.json` (written by `empirical curve`), one figure per run
    /// (`curve_<name>`) and, for a task with two or more runs (seeds), one with a
    /// line per run (`curve_<task>`).
    Curve,
    /// Figure 8: annotated training examples (no run needed).
    Fig8,
    /// Figures 9-10: annotated samples of each run.
    Grid,
    /// Rule error against width per architecture, from `theory floor`'s CSV.
    Floor,
}

/// What one figure command did.
#[derive(Debug)]
pub enum Outcome {
    /// Files written.
    Made(Vec<Written>),
    /// Not made, and why (missing data).
    Skipped(String),
}

/// Run one figure command.
pub fn make(which: Which, a: &Args) -> Result<Outcome, PlotError> {
    match which {
        Which::All => Err(PlotError::Invalid {
            figure: "all",
            what: "`all` is expanded by `run`, not by `make`".into(),
        }),
        Which::Fig6 => fig6(a),
        Which::Fig3 => fig3(a),
        Which::Fig4 => fig4(a),
        Which::Fig5 => fig5(a),
        Which::Sweep => sweep(a),
        Which::Curve => curve(a),
        Which::Fig8 => fig8(a),
        Which::Grid => grid(a),
        Which::Floor => floor(a),
    }
}

/// Expand `all` and run; returns (made, skipped, failed) messages.
pub fn run(a: &Args) -> i32 {
    let list: Vec<Which> = match a.which {
        Which::All => vec![
            Which::Fig6,
            Which::Fig3,
            Which::Fig8,
            Which::Fig4,
            Which::Fig5,
            Which::Sweep,
            Which::Curve,
            Which::Grid,
            Which::Floor,
        ],
        w => vec![w],
    };
    let single = list.len() == 1;
    let mut code = 0;
    for w in list {
        let name = format!("{w:?}").to_lowercase();
        match make(w, a) {
            Ok(Outcome::Made(files)) => {
                for f in files {
                    println!("{name}: wrote {} and {}", f.png.display(), f.svg.display());
                }
            }
            Ok(Outcome::Skipped(why)) => {
                println!("{name}: skipped: {why}");
                if single {
                    eprintln!("plots: error: {name}: no data: {why}");
                    code = 2;
                }
            }
            Err(e) => {
                eprintln!("plots: error: {name}: {e}");
                code = if matches!(
                    e,
                    PlotError::Empty { .. } | PlotError::Invalid { .. } | PlotError::Parse { .. }
                ) {
                    2
                } else {
                    1
                };
            }
        }
    }
    code
}

fn stem(a: &Args, name: &str) -> PathBuf {
    a.out.join(name)
}

fn fig6(a: &Args) -> Result<Outcome, PlotError> {
    let usage = |w: String| PlotError::Invalid {
        figure: "fig6",
        what: w,
    };
    if a.d < 2 || a.m == 0 || a.n_psi == 0 {
        return Err(usage("--d must be >= 2, --m >= 1, --n-psi >= 1".into()));
    }
    let mut files = Vec::new();
    for c in &a.conventions {
        let convention =
            theory::Convention::parse(c).map_err(|e| usage(format!("--conventions: {e}")))?;
        let cfg = theory::Figure6Config {
            d: a.d,
            m: a.m,
            n_psi: a.n_psi,
            convention,
            seed: a.seed,
            gd: theory::GdConfig {
                max_iters: a.max_iters,
                ..theory::Figure6Config::default().gd
            },
            ..theory::Figure6Config::default()
        };
        let panels = crate::theory_data::figure6_panels(&cfg)?;
        let name = format!("fig6_{}", c.to_lowercase());
        files.push(write_figure(&Figure6::new(panels)?, &stem(a, &name))?);
    }
    Ok(Outcome::Made(files))
}

fn generated_report(
    task: Task,
    n: usize,
    seed: u64,
) -> Result<(empirical_rules::Dataset, empirical_rules::EvalReport), PlotError> {
    let e = |e: empirical_rules::Error| PlotError::Theory(format!("empirical-rules: {e}"));
    let data = empirical_rules::generate(&GenConfig {
        task,
        n,
        size: 32,
        seed,
        kind: Kind::Train,
    })
    .map_err(e)?;
    let report =
        empirical_rules::evaluate(task, &data.images, &EvalConfig::default()).map_err(e)?;
    Ok((data, report))
}

fn fig3(a: &Args) -> Result<Outcome, PlotError> {
    if a.n_train < 3 {
        return Err(PlotError::Invalid {
            figure: "fig3",
            what: "--n-train must be >= 3".into(),
        });
    }
    let mut panels = Vec::new();
    for (i, task) in Task::ALL.into_iter().enumerate() {
        let (_, report) = generated_report(task, a.n_train, a.seed.wrapping_add(i as u64))?;
        panels.push(scatter_panel(
            &report,
            format!("Task {} (training data, n = {})", task.letter(), a.n_train),
        ));
    }
    let fig = ScatterFigure::new(
        "Figure 3: fine-rule features extracted from generated training data, [2.5 %, 97.5 %] per coordinate",
        panels,
    )?;
    Ok(Outcome::Made(vec![write_figure(&fig, &stem(a, "fig3"))?]))
}

fn runs_or_skip(a: &Args) -> Result<Vec<Run>, String> {
    let (runs, bad) = load_runs(&a.runs);
    for b in &bad {
        eprintln!("plots: warning: unreadable results: {b}");
    }
    if runs.is_empty() {
        Err(format!(
            "no run with eval/results.json under {}",
            a.runs.display()
        ))
    } else {
        Ok(runs)
    }
}

fn fig4(a: &Args) -> Result<Outcome, PlotError> {
    let runs = match runs_or_skip(a) {
        Ok(r) => r,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let mut panels = Vec::new();
    for r in runs.iter().filter(|r| r.report.summary.n_valid >= 3) {
        let panel = scatter_panel(
            &r.report,
            format!("Task {} ({})", r.report.task.letter(), r.name),
        );
        match panel.fit() {
            Ok(_) => panels.push(panel),
            Err(e) => eprintln!("plots: warning: fig4: skipped run {}: {e}", r.name),
        }
    }
    if panels.is_empty() {
        return Ok(Outcome::Skipped(
            "no run has 3 or more valid samples with a fittable Eq. 4 line".into(),
        ));
    }
    let fig = ScatterFigure::new(
        "Figure 4: fine-rule features of DDPM samples, [2.5 %, 97.5 %] trimming",
        panels,
    )?;
    Ok(Outcome::Made(vec![write_figure(&fig, &stem(a, "fig4"))?]))
}

fn fig5(a: &Args) -> Result<Outcome, PlotError> {
    let runs = match runs_or_skip(a) {
        Ok(r) => r,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let mut files = Vec::new();
    let tol = runs[0].report.config.within_tol;
    let counts: Vec<ConformingCount> = runs
        .iter()
        .map(|r| {
            let (x, y) = crate::runs::valid_xy(&r.report.per_image);
            ConformingCount {
                task: format!("{} ({})", r.report.task.letter(), r.name),
                count: crate::fig5::count_within(
                    &x,
                    &y,
                    r.report.task.target_slope(),
                    r.report.config.within_tol,
                ),
                n_valid: x.len(),
            }
        })
        .collect();
    files.push(write_figure(
        &Figure5a::new(counts, tol)?,
        &stem(a, "fig5a"),
    )?);
    // (b): nearest-neighbour distances of rule-conforming samples (all valid samples with a
    // distance when none conforms), from the evaluator's nn_4d / nn_full.
    let mut skipped = Vec::new();
    for r in &runs {
        let k = r.report.task.target_slope();
        let tol = r.report.config.within_tol;
        let with_nn: Vec<_> = r
            .report
            .per_image
            .iter()
            .filter(|i| i.valid && i.nn_4d.is_some())
            .collect();
        if with_nn.is_empty() {
            skipped.push(format!(
                "{}: no nearest-neighbour distances (evaluated without the training set)",
                r.name
            ));
            continue;
        }
        let conforming: Vec<_> = with_nn
            .iter()
            .filter(|i| i.ratio.is_some_and(|q| (q - k).abs() <= tol))
            .collect();
        let (sel, which): (Vec<_>, &str) = if conforming.is_empty() {
            (
                with_nn.iter().collect(),
                "all valid samples (none rule-conforming)",
            )
        } else {
            (conforming, "rule-conforming samples")
        };
        let d4: Vec<f64> = sel.iter().filter_map(|i| i.nn_4d).collect();
        let dfull: Vec<f64> = sel.iter().filter_map(|i| i.nn_full).collect();
        let mut spaces = vec![NnDistances {
            space: format!(
                "Task {} {}: 4-D features, {which}",
                r.report.task.letter(),
                r.name
            ),
            distances: d4,
            thresholds: vec![0.1, 0.2, 0.3],
        }];
        if !dfull.is_empty() {
            spaces.push(NnDistances {
                space: format!(
                    "features + colours ({}-D)",
                    4 + 3 * r.report.task.elements().len()
                ),
                distances: dfull,
                thresholds: vec![0.1, 0.2, 0.3],
            });
        }
        files.push(write_figure(
            &Figure5b::new(spaces)?,
            &stem(a, &format!("fig5b_{}", r.name)),
        )?);
    }
    for s in skipped {
        println!("fig5: (b) skipped for {s}");
    }
    Ok(Outcome::Made(files))
}

fn sweep(a: &Args) -> Result<Outcome, PlotError> {
    let runs = match runs_or_skip(a) {
        Ok(r) => r,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for (key, label) in [
        ("epochs", "training epochs"),
        ("n_train", "training-set size (images)"),
        ("image_size", "image side (pixels)"),
    ] {
        for task in Task::ALL {
            let mut points: Vec<SweepPoint> = Vec::new();
            for r in runs.iter().filter(|r| r.report.task == task) {
                if let (Some(v), Some(e)) =
                    (config_value(&r.dir, key), r.report.summary.eq4.as_ref())
                {
                    points.push(SweepPoint {
                        value: v,
                        r_squared: e.fit.r_squared,
                        error: e.total,
                        r_squared_interval: r
                            .report
                            .summary
                            .eq4_interval
                            .map(|i| i.r_squared.into()),
                        error_interval: r.report.summary.eq4_interval.map(|i| i.error.into()),
                        run: r.name.clone(),
                    });
                }
            }
            let mut distinct: Vec<f64> = points.iter().map(|p| p.value).collect();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() < 2 {
                notes.push(format!(
                    "{key}/Task {}: fewer than 2 distinct values",
                    task.letter()
                ));
                continue;
            }
            let fig = SweepFigure::new(label, task, points)?;
            files.push(write_figure(
                &fig,
                &stem(a, &format!("sweep_{key}_task{}", task.letter())),
            )?);
        }
    }
    if files.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "no setting varies across runs of one task ({})",
            notes.join("; ")
        )));
    }
    Ok(Outcome::Made(files))
}

fn curve(a: &Args) -> Result<Outcome, PlotError> {
    let Ok(entries) = std::fs::read_dir(&a.runs) else {
        return Ok(Outcome::Skipped(format!("no folder {}", a.runs.display())));
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|d| RunLayout::new(d).curve().is_file())
        .collect();
    dirs.sort();
    let mut files = Vec::new();
    // Per task: how many runs, and their fitted milestones.
    let mut by_task: Vec<(Task, usize, Vec<SweepPoint>)> = Vec::new();
    for d in dirs {
        let name = d
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let c = Curve::load(&RunLayout::new(&d).curve()).map_err(|e| PlotError::Invalid {
            figure: "curve",
            what: e.to_string(),
        })?;
        let points: Vec<SweepPoint> = c
            .points
            .iter()
            .filter_map(|p| {
                Some(SweepPoint {
                    value: p.epoch as f64,
                    r_squared: p.r_squared?,
                    error: p.error?,
                    r_squared_interval: p.r_squared_interval.map(Into::into),
                    error_interval: p.error_interval.map(Into::into),
                    run: name.clone(),
                })
            })
            .collect();
        if points.len() < 2 {
            println!("curve: {name} skipped (fewer than 2 milestones with a fit)");
            continue;
        }
        let fig = SweepFigure::new("training epochs", c.task, points.clone())?.of_one_run();
        files.push(write_figure(&fig, &stem(a, &format!("curve_{name}")))?);
        match by_task.iter_mut().find(|(t, _, _)| *t == c.task) {
            Some((_, runs, all)) => {
                *runs += 1;
                all.extend(points);
            }
            None => by_task.push((c.task, 1, points)),
        }
    }
    // Runs of one task (seeds) side by side: one line per run.
    for (task, runs, points) in by_task {
        if runs < 2 {
            continue;
        }
        let fig = SweepFigure::new("training epochs", task, points)?.of_runs();
        files.push(write_figure(
            &fig,
            &stem(a, &format!("curve_{}", task.letter())),
        )?);
    }
    if files.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "no curve.json with 2 or more fitted milestones under {}",
            a.runs.display()
        )));
    }
    Ok(Outcome::Made(files))
}

/// Element centres (source pixels) as key points, from the evaluator's measurement.
fn key_points(task: Task, img: &image::RgbImage, cfg: &EvalConfig) -> Vec<KeyPoint> {
    match empirical_rules::eval::measure::measure(img, task, cfg) {
        Ok(m) => m
            .elements
            .iter()
            .zip(task.elements())
            .filter(|(e, _)| e.mass > 0.0)
            .map(|(e, spec)| KeyPoint {
                label: spec.name.to_string(),
                x: e.cx / m.factor as f64,
                y: e.cy / m.factor as f64,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn feature_caption(task: Task, r: &empirical_rules::ImageResult) -> String {
    if !r.valid {
        return format!(
            "#{} invalid: {}",
            r.index,
            r.reason.clone().unwrap_or_default()
        );
    }
    let f: Vec<String> = task
        .feature_names()
        .iter()
        .filter_map(|n| r.features.get(*n).map(|v| format!("{n}={v:.2}")))
        .collect();
    format!("#{} {}", r.index, f.join(" "))
}

fn fig8(a: &Args) -> Result<Outcome, PlotError> {
    let mut files = Vec::new();
    for (i, task) in Task::ALL.into_iter().enumerate() {
        let (data, report) = generated_report(task, 5, a.seed.wrapping_add(100 + i as u64))?;
        let images = data
            .images
            .iter()
            .zip(&report.per_image)
            .map(|(img, r)| AnnotatedImage {
                image: img.clone(),
                points: key_points(task, img, &report.config),
                ratio: r.ratio,
                caption: feature_caption(task, r),
            })
            .collect();
        let fig = SampleGrid::new(
            format!(
                "Figure 8: Task {} training examples, element centres and ratio y/x",
                task.letter()
            ),
            task.target_slope(),
            images,
        )?;
        files.push(write_figure(
            &fig,
            &stem(a, &format!("fig8_task{}", task.letter())),
        )?);
    }
    Ok(Outcome::Made(files))
}

fn grid(a: &Args) -> Result<Outcome, PlotError> {
    let runs = match runs_or_skip(a) {
        Ok(r) => r,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for r in &runs {
        let dir = r.dir.join("samples");
        let images = match load_sample_images(&dir) {
            Some(v) if !v.is_empty() => v,
            _ => {
                skipped.push(format!(
                    "{}: no readable samples in {}",
                    r.name,
                    dir.display()
                ));
                continue;
            }
        };
        let task = r.report.task;
        let k = task.target_slope();
        // Figure 10 style: valid samples sorted by how far their ratio is from the target.
        let mut chosen: Vec<&empirical_rules::ImageResult> = r
            .report
            .per_image
            .iter()
            .filter(|p| p.valid && p.index < images.len())
            .collect();
        chosen.sort_by(|x, y| {
            let d = |p: &&empirical_rules::ImageResult| {
                p.ratio.map_or(f64::INFINITY, |q| (q - k).abs())
            };
            d(y).total_cmp(&d(x))
        });
        chosen.truncate(10);
        if chosen.is_empty() {
            skipped.push(format!("{}: no valid samples", r.name));
            continue;
        }
        let annotated = chosen
            .iter()
            .map(|p| AnnotatedImage {
                image: images[p.index].clone(),
                points: key_points(task, &images[p.index], &r.report.config),
                ratio: p.ratio,
                caption: feature_caption(task, p),
            })
            .collect();
        let fig = SampleGrid::new(
            format!(
                "Task {} ({}): samples furthest from the fine rule",
                task.letter(),
                r.name
            ),
            k,
            annotated,
        )?;
        files.push(write_figure(&fig, &stem(a, &format!("grid_{}", r.name)))?);
    }
    for s in &skipped {
        println!("grid: skipped {s}");
    }
    if files.is_empty() {
        return Ok(Outcome::Skipped(skipped.join("; ")));
    }
    Ok(Outcome::Made(files))
}

fn load_sample_images(dir: &Path) -> Option<Vec<image::RgbImage>> {
    empirical_rules::load_images(dir).ok()
}

fn floor(a: &Args) -> Result<Outcome, PlotError> {
    if !a.floor_csv.is_file() {
        return Ok(Outcome::Skipped(format!(
            "no {} (make it with `cargo run -p theory --release -- floor --out {}`)",
            a.floor_csv.display(),
            a.floor_csv
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| ".".into())
        )));
    }
    let rows = crate::floor::read_floor_csv(&a.floor_csv)?;
    let fig = crate::floor::FloorFigure::new(&rows)?;
    Ok(Outcome::Made(vec![write_figure(
        &fig,
        &a.out.join("floor"),
    )?]))
}
