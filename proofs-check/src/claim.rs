//! The claim framework: a [`Claim`] is one mathematical statement of the paper (Section 4,
//! Appendices A, E, F) together with the independent computation it is checked against.
//! Running a claim produces [`Draw`]s (one per seeded parameter draw); the [`Verdict`] is
//! *computed* from the draws by [`verdict_from`], never typed in by hand.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Instant;

/// The two readings of the DSM loss, Eq. (2).
///
/// * `Paper`: `|| s_w(x_t) - eps ||^2`, exactly as printed in Eq. (2) and used in App. E.
/// * `Score`: `|| s_w(x_t) + eps / beta_t ||^2`, the standard score-matching target
///   (the minimiser of which is the score `grad log p_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// Eq. (2) as printed: target `eps`.
    Paper,
    /// Standard DSM: target `-eps / beta_t`.
    Score,
}

impl Convention {
    /// Both conventions, paper first.
    pub const BOTH: [Convention; 2] = [Convention::Paper, Convention::Score];

    /// Lower-case name (`paper`, `score`).
    pub fn name(self) -> &'static str {
        match self {
            Convention::Paper => "paper",
            Convention::Score => "score",
        }
    }

    /// The coefficient `c` of the regression target `T = c * eps` (Eq. 2: `c = 1`; score: `c = -1/beta`).
    pub fn target_coeff(self, beta: f64) -> f64 {
        match self {
            Convention::Paper => 1.0,
            Convention::Score => -1.0 / beta,
        }
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the paper's side and the computed side of one draw are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// `|paper - computed| <= tol`.
    Approx,
    /// `computed >= paper - tol` (a lower bound or a probability guarantee).
    AtLeast,
    /// `computed > tol` (a strict positivity claim; `paper` is 0).
    Positive,
}

/// One seeded parameter draw of a claim: the parameters, the paper's number, the
/// independently computed number, how they are compared and the tolerance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Draw {
    /// Named parameters of this draw (d, t, zeta law index, ...).
    pub params: Vec<(String, f64)>,
    /// The paper's side: a printed formula's value, a claimed bound, or 0 for positivity.
    pub paper: f64,
    /// The independent computation (Monte Carlo, finite differences, GD, quadrature).
    pub computed: f64,
    /// Comparison.
    pub relation: Relation,
    /// Tolerance (its justification is the claim's `tolerance` text).
    pub tol: f64,
    /// Size of the draw; the smallest failing draw is reported as the counterexample.
    pub complexity: f64,
}

impl Draw {
    /// Builds a draw from `&[(&str, f64)]` parameters.
    pub fn new(
        params: &[(&str, f64)],
        paper: f64,
        computed: f64,
        relation: Relation,
        tol: f64,
        complexity: f64,
    ) -> Self {
        Draw {
            params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            paper,
            computed,
            relation,
            tol,
            complexity,
        }
    }

    /// Whether this draw agrees with the claim. Non-finite numbers never agree.
    pub fn ok(&self) -> bool {
        if !self.computed.is_finite() || !self.tol.is_finite() {
            return false;
        }
        match self.relation {
            Relation::Approx => {
                self.paper.is_finite() && (self.paper - self.computed).abs() <= self.tol
            }
            Relation::AtLeast => self.paper.is_finite() && self.computed >= self.paper - self.tol,
            Relation::Positive => self.computed > self.tol,
        }
    }

    /// `|paper - computed|` (NaN when the printed value is not a number).
    pub fn discrepancy(&self) -> f64 {
        (self.paper - self.computed).abs()
    }

    /// Parameters as `k=v, ...`.
    pub fn params_string(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Compact number formatting used in tables.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == 0.0 {
        "0".into()
    } else if x.fract() == 0.0 && x.abs() < 1e7 {
        format!("{x:.0}")
    } else if x.abs() >= 1e-3 && x.abs() < 1e5 {
        format!("{x:.6}")
    } else {
        format!("{x:.4e}")
    }
}

/// What a check returns: its draws and free-text notes (diagnostics, derived constants).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// All draws.
    pub draws: Vec<Draw>,
    /// Free-text notes shown in the report.
    pub notes: Vec<String>,
}

