//! The Task A-D generators (App. C; contrastive sets of Sec. 5, coarse-violating and immature
//! sets) from Python: images as one `N x H x W x 3` uint8 array and their ground truth.
use crate::error::{BindingError, Result};
use empirical_rules::generate::{generate as run, GenConfig, Kind};
use empirical_rules::Task;
use numpy::ndarray::{Array2, Array3, Array4};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn kind(name: &str, delta: f64) -> Result<Kind> {
    match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "train" => Ok(Kind::Train),
        "contrastive" => Ok(Kind::Contrastive { delta }),
        "coarse-violating" => Ok(Kind::CoarseViolating),
        "immature" => Ok(Kind::Immature),
        _ => Err(BindingError::Param {
            name: "kind",
            message: format!("`{name}`: use train, contrastive, coarse-violating or immature"),
        }),
    }
}

fn shape_error(e: impl std::fmt::Display) -> BindingError {
    BindingError::Param {
        name: "images",
        message: format!("internal: {e}"),
    }
}

/// Generate `n` images of `task` (as `empirical-rules data`, deterministic in `seed`);
/// returns the images and a dict of ground-truth arrays.
#[pyfunction]
#[pyo3(signature = (task, n, *, size=32, seed=0, kind="train", delta=0.1))]
pub fn generate<'py>(
    py: Python<'py>,
    task: &str,
    n: usize,
    size: u32,
    seed: u64,
    kind: &str,
    delta: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let task: Task = task.parse().map_err(BindingError::from)?;
    if n == 0 {
        return Err(BindingError::Param {
            name: "n",
            message: "must be at least 1".into(),
        }
        .into());
    }
    let cfg = GenConfig {
        task,
        n,
        size,
        seed,
        kind: self::kind(kind, delta)?,
    };
    let ds = py.detach(|| run(&cfg)).map_err(BindingError::from)?;
    let s = size as usize;
    let mut raw = Vec::with_capacity(n * s * s * 3);
    for img in &ds.images {
        raw.extend_from_slice(img.as_raw());
    }
    let images = Array4::from_shape_vec((n, s, s, 3), raw).map_err(shape_error)?;
    let truth = PyDict::new(py);
    let recs = &ds.records;
    let feats: Vec<f64> = recs.iter().flat_map(|r| r.features).collect();
    let feats = Array2::from_shape_vec((n, 4), feats).map_err(shape_error)?;
    truth.set_item("features", feats.into_pyarray(py))?;
    truth.set_item("feature_names", task.feature_names().to_vec())?;
    let col = |f: &dyn Fn(&empirical_rules::Record) -> f64| {
        PyArray1::from_vec(py, recs.iter().map(f).collect())
    };
    truth.set_item("x", col(&|r| r.x))?;
    truth.set_item("y", col(&|r| r.y))?;
    let coarse: Vec<bool> = recs.iter().map(|r| r.coarse_ok).collect();
    truth.set_item("coarse_ok", PyArray1::from_vec(py, coarse))?;
    let class: Vec<i64> = recs.iter().map(|r| r.class.map_or(-1, i64::from)).collect();
    truth.set_item("class", PyArray1::from_vec(py, class))?;
    let e = task.elements().len();
    let colors: Vec<u8> = recs
        .iter()
        .flat_map(|r| (0..e).flat_map(move |i| r.colors.get(i).copied().unwrap_or([0, 0, 0])))
        .collect();
    let colors = Array3::from_shape_vec((n, e, 3), colors).map_err(shape_error)?;
    truth.set_item("colors", colors.into_pyarray(py))?;
    let names: Vec<&str> = task.elements().iter().map(|el| el.name).collect();
    truth.set_item("element_names", names)?;
    truth.set_item("kind", cfg.kind.name())?;
    Ok((images.into_pyarray(py).into_any(), truth))
}
