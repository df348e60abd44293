//! `cargo run -p bridge --release -- [--runs DIR] [--out DIR] ...`: compute
//! the theory rows, read the experiment rows, print the table (Markdown) and
//! write `bridge.md`, `bridge.csv` and `theory_points.json` to `--out`.

use std::path::PathBuf;

use clap::Parser;

use crate::table::{experiment_rows, theory_rows, to_csv, to_markdown, write_atomic, Row};
use crate::theory_side::{errors, theory_points, TheoryRowsConfig};
use crate::BridgeError;
use empirical_rules::results::scan_runs;
use empirical_rules::Task;

/// The bridge table: theory vs experiment on the one Eq. 4 metric.
#[derive(Debug, Parser)]
#[command(name = "bridge", version, about)]
pub struct Args {
    /// Folder of run directories (`<runs>/<name>/eval/results.json`, `guided/`, `filtered/`).
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// Output folder for bridge.md, bridge.csv, theory_points.json.
    #[arg(long, default_value = "out/bridge")]
    pub out: PathBuf,
    /// Patch dimension d (App. F: 100).
    #[arg(long, default_value_t = 100)]
    pub d: usize,
    /// Network width m (App. F: 20).
    #[arg(long, default_value_t = 20)]
    pub m: usize,
    /// Sampled x_t per setting (App. F: 5000).
    #[arg(long, default_value_t = 5000)]
    pub n_psi: usize,
    /// Times t (continuous schedule alpha_t = e^-t), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "0.2,0.4,0.6,0.8")]
    pub ts: Vec<f64>,
    /// Activations (relu, linear, quadratic, cubic), comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "relu,linear,quadratic,cubic"
    )]
    pub activations: Vec<String>,
    /// Loss conventions (paper, score), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "paper,score")]
    pub conventions: Vec<String>,
    /// D_zeta, e.g. uniform:0.2:0.8.
    #[arg(long, default_value = "uniform:0.2:0.8")]
    pub zeta: String,
    /// Maximum gradient-descent iterations per setting.
    #[arg(long, default_value_t = 3000)]
    pub max_iters: usize,
    /// Base seed (setting i uses seed + i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip the theory rows (experiment rows only).
    #[arg(long)]
    pub no_theory: bool,
}

impl Args {
    /// Turn the arguments into the theory configuration (usage errors named).
    pub fn theory_config(&self) -> Result<TheoryRowsConfig, BridgeError> {
        let mut cfg = TheoryRowsConfig::default();
        let f = &mut cfg.fig6;
        if self.d < 2 || self.m == 0 || self.n_psi < 2 {
            return Err(BridgeError::Usage(
                "--d must be >= 2, --m >= 1, --n-psi >= 2".into(),
            ));
        }
        if self.ts.is_empty() || self.ts.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(BridgeError::Usage("--ts must be positive times".into()));
        }
        f.d = self.d;
        f.m = self.m;
        f.n_psi = self.n_psi;
        f.ts = self.ts.clone();
        f.seed = self.seed;
        f.gd.max_iters = self.max_iters;
        f.zeta = theory::ZetaLaw::parse(&self.zeta)
            .map_err(|e| BridgeError::Usage(format!("--zeta: {e}")))?;
        f.activations = self
            .activations
            .iter()
            .map(|a| {
                theory::Activation::parse(a)
                    .map_err(|e| BridgeError::Usage(format!("--activations: {e}")))
            })
            .collect::<Result<_, _>>()?;
        cfg.conventions = self
            .conventions
            .iter()
            .map(|c| {
                theory::Convention::parse(c)
                    .map_err(|e| BridgeError::Usage(format!("--conventions: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(cfg)
    }
}

/// Build every row.
pub fn build_rows(args: &Args) -> Result<Vec<Row>, BridgeError> {
    let mut rows = Vec::new();
    if !args.no_theory {
        let cfg = args.theory_config()?;
        let points = theory_points(&cfg)?;
        for p in &points {
            rows.extend(theory_rows(p, &errors(p)?));
        }
        let json = serde_json::to_string(&points).map_err(|e| BridgeError::Csv(e.to_string()))?;
        write_atomic(&args.out.join("theory_points.json"), json.as_bytes())?;
    }
    let scan = scan_runs(&args.runs);
    rows.extend(experiment_rows(&scan, &Task::ALL));
    Ok(rows)
}

/// Run the command: print and write the table.
pub fn run(args: &Args) -> Result<(), BridgeError> {
    let rows = build_rows(args)?;
    let md = format!(
        "# Bridge table: Eq. 4 on both sides\n\n\
         Theory rows: `psi` = psi_t*beta_t^2/alpha_t against the rule value 1 (bias = |mean - 1|, \
         variance part = sd); `patches` = the network's per-patch coefficients against the exact \
         posterior means E[pi zeta], E[pi (1 - zeta)] (OLS, truth y = x). Units: zeta (patch norm). \
         Experiment rows: the evaluator's Eq. 4 of the task's (x, y) against y = k x (features / image side).\n\n{}",
        to_markdown(&rows)
    );
    println!("{md}");
    write_atomic(&args.out.join("bridge.md"), md.as_bytes())?;
    write_atomic(&args.out.join("bridge.csv"), to_csv(&rows)?.as_bytes())?;
    eprintln!(
        "wrote {} and {}",
        args.out.join("bridge.md").display(),
        args.out.join("bridge.csv").display()
    );
    Ok(())
}
