//! Crate error type (typed errors, never panics on bad input).

/// Errors of the `theory` crate.
#[derive(Debug, thiserror::Error)]
pub enum TheoryError {
    /// A parameter is out of its domain. `name` is the CLI flag name without dashes
    /// (`d`, `width`, `t`, `zeta`, `activation`, `convention`, `lr`, `iters`, ...).
    #[error("invalid value for `{name}`: {reason}")]
    InvalidParameter {
        /// parameter (flag) name
        name: &'static str,
        /// what is wrong
        reason: String,
    },
    /// The requested quantity has no closed form for this activation (reserved: every current
    /// activation has one).
    #[error("no closed form for activation `{activation}`: {what}; use a Monte Carlo estimator")]
    NoClosedForm {
        /// activation name
        activation: String,
        /// quantity requested
        what: &'static str,
    },
    /// Gradient descent produced NaN/inf or blew up.
    #[error("gradient descent diverged at iteration {iter}: {reason}")]
    Diverged {
        /// iteration at which divergence was detected
        iter: usize,
        /// description (loss value, gradient norm, ...)
        reason: String,
    },
    /// Vectors/matrices of inconsistent sizes.
    #[error("dimension mismatch: {0}")]
    Dimension(String),
}

/// Crate result type.
pub type Result<T> = std::result::Result<T, TheoryError>;

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> TheoryError {
    TheoryError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}
