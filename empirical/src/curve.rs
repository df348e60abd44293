//! Training curves (the paper's Fig. 12, at any preset): one training run, stopped at epoch
//! milestones, each milestone's EMA weights sampled and scored with the same sampler and sample
//! count. A milestone's point is the run as it stands after `epoch` epochs; with a constant
//! learning rate (the `cpu` preset) that is the run one would get by training for `epoch` epochs
//! from scratch, since the batches of step `s` depend only on the seed and `s`
//! ([`crate::train::batch_indices`]). With a schedule over the run's length (cosine) the points
//! are snapshots of one run to the last milestone.
//!
//! Layout inside the run directory (beside the usual `config.toml`, `checkpoints/`,
//! `metrics.csv`): `curve/epoch-<E>/` per milestone (`point.json`, `results.json`,
//! `per_image.csv`, `samples_grid.png`, `samples.npy`) and the collected `curve.json` and
//! `curve.csv`. A milestone with its `point.json` is done; running the curve again resumes with
//! the first milestone that has none, from the run's newest checkpoint.
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::pipeline::{self, TrainRunOptions};
use crate::rundir::{write_atomic, RunDir};
use crate::train;
use empirical_rules::color::RangeSet;
pub use empirical_rules::curve::{format_table, to_csv, Curve, CurvePoint};
use empirical_rules::eval::interval;

/// Options of [`run_curve`].
#[derive(Clone, Debug, Default)]
pub struct CurveOptions {
    pub quiet: bool,
    pub command: String,
    pub backend: String,
}

/// `curve/epoch-<E>` of a run.
pub fn milestone_dir(run: &RunDir, epoch: u64) -> PathBuf {
    run.layout().milestone(epoch)
}

/// `curve.json` of a run.
pub fn curve_path(run: &RunDir) -> PathBuf {
    run.layout().curve()
}

/// Read `curve.json` of a run.
pub fn load(run: &RunDir) -> Result<Curve> {
    Curve::load(&curve_path(run)).map_err(|e| Error::Rules(e.to_string()))
}

/// Milestones sorted, without repeats, all positive and within `cfg.train.epochs`.
pub fn check_epochs(epochs: &[u64], cfg: &RunConfig) -> Result<Vec<u64>> {
    let mut e = epochs.to_vec();
    e.sort_unstable();
    e.dedup();
    match (e.first(), e.last()) {
        (None, _) => Err(Error::config("epochs", "give at least one milestone")),
        (Some(0), _) => Err(Error::config("epochs", "milestones must be positive")),
        (_, Some(&last)) if last > cfg.train.epochs as u64 => Err(Error::config(
            "train.epochs",
            format!(
                "the run stops at {} epochs, before the last milestone {last}",
                cfg.train.epochs
            ),
        )),
        _ => Ok(e),
    }
}

/// Train `cfg` in `run` to each milestone of `epochs` in turn, sampling and scoring the EMA
/// weights (or the raw ones where `sample.use_ema` is off) at each, and write `curve.json` and
/// `curve.csv` after every point. Milestones already measured are read back, not redone.
pub fn run_curve<B: AutodiffBackend>(
    cfg: &RunConfig,
    run: &RunDir,
    epochs: &[u64],
    opts: &CurveOptions,
    device: &B::Device,
) -> Result<Curve> {
    if cfg.train.max_steps > 0 {
        return Err(Error::config(
            "train.max_steps",
            "a curve runs by epochs: set train.max_steps = 0",
        ));
    }
    let epochs = check_epochs(epochs, cfg)?;
    let spe = train::steps_per_epoch(cfg.data.n_train, cfg.train.batch_size);
    let mut curve = Curve {
        task: cfg.task,
        epochs: epochs.clone(),
        points: Vec::new(),
    };
    for &epoch in &epochs {
        let dir = milestone_dir(run, epoch);
        let point_file = dir.join("point.json");
        if point_file.is_file() {
            curve.points.push(read_point(&point_file)?);
            continue;
        }
        let stop = epoch * spe;
        if let Some((step, p)) = run.latest_checkpoint() {
            if step > stop {
                return Err(Error::Other(format!(
                    "milestone {epoch} (step {stop}) has no point, but the run's newest \
                     checkpoint {} is past it (step {step}); the curve cannot go back",
                    p.display()
                )));
            }
        }
        let (trainer, _) = pipeline::train_run::<B>(
            cfg,
            run,
            &TrainRunOptions {
                quiet: opts.quiet,
                stop_at: Some(stop),
                command: opts.command.clone(),
                backend: opts.backend.clone(),
            },
            device,
        )?;
        if trainer.step() != stop {
            return Err(Error::Other(format!(
                "training stopped at step {} before milestone {epoch} (step {stop})",
                trainer.step()
            )));
        }
        // the milestone's own checkpoint, so that a stop while sampling resumes here
        let ckpt = run.checkpoint_path(stop);
        if !ckpt.is_file() {
            trainer.checkpoint().save(&ckpt)?;
        }
        let model = trainer.sampling_model();
        let images = pipeline::sample_as_configured(&model, cfg, opts.quiet, device);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        pipeline::write_npy_u8(&dir.join("samples.npy"), &images)?;
        pipeline::write_grid(&images, 8, &dir.join("samples_grid.png"))?;
        let report = pipeline::evaluate_to(cfg, &images, RangeSet::Loose, &dir, "results")?;
        let point = CurvePoint::from_summary(
            epoch,
            stop,
            mean_loss(&run.metrics_path(), stop.saturating_sub(spe), stop),
            trainer.optim.train_seconds,
            &report.summary,
        );
        write_json(&point_file, &point)?;
        curve.points.push(point);
        write_curve(run, &curve)?;
        if !opts.quiet {
            eprintln!("{}", format_table(&curve).lines().last().unwrap_or(""));
        }
    }
    write_curve(run, &curve)?;
    Ok(curve)
}

