//! The contrastive set of Sec. 5 / App. G.1: `empirical_rules::generate` with
//! `Kind::Contrastive { delta }`, class = index mod 3 (class 1 keeps the fine rule, 0 and 2 break
//! it by factors 1 -+ delta), a seeded 80:20 split, NCHW f32 in [-1, 1].
use empirical_rules::{generate, to_chw_f32, GenConfig, Kind};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::config::ClassifierConfig;
use crate::error::{Error, Result};

/// One split: NCHW floats and labels.
#[derive(Clone, Debug)]
pub struct Split {
    pub x: Vec<f32>,
    pub labels: Vec<usize>,
    /// [C, H, W].
    pub chw: [usize; 3],
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// (train, test) of `cfg`: 3 * n_per_class images, test = round(test_fraction * n) of a seeded shuffle.
pub fn contrastive_split(cfg: &ClassifierConfig) -> Result<(Split, Split)> {
    let task = cfg.task;
    let n = 3 * cfg.n_per_class;
    let ds = generate(&GenConfig {
        task,
        n,
        size: cfg.image_size,
        seed: cfg.seed,
        kind: Kind::Contrastive { delta: cfg.delta },
    })
    .map_err(|e| Error::Rules(e.to_string()))?;
    let labels: Vec<usize> = ds
        .records
        .iter()
        .map(|r| {
            r.class
                .map(|c| c as usize)
                .ok_or_else(|| Error::Rules("record without class".into()))
        })
        .collect::<Result<_>>()?;
    let s = cfg.image_size as usize;
    let chw = [3, s, s];
    let dim = 3 * s * s;
    let x = to_chw_f32(&ds.images);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(
        cfg.seed ^ 0x5350_4c49_545f_3830,
    ));
    let n_test = ((n as f64) * cfg.test_fraction).round() as usize;
    let take = |ids: &[usize]| Split {
        x: ids
            .iter()
            .flat_map(|&i| x[i * dim..(i + 1) * dim].iter().copied())
            .collect(),
        labels: ids.iter().map(|&i| labels[i]).collect(),
        chw,
    };
    Ok((take(&idx[n_test..]), take(&idx[..n_test])))
}
