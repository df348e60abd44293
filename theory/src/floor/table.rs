//! The results table: architecture x width x convention x t -> DSM excess over the Bayes-optimal loss,
//! bias, variance, rule error, ||grad|| certificate; the quadrature references of
//! [`crate::floor::bayes`] as rows of width 0; and the rule-aware lambda sweep.
use crate::data::TwoPatchModel;
use crate::error::{invalid, Result, TheoryError};
use crate::floor::bayes::{BayesLimits, Information, PosteriorPredictor};
use crate::floor::joint::{JointMlp, JointNet};
use crate::floor::objective::{
    evaluate, train_floor, BayesReference, FloorEval, FloorGd, FloorSample, GdReport, Predictor,
};
use crate::floor::structured::StructuredNet;
use crate::loss::Convention;
use crate::network::Activation;
use crate::schedule::Schedule;
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
    /// trained architectures, in table order (see [`ARCHITECTURES`])
    pub architectures: Vec<String>,
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
    /// references by quadrature: Gauss nodes of D_zeta (outer) and Gauss-Hermite nodes per noise
    /// coordinate
    pub ref_nodes: (usize, usize),
    /// optimiser (L-BFGS with memory 10 by default; memory 0: gradient descent)
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
            architectures: ARCHITECTURES.iter().map(|a| a.to_string()).collect(),
            widths: vec![1, 2, 4, 8, 16, 32, 64],
            nodes: vec![1, 2, 4, 8, 16],
            activation: Activation::Relu,
            n_train: 512,
            n_eval: 4096,
            quad_nodes: 64,
            ref_nodes: (48, 48),
            gd: FloorGd {
                lr: 0.05,
                max_iters: 1000,
                grad_tol: 1e-6,
                memory: 10,
            },
            lambdas: vec![0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0],
            lambda_archs: vec![("per_patch".into(), 4), ("joint_mlp".into(), 16)],
            seed: 0,
        }
    }
}

/// Trained architectures: the four corners of the ablation (input per patch or joint x tied bias-free
/// or untied with biases), the untied bias-free networks (the second switch split in two), and the
/// score-form networks of [`StructuredNet`].
/// - `per_patch`: Eq. 1, g^(p) = W_p^T sigma(W_p x^(p)), m units per patch ([`JointNet`] with mask);
/// - `joint`: g = W^T sigma(W x), m units on [x^(1); x^(2)] ([`JointNet`]);
/// - `per_patch_mlp`: g^(p) = A_p^T sigma(W_p x^(p) + b_p) + c_p, m units per patch ([`JointMlp`]);
/// - `joint_mlp`: g = A^T sigma(W x + b) + c, m units ([`JointMlp`]);
/// - `per_patch_untied`, `joint_untied`: the same without b, c (positively homogeneous for ReLU);
/// - `structured_free`, `structured_sum1`: K softmax nodes ([`StructuredNet`]).
pub const ARCHITECTURES: [&str; 8] = [
    "per_patch",
    "joint",
    "per_patch_mlp",
    "joint_mlp",
    "per_patch_untied",
    "joint_untied",
    "structured_free",
    "structured_sum1",
];

