//! Training data for a run, from `empirical-rules` (App. C generators): generated with the run's
//! seed, recorded in `data/manifest.csv` + `data/images.npy`, returned as NCHW f32 in [-1, 1].
use empirical_rules::{generate, GenConfig, Kind, Task};
use image::RgbImage;
use std::path::Path;

use crate::config::RunConfig;
use crate::error::{Error, Result};

/// The task of a config as the rules crate's type.
pub fn task_of(cfg: &RunConfig) -> Result<Task> {
    Ok(cfg.task)
}

/// Generate the training set of `cfg` (seed = run seed); write manifest and `.npy` into `dir`
/// when given. Returns the images.
pub fn training_images(cfg: &RunConfig, dir: Option<&Path>) -> Result<Vec<RgbImage>> {
    let ds = generate(&GenConfig {
        task: task_of(cfg)?,
        n: cfg.data.n_train,
        size: cfg.image_size as u32,
        seed: cfg.seed,
        kind: Kind::Train,
    })
    .map_err(|e| Error::Rules(e.to_string()))?;
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        ds.write_manifest(&dir.join("manifest.csv"))
            .map_err(|e| Error::Rules(e.to_string()))?;
        crate::pipeline::write_npy_u8(&dir.join("images.npy"), &ds.images)?;
    }
    Ok(ds.images)
}

/// NCHW f32 in [-1, 1] of `images`.
pub fn to_tensor_data(images: &[RgbImage]) -> Vec<f32> {
    empirical_rules::to_chw_f32(images)
}
