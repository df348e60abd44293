//! How close is the ReLU common-random-numbers optimum to a population stationary point?
//! Prints the population gradient norm (closed form) at the CRN optimum, and the App. F Monte Carlo
//! gradient there with the Monte Carlo noise floor
//! (||g_a - g_b|| / sqrt(2) for two independent estimates). Run:
//! `cargo run -p theory --release --example relu_crn_check`
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use theory::*;

fn main() -> Result<()> {
    let model = TwoPatchModel::new(100, ZetaLaw::Uniform { a: 0.2, b: 0.8 })?;
    let n_eps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    for t in [0.2, 0.8] {
        let level = Schedule::Continuous.level(t)?;
        let cfg = GdConfig {
            max_iters: 3000,
            grad_tol: 1e-6,
            estimator: Estimator::CommonRandomNumbers { n_zeta: 8, n_eps },
            ..GdConfig::default()
        };
        let out = train(&model, level, Activation::Relu, 20, Convention::Paper, &cfg)?;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (_, ga, _) = mc_loss_and_gradient(
            &out.net,
            &model,
            level,
            Convention::Paper,
            2000,
            200,
            &mut rng,
        )?;
        let (_, gb, _) = mc_loss_and_gradient(
            &out.net,
            &model,
            level,
            Convention::Paper,
            2000,
            200,
            &mut rng,
        )?;
        let noise = ((&ga.g1 - &gb.g1).norm_squared() + (&ga.g2 - &gb.g2).norm_squared()).sqrt()
            / 2f64.sqrt();
        let (_, g0, _) = mc_loss_and_gradient(
            &out.init,
            &model,
            level,
            Convention::Paper,
            2000,
            200,
            &mut rng,
        )?;
        println!(
            "n_eps={n_eps} t={t}: population ||grad L|| at the CRN optimum {:.2e} ({} iters); App. F MC gradient at trained net {:.3e}, MC noise floor {:.3e}; at init {:.3e}",
            out.grad_norm,
            out.iters,
            ga.norm(),
            noise,
            g0.norm()
        );
    }
    Ok(())
}
