//! The paper's Eq. 4 Error (Section 5.1) from Python, `hidden_rules_core::eq4::eq4_error`.
use crate::error::{BindingError, Result};
use hidden_rules_core::eq4::{eq4_error as eq4, Ddof, Trim};
use pyo3::prelude::*;

fn trim_rule(name: &str, q: f64) -> Result<Trim> {
    match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "none" => Ok(Trim::None),
        "per-coordinate" | "coordinate" => Ok(Trim::PerCoordinate { q }),
        "ratio" => Ok(Trim::Ratio { q }),
        _ => Err(BindingError::Param {
            name: "trim",
            message: format!("`{name}`: use none, per-coordinate or ratio"),
        }),
    }
}

fn ddof(name: &str) -> Result<Ddof> {
    match name.to_ascii_lowercase().as_str() {
        "population" => Ok(Ddof::Population),
        "sample" => Ok(Ddof::Sample),
        _ => Err(BindingError::Param {
            name: "ddof",
            message: format!("`{name}`: use population or sample"),
        }),
    }
}

/// Eq. 4 of `(x, y)` against the line `y = k x` after trimming; the result as JSON (the
/// fields of `Eq4Error`).
#[pyfunction]
#[pyo3(signature = (x, y, k, *, trim="per-coordinate", q=0.025, ddof="population"))]
pub fn eq4_error(
    x: Vec<f64>,
    y: Vec<f64>,
    k: f64,
    trim: &str,
    q: f64,
    ddof: &str,
) -> PyResult<String> {
    let e = eq4(&x, &y, k, trim_rule(trim, q)?, self::ddof(ddof)?).map_err(BindingError::from)?;
    Ok(serde_json::to_string(&e).map_err(|e| BindingError::Json(e.to_string()))?)
}
