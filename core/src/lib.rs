//! `hidden-rules-core`: the ground floor every other crate of the suite may stand on.
//!
//! - [`eq4`]: the single implementation of the paper's Eq. 4 Error (Section 5.1): the OLS fit of
//!   `y` on `x`, the trimming variants of Section 3.2, the bias part `|β̂1 − β1| + |β̂0|`, the
//!   variance part `sqrt(Var(ŷ − y))` and R². The rule evaluator (`empirical-rules`) and the
//!   theory rows of the bridge table both call it.
//! - [`fsio`]: atomic file writes whose mode follows the umask.
//! - [`marked`]: generated blocks between marker lines inside hand-written documents.
//!
//! The crate depends on `serde`, `thiserror` and `tempfile` only, so that the evaluator can be
//! built (and bound to other languages) without the theory crate or a deep-learning framework.

pub mod eq4;
pub mod fsio;
pub mod marked;

pub use eq4::{
    eq4_constant_truth, eq4_error, ols_fit, trim, ConstantTruthError, Ddof, Eq4Error, LinearFit,
    MetricError, Trim,
};
