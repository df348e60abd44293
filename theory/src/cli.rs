//! Command-line interface: `theory stationary|psi|fig6|mc-epoch|floor ...` (see `--help`).
//! Usage errors (bad flag values) print `error: invalid value for --FLAG: ...` and exit with code 2.

use crate::bound::thm44_lower_bound;
use crate::data::TwoPatchModel;
use crate::error::{Result, TheoryError};
use crate::figure6::{figure6_grid, Figure6Config};
use crate::loss::{mc_loss_and_gradient, Convention};
use crate::network::{Activation, ScoreNet};
use crate::rule::{bayes_optimal_rule_error, psi_samples, rule_error_exact, RuleError};
use crate::schedule::{NoiseLevel, Schedule};
use crate::stationary::thm45_solution;
use crate::train::{train, Estimator, GdConfig, StepRule, TrainOutcome};

pub mod floor;
use crate::zeta::ZetaLaw;
use clap::{Args, Parser, Subcommand};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Explore the paper's Section 4 model: train Eq. 1's network on Eq. 2 and measure the rule error.
#[derive(Parser, Debug)]
#[command(name = "theory", version, about)]
pub struct Cli {
    #[command(subcommand)]
    /// what to run
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train (or solve, for linear m = 1) one setting and print weights' alignment, psi statistics, bias, variance, ||grad L||.
    Stationary(Common),
    /// Train one setting and print psi_t samples (one per line, or JSON with --json).
    Psi(Common),
    /// The Figure 6 grid (4 activations x t in {0.2, 0.4, 0.6, 0.8}); prints a summary or JSON.
    Fig6(Common),
    /// Time one App. F Monte Carlo epoch (n data x n_eps noises) at the initialisation.
    McEpoch(McArgs),
    /// Per-patch vs joint vs structured networks, rule-aware objective, Bayes-optimal
    /// reference; writes floor.csv, floor_lambda.csv, floor.json into --out.
    Floor(floor::FloorArgs),
}

/// Flags shared by the subcommands.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// relu | linear | quadratic | cubic
    #[arg(long, default_value = "linear")]
    pub activation: String,
    /// network width m (neurons per patch)
    #[arg(long, default_value_t = 20)]
    pub width: usize,
    /// patch dimension d
    #[arg(long, default_value_t = 100)]
    pub d: usize,
    /// time t (continuous schedule: t > 0; ddpm: integer step 1..=1000)
    #[arg(long, default_value_t = 0.4, allow_hyphen_values = true)]
    pub t: f64,
    /// D_zeta: uniform:A:B | beta:P:Q:A:B | discrete:V1,V2,... (or V1:W1,V2:W2,...)
    #[arg(long, default_value = "uniform:0.2:0.8")]
    pub zeta: String,
    /// paper (||s - eps||^2, Eq. 2 as printed) | score (||s + eps/beta||^2)
    #[arg(long, default_value = "paper")]
    pub convention: String,
    /// continuous | ddpm
    #[arg(long, default_value = "continuous")]
    pub schedule: String,
    /// seed (initialisation, samples)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// (initial) learning rate
    #[arg(long, default_value_t = 0.05, allow_hyphen_values = true)]
    pub lr: f64,
    /// maximum GD iterations
    #[arg(long, default_value_t = 3000)]
    pub iters: usize,
    /// stop when ||grad L|| <= grad-tol
    #[arg(long, default_value_t = 1e-6, allow_hyphen_values = true)]
    pub grad_tol: f64,
    /// init scale sigma0 (default 0.5/sqrt(d))
    #[arg(long, allow_hyphen_values = true)]
    pub sigma0: Option<f64>,
    /// auto (= exact) | exact (closed forms; ReLU via bivariate normal CDF) | crn (fixed sample) | mc (App. F recipe, fresh samples each step: slow)
    #[arg(long, default_value = "auto")]
    pub estimator: String,
    /// bb (Barzilai-Borwein, safeguarded) | armijo | fixed
    #[arg(long, default_value = "bb")]
    pub step: String,
    /// `--estimator crn`: antithetic noises per zeta node (8 nodes)
    #[arg(long, default_value_t = 256)]
    pub crn_eps: usize,
    /// psi samples
    #[arg(long, default_value_t = 5000)]
    pub n_psi: usize,
    /// emit JSON
    #[arg(long)]
    pub json: bool,
}

/// Flags of `mc-epoch`.
#[derive(Args, Debug, Clone)]
pub struct McArgs {
    /// shared flags
    #[command(flatten)]
    pub common: Common,
    /// data per epoch
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// noises per datum
    #[arg(long, default_value_t = 1000)]
    pub n_eps: usize,
}

