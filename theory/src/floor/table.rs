//! The results table of issue 9: architecture x width x convention x t -> DSM excess over the
//! Bayes-optimal loss, bias, variance, rule error, ||grad|| certificate; and the rule-aware lambda sweep.
use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::floor::joint::{JointMlp, JointNet};
use crate::floor::objective::{
    evaluate, train_floor, BayesReference, FloorEval, FloorGd, FloorSample, GdReport, Predictor,
};
use crate::floor::structured::StructuredNet;
use crate::loss::Convention;
use crate::network::Activation;
use crate::rule::bayes_optimal_rule_error;
use crate::schedule::{Schedule, MIN_CLI_T};
use crate::zeta::ZetaLaw;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Settings of [`floor_table`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorConfig {
    /// patch dimension d
    pub d: usize,
    /// D_zeta
    pub zeta: ZetaLaw,
    /// times t of the continuous schedule (alpha = e^-t, beta = sqrt(1 - e^-2t))
    pub ts: Vec<f64>,
    /// conventions
    pub conventions: Vec<Convention>,
    /// widths of the per-patch (units per patch) and joint (units in all) networks
    pub widths: Vec<usize>,
    /// node counts K of the structured networks
    pub nodes: Vec<usize>,
    /// activation of the two-layer networks
    pub activation: Activation,
    /// training sample size (fixed, seeded)
    pub n_train: usize,
    /// held-out evaluation sample size
    pub n_eval: usize,
    /// Gauss nodes of D_zeta for the posterior means
    pub quad_nodes: usize,
    /// gradient descent
    pub gd: FloorGd,
    /// rule-aware objective: lambda grid
    pub lambdas: Vec<f64>,
    /// rule-aware objective: (architecture, width) pairs it is run on
    pub lambda_archs: Vec<(String, usize)>,
    /// seed
    pub seed: u64,
}

impl Default for FloorConfig {
    fn default() -> Self {
        Self {
            d: 8,
            zeta: ZetaLaw::Uniform { a: 0.2, b: 0.8 },
            ts: vec![0.2, 1.0],
            conventions: vec![Convention::Score, Convention::Paper],
            widths: vec![1, 2, 4, 8, 16, 32, 64],
            nodes: vec![1, 2, 4, 8, 16],
            activation: Activation::Relu,
            n_train: 512,
            n_eval: 4096,
            quad_nodes: 64,
            gd: FloorGd {
                lr: 0.05,
                max_iters: 1000,
                grad_tol: 1e-6,
            },
            lambdas: vec![0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0],
            lambda_archs: vec![("per_patch".into(), 4), ("joint_mlp".into(), 16)],
            seed: 0,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorRow {
    /// bayes | per_patch | joint | joint_mlp | structured_free | structured_sum1
    pub architecture: String,
    /// width m (per patch: units per patch; joint: units; structured: nodes K; bayes: 0)
    pub width: usize,
    /// trainable parameters
    pub n_params: usize,
    /// paper | score
    pub convention: String,
    /// t
    pub t: f64,
    /// rule-aware weight lambda (0 = plain DSM)
    pub lambda: f64,
    /// alpha_t / beta_t^2
    pub target: f64,
    /// E||g - g*||^2 on the held-out sample (DSM loss minus the Bayes loss)
    pub dsm_excess: f64,
    /// standard error
    pub dsm_excess_se: f64,
    /// |E psi - alpha/beta^2|
    pub bias: f64,
    /// Var psi
    pub variance: f64,
    /// E (psi - alpha/beta^2)^2 (held out)
    pub rule_error: f64,
    /// standard error
    pub rule_error_se: f64,
    /// ||grad J|| on the training sample at the end (0 for bayes)
    pub grad_norm: f64,
    /// GD iterations
    pub iters: usize,
    /// certificate below tolerance
    pub converged: bool,
    /// Bayes loss L* of the setting (Monte Carlo, held-out sample)
    pub bayes_dsm_loss: f64,
    /// closed-form Bayes rule error (0 score, 2 (1 + 1/beta)^2 paper)
    pub bayes_rule_error: f64,
}

/// The main table and the lambda sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorTable {
    /// settings
    pub config: FloorConfig,
    /// architecture x width x convention x t (lambda = 0)
    pub rows: Vec<FloorRow>,
    /// rule-aware objective sweep
    pub lambda_rows: Vec<FloorRow>,
}

fn seed_of(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, p| {
        (h ^ p).wrapping_mul(0x0100_0000_01B3).rotate_left(17)
    })
}

fn build(
    arch: &str,
    width: usize,
    cfg: &FloorConfig,
    model: &TwoPatchModel,
    sample: &FloorSample,
    seed: u64,
) -> Result<Box<dyn Predictor>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sigma0 = 0.5 / (cfg.d as f64).sqrt();
    Ok(match arch {
        "per_patch" | "joint" => Box::new(JointNet::init(
            cfg.activation,
            cfg.d,
            width,
            arch == "per_patch",
            sigma0,
            &mut rng,
        )?),
        "joint_mlp" => Box::new(JointMlp::init(
            cfg.activation,
            cfg.d,
            width,
            sigma0,
            &mut rng,
        )?),
        "structured_free" | "structured_sum1" => Box::new(StructuredNet::init(
            sample.level,
            model.u.clone(),
            model.v.clone(),
            width,
            arch == "structured_sum1",
            &mut rng,
        )?),
        o => {
            return Err(invalid(
                "architecture",
                format!(
                    "unknown `{o}` (per_patch|joint|joint_mlp|structured_free|structured_sum1)"
                ),
            ))
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn row(
    arch: &str,
    width: usize,
    n_params: usize,
    conv: Convention,
    t: f64,
    lambda: f64,
    ev: &FloorEval,
    gd: Option<&GdReport>,
    bayes: &BayesReference,
    bayes_rule: f64,
    target: f64,
) -> FloorRow {
    FloorRow {
        architecture: arch.into(),
        width,
        n_params,
        convention: conv.name().into(),
        t,
        lambda,
        target,
        dsm_excess: ev.dsm_excess,
        dsm_excess_se: ev.dsm_excess_se,
        bias: ev.bias,
        variance: ev.variance,
        rule_error: ev.rule_error,
        rule_error_se: ev.rule_error_se,
        grad_norm: gd.map_or(0.0, |g| g.grad_norm),
        iters: gd.map_or(0, |g| g.iters),
        converged: gd.is_none_or(|g| g.converged),
        bayes_dsm_loss: bayes.dsm_loss,
        bayes_rule_error: bayes_rule,
    }
}

/// Train every architecture/width on a common fixed sample per (convention, t), evaluate on a
/// held-out sample, and run the rule-aware lambda sweep. `progress` is called with a line per row.
pub fn floor_table(cfg: &FloorConfig, progress: &mut dyn FnMut(&FloorRow)) -> Result<FloorTable> {
    let sizes = [
        ("d", cfg.d, 2),
        ("n-train", cfg.n_train, 2),
        ("n-eval", cfg.n_eval, 2),
        ("quad-nodes", cfg.quad_nodes, 1),
    ];
    for (name, value, min) in sizes {
        if value < min {
            return Err(invalid(name, format!("must be >= {min}, got {value}")));
        }
    }
    if cfg.widths.contains(&0) || cfg.nodes.contains(&0) {
        return Err(invalid("width", "widths and node counts must be >= 1"));
    }
    let model = TwoPatchModel::new(cfg.d, cfg.zeta.clone())?;
    let mut rows = Vec::new();
    let mut lambda_rows = Vec::new();
    for (ci, &conv) in cfg.conventions.iter().enumerate() {
        for (ti, &t) in cfg.ts.iter().enumerate() {
            let level = Schedule::Continuous.level(t)?;
            let mut r1 = ChaCha8Rng::seed_from_u64(seed_of(&[cfg.seed, 1, ci as u64, ti as u64]));
            let train =
                FloorSample::draw(&model, level, conv, cfg.n_train, cfg.quad_nodes, &mut r1)?;
            let mut r2 = ChaCha8Rng::seed_from_u64(seed_of(&[cfg.seed, 2, ci as u64, ti as u64]));
            let eval = FloorSample::draw(&model, level, conv, cfg.n_eval, cfg.quad_nodes, &mut r2)?;
            let bayes = BayesReference::from_sample(&eval);
            let bayes_rule =
                bayes_optimal_rule_error(&model, level, conv, 2, cfg.quad_nodes, &mut r2)?
                    .exact
                    .mse;
            let target = level.target();
            let r = row(
                "bayes",
                0,
                0,
                conv,
                t,
                0.0,
                &bayes.eval,
                None,
                &bayes,
                bayes_rule,
                target,
            );
            progress(&r);
            rows.push(r);
            let mut jobs: Vec<(&str, usize)> = Vec::new();
            for &m in &cfg.widths {
                jobs.push(("per_patch", m));
                jobs.push(("joint", m));
                jobs.push(("joint_mlp", m));
            }
            for &k in &cfg.nodes {
                jobs.push(("structured_free", k));
                jobs.push(("structured_sum1", k));
            }
            for (arch, width) in jobs {
                let seed = seed_of(&[
                    cfg.seed,
                    3,
                    width as u64,
                    arch.len() as u64,
                    arch.as_bytes()[0] as u64,
                ]);
                let mut net = build(arch, width, cfg, &model, &train, seed)?;
                let gd = train_floor(net.as_mut(), &train, 0.0, &cfg.gd)?;
                let ev = evaluate(net.as_ref(), &eval);
                let r = row(
                    arch,
                    width,
                    net.n_params(),
                    conv,
                    t,
                    0.0,
                    &ev,
                    Some(&gd),
                    &bayes,
                    bayes_rule,
                    target,
                );
                progress(&r);
                rows.push(r);
            }
            for (arch, width) in &cfg.lambda_archs {
                let seed = seed_of(&[
                    cfg.seed,
                    3,
                    *width as u64,
                    arch.len() as u64,
                    arch.as_bytes()[0] as u64,
                ]);
                for &lambda in &cfg.lambdas {
                    let mut net = build(arch, *width, cfg, &model, &train, seed)?;
                    let gd = train_floor(net.as_mut(), &train, lambda, &cfg.gd)?;
                    let ev = evaluate(net.as_ref(), &eval);
                    let r = row(
                        arch,
                        *width,
                        net.n_params(),
                        conv,
                        t,
                        lambda,
                        &ev,
                        Some(&gd),
                        &bayes,
                        bayes_rule,
                        target,
                    );
                    progress(&r);
                    lambda_rows.push(r);
                }
            }
        }
    }
    Ok(FloorTable {
        config: cfg.clone(),
        rows,
        lambda_rows,
    })
}

fn io_err(e: impl std::fmt::Display) -> TheoryError {
    invalid("out", e.to_string())
}

fn atomic_write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    crate::fsio::write_atomic(&dir.join(name), bytes).map_err(io_err)
}

fn csv_bytes(rows: &[FloorRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(io_err)?;
    }
    w.into_inner().map_err(io_err)
}

/// Write floor.csv, floor_lambda.csv and floor.json into `dir` (created if missing), atomically.
pub fn write_outputs(table: &FloorTable, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err)?;
    atomic_write(dir, "floor.csv", &csv_bytes(&table.rows)?)?;
    atomic_write(dir, "floor_lambda.csv", &csv_bytes(&table.lambda_rows)?)?;
    let json = serde_json::to_vec_pretty(table).map_err(io_err)?;
    atomic_write(dir, "floor.json", &json)
}

fn parse_list<T: std::str::FromStr>(name: &'static str, s: &str) -> Result<Vec<T>> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<T>()
                .map_err(|_| invalid(name, format!("cannot parse `{x}` in `{s}`")))
        })
        .collect()
}

/// Flags of `theory floor`.
#[derive(clap::Args, Debug, Clone)]
pub struct FloorArgs {
    /// output directory (floor.csv, floor_lambda.csv, floor.json)
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// patch dimension d
    #[arg(long, default_value_t = 8)]
    pub d: usize,
    /// D_zeta: uniform:A:B | beta:P:Q:A:B | discrete:V1,V2,...
    #[arg(long, default_value = "uniform:0.2:0.8")]
    pub zeta: String,
    /// comma-separated times t (continuous schedule)
    #[arg(long, default_value = "0.2,1.0")]
    pub ts: String,
    /// comma-separated conventions (score,paper)
    #[arg(long, default_value = "score,paper")]
    pub conventions: String,
    /// comma-separated widths of the per-patch and joint networks
    #[arg(long, default_value = "1,2,4,8,16,32,64")]
    pub widths: String,
    /// comma-separated node counts K of the structured networks
    #[arg(long, default_value = "1,2,4,8,16")]
    pub nodes: String,
    /// relu | linear | quadratic | cubic (two-layer networks)
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// training sample size
    #[arg(long, default_value_t = 512)]
    pub n_train: usize,
    /// held-out sample size
    #[arg(long, default_value_t = 4096)]
    pub n_eval: usize,
    /// GD iteration cap
    #[arg(long, default_value_t = 1000)]
    pub iters: usize,
    /// comma-separated lambda grid of the rule-aware objective
    #[arg(long, default_value = "0,0.001,0.01,0.1,1,10,100")]
    pub lambdas: String,
    /// comma-separated ARCH:WIDTH pairs the lambda sweep runs on
    #[arg(long, default_value = "per_patch:4,joint_mlp:16")]
    pub lambda_archs: String,
    /// seed
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl FloorArgs {
    /// The [`FloorConfig`] these flags describe.
    pub fn config(&self) -> Result<FloorConfig> {
        let conventions = self
            .conventions
            .split(',')
            .map(Convention::parse)
            .collect::<Result<Vec<_>>>()?;
        let lambda_archs = self
            .lambda_archs
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|p| {
                let (a, w) = p
                    .split_once(':')
                    .ok_or_else(|| invalid("lambda-archs", format!("`{p}` is not ARCH:WIDTH")))?;
                let w: usize = w
                    .trim()
                    .parse()
                    .map_err(|_| invalid("lambda-archs", format!("bad width in `{p}`")))?;
                Ok((a.trim().to_string(), w))
            })
            .collect::<Result<Vec<_>>>()?;
        let lambdas: Vec<f64> = parse_list("lambdas", &self.lambdas)?;
        if lambdas.iter().any(|l| !(l.is_finite() && *l >= 0.0)) {
            return Err(invalid("lambdas", "every lambda must be finite and >= 0"));
        }
        let ts: Vec<f64> = parse_list("ts", &self.ts)?;
        if ts.iter().any(|t| !(t.is_finite() && *t >= MIN_CLI_T)) {
            return Err(invalid(
                "ts",
                format!("every t must be finite and >= {MIN_CLI_T:e}"),
            ));
        }
        Ok(FloorConfig {
            d: self.d,
            zeta: ZetaLaw::parse(&self.zeta)?,
            ts,
            conventions,
            widths: parse_list("widths", &self.widths)?,
            nodes: parse_list("nodes", &self.nodes)?,
            activation: Activation::parse(&self.activation)?,
            n_train: self.n_train,
            n_eval: self.n_eval,
            quad_nodes: 64,
            gd: FloorGd {
                lr: 0.05,
                max_iters: self.iters.max(1),
                grad_tol: 1e-6,
            },
            lambdas,
            lambda_archs,
            seed: self.seed,
        })
    }
}

/// `theory floor`: run the table, print one line per row to stderr, write the files.
pub fn run_floor_cli(args: &FloorArgs) -> Result<()> {
    let cfg = args.config()?;
    for (a, _) in &cfg.lambda_archs {
        if !matches!(
            a.as_str(),
            "per_patch" | "joint" | "joint_mlp" | "structured_free" | "structured_sum1"
        ) {
            return Err(invalid(
                "lambda-archs",
                format!("unknown architecture `{a}`"),
            ));
        }
    }
    let mut print = |r: &FloorRow| {
        eprintln!(
            "{:<16} m={:<3} {:<5} t={:<4} lambda={:<7} excess={:.4e} rule={:.4e} (bias {:.3e}, var {:.3e}) |grad|={:.1e}",
            r.architecture, r.width, r.convention, r.t, r.lambda, r.dsm_excess, r.rule_error, r.bias, r.variance, r.grad_norm
        )
    };
    let table = floor_table(&cfg, &mut print)?;
    write_outputs(&table, &args.out)?;
    println!(
        "wrote {}/floor.csv, floor_lambda.csv, floor.json ({} + {} rows)",
        args.out.display(),
        table.rows.len(),
        table.lambda_rows.len()
    );
    Ok(())
}
