//! Figure 6 data (Sec. 4, App. F): for each activation and t, train Eq. 1's network (d = 100, m = 20)
//! and sample psi_t over 5000 x_t against alpha_t / beta_t^2.
//!
//! Assumptions (the paper does not state them): D_zeta = uniform on [0.2, 0.8] by default; the
//! paper's App. F trains by MC for 5000 epochs; here the population gradient in closed form is used
//! (exact for the polynomial activations, bivariate-normal-CDF closed forms for ReLU, see
//! [`crate::loss`]), with gradient descent (Barzilai-Borwein steps, non-monotone Armijo safeguard)
//! run to the stationarity certificate `grad_tol` (or `max_iters`).

use crate::data::TwoPatchModel;
use crate::error::Result;
use crate::loss::Convention;
use crate::network::Activation;
use crate::rule::{psi_samples, rule_error_exact, RuleError};
use crate::schedule::Schedule;
use crate::train::{train, GdConfig};
use crate::zeta::ZetaLaw;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Settings of the Figure 6 grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure6Config {
    /// patch dimension (100)
    pub d: usize,
    /// width (20)
    pub m: usize,
    /// times (0.2, 0.4, 0.6, 0.8), continuous schedule
    pub ts: Vec<f64>,
    /// psi samples per panel (5000)
    pub n_psi: usize,
    /// loss convention
    pub convention: Convention,
    /// D_zeta
    pub zeta: ZetaLaw,
    /// base seed (panel i uses seed + i)
    pub seed: u64,
    /// gradient-descent settings (its seed is replaced per panel)
    pub gd: GdConfig,
    /// activations (all four)
    pub activations: Vec<Activation>,
    /// schedule (continuous, App. F)
    pub schedule: Schedule,
}

impl Default for Figure6Config {
    fn default() -> Self {
        Self {
            d: 100,
            m: 20,
            ts: vec![0.2, 0.4, 0.6, 0.8],
            n_psi: 5000,
            convention: Convention::Paper,
            zeta: ZetaLaw::Uniform { a: 0.2, b: 0.8 },
            seed: 0,
            gd: GdConfig {
                max_iters: 3000,
                grad_tol: 1e-6,
                ..GdConfig::default()
            },
            activations: Activation::ALL.to_vec(),
            schedule: Schedule::Continuous,
        }
    }
}

/// One panel of Figure 6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure6Panel {
    /// activation
    pub activation: Activation,
    /// time t
    pub t: f64,
    /// convention
    pub convention: Convention,
    /// alpha_t
    pub alpha_t: f64,
    /// beta_t
    pub beta_t: f64,
    /// alpha_t / beta_t^2
    pub target: f64,
    /// psi_t samples
    pub psi: Vec<f64>,
    /// rule error from the samples
    pub rule: RuleError,
    /// rule error in closed form (exact for polynomial activations; ReLU: see [`crate::rule::rule_error_exact`])
    pub rule_exact: Option<RuleError>,
    /// stationarity certificate ||grad L||
    pub grad_norm: f64,
    /// GD iterations
    pub iters: usize,
    /// certificate reached grad_tol
    pub converged: bool,
    /// final loss
    pub final_loss: f64,
    /// estimator used in training
    pub estimator: String,
}

/// One panel (activation, t) with the given seed.
pub fn figure6_panel(
    cfg: &Figure6Config,
    activation: Activation,
    t: f64,
    seed: u64,
) -> Result<Figure6Panel> {
    let model = TwoPatchModel::new(cfg.d, cfg.zeta.clone())?;
    let level = cfg.schedule.level(t)?;
    let gd = GdConfig { seed, ..cfg.gd };
    let out = train(&model, level, activation, cfg.m, cfg.convention, &gd)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
    let psi = psi_samples(&out.net, &model, level, cfg.n_psi, &mut rng)?;
    let rule = RuleError::from_samples(&psi, level.target())?;
    let rule_exact = Some(rule_error_exact(&out.net, &model, level)?);
    Ok(Figure6Panel {
        activation,
        t,
        convention: cfg.convention,
        alpha_t: level.alpha_t,
        beta_t: level.beta_t,
        target: level.target(),
        psi,
        rule,
        rule_exact,
        grad_norm: out.grad_norm,
        iters: out.iters,
        converged: out.converged,
        final_loss: out.final_loss,
        estimator: out.estimator,
    })
}

/// The whole grid, activations x ts, panels in parallel (rayon); panel i (row-major) uses seed + i.
pub fn figure6_grid(cfg: &Figure6Config) -> Result<Vec<Figure6Panel>> {
    let jobs: Vec<(usize, Activation, f64)> = cfg
        .activations
        .iter()
        .flat_map(|a| cfg.ts.iter().map(move |t| (*a, *t)))
        .enumerate()
        .map(|(i, (a, t))| (i, a, t))
        .collect();
    jobs.par_iter()
        .map(|&(i, a, t)| figure6_panel(cfg, a, t, cfg.seed.wrapping_add(i as u64)))
        .collect()
}
