//! `proofs-check`: every equation and derivation step of Section 4 and Appendices A, E, F of
//! "Can Diffusion Models Learn Hidden Inter-Feature Rules Behind Images?" as an executable
//! [`claim::Claim`] with a computed verdict.
//!
//! - [`claim`]: the framework (claims, draws, verdicts computed from draws);
//! - [`printed`]: the paper's printed formulas of App. E, transcribed literally;
//! - [`minimal`]: minimal model pieces written here (zeta law, schedule, linear patch loss, GD,
//!   p_t by quadrature) so that checks are independent of and never blocked on `theory`;
//! - [`checks`]: the checks and the registry; [`report`]: Markdown/JSON report, findings document and snapshot.

pub mod checks;
pub mod claim;
pub mod minimal;
pub mod printed;
pub mod report;
pub mod stats;

pub use checks::registry;
pub use claim::{Claim, ClaimReport, Convention, Ctx, Verdict};