/// Run options shared by every check.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Reduced sizes (used by `cargo test` and `--quick`).
    pub quick: bool,
    /// Master seed; each claim derives its own stream from it and its id.
    pub seed: u64,
}

impl Ctx {
    /// `full` normally, `quick` in quick mode.
    pub fn size(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// Why a check could not run (a crash, not a finding).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A numerical routine failed (divergence, NaN in an independent computation...).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// Error from the `theory` crate.
    #[error("theory crate: {0}")]
    Theory(String),
}

/// The signature of a check: context, convention (None for convention-free claims), rng.
pub type CheckFn = fn(&Ctx, Option<Convention>, &mut ChaCha8Rng) -> Result<Evidence, CheckError>;

/// One executable claim.
pub struct Claim {
    /// Stable id, e.g. `E.thm45.gradient`.
    pub id: &'static str,
    /// Where the statement is printed in the paper.
    pub paper_location: &'static str,
    /// The statement in words.
    pub statement: &'static str,
    /// The independent computation it is checked against.
    pub method: &'static str,
    /// The tolerance and why.
    pub tolerance: &'static str,
    /// The parameter draws.
    pub draws: &'static str,
    /// Label of the paper side of each draw.
    pub paper_label: &'static str,
    /// Label of the computed side of each draw.
    pub computed_label: &'static str,
    /// Whether the statement depends on the loss convention (then it runs under both).
    pub convention_dependent: bool,
    /// The check.
    pub run: CheckFn,
}

/// A computed verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// Every draw agrees (under every convention run).
    Holds,
    /// Some draw disagrees under every convention run.
    Fails,
    /// Every draw agrees under this convention only.
    HoldsUnderConventionOnly {
        /// The convention under which it holds.
        convention: Convention,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Holds => f.write_str("holds"),
            Verdict::Fails => f.write_str("fails"),
            Verdict::HoldsUnderConventionOnly { convention } => {
                write!(f, "holds under convention {convention} only")
            }
        }
    }
}

/// The outcome of a claim under one convention (or the only run of a convention-free claim).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConventionResult {
    /// Convention, if the claim depends on it.
    pub convention: Option<Convention>,
    /// Number of draws.
    pub n_draws: usize,
    /// Number of failing draws.
    pub n_failed: usize,
    /// Whether all draws agree.
    pub holds: bool,
    /// The smallest failing draw (by `complexity`, ties broken by the largest discrepancy).
    pub counterexample: Option<Draw>,
    /// The draw with the largest discrepancy relative to its tolerance (for "how close").
    pub worst: Option<Draw>,
    /// Notes from the check.
    pub notes: Vec<String>,
}

/// The report of one claim.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClaimReport {
    /// Claim id.
    pub id: String,
    /// Paper location.
    pub paper_location: String,
    /// Statement.
    pub statement: String,
    /// Method.
    pub method: String,
    /// Tolerance and why.
    pub tolerance: String,
    /// Draws description.
    pub draws: String,
    /// Label of the paper side.
    pub paper_label: String,
    /// Label of the computed side.
    pub computed_label: String,
    /// The computed verdict.
    pub verdict: Verdict,
    /// Per-convention results.
    pub results: Vec<ConventionResult>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl ClaimReport {
    /// The counterexample shown for a failing claim: from the first convention that fails.
    pub fn counterexample(&self) -> Option<(&ConventionResult, &Draw)> {
        self.results
            .iter()
            .filter(|r| !r.holds)
            .find_map(|r| r.counterexample.as_ref().map(|d| (r, d)))
    }
}

