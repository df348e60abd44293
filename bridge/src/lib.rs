//! `bridge`: one Error metric (paper Eq. 4) for theory and experiment.
//!
//! [`error`] holds the single implementation of the paper's Eq. 4 Error
//! (bias part + variance part of an OLS fit against a target line). The
//! empirical evaluator (`empirical-rules`) and the theory rows of the bridge
//! table both call it; there is no second copy.

pub mod error;

pub use error::{eq4_error, ols_fit, trim, Ddof, Eq4Error, LinearFit, MetricError, Trim};
