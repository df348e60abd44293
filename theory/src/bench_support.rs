//! Entry points for the workspace criterion benches (`benches/theory.rs`).
//! Setting of all three: d = 100, m = 20, t = 0.4 (continuous schedule), D_zeta = uniform[0.2, 0.8],
//! convention `paper`, weights at a seeded N(0, (0.5/sqrt(d))^2) initialisation.

use crate::data::TwoPatchModel;
use crate::error::Result;
use crate::figure6::{figure6_grid, Figure6Config, Figure6Panel};
use crate::loss::{mc_loss_and_gradient, population_loss_and_gradient, Convention, NetGradient};
use crate::network::{Activation, ScoreNet};
use crate::schedule::{NoiseLevel, Schedule};
use crate::zeta::ZetaLaw;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The benchmark setting: (model, level, initial network).
pub fn bench_setting(
    activation: Activation,
    seed: u64,
) -> Result<(TwoPatchModel, NoiseLevel, ScoreNet)> {
    let model = TwoPatchModel::new(100, ZetaLaw::Uniform { a: 0.2, b: 0.8 })?;
    let level = Schedule::Continuous.level(0.4)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let net = ScoreNet::init_gaussian(activation, 100, 20, 0.05, &mut rng)?;
    Ok((model, level, net))
}

/// The whole Figure 6 grid with default settings (4 activations x 4 t, d = 100, m = 20, 5000 psi each).
pub fn figure6_default_grid() -> Result<Vec<Figure6Panel>> {
    figure6_grid(&Figure6Config::default())
}

/// One App. F Monte Carlo epoch (n data x n_eps noises, value + gradient) in the bench setting.
pub fn mc_epoch(
    activation: Activation,
    n: usize,
    n_eps: usize,
    seed: u64,
) -> Result<(f64, NetGradient)> {
    let (model, level, net) = bench_setting(activation, seed)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    let (l, g, _) =
        mc_loss_and_gradient(&net, &model, level, Convention::Paper, n, n_eps, &mut rng)?;
    Ok((l, g))
}

/// One exact population loss + gradient evaluation in the bench setting (polynomial activations),
/// the exact counterpart of [`mc_epoch`].
pub fn exact_epoch(activation: Activation, seed: u64) -> Result<(f64, NetGradient)> {
    let (model, level, net) = bench_setting(activation, seed)?;
    population_loss_and_gradient(&net, &model, level, Convention::Paper)
}
