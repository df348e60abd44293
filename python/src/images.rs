//! Image inputs of the evaluator (Sec. 3.2) from Python: a numpy batch read with the `.npy`
//! reader's rules (`empirical_rules::batch`), files and folders read as `eval --samples` reads
//! them, or a list of 8-bit `H x W x 3` arrays (e.g. PIL images).
use crate::error::{BindingError, Result};
use empirical_rules::batch::{images_from_float, images_from_u8, loaded, BatchShape};
use empirical_rules::io::{load_samples, Loaded};
use empirical_rules::npy::{Dtype, NpyImages};
use numpy::ndarray::{ArrayView4, ArrayViewD, Axis, Ix4};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Images converted to the evaluator's layout (8-bit RGB), with an account of how they were
/// read.
#[pyclass(module = "hidden_rules._native", frozen)]
pub struct Images {
    pub(crate) loaded: Vec<Loaded>,
    pub(crate) notes: Vec<String>,
}

#[pymethods]
impl Images {
    fn __len__(&self) -> usize {
        self.loaded.len()
    }
    /// How values were read (float range assumed, values clamped), one line each.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
    /// The image names (`000000`, ... for arrays; file names for files).
    #[getter]
    fn names(&self) -> Vec<String> {
        self.loaded.iter().map(|l| l.name.clone()).collect()
    }
}

/// `view` as `N x H x W x C` (`C = 1` for grayscale `N x H x W`), after its shape is checked.
fn as_nhwc<'a, T>(view: ArrayViewD<'a, T>) -> Result<(BatchShape, ArrayView4<'a, T>)> {
    let shape = BatchShape::from_dims(view.shape())?;
    let view = if view.ndim() == 3 {
        view.insert_axis(Axis(3))
    } else {
        view
    };
    let v4 = view
        .into_dimensionality::<Ix4>()
        .map_err(|e| BindingError::Param {
            name: "images",
            message: e.to_string(),
        })?;
    Ok((shape, v4))
}

fn with_notes(r: NpyImages) -> Images {
    let notes = r.value_note().into_iter().collect();
    Images {
        loaded: loaded(r.images),
        notes,
    }
}

/// A numpy batch (`N x H x W x 3` or `N x H x W`; uint8, float32 or float64), converted with
/// the GIL released; strided arrays are read in place.
#[pyfunction]
pub fn images_from_array(py: Python<'_>, array: &Bound<'_, PyAny>) -> PyResult<Images> {
    let untyped = array
        .cast::<PyUntypedArray>()
        .map_err(|_| BindingError::Param {
            name: "images",
            message: "not a numpy array".into(),
        })?;
    if let Ok(a) = untyped.cast::<PyArrayDyn<u8>>() {
        let ro = a.readonly();
        let (shape, v) = as_nhwc(ro.as_array())?;
        let r = py
            .detach(|| images_from_u8(shape, |k, y, x, c| v[[k, y, x, c]]))
            .map_err(BindingError::from)?;
        return Ok(with_notes(r));
    }
    if let Ok(a) = untyped.cast::<PyArrayDyn<f32>>() {
        let ro = a.readonly();
        let (shape, v) = as_nhwc(ro.as_array())?;
        let dtype = Dtype::F32 { big_endian: false };
        let r = py
            .detach(|| images_from_float(shape, dtype, |k, y, x, c| f64::from(v[[k, y, x, c]])))
            .map_err(BindingError::from)?;
        return Ok(with_notes(r));
    }
    if let Ok(a) = untyped.cast::<PyArrayDyn<f64>>() {
        let ro = a.readonly();
        let (shape, v) = as_nhwc(ro.as_array())?;
        let dtype = Dtype::F64 { big_endian: false };
        let r = py
            .detach(|| images_from_float(shape, dtype, |k, y, x, c| v[[k, y, x, c]]))
            .map_err(BindingError::from)?;
        return Ok(with_notes(r));
    }
    Err(BindingError::Dtype(untyped.dtype().to_string()).into())
}

/// Files and folders, each read as `eval --samples PATH` reads it (PNG, `.npy`, or a folder
/// through its manifest or sample list), concatenated in order.
#[pyfunction]
pub fn images_from_paths(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Images> {
    if paths.is_empty() {
        return Err(BindingError::Param {
            name: "images",
            message: "an empty list of paths".into(),
        }
        .into());
    }
    let sets = py.detach(|| {
        paths
            .iter()
            .map(|p| load_samples(p))
            .collect::<empirical_rules::Result<Vec<_>>>()
    });
    let sets = sets.map_err(BindingError::from)?;
    let mut out = Images {
        loaded: Vec::new(),
        notes: Vec::new(),
    };
    for s in sets {
        out.notes.push(s.describe());
        out.loaded.extend(s.images);
    }
    Ok(out)
}

/// A list of 8-bit `H x W x 3` arrays (sizes may differ), named `000000`, ... .
#[pyfunction]
pub fn images_from_list(py: Python<'_>, arrays: Vec<Bound<'_, PyAny>>) -> PyResult<Images> {
    if arrays.is_empty() {
        return Err(BindingError::Param {
            name: "images",
            message: "an empty list of images".into(),
        }
        .into());
    }
    let mut images = Vec::with_capacity(arrays.len());
    for (i, a) in arrays.iter().enumerate() {
        let a = a
            .cast::<PyArrayDyn<u8>>()
            .map_err(|_| BindingError::Param {
                name: "images",
                message: format!("item {i} is not a uint8 numpy array"),
            })?;
        let ro = a.readonly();
        let view = ro.as_array();
        if view.ndim() != 3 || view.shape()[2] != 3 {
            return Err(BindingError::Param {
                name: "images",
                message: format!("item {i} has shape {:?}; expected H x W x 3", view.shape()),
            }
            .into());
        }
        let (shape, v) = as_nhwc(view.insert_axis(Axis(0)))?;
        let r = py
            .detach(|| images_from_u8(shape, |k, y, x, c| v[[k, y, x, c]]))
            .map_err(BindingError::from)?;
        images.extend(r.images);
    }
    Ok(Images {
        loaded: loaded(images),
        notes: Vec::new(),
    })
}
