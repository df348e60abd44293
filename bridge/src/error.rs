//! Paper Eq. 4 (Section 5.1), re-exported from `hidden_rules_core::eq4`, where the single
//! implementation lives (OLS fit, trimming variants, bias and variance parts, R²). The module is
//! kept so that `bridge::error::...` and `bridge::eq4_error` keep working.

pub use hidden_rules_core::eq4::*;
