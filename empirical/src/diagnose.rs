//! Where a DDPM checkpoint loses quality (Sec. 3.2 training objective, Ho et al. Algorithm 2):
//! the eps-prediction MSE at fixed steps t on training images, and the MSE to the original after
//! noising training images to step t and running the ancestral sampler back to x_0.
//! A model that is good at small t but not near t = T denoises well yet samples badly from noise.
use burn::prelude::ElementConversion;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::RunConfig;
use crate::data;
use crate::diffusion::{normal_tensor, q_sample};
use crate::error::{Error, Result};
use crate::model::UNet;
use crate::sampler::ddpm_step;
use crate::schedule::Schedule;

/// One row of the diagnosis.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnoseRow {
    /// Step index t (0-based).
    pub t: usize,
    /// Mean squared error of eps_theta(x_t, t) against the true noise.
    pub eps_mse: f64,
    /// Mean squared error to x_0 after noising to t and ancestral sampling back (if requested).
    pub recon_mse: Option<f64>,
}

/// Diagnose `model` on `n` training images of `cfg` (generated with the config's seed) at the
/// steps `ts`; reconstruct from the steps in `recon` as well. Noise comes from ChaCha8(`seed`).
pub fn diagnose<B: Backend>(
    model: &UNet<B>,
    cfg: &RunConfig,
    n: usize,
    ts: &[usize],
    recon: &[usize],
    seed: u64,
    device: &B::Device,
) -> Result<Vec<DiagnoseRow>> {
    let sched = Schedule::from_config(&cfg.diffusion);
    if let Some(&bad) = ts.iter().chain(recon).find(|&&t| t >= sched.len()) {
        return Err(Error::config(
            "t",
            format!("step {bad} is outside 0..{}", sched.len()),
        ));
    }
    if n == 0 {
        return Err(Error::config("n", "needs at least one image"));
    }
    let mut dcfg = cfg.clone();
    dcfg.data.n_train = n;
    let images = data::training_images(&dcfg, None)?;
    let (c, s) = (cfg.model.in_channels, cfg.image_size);
    let x0 = Tensor::<B, 4>::from_data(
        TensorData::new(data::to_tensor_data(&images), [n, c, s, s]),
        device,
    );
    let mse = |a: Tensor<B, 4>, b: Tensor<B, 4>| -> f64 {
        (a - b).powi_scalar(2).mean().into_scalar().elem::<f64>()
    };
    let mut all: Vec<usize> = ts.iter().chain(recon).copied().collect();
    all.sort_unstable();
    all.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::new();
    for t in all {
        let eps = normal_tensor::<B>(&mut rng, [n, c, s, s], device);
        let steps = vec![t; n];
        let xt = q_sample(&sched, x0.clone(), &steps, eps.clone());
        let eps_mse = mse(model.forward(xt.clone(), &steps), eps);
        let recon_mse = recon.contains(&t).then(|| {
            let mut x = xt;
            for k in (0..=t).rev() {
                x = ddpm_step(model, &sched, x, k, &mut rng);
            }
            mse(x, x0.clone())
        });
        rows.push(DiagnoseRow {
            t,
            eps_mse,
            recon_mse,
        });
    }
    Ok(rows)
}