/// Reference rows of width 0 (no training): the Bayes-optimal g*, the per-patch optimum and the
/// trivial predictor ([`crate::floor::bayes`]).
pub const REFERENCES: [&str; 3] = ["bayes", "per_patch_bayes", "trivial"];

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorRow {
    /// one of [`REFERENCES`] or [`ARCHITECTURES`]
    pub architecture: String,
    /// width m (per patch: units per patch; joint: units; structured: nodes K; references: 0)
    pub width: usize,
    /// trainable parameters (entries fixed at 0 by a mask not counted)
    pub n_params: usize,
    pub convention: Convention,
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
    /// mean ||g - g*||^2 on the training sample (below `dsm_excess` by more than the standard
    /// errors: the fit is limited by the sample, not by the optimiser or the architecture)
    pub train_dsm_excess: f64,
    /// ||grad J|| on the training sample at the end (0 for references)
    pub grad_norm: f64,
    /// optimiser iterations
    pub iters: usize,
    /// certificate below tolerance
    pub converged: bool,
    /// reference rows: DSM excess by quadrature (empty for trained rows)
    pub quad_dsm_excess: Option<f64>,
    /// reference rows: rule error by quadrature (empty for trained rows)
    pub quad_rule_error: Option<f64>,
    /// Bayes loss L* = 2 K E Var(zeta | x_t) of the setting by quadrature
    pub bayes_dsm_loss: f64,
    /// the same, Rao-Blackwellised Monte Carlo on the held-out sample
    pub bayes_dsm_loss_mc: f64,
    /// its standard error
    pub bayes_dsm_loss_mc_se: f64,
    /// the trivial predictor's loss 2 K Var zeta (quadrature; >= L*)
    pub trivial_dsm_loss: f64,
    /// DSM excess of the per-patch optimum (quadrature): no per-patch network goes below it
    pub per_patch_floor: f64,
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
        "joint_mlp" | "per_patch_mlp" | "joint_untied" | "per_patch_untied" => {
            Box::new(JointMlp::init_with(
                cfg.activation,
                cfg.d,
                width,
                arch.starts_with("per_patch"),
                arch.ends_with("_mlp"),
                sigma0,
                &mut rng,
            )?)
        }
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
                format!("unknown `{o}` ({})", ARCHITECTURES.join("|")),
            ))
        }
    })
}

/// What every row of one (convention, t) shares.
struct Setting<'a> {
    conv: Convention,
    t: f64,
    bayes: &'a BayesReference,
    limits: &'a BayesLimits,
    target: f64,
}

impl Setting<'_> {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        arch: &str,
        width: usize,
        n_params: usize,
        lambda: f64,
        ev: &FloorEval,
        train_excess: f64,
        gd: Option<&GdReport>,
        quad: Option<(f64, f64)>,
    ) -> FloorRow {
        FloorRow {
            architecture: arch.into(),
            width,
            n_params,
            convention: self.conv,
            t: self.t,
            lambda,
            target: self.target,
            dsm_excess: ev.dsm_excess,
            dsm_excess_se: ev.dsm_excess_se,
            bias: ev.bias,
            variance: ev.variance,
            rule_error: ev.rule_error,
            rule_error_se: ev.rule_error_se,
            train_dsm_excess: train_excess,
            grad_norm: gd.map_or(0.0, |g| g.grad_norm),
            iters: gd.map_or(0, |g| g.iters),
            converged: gd.is_none_or(|g| g.converged),
            quad_dsm_excess: quad.map(|q| q.0),
            quad_rule_error: quad.map(|q| q.1),
            bayes_dsm_loss: self.limits.bayes_loss,
            bayes_dsm_loss_mc: self.bayes.dsm_loss_rb,
            bayes_dsm_loss_mc_se: self.bayes.dsm_loss_rb_se,
            trivial_dsm_loss: self.limits.trivial_loss,
            per_patch_floor: self.limits.per_patch_excess,
            bayes_rule_error: self.limits.bayes_rule_error,
        }
    }
}