/// Parsed and validated settings.
pub struct Setting {
    /// activation
    pub activation: Activation,
    /// model
    pub model: TwoPatchModel,
    /// level
    pub level: NoiseLevel,
    /// convention
    pub convention: Convention,
    /// GD settings
    pub gd: GdConfig,
    /// width
    pub m: usize,
    /// schedule
    pub schedule: Schedule,
}

use crate::schedule::MIN_CLI_T as MIN_T;
/// Most psi samples one command draws (8 bytes each, about a second per 10^7).
const MAX_PSI: usize = 100_000_000;
/// Most weights (m x d) of one patch network the CLI builds.
const MAX_WEIGHTS: usize = 100_000_000;

fn bad(name: &'static str, reason: impl Into<String>) -> TheoryError {
    TheoryError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

impl Common {
    /// Validate every flag (errors name the flag).
    pub fn setting(&self) -> Result<Setting> {
        let activation = Activation::parse(&self.activation)?;
        if self.width == 0 {
            return Err(bad("width", "m must be >= 1"));
        }
        if self.d < 2 {
            return Err(bad(
                "d",
                format!("must be >= 2 (u = e1, v = e2), got {}", self.d),
            ));
        }
        let zeta = ZetaLaw::parse(&self.zeta)?;
        let convention = Convention::parse(&self.convention)?;
        let schedule = match self.schedule.to_ascii_lowercase().as_str() {
            "continuous" => Schedule::Continuous,
            "ddpm" => Schedule::ddpm_default(),
            o => {
                return Err(bad(
                    "schedule",
                    format!("unknown schedule `{o}` (continuous|ddpm)"),
                ))
            }
        };
        if schedule == Schedule::Continuous && self.t.is_finite() && self.t < MIN_T {
            return Err(bad(
                "t",
                format!(
                    "must be >= {MIN_T:e} on the continuous schedule (beta_t = {:.1e} there, \
                     below DDPM's smallest noise level sqrt(1e-4) = 1e-2), got {:e}",
                    (-(-2.0 * MIN_T).exp_m1()).sqrt(),
                    self.t
                ),
            ));
        }
        let level = schedule.level(self.t)?;
        let estimator = match self.estimator.to_ascii_lowercase().as_str() {
            "auto" => Estimator::Auto,
            "exact" => Estimator::Exact,
            "crn" if self.crn_eps == 0 => {
                return Err(bad("crn-eps", "must be >= 1 noise per zeta node"))
            }
            "crn" => Estimator::CommonRandomNumbers {
                n_zeta: 8,
                n_eps: self.crn_eps,
            },
            "mc" => Estimator::MonteCarlo {
                n: 1000,
                n_eps: 1000,
            },
            o => {
                return Err(bad(
                    "estimator",
                    format!("unknown estimator `{o}` (auto|exact|crn|mc)"),
                ))
            }
        };
        let step = match self.step.to_ascii_lowercase().as_str() {
            "armijo" => StepRule::Armijo,
            "bb" => StepRule::BarzilaiBorwein,
            "fixed" => StepRule::Fixed,
            o => {
                return Err(bad(
                    "step",
                    format!("unknown step rule `{o}` (bb|armijo|fixed)"),
                ))
            }
        };
        if self.n_psi == 0 || self.n_psi > MAX_PSI {
            return Err(bad(
                "n-psi",
                format!("must be in 1..={MAX_PSI}, got {}", self.n_psi),
            ));
        }
        if self.width.saturating_mul(self.d) > MAX_WEIGHTS {
            return Err(bad(
                "width",
                format!(
                    "m x d = {} x {} exceeds {MAX_WEIGHTS} weights per patch network",
                    self.width, self.d
                ),
            ));
        }
        let gd = GdConfig {
            lr: self.lr,
            max_iters: self.iters,
            grad_tol: self.grad_tol,
            sigma0: self.sigma0,
            seed: self.seed,
            estimator,
            step,
        };
        gd.validate()?;
        Ok(Setting {
            activation,
            model: TwoPatchModel::new(self.d, zeta)?,
            level,
            convention,
            gd,
            m: self.width,
            schedule,
        })
    }
}

#[derive(Serialize)]
struct NeuronReport {
    patch: usize,
    neuron: usize,
    w_norm_sq: f64,
    w_dot_feature: f64,
}

#[derive(Serialize)]
struct StationaryReport {
    activation: Activation,
    convention: Convention,
    m: usize,
    d: usize,
    t: f64,
    zeta: String,
    alpha_t: f64,
    beta_t: f64,
    target: f64,
    iters: usize,
    converged: bool,
    estimator: String,
    final_loss: f64,
    grad_norm: f64,
    neurons: Vec<NeuronReport>,
    rule_sampled: RuleError,
    rule_exact: Option<RuleError>,
    thm44_bound: f64,
    thm44_bound_std_err: f64,
    bayes_optimal_mse: f64,
    closed_form_thm45: Option<crate::stationary::Thm45Solution>,
}

fn run_train(c: &Common) -> Result<(Setting, TrainOutcome)> {
    let s = c.setting()?;
    let out = train(&s.model, s.level, s.activation, s.m, s.convention, &s.gd)?;
    Ok((s, out))
}

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match dispatch(cli) {
        Ok(()) => 0,
        Err(TheoryError::InvalidParameter { name, reason }) => {
            eprintln!("error: invalid value for --{name}: {reason}");
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Stationary(c) => {
            let (s, out) = run_train(&c)?;
            let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0xA5A5_A5A5);
            let psi = psi_samples(&out.net, &s.model, s.level, c.n_psi, &mut rng)?;
            let rule_sampled = RuleError::from_samples(&psi, s.level.target())?;
            let rule_exact = Some(rule_error_exact(&out.net, &s.model, s.level)?);
            let bound = thm44_lower_bound(&out, &s.model, s.level, 2000, &mut rng)?;
            let bayes = bayes_optimal_rule_error(&s.model, s.level, s.convention, 1, 64, &mut rng)?;
            let mut neurons = Vec::new();
            for p in 1..=2usize {
                let w = out.net.weights(p);
                for r in 0..s.m {
                    let row = w.row(r).transpose();
                    neurons.push(NeuronReport {
                        patch: p,
                        neuron: r,
                        w_norm_sq: row.norm_squared(),
                        w_dot_feature: row.dot(s.model.feature(p)),
                    });
                }
            }
            let closed = if s.activation == Activation::Linear && s.m == 1 {
                Some(thm45_solution(&s.model.zeta, s.level, s.convention))
            } else {
                None
            };
            let rep = StationaryReport {
                activation: s.activation,
                convention: s.convention,
                m: s.m,
                d: s.model.d,
                t: c.t,
                zeta: s.model.zeta.to_string(),
                alpha_t: s.level.alpha_t,
                beta_t: s.level.beta_t,
                target: s.level.target(),
                iters: out.iters,
                converged: out.converged,
                estimator: out.estimator.clone(),
                final_loss: out.final_loss,
                grad_norm: out.grad_norm,
                neurons,
                rule_sampled,
                rule_exact,
                thm44_bound: bound.value,
                thm44_bound_std_err: bound.std_err,
                bayes_optimal_mse: bayes.exact.mse,
                closed_form_thm45: closed,
            };
            if c.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rep).expect("serialisable")
                );
            } else {
                println!("{} m={} d={} t={} zeta={} convention={} (alpha_t={:.6}, beta_t={:.6}, target alpha/beta^2={:.6})", rep.activation, rep.m, rep.d, rep.t, rep.zeta, rep.convention, rep.alpha_t, rep.beta_t, rep.target);
                println!(
                    "GD: iters={} converged={} estimator={} loss={:.10} ||grad L||={:.3e}",
                    rep.iters, rep.converged, rep.estimator, rep.final_loss, rep.grad_norm
                );
                for n in &rep.neurons {
                    println!(
                        "  patch {} neuron {:2}: ||w||^2={:.6}  <w,{}>={:+.6}",
                        n.patch,
                        n.neuron,
                        n.w_norm_sq,
                        if n.patch == 1 { "u" } else { "v" },
                        n.w_dot_feature
                    );
                }
                let r = &rep.rule_sampled;
                println!("psi (sampled, n={}): mean={:.6} var={:.6} bias={:.6} variance={:.6} E={:.6} (± {:.2e})", r.n, r.mean_psi, r.variance, r.bias, r.variance, r.mse, r.mse_std_err);
                if let Some(r) = &rep.rule_exact {
                    println!(
                        "psi (exact):          mean={:.6} bias={:.6} variance={:.6} E={:.6}",
                        r.mean_psi, r.bias, r.variance, r.mse
                    );
                }
                println!(
                    "Thm 4.4 lower bound: {:.6} (± {:.2e}); Bayes-optimal E under {}: {:.6}",
                    rep.thm44_bound, rep.thm44_bound_std_err, rep.convention, rep.bayes_optimal_mse
                );
                if let Some(cf) = &rep.closed_form_thm45 {
                    println!("Thm 4.5 closed form: ||w1||^2=<w1,u>^2={:.8}, ||w2||^2=<w2,v>^2={:.8}, C0={:.8}, C1={:.8}", cf.patch1.w_norm_sq, cf.patch2.w_norm_sq, cf.rule.c0, cf.rule.c1);
                }
            }
        }
        Command::Psi(c) => {
            let (s, out) = run_train(&c)?;
            let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0xA5A5_A5A5);
            let psi = psi_samples(&out.net, &s.model, s.level, c.n_psi, &mut rng)?;
            if c.json {
                #[derive(Serialize)]
                struct P<'a> {
                    target: f64,
                    grad_norm: f64,
                    psi: &'a [f64],
                }
                println!(
                    "{}",
                    serde_json::to_string(&P {
                        target: s.level.target(),
                        grad_norm: out.grad_norm,
                        psi: &psi
                    })
                    .expect("serialisable")
                );
            } else {
                for p in psi {
                    println!("{p}");
                }
            }
        }
        Command::Fig6(c) => {
            let s = c.setting()?;
            let cfg = Figure6Config {
                d: s.model.d,
                m: s.m,
                n_psi: c.n_psi,
                convention: s.convention,
                zeta: s.model.zeta.clone(),
                seed: c.seed,
                gd: s.gd,
                schedule: s.schedule,
                ..Figure6Config::default()
            };
            let t0 = std::time::Instant::now();
            let panels = figure6_grid(&cfg)?;
            let secs = t0.elapsed().as_secs_f64();
            if c.json {
                println!("{}", serde_json::to_string(&panels).expect("serialisable"));
            } else {
                println!(
                    "Figure 6 grid: d={} m={} convention={} zeta={} ({} panels in {:.2} s)",
                    cfg.d,
                    cfg.m,
                    cfg.convention,
                    cfg.zeta,
                    panels.len(),
                    secs
                );
                println!(
                    "{:<10} {:>4} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>9}",
                    "act",
                    "t",
                    "target",
                    "mean psi",
                    "bias",
                    "variance",
                    "E",
                    "||grad||",
                    "iters",
                    "estimator"
                );
                for p in &panels {
                    println!("{:<10} {:>4} {:>9.4} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10.2e} {:>6} {:>9}", p.activation.name(), p.t, p.target, p.rule.mean_psi, p.rule.bias, p.rule.variance, p.rule.mse, p.grad_norm, p.iters, p.estimator);
                }
            }
        }
        Command::Floor(a) => floor::run_floor_cli(&a)?,
        Command::McEpoch(a) => {
            let s = a.common.setting()?;
            if a.n == 0 || a.n_eps == 0 {
                return Err(bad("n", "n and n-eps must be >= 1"));
            }
            let mut rng = ChaCha8Rng::seed_from_u64(a.common.seed);
            let sigma0 = s.gd.sigma0.unwrap_or(0.5 / (s.model.d as f64).sqrt());
            let net = ScoreNet::init_gaussian(s.activation, s.model.d, s.m, sigma0, &mut rng)?;
            let t0 = std::time::Instant::now();
            let (l, g, se) = mc_loss_and_gradient(
                &net,
                &s.model,
                s.level,
                s.convention,
                a.n,
                a.n_eps,
                &mut rng,
            )?;
            let secs = t0.elapsed().as_secs_f64();
            println!("App. F MC epoch n={} n_eps={} d={} m={} {}: loss={:.6} (± {:.2e}) ||grad||={:.6e} wall={:.3} s", a.n, a.n_eps, s.model.d, s.m, s.activation, l, se, g.norm(), secs);
            let t1 = std::time::Instant::now();
            let reps = 20;
            let mut ex = (0.0, 0.0);
            for _ in 0..reps {
                let (le, ge) = crate::loss::population_loss_and_gradient(
                    &net,
                    &s.model,
                    s.level,
                    s.convention,
                )?;
                ex = (le, ge.norm());
            }
            let esecs = t1.elapsed().as_secs_f64() / reps as f64;
            println!(
                "closed-form population loss + gradient: loss={:.6} ||grad||={:.6e} wall={:.3e} s per evaluation (ratio MC/closed form = {:.0})",
                ex.0, ex.1, esecs, secs / esecs
            );
        }
    }
    Ok(())
}