/// Summarises the draws of one run.
pub fn summarise(convention: Option<Convention>, ev: Evidence) -> ConventionResult {
    let failing: Vec<&Draw> = ev.draws.iter().filter(|d| !d.ok()).collect();
    let counterexample = failing
        .iter()
        .min_by(|a, b| {
            a.complexity
                .partial_cmp(&b.complexity)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| {
                    rel_excess(b)
                        .partial_cmp(&rel_excess(a))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
        })
        .map(|d| (*d).clone());
    let worst = ev
        .draws
        .iter()
        .max_by(|a, b| {
            rel_excess(a)
                .partial_cmp(&rel_excess(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .cloned();
    ConventionResult {
        convention,
        n_draws: ev.draws.len(),
        n_failed: failing.len(),
        holds: !ev.draws.is_empty() && failing.is_empty(),
        counterexample,
        worst,
        notes: ev.notes,
    }
}

/// How far a draw is from (or beyond) its tolerance: `> 1` means failing.
fn rel_excess(d: &Draw) -> f64 {
    let gap = match d.relation {
        Relation::Approx => d.discrepancy(),
        Relation::AtLeast => d.paper - d.computed,
        Relation::Positive => -d.computed,
    };
    if !gap.is_finite() || !d.computed.is_finite() {
        return f64::INFINITY;
    }
    let t = d.tol.max(1e-300);
    match d.relation {
        Relation::Positive => (gap + t) / t,
        _ => gap / t,
    }
}

/// The verdict from per-convention results: all hold -> `Holds`; exactly the runs under one
/// convention hold -> `HoldsUnderConventionOnly`; otherwise `Fails`.
pub fn verdict_from(results: &[ConventionResult]) -> Verdict {
    if results.iter().all(|r| r.holds) {
        return Verdict::Holds;
    }
    let holding: Vec<Convention> = results
        .iter()
        .filter(|r| r.holds)
        .filter_map(|r| r.convention)
        .collect();
    if holding.len() == 1 {
        Verdict::HoldsUnderConventionOnly {
            convention: holding[0],
        }
    } else {
        Verdict::Fails
    }
}

/// A stable 64-bit FNV-1a hash (seed derivation must not depend on std's randomised hasher).
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The rng of one claim run: from the master seed, the claim id and the convention.
pub fn claim_rng(seed: u64, id: &str, conv: Option<Convention>) -> ChaCha8Rng {
    let tag = match conv {
        Some(c) => format!("{id}#{}", c.name()),
        None => id.to_string(),
    };
    ChaCha8Rng::seed_from_u64(seed ^ fnv1a(&tag))
}

impl Claim {
    /// Runs the claim (under both conventions if it depends on the convention) and computes
    /// its verdict. `Err` only when a check could not run.
    pub fn run(&self, ctx: &Ctx) -> Result<ClaimReport, CheckError> {
        let start = Instant::now();
        let convs: Vec<Option<Convention>> = if self.convention_dependent {
            Convention::BOTH.iter().map(|c| Some(*c)).collect()
        } else {
            vec![None]
        };
        let mut results = Vec::new();
        for conv in convs {
            let mut rng = claim_rng(ctx.seed, self.id, conv);
            let ev = (self.run)(ctx, conv, &mut rng)?;
            results.push(summarise(conv, ev));
        }
        let verdict = verdict_from(&results);
        Ok(ClaimReport {
            id: self.id.into(),
            paper_location: self.paper_location.into(),
            statement: self.statement.into(),
            method: self.method.into(),
            tolerance: self.tolerance.into(),
            draws: self.draws.into(),
            paper_label: self.paper_label.into(),
            computed_label: self.computed_label.into(),
            verdict,
            results,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(paper: f64, computed: f64, rel: Relation, tol: f64, cx: f64) -> Draw {
        Draw::new(&[("x", cx)], paper, computed, rel, tol, cx)
    }

    #[test]
    fn relations() {
        assert!(d(1.0, 1.05, Relation::Approx, 0.1, 0.0).ok());
        assert!(!d(1.0, 1.2, Relation::Approx, 0.1, 0.0).ok());
        assert!(d(1.0, 0.95, Relation::AtLeast, 0.1, 0.0).ok());
        assert!(!d(1.0, 0.8, Relation::AtLeast, 0.1, 0.0).ok());
        assert!(d(0.0, 0.2, Relation::Positive, 0.1, 0.0).ok());
        assert!(!d(0.0, 0.05, Relation::Positive, 0.1, 0.0).ok());
        // a printed formula evaluating to NaN never agrees
        assert!(!d(f64::NAN, 1.0, Relation::Approx, 1e9, 0.0).ok());
        assert!(!d(1.0, f64::NAN, Relation::Positive, 0.0, 0.0).ok());
    }

    #[test]
    fn smallest_counterexample_is_reported() {
        let ev = Evidence {
            draws: vec![
                d(1.0, 5.0, Relation::Approx, 0.1, 8.0),
                d(1.0, 1.0, Relation::Approx, 0.1, 1.0),
                d(1.0, 3.0, Relation::Approx, 0.1, 2.0),
                d(1.0, 9.0, Relation::Approx, 0.1, 2.0),
            ],
            notes: vec![],
        };
        let r = summarise(None, ev);
        assert!(!r.holds);
        assert_eq!(r.n_failed, 3);
        let c = r.counterexample.unwrap();
        // smallest complexity (2), tie broken by the larger discrepancy
        assert_eq!(c.complexity, 2.0);
        assert_eq!(c.computed, 9.0);
    }

    #[test]
    fn verdicts_are_computed_from_results() {
        let ok = |c| {
            summarise(
                Some(c),
                Evidence {
                    draws: vec![d(1.0, 1.0, Relation::Approx, 0.1, 0.0)],
                    notes: vec![],
                },
            )
        };
        let bad = |c| {
            summarise(
                Some(c),
                Evidence {
                    draws: vec![d(1.0, 2.0, Relation::Approx, 0.1, 0.0)],
                    notes: vec![],
                },
            )
        };
        assert_eq!(
            verdict_from(&[ok(Convention::Paper), ok(Convention::Score)]),
            Verdict::Holds
        );
        assert_eq!(
            verdict_from(&[ok(Convention::Paper), bad(Convention::Score)]),
            Verdict::HoldsUnderConventionOnly {
                convention: Convention::Paper
            }
        );
        assert_eq!(
            verdict_from(&[bad(Convention::Paper), ok(Convention::Score)]),
            Verdict::HoldsUnderConventionOnly {
                convention: Convention::Score
            }
        );
        assert_eq!(
            verdict_from(&[bad(Convention::Paper), bad(Convention::Score)]),
            Verdict::Fails
        );
        // no draws is not "holds"
        let empty = summarise(None, Evidence::default());
        assert_eq!(verdict_from(&[empty]), Verdict::Fails);
        assert_eq!(
            Verdict::HoldsUnderConventionOnly {
                convention: Convention::Score
            }
            .to_string(),
            "holds under convention score only"
        );
    }

    fn fake(_: &Ctx, c: Option<Convention>, _: &mut ChaCha8Rng) -> Result<Evidence, CheckError> {
        // holds under the paper convention only
        let computed = if c == Some(Convention::Paper) {
            1.0
        } else {
            3.0
        };
        Ok(Evidence {
            draws: vec![Draw::new(&[], 1.0, computed, Relation::Approx, 0.5, 0.0)],
            notes: vec![],
        })
    }

    fn broken(_: &Ctx, _: Option<Convention>, _: &mut ChaCha8Rng) -> Result<Evidence, CheckError> {
        Err(CheckError::Numerical("boom".into()))
    }

    fn claim(run: CheckFn, dep: bool) -> Claim {
        Claim {
            id: "test.fake",
            paper_location: "",
            statement: "",
            method: "",
            tolerance: "",
            draws: "",
            paper_label: "p",
            computed_label: "c",
            convention_dependent: dep,
            run,
        }
    }

    #[test]
    fn claim_runs_both_conventions_and_propagates_errors() {
        let ctx = Ctx {
            quick: true,
            seed: 1,
        };
        let r = claim(fake, true).run(&ctx).unwrap();
        assert_eq!(r.results.len(), 2);
        assert_eq!(
            r.verdict,
            Verdict::HoldsUnderConventionOnly {
                convention: Convention::Paper
            }
        );
        let r = claim(fake, false).run(&ctx).unwrap();
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.verdict, Verdict::Fails);
        assert!(claim(broken, false).run(&ctx).is_err());
    }

    #[test]
    fn claim_rng_depends_on_seed_id_and_convention() {
        use rand::Rng;
        let a: u64 = claim_rng(1, "x", None).random();
        assert_eq!(a, claim_rng(1, "x", None).random::<u64>());
        assert_ne!(a, claim_rng(2, "x", None).random::<u64>());
        assert_ne!(a, claim_rng(1, "y", None).random::<u64>());
        assert_ne!(
            a,
            claim_rng(1, "x", Some(Convention::Paper)).random::<u64>()
        );
    }
}