fn arch_seed(seed: u64, arch: &str, width: usize) -> u64 {
    seed_of(&[
        seed,
        3,
        width as u64,
        arch.len() as u64,
        arch.as_bytes()[0] as u64,
    ])
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
    if cfg.ref_nodes.0 == 0 || cfg.ref_nodes.1 == 0 {
        return Err(invalid("ref-nodes", "need >= 1 node of each rule"));
    }
    let known = |a: &str| ARCHITECTURES.contains(&a);
    if let Some(a) = cfg
        .architectures
        .iter()
        .chain(cfg.lambda_archs.iter().map(|(a, _)| a))
        .find(|a| !known(a))
    {
        return Err(invalid(
            "archs",
            format!("unknown architecture `{a}` ({})", ARCHITECTURES.join("|")),
        ));
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
            let limits = BayesLimits::compute(
                &model,
                level,
                conv,
                cfg.ref_nodes.0,
                cfg.ref_nodes.1,
                cfg.quad_nodes,
            )?;
            let st = Setting {
                conv,
                t,
                bayes: &bayes,
                limits: &limits,
                target: level.target(),
            };
            let refs = [
                ("bayes", None, (0.0, limits.bayes_rule_error)),
                (
                    "per_patch_bayes",
                    Some(Information::PerPatch),
                    (limits.per_patch_excess, limits.per_patch_rule_error),
                ),
                (
                    "trivial",
                    Some(Information::Prior),
                    (limits.trivial_excess(), limits.trivial_rule_error),
                ),
            ];
            for (name, info, quad) in refs {
                let (ev, tr) = match info {
                    None => (bayes.eval, 0.0),
                    Some(info) => {
                        let p = PosteriorPredictor::new(&model, level, conv, info, cfg.quad_nodes);
                        (evaluate(&p, &eval), evaluate(&p, &train).dsm_excess)
                    }
                };
                let r = st.row(name, 0, 0, 0.0, &ev, tr, None, Some(quad));
                progress(&r);
                rows.push(r);
            }
            for arch in &cfg.architectures {
                let widths = if arch.starts_with("structured") {
                    &cfg.nodes
                } else {
                    &cfg.widths
                };
                for &width in widths {
                    let seed = arch_seed(cfg.seed, arch, width);
                    let mut net = build(arch, width, cfg, &model, &train, seed)?;
                    let gd = train_floor(net.as_mut(), &train, 0.0, &cfg.gd)?;
                    let ev = evaluate(net.as_ref(), &eval);
                    let tr = evaluate(net.as_ref(), &train).dsm_excess;
                    let r = st.row(
                        arch,
                        width,
                        net.n_trainable(),
                        0.0,
                        &ev,
                        tr,
                        Some(&gd),
                        None,
                    );
                    progress(&r);
                    rows.push(r);
                }
            }
            for (arch, width) in &cfg.lambda_archs {
                let seed = arch_seed(cfg.seed, arch, *width);
                for &lambda in &cfg.lambdas {
                    let mut net = build(arch, *width, cfg, &model, &train, seed)?;
                    let gd = train_floor(net.as_mut(), &train, lambda, &cfg.gd)?;
                    let ev = evaluate(net.as_ref(), &eval);
                    let tr = evaluate(net.as_ref(), &train).dsm_excess;
                    let r = st.row(
                        arch,
                        *width,
                        net.n_trainable(),
                        lambda,
                        &ev,
                        tr,
                        Some(&gd),
                        None,
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

/// Write floor.csv, floor_lambda.csv, floor.json and the document floor.md rendered from it
/// ([`crate::floor::doc`]) into `dir` (created if missing), atomically.
pub fn write_outputs(table: &FloorTable, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err)?;
    atomic_write(dir, "floor.csv", &csv_bytes(&table.rows)?)?;
    atomic_write(dir, "floor_lambda.csv", &csv_bytes(&table.lambda_rows)?)?;
    let mut json = serde_json::to_vec_pretty(table).map_err(io_err)?;
    json.push(b'\n');
    atomic_write(dir, "floor.json", &json)?;
    write_document(table, dir)
}

/// Write `dir/floor.md`, rendered from `table` alone.
pub fn write_document(table: &FloorTable, dir: &Path) -> Result<()> {
    let md = crate::floor::doc::render_markdown(table);
    atomic_write(dir, crate::floor::doc::DOC_FILE, md.as_bytes())
}

/// Read `dir/floor.json` (written by [`write_outputs`]).
pub fn read_table(dir: &Path) -> Result<FloorTable> {
    let p = dir.join("floor.json");
    let bytes = std::fs::read(&p).map_err(|e| io_err(format!("{}: {e}", p.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| io_err(format!("{}: {e}", p.display())))
}