/// How [`rescore`] scored a milestone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rescored {
    /// Its `samples.npy` evaluated again: every field of the point is the evaluator's as it now is.
    Samples,
    /// Its samples are not kept: the point is unchanged apart from the intervals, computed from
    /// the `(x, y)` pairs of the valid images in its `per_image.csv`.
    IntervalsOnly,
}

/// Score every measured milestone of `run` again with the evaluator as it now is, without
/// training or sampling. A milestone with its `samples.npy` is evaluated again (its
/// `results.json`, `per_image.csv` and `point.json` rewritten; the point keeps its training
/// fields: step, training loss and time); one whose samples are not kept gets only the bootstrap
/// intervals of [`CurvePoint`], from its `per_image.csv`. Then `curve.json` and `curve.csv`.
/// A milestone with neither file is an error, raised before anything is written.
pub fn rescore(cfg: &RunConfig, run: &RunDir) -> Result<(Curve, Vec<Rescored>)> {
    let stored = load(run)?;
    // each milestone's own point.json, as a resumed curve reads it
    let olds: Vec<CurvePoint> = stored
        .points
        .iter()
        .map(|p| read_point(&milestone_dir(run, p.epoch).join("point.json")))
        .collect::<Result<_>>()?;
    let how: Vec<Rescored> = olds
        .iter()
        .map(|p| {
            let dir = milestone_dir(run, p.epoch);
            if dir.join("samples.npy").is_file() {
                Ok(Rescored::Samples)
            } else if dir.join("per_image.csv").is_file() {
                Ok(Rescored::IntervalsOnly)
            } else {
                Err(Error::Other(format!(
                    "milestone {} has a point but neither samples.npy nor per_image.csv in {}",
                    p.epoch,
                    dir.display()
                )))
            }
        })
        .collect::<Result<_>>()?;
    let rules = |e: empirical_rules::Error| Error::Rules(e.to_string());
    let mut points = Vec::with_capacity(how.len());
    for (old, &h) in olds.iter().zip(&how) {
        let dir = milestone_dir(run, old.epoch);
        let point = match h {
            Rescored::Samples => {
                let images = empirical_rules::io::read_npy_images(&dir.join("samples.npy"))
                    .map_err(rules)?;
                let report = pipeline::evaluate_to(cfg, &images, RangeSet::Loose, &dir, "results")?;
                CurvePoint::from_summary(
                    old.epoch,
                    old.step,
                    old.train_loss,
                    old.train_seconds,
                    &report.summary,
                )
            }
            Rescored::IntervalsOnly => {
                let (x, y) = empirical_rules::cli::read_per_image_pairs(&dir.join("per_image.csv"))
                    .map_err(rules)?;
                let iv = old.error.and_then(|_| {
                    interval::of_summary_pairs(
                        cfg.task,
                        &x,
                        &y,
                        &pipeline::eval_config(RangeSet::Loose),
                    )
                });
                CurvePoint {
                    error_interval: iv.map(|i| i.error),
                    r_squared_interval: iv.map(|i| i.r_squared),
                    ..old.clone()
                }
            }
        };
        write_json(&dir.join("point.json"), &point)?;
        points.push(point);
    }
    let curve = Curve { points, ..stored };
    write_curve(run, &curve)?;
    Ok((curve, how))
}

/// A milestone's `point.json`.
fn read_point(path: &Path) -> Result<CurvePoint> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Other(format!("{}: {e}", path.display())))
}

/// Mean of the logged losses of `metrics.csv` (`step,loss,...`) at steps in `(from, to]`.
fn mean_loss(path: &Path, from: u64, to: u64) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let losses: Vec<f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let step: u64 = f.next()?.parse().ok()?;
            let loss: f64 = f.next()?.parse().ok()?;
            (step > from && step <= to).then_some(loss)
        })
        .collect();
    (!losses.is_empty()).then(|| losses.iter().sum::<f64>() / losses.len() as f64)
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(v).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(path, &json)
}

/// Write `curve.json` and `curve.csv` of a run.
pub fn write_curve(run: &RunDir, curve: &Curve) -> Result<()> {
    write_json(&curve_path(run), curve)?;
    write_atomic(&run.layout().curve_csv(), to_csv(curve).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use empirical_rules::Task;

    #[test]
    fn milestones_are_sorted_and_bounded() {
        let mut cfg = RunConfig::preset(Preset::Tiny, Task::A).unwrap();
        cfg.train.epochs = 10;
        assert_eq!(check_epochs(&[5, 1, 5, 10], &cfg).unwrap(), vec![1, 5, 10]);
        assert!(check_epochs(&[], &cfg).is_err());
        assert!(check_epochs(&[0, 2], &cfg).is_err());
        assert!(check_epochs(&[11], &cfg).is_err());
    }

    #[test]
    fn mean_loss_takes_the_logged_windows_of_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.csv");
        std::fs::write(
            &p,
            "step,loss,lr,img_per_s\n2,4.0,0.1,1\n4,2.0,0.1,1\n6,1.0,0.1,1\n",
        )
        .unwrap();
        assert_eq!(mean_loss(&p, 2, 6), Some(1.5));
        assert_eq!(mean_loss(&p, 0, 2), Some(4.0));
        assert_eq!(mean_loss(&p, 6, 8), None);
    }
}
