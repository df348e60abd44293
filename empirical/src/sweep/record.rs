//! A finished point's record (`points/<id>/point.json`): its axes, what it ran and the
//! evaluator's summary of its samples.
use empirical_rules::color::RangeSet;
use empirical_rules::{EvalReport, Task};
use serde::{Deserialize, Serialize};

use super::layout::SweepLayout;
use super::plan::Point;
use super::spec::{Step, SweepSpec};
use crate::error::{Error, Result};
use crate::rundir::write_atomic;

/// One axis value of a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AxisValue {
    pub key: String,
    pub value: toml::Value,
}

/// The evaluator's summary of a point's samples (Table 1 and the Eq. 4 Error).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointEval {
    pub n: usize,
    pub n_valid: usize,
    pub invalid_pct: f64,
    pub coarse_violations: usize,
    /// Pairs kept by the evaluator's default trimming and fitted.
    pub n_fitted: Option<usize>,
    /// Eq. 4 Error of the fine rule and its bias and variance parts.
    pub error: Option<f64>,
    pub bias_part: Option<f64>,
    pub variance_part: Option<f64>,
    pub r_squared: Option<f64>,
}

impl PointEval {
    pub fn from_report(report: &EvalReport) -> Self {
        let s = &report.summary;
        let e = s.eq4.as_ref();
        PointEval {
            n: s.n,
            n_valid: s.n_valid,
            invalid_pct: s.invalid_pct,
            coarse_violations: s.coarse_violations,
            n_fitted: e.map(|e| e.n_kept),
            error: e.map(|e| e.total),
            bias_part: e.map(|e| e.bias_part),
            variance_part: e.map(|e| e.variance_part),
            r_squared: e.map(|e| e.fit.r_squared),
        }
    }
}

/// `point.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    pub index: usize,
    pub id: String,
    pub task: Task,
    pub seed: u64,
    pub axes: Vec<AxisValue>,
    pub steps: Vec<Step>,
    pub ranges: RangeSet,
    /// Optimiser steps of the trained model.
    pub train_steps: u64,
    /// Training loss of the last step (or logging window) when the point was trained.
    pub final_loss: Option<f32>,
    pub eval: Option<PointEval>,
    /// SHA-256 of the samples' `samples.npy` (the same seed and config give the same file on the
    /// same CPU and thread count).
    #[serde(default)]
    pub samples_sha256: Option<String>,
    /// Backend it ran on.
    pub backend: String,
    /// Wall-clock seconds of the attempt that finished it.
    pub seconds: f64,
}

impl PointRecord {
    /// Whether this record finishes `point` of `spec`: same id and every step of the spec
    /// done with the same evaluator ranges.
    pub fn finishes(&self, point: &Point, spec: &SweepSpec) -> bool {
        self.id == point.id
            && spec.steps.iter().all(|s| self.steps.contains(s))
            && (!spec.runs(Step::Eval) || self.ranges == spec.ranges)
    }

    /// The record of `id` in `layout`, if it exists and parses.
    pub fn read(layout: &SweepLayout, id: &str) -> Option<Self> {
        let text = std::fs::read_to_string(layout.record(id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Write `point.json` atomically.
    pub fn write(&self, layout: &SweepLayout) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Other(e.to_string()))?;
        write_atomic(&layout.record(&self.id), &json)
    }
}

/// The finished record of `point`, if there is one.
pub fn finished(layout: &SweepLayout, spec: &SweepSpec, point: &Point) -> Option<PointRecord> {
    PointRecord::read(layout, &point.id).filter(|r| r.finishes(point, spec))
}
