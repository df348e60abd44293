//! `theory floor`: its flags, their translation into a [`FloorConfig`], and the command that runs
//! the table and writes its files.
use crate::error::{invalid, Result};
use crate::floor::{
    floor_table, read_table, write_document, write_outputs, FloorConfig, FloorGd, FloorRow,
    ARCHITECTURES,
};
use crate::loss::Convention;
use crate::network::Activation;
use crate::schedule::MIN_CLI_T;
use crate::zeta::ZetaLaw;

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
    /// output directory (floor.csv, floor_lambda.csv, floor.json, floor.md)
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// train nothing: render floor.md again from the floor.json already in --out (the other
    /// settings are read from that file)
    #[arg(long)]
    pub render_only: bool,
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
    /// comma-separated architectures to train (per_patch, joint, per_patch_mlp, joint_mlp,
    /// per_patch_untied, joint_untied, structured_free, structured_sum1)
    #[arg(
        long,
        default_value = "per_patch,joint,per_patch_mlp,joint_mlp,per_patch_untied,joint_untied,structured_free,structured_sum1"
    )]
    pub archs: String,
    /// comma-separated widths of the per-patch (units per patch) and joint (units) networks
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
    /// iteration cap of the optimiser
    #[arg(long, default_value_t = 1000)]
    pub iters: usize,
    /// 0: gradient descent with Armijo backtracking; k >= 1: L-BFGS with memory k
    #[arg(long, default_value_t = 10)]
    pub memory: usize,
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
        let architectures: Vec<String> = self
            .archs
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if let Some(a) = architectures
            .iter()
            .chain(lambda_archs.iter().map(|(a, _)| a))
            .find(|a| !ARCHITECTURES.contains(&a.as_str()))
        {
            let flag = if architectures.contains(a) {
                "archs"
            } else {
                "lambda-archs"
            };
            return Err(invalid(flag, format!("unknown architecture `{a}`")));
        }
        Ok(FloorConfig {
            d: self.d,
            zeta: ZetaLaw::parse(&self.zeta)?,
            ts,
            conventions,
            architectures,
            widths: parse_list("widths", &self.widths)?,
            nodes: parse_list("nodes", &self.nodes)?,
            activation: Activation::parse(&self.activation)?,
            n_train: self.n_train,
            n_eval: self.n_eval,
            quad_nodes: 64,
            ref_nodes: (48, 48),
            gd: FloorGd {
                lr: 0.05,
                max_iters: self.iters.max(1),
                grad_tol: 1e-6,
                memory: self.memory,
            },
            lambdas,
            lambda_archs,
            seed: self.seed,
        })
    }
}

/// `theory floor`: run the table, print one line per row to stderr, write the files.
pub fn run_floor_cli(args: &FloorArgs) -> Result<()> {
    if args.render_only {
        let table = read_table(&args.out)?;
        write_document(&table, &args.out)?;
        println!("wrote {}/floor.md", args.out.display());
        return Ok(());
    }
    let cfg = args.config()?;
    let mut print = |r: &FloorRow| {
        eprintln!(
            "{:<16} m={:<3} {:<5} t={:<4} lambda={:<7} excess={:.4e}±{:.1e} rule={:.4e}±{:.1e} (bias {:.3e}, var {:.3e}) |grad|={:.1e}{}",
            r.architecture,
            r.width,
            r.convention,
            r.t,
            r.lambda,
            r.dsm_excess,
            r.dsm_excess_se,
            r.rule_error,
            r.rule_error_se,
            r.bias,
            r.variance,
            r.grad_norm,
            if r.converged { "" } else { " not converged" }
        )
    };
    let table = floor_table(&cfg, &mut print)?;
    write_outputs(&table, &args.out)?;
    println!(
        "wrote {}/floor.csv, floor_lambda.csv, floor.json, floor.md ({} + {} rows)",
        args.out.display(),
        table.rows.len(),
        table.lambda_rows.len()
    );
    Ok(())
}
