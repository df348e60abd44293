//! `sweep collect`: every finished point's record in one table (`sweep.json`, `sweep.csv`),
//! one row per point in spec order, with the resolved axes as columns.
use serde::{Deserialize, Serialize};

use super::layout::SweepLayout;
use super::plan::Point;
use super::record::{finished, PointRecord};
use super::spec::{value_text, SweepSpec};
use crate::error::{Error, Result};
use crate::rundir::write_atomic;

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepTable {
    pub name: String,
    pub n_points: usize,
    /// Axis keys, in spec order (the CSV's axis columns).
    pub axes: Vec<String>,
    /// Finished points, in spec order.
    pub points: Vec<PointRecord>,
    /// Ids of the points not finished yet.
    pub unfinished: Vec<String>,
}

/// Gather the records of `points` from `layout`.
pub fn collect(spec: &SweepSpec, points: &[Point], layout: &SweepLayout) -> SweepTable {
    let mut done = Vec::new();
    let mut unfinished = Vec::new();
    for p in points {
        match finished(layout, spec, p) {
            Some(r) => done.push(r),
            None => unfinished.push(p.id.clone()),
        }
    }
    SweepTable {
        name: spec.name.clone(),
        n_points: points.len(),
        axes: spec.axes.iter().map(|a| a.key.clone()).collect(),
        points: done,
        unfinished,
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl SweepTable {
    /// The CSV text: index, id, the axes, then the point's results.
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = vec!["index".into(), "id".into()];
        header.extend(self.axes.iter().cloned());
        header.extend(
            [
                "task",
                "seed",
                "train_steps",
                "final_loss",
                "n",
                "n_valid",
                "invalid_pct",
                "coarse_violations",
                "n_fitted",
                "error",
                "bias_part",
                "variance_part",
                "r_squared",
                "backend",
                "seconds",
            ]
            .map(String::from),
        );
        let csv_err = |e: csv::Error| Error::Other(format!("sweep.csv: {e}"));
        w.write_record(&header).map_err(csv_err)?;
        for r in &self.points {
            let mut row = vec![r.index.to_string(), r.id.clone()];
            for key in &self.axes {
                row.push(
                    r.axes
                        .iter()
                        .find(|a| &a.key == key)
                        .map(|a| value_text(&a.value))
                        .unwrap_or_default(),
                );
            }
            let e = r.eval.as_ref();
            row.extend([
                r.task.to_string(),
                r.seed.to_string(),
                r.train_steps.to_string(),
                opt(r.final_loss),
                opt(e.map(|e| e.n)),
                opt(e.map(|e| e.n_valid)),
                opt(e.map(|e| e.invalid_pct)),
                opt(e.map(|e| e.coarse_violations)),
                opt(e.and_then(|e| e.n_fitted)),
                opt(e.and_then(|e| e.error)),
                opt(e.and_then(|e| e.bias_part)),
                opt(e.and_then(|e| e.variance_part)),
                opt(e.and_then(|e| e.r_squared)),
                r.backend.clone(),
                format!("{:.3}", r.seconds),
            ]);
            w.write_record(&row).map_err(csv_err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::Other(format!("sweep.csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::Other(e.to_string()))
    }

    /// Write `sweep.json` and `sweep.csv`, each atomically.
    pub fn write(&self, layout: &SweepLayout) -> Result<()> {
        std::fs::create_dir_all(&layout.root).map_err(|e| Error::io(&layout.root, e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Other(e.to_string()))?;
        write_atomic(&layout.json(), &json)?;
        write_atomic(&layout.csv(), self.to_csv()?.as_bytes())
    }

    /// A short text table for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{:>5} | {:<16} | {:<32} | {:>8} | {:>9} | {:>7} | {:>8} | {:>6}\n",
            "index", "id", "axes", "steps", "invalid %", "coarse", "Error", "R^2"
        ));
        for r in &self.points {
            let axes = r
                .axes
                .iter()
                .map(|a| format!("{}={}", a.key, value_text(&a.value)))
                .collect::<Vec<_>>()
                .join(" ");
            let e = r.eval.as_ref();
            let f = |v: Option<f64>, p: usize| v.map_or("-".into(), |x| format!("{x:.p$}"));
            s.push_str(&format!(
                "{:>5} | {:<16} | {:<32} | {:>8} | {:>9} | {:>7} | {:>8} | {:>6}\n",
                r.index,
                r.id,
                axes,
                r.train_steps,
                f(e.map(|e| e.invalid_pct), 2),
                e.map_or("-".into(), |e| format!(
                    "{}/{}",
                    e.coarse_violations, e.n_valid
                )),
                f(e.and_then(|e| e.error), 4),
                f(e.and_then(|e| e.r_squared), 3),
            ));
        }
        s
    }
}
