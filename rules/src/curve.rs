//! A training curve (the paper's Fig. 12): the evaluator's summary of one run's samples at
//! epoch milestones, as `empirical curve` writes it (`curve.json`, `curve.csv` of a run folder,
//! [`crate::RunLayout::curve`]) and `plots curve` reads it.
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};
use crate::eval::{Interval, Summary};
use crate::task::Task;

/// The collected curve of a run (`curve.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub task: Task,
    /// The milestones, in epochs, ascending.
    pub epochs: Vec<u64>,
    /// The points measured so far, one per milestone, in order.
    pub points: Vec<CurvePoint>,
}

/// One milestone's measurement (`curve/epoch-<E>/point.json`, a row of `curve.csv`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub epoch: u64,
    /// Optimiser steps after `epoch` epochs.
    pub step: u64,
    /// Mean training loss over the milestone's last epoch (the logged windows of `metrics.csv`).
    pub train_loss: Option<f64>,
    /// Training time of the run so far (seconds, summed over its sessions).
    pub train_seconds: f64,
    /// Samples drawn.
    pub n: usize,
    pub invalid_pct: f64,
    pub n_valid: usize,
    /// Coarse-rule violations among the valid samples.
    pub coarse_violations: usize,
    /// Violations and valid samples under the "premise resolved" reading (Task A).
    pub coarse_resolved: Option<(usize, usize)>,
    /// R² of the fine rule's fit (Eq. 4's OLS fit).
    pub r_squared: Option<f64>,
    /// Eq. 4 Error and its parts `|β̂1 − k| + |β̂0|` and `sqrt(Var(ŷ − y))`.
    pub error: Option<f64>,
    pub bias_part: Option<f64>,
    pub variance_part: Option<f64>,
    /// 95 % bootstrap intervals of `error` and `r_squared` over the milestone's samples
    /// ([`crate::eval::interval`]): the evaluation's own noise at this sample count. `None`
    /// where the fit is undefined or in points written before they were measured.
    #[serde(default)]
    pub error_interval: Option<Interval>,
    #[serde(default)]
    pub r_squared_interval: Option<Interval>,
}

impl CurvePoint {
    /// The point of the samples scored in `s`, after `epoch` epochs (`step` steps).
    pub fn from_summary(
        epoch: u64,
        step: u64,
        train_loss: Option<f64>,
        train_seconds: f64,
        s: &Summary,
    ) -> Self {
        CurvePoint {
            epoch,
            step,
            train_loss,
            train_seconds,
            n: s.n,
            invalid_pct: s.invalid_pct,
            n_valid: s.n_valid,
            coarse_violations: s.coarse_violations,
            coarse_resolved: s.coarse_resolved.map(|c| (c.violations, c.n)),
            r_squared: s.eq4.as_ref().map(|e| e.fit.r_squared),
            error: s.eq4.as_ref().map(|e| e.total),
            bias_part: s.eq4.as_ref().map(|e| e.bias_part),
            variance_part: s.eq4.as_ref().map(|e| e.variance_part),
            error_interval: s.eq4_interval.map(|i| i.error),
            r_squared_interval: s.eq4_interval.map(|i| i.r_squared),
        }
    }
}

impl Curve {
    /// Read a `curve.json`.
    pub fn load(path: &Path) -> Result<Curve> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Write {
            path: path.to_path_buf(),
            message: format!("cannot parse: {e}"),
        })
    }
}

fn cell(v: Option<f64>, prec: usize) -> String {
    v.map_or(String::new(), |x| format!("{x:.prec$}"))
}

/// `curve.csv`: one row per measured milestone (empty cells where the fit is undefined).
pub fn to_csv(curve: &Curve) -> String {
    let mut s = String::from(
        "epoch,step,train_loss,train_seconds,n,invalid_pct,n_valid,coarse_violations,\
         r_squared,error,bias_part,variance_part,error_lo,error_hi,r_squared_lo,r_squared_hi\n",
    );
    for p in &curve.points {
        let (elo, ehi) = bounds(p.error_interval);
        let (rlo, rhi) = bounds(p.r_squared_interval);
        s.push_str(&format!(
            "{},{},{},{:.1},{},{:.2},{},{},{},{},{},{},{},{},{},{}\n",
            p.epoch,
            p.step,
            cell(p.train_loss, 6),
            p.train_seconds,
            p.n,
            p.invalid_pct,
            p.n_valid,
            p.coarse_violations,
            cell(p.r_squared, 4),
            cell(p.error, 4),
            cell(p.bias_part, 4),
            cell(p.variance_part, 4),
            cell(elo, 4),
            cell(ehi, 4),
            cell(rlo, 4),
            cell(rhi, 4),
        ));
    }
    s
}

fn bounds(i: Option<Interval>) -> (Option<f64>, Option<f64>) {
    (i.map(|i| i.lo), i.map(|i| i.hi))
}

/// The curve as a printed table.
pub fn format_table(curve: &Curve) -> String {
    let opt = |v: Option<f64>, p: usize| v.map_or("-".into(), |x| format!("{x:.p$}"));
    let mut s = String::from(
        "epoch |   step  | train loss | invalid % | coarse viol. |  R^2   | Error  |  bias  |  var   | Error 95 %\n",
    );
    for p in &curve.points {
        s.push_str(&format!(
            "{:>5} | {:>7} | {:>10} | {:>9.2} | {:>12} | {:>6} | {:>6} | {:>6} | {:>6} | {}\n",
            p.epoch,
            p.step,
            opt(p.train_loss, 5),
            p.invalid_pct,
            format!("{} / {}", p.coarse_violations, p.n_valid),
            opt(p.r_squared, 3),
            opt(p.error, 4),
            opt(p.bias_part, 4),
            opt(p.variance_part, 4),
            p.error_interval
                .map_or("-".into(), |i| format!("[{:.4}, {:.4}]", i.lo, i.hi)),
        ));
    }
    s
}
