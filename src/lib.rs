//! `hidden-rules`: the workspace root package.
//!
//! It owns the workspace-level integration tests (`tests/`) and the criterion
//! benchmarks (`benches/`). The science lives in the member crates:
//! [`theory`] (paper Section 4, Appendices E/F), `proofs-check` (every derivation
//! step as an executable claim), [`empirical_rules`] (Tasks A-D and the rule
//! evaluator), `empirical` (burn DDPMs), [`bridge`] (paper Eq. 4 on both sides)
//! and `plots` (the figures).

pub use bridge;
pub use empirical_rules;
pub use theory;

pub mod anchor;
pub mod bench_track;
