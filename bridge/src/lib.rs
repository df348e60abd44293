//! `bridge`: one Error metric (paper Eq. 4) for theory and experiment.
//!
//! [`error`] re-exports the single implementation of the paper's Eq. 4 Error
//! (bias part + variance part of an OLS fit against a target line), which
//! lives in `hidden_rules_core::eq4`. The empirical evaluator
//! (`empirical-rules`) and the theory rows of the bridge table both call it;
//! there is no second copy.
//!
//! - [`theory_side`]: how the two-layer score network of Section 4 maps onto
//!   Eq. 4 (rule (*) `ψ_t·β_t²/α_t` against 1; per-patch coefficients against
//!   the exact posterior means `E[π_t ζ]`, `E[π_t (1−ζ)]`).
//! - the experiment side: the evaluator's Eq. 4 results read from run folders
//!   (`empirical_rules::results`).
//! - [`table`]: the side-by-side table (Markdown + CSV).
//! - [`cli`]: `cargo run -p bridge --release`.

pub mod cli;
pub mod error;
pub mod table;
pub mod theory_side;

use std::path::PathBuf;

pub use error::{
    eq4_constant_truth, eq4_error, ols_fit, trim, ConstantTruthError, Ddof, Eq4Error, LinearFit,
    MetricError, Trim,
};

/// Errors of the bridge table (the metric's own errors are [`MetricError`]).
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The Eq. 4 metric rejected the data.
    #[error(transparent)]
    Metric(#[from] MetricError),
    /// The theory crate failed.
    #[error("theory: {0}")]
    Theory(#[from] theory::TheoryError),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A results file could not be parsed.
    #[error("{path}: {what}")]
    Parse { path: PathBuf, what: String },
    /// Writing CSV failed.
    #[error("CSV: {0}")]
    Csv(String),
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
}

impl BridgeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BridgeError::Io {
            path: path.into(),
            source,
        }
    }
}
