//! Errors of the bindings and their Python exceptions: bad input is a `ValueError` carrying the
//! Rust message, a file that cannot be read an `OSError`; nothing panics.
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::PyErr;

/// Everything the bindings can refuse.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// The evaluator, the generators or the readers refused the input.
    #[error(transparent)]
    Rules(#[from] empirical_rules::Error),
    /// The Eq. 4 metric refused the data.
    #[error(transparent)]
    Metric(#[from] hidden_rules_core::eq4::MetricError),
    /// An array whose element type the `.npy` reader does not accept either.
    #[error("images have dtype {0}; need uint8, float32 or float64 (as a .npy for `eval`)")]
    Dtype(String),
    /// A keyword value that is not one of the accepted names.
    #[error("invalid parameter `{name}`: {message}")]
    Param { name: &'static str, message: String },
    /// A report could not be written as JSON.
    #[error("cannot write the report as JSON: {0}")]
    Json(String),
}

impl From<BindingError> for PyErr {
    fn from(e: BindingError) -> PyErr {
        match &e {
            BindingError::Rules(empirical_rules::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                PyFileNotFoundError::new_err(e.to_string())
            }
            BindingError::Rules(empirical_rules::Error::Io { .. }) => {
                PyOSError::new_err(e.to_string())
            }
            _ => PyValueError::new_err(e.to_string()),
        }
    }
}

/// Result alias of the bindings.
pub type Result<T> = std::result::Result<T, BindingError>;
