//! The theory half of the hidden-rules suite: paper Section 4, Appendices E and F.
//!
//! - [`zeta`]: D_zeta (Def. 4.1); [`quad`]: Gauss rules; [`schedule`]: (alpha_t, beta_t);
//! - [`data`]: the two-patch model (Def. 4.1); [`score`]: exact score (Thm 4.2);
//! - [`network`]: the score network (Eq. 1); [`loss`]: DSM loss (Eq. 2), two conventions;
//! - [`train`]: gradient descent with a stationarity certificate;
//! - [`rule`]: rule-conforming error (Def. 4.3); [`bound`]: Thm 4.4's lower bound;
//! - [`stationary`]: Thm 4.5's stationary points, derived independently; [`figure6`]: Figure 6 data;
//! - [`gauss`]: Gaussian moments and ReLU/bivariate-normal closed forms; [`cli`]: the `theory` binary;
//! - [`floor`]: what removes the constant rule error (joint, structured networks, rule-aware objective).
//! - [`fsio`]: atomic file writes whose mode follows the umask, re-exported from `hidden_rules_core::fsio`.

// The docs write expectations as E[...] (paper notation), which rustdoc would read as links.
#![allow(rustdoc::broken_intra_doc_links)]

pub mod bound;
pub mod cli;
pub mod data;
pub mod error;
pub mod figure6;
pub mod floor;
pub use hidden_rules_core::fsio;
pub mod gauss;
pub mod loss;
pub mod network;
pub mod quad;
pub mod rule;
pub mod schedule;
pub mod score;
pub mod stationary;
pub mod train;
pub mod zeta;

pub use bound::{thm44_lower_bound, thm44_lower_bound_weights, Thm44Bound};
pub use data::{Sample, TwoPatchModel};
pub use error::{Result, TheoryError};
pub use figure6::{figure6_grid, figure6_panel, Figure6Config, Figure6Panel};
pub use loss::{
    mc_loss_and_gradient, population_gradient, population_loss, population_loss_and_gradient,
    Convention, NetGradient,
};
pub use network::{Activation, ScoreNet};
pub use rule::{
    bayes_optimal_rule_error, psi_samples, rule_error_exact, rule_error_mc, BayesRuleError,
    RuleError,
};
pub use schedule::{NoiseLevel, Schedule};
pub use score::ExactScore;
pub use stationary::{
    c0_c1, linear_m1_rule_error, stationary_points_patch, thm45_solution, LinearRuleError,
    StationaryKind, StationaryPoint, Thm45Solution,
};
pub use train::{train, Estimator, GdConfig, StepRule, TrainOutcome};
pub use zeta::ZetaLaw;
