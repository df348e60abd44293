//! The evaluator (Sec. 3.2) from Python: `evaluate` scores converted images as the `eval`
//! command does (`empirical_rules::batch::evaluate_sets`), with the GIL released, and returns
//! the report, whose JSON is byte for byte the `results.json` that `eval` writes.
use crate::error::{BindingError, Result};
use crate::images::Images;
use empirical_rules::color::RangeSet;
use empirical_rules::eval::{EvalConfig, EvalReport, ImageResult, TrimVariant};
use empirical_rules::Task;
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// An evaluation: the per-image verdicts and the summary (Table 1, Figs 3-5, Eq. 4).
#[pyclass(module = "hidden_rules._native", frozen)]
pub struct NativeReport {
    report: EvalReport,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| BindingError::Json(e.to_string()))
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn float_column<'py>(
    py: Python<'py>,
    per: &[ImageResult],
    f: impl Fn(&ImageResult) -> Option<f64>,
) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_vec(py, per.iter().map(|r| opt(f(r))).collect())
}

#[pymethods]
impl NativeReport {
    /// The report as `eval` writes `results.json` (pretty-printed JSON).
    fn to_json(&self) -> PyResult<String> {
        Ok(json(&self.report)?)
    }
    /// The summary alone, as JSON.
    fn summary_json(&self) -> PyResult<String> {
        Ok(json(&self.report.summary)?)
    }
    /// The task letter.
    #[getter]
    fn task(&self) -> String {
        self.report.task.to_string()
    }
    fn __len__(&self) -> usize {
        self.report.per_image.len()
    }
    /// The columns of `per_image.csv` as numpy arrays (NaN where the CSV is empty), names and
    /// reasons as lists.
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let per = &self.report.per_image;
        let task = self.report.task;
        let d = PyDict::new(py);
        let ints: Vec<i64> = per.iter().map(|r| r.index as i64).collect();
        d.set_item("index", PyArray1::from_vec(py, ints))?;
        let names: Vec<String> = per
            .iter()
            .map(|r| r.name.clone().unwrap_or_default())
            .collect();
        d.set_item("name", names)?;
        let valid: Vec<bool> = per.iter().map(|r| r.valid).collect();
        d.set_item("valid", PyArray1::from_vec(py, valid))?;
        let reasons: Vec<Option<String>> = per.iter().map(|r| r.reason.clone()).collect();
        d.set_item("reason", reasons)?;
        let detected: Vec<bool> = per.iter().map(|r| r.detected).collect();
        d.set_item("detected", PyArray1::from_vec(py, detected))?;
        let coarse = |r: &ImageResult| r.coarse_ok.map(|b| if b { 1.0 } else { 0.0 });
        d.set_item("coarse_ok", float_column(py, per, coarse))?;
        d.set_item(
            "coarse_premise_px",
            float_column(py, per, |r| r.coarse_premise_px),
        )?;
        d.set_item("x", float_column(py, per, |r| r.x))?;
        d.set_item("y", float_column(py, per, |r| r.y))?;
        d.set_item("ratio", float_column(py, per, |r| r.ratio))?;
        for name in task.feature_names() {
            d.set_item(
                name,
                float_column(py, per, |r| r.features.get(name).copied()),
            )?;
        }
        for (e, el) in task.elements().iter().enumerate() {
            for (c, ch) in ["r", "g", "b"].iter().enumerate() {
                let col = float_column(py, per, |r| r.colors.get(e).map(|v| f64::from(v[c])));
                d.set_item(format!("{}_{ch}", el.name), col)?;
            }
        }
        d.set_item("clutter", float_column(py, per, |r| r.clutter))?;
        d.set_item("nn_4d", float_column(py, per, |r| r.nn_4d))?;
        d.set_item("nn_full", float_column(py, per, |r| r.nn_full))?;
        Ok(d)
    }
}

fn parse<T: std::str::FromStr<Err = empirical_rules::Error>>(s: &str) -> Result<T> {
    Ok(s.parse::<T>()?)
}

/// Score `images` for `task` with the settings of `eval`'s flags (same names and defaults);
/// `train` adds nearest-neighbour distances (Fig. 5b), its images scored with strict ranges.
#[pyfunction]
#[pyo3(signature = (images, task, *, ranges="strict", trim="per-coordinate", train=None, upscale=0, a_min=0.1, strict_count=false, coarse_min_premise_px=1.0))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    py: Python<'_>,
    images: &Images,
    task: &str,
    ranges: &str,
    trim: &str,
    train: Option<&Images>,
    upscale: u32,
    a_min: f32,
    strict_count: bool,
    coarse_min_premise_px: f64,
) -> PyResult<NativeReport> {
    let task: Task = parse(task)?;
    let cfg = EvalConfig {
        ranges: parse::<RangeSet>(ranges)?,
        upscale,
        a_min,
        default_trim: parse::<TrimVariant>(trim)?,
        strict_count,
        coarse_min_premise_px,
        ..EvalConfig::default()
    };
    let samples = &images.loaded;
    let train = train.map(|t| t.loaded.as_slice());
    let report = py
        .detach(|| empirical_rules::batch::evaluate_sets(task, samples, train, &cfg))
        .map_err(BindingError::from)?;
    Ok(NativeReport { report })
}
