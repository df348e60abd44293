//! `hidden_rules._native`: the rule evaluator of Sec. 3.2, the Task A-D generators of App. C
//! and the Eq. 4 Error, bound to Python. The Python package `hidden_rules` wraps it; see its
//! docstrings for the API.
//!
//! - [`images`]: numpy batches, files and image lists to the evaluator's layout;
//! - [`report`]: `evaluate` and the report (`results.json` of `eval`, per-image columns);
//! - [`generate`](mod@generate): the generators;
//! - [`metric`]: Eq. 4;
//! - [`error`]: errors as Python exceptions.
use pyo3::prelude::*;

pub mod error;
pub mod generate;
pub mod images;
pub mod metric;
pub mod report;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<images::Images>()?;
    m.add_class::<report::NativeReport>()?;
    m.add_function(wrap_pyfunction!(images::images_from_array, m)?)?;
    m.add_function(wrap_pyfunction!(images::images_from_paths, m)?)?;
    m.add_function(wrap_pyfunction!(images::images_from_list, m)?)?;
    m.add_function(wrap_pyfunction!(report::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(generate::generate, m)?)?;
    m.add_function(wrap_pyfunction!(metric::eq4_error, m)?)?;
    Ok(())
}
