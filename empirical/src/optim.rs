//! The optimiser state one training run carries from step to step and across checkpoints,
//! shared by the DDPM trainer ([`crate::train`]) and the classifier trainer
//! ([`crate::classifier::train`]): AdamW moments ([`crate::params::AdamW`]), the step count
//! (the bias corrections' 1-based t), the training time, and the checkpoint groups
//! `params`, `adam_m`, `adam_v` (then any the trainer adds, e.g. the DDPM's `ema`).
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use std::path::Path;

use crate::checkpoint::{Checkpoint, Header, RngState};
use crate::error::{Error, Result};
use crate::params::{self, AdamState, AdamW};

/// AdamW moments, optimiser steps done and training seconds of one run.
pub struct OptimState<B: Backend> {
    pub adam: AdamState<B>,
    /// Optimiser steps done.
    pub step: u64,
    pub train_seconds: f64,
    /// Parameter shapes in visiting order.
    pub shapes: Vec<Vec<usize>>,
}

/// What a trainer stores in its checkpoints besides the optimiser state.
pub struct CheckpointMeta<'a> {
    /// The run's resolved config (TOML).
    pub config: String,
    pub seed: u64,
    /// How the run's random streams are derived from the seed (recorded for readers).
    pub rng_scheme: &'a str,
}

impl<B: Backend> OptimState<B> {
    /// Zero moments, step 0, for parameters of `shapes`.
    pub fn new(shapes: Vec<Vec<usize>>, device: &B::Device) -> Self {
        OptimState {
            adam: AdamState::zeros(&shapes, device),
            step: 0,
            train_seconds: 0.0,
            shapes,
        }
    }

    /// One AdamW update of `model` from `loss` (step count + 1); returns the updated model and
    /// the loss value. A non-finite loss returns `NonFiniteLoss` naming the step (with an empty
    /// `last_good`, filled in by the caller) and leaves the state untouched.
    pub fn apply<BA, M>(&mut self, model: M, loss: Tensor<BA, 1>, hp: AdamW) -> Result<(M, f32)>
    where
        BA: AutodiffBackend<InnerBackend = B>,
        M: AutodiffModule<BA>,
    {
        let value: f32 = loss.clone().into_scalar().elem::<f32>();
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss {
                step: self.step + 1,
                value,
                last_good: String::new(),
            });
        }
        let grads = loss.backward();
        let model = params::adamw_step(model, &grads, &mut self.adam, hp, self.step + 1);
        self.step += 1;
        Ok((model, value))
    }

    /// A checkpoint of weights `params` with this state, then the trainer's `extra` groups.
    pub fn checkpoint(
        &self,
        meta: CheckpointMeta<'_>,
        params: &[Tensor<B, 1>],
        extra: &[(&str, &[Tensor<B, 1>])],
    ) -> Checkpoint {
        let mut groups: Vec<String> = vec!["params".into(), "adam_m".into(), "adam_v".into()];
        let mut data = vec![
            params::to_host(params),
            params::to_host(&self.adam.m),
            params::to_host(&self.adam.v),
        ];
        for (name, values) in extra {
            groups.push((*name).into());
            data.push(params::to_host(values));
        }
        Checkpoint {
            header: Header {
                format: 1,
                step: self.step,
                config: meta.config,
                rng: RngState {
                    seed: meta.seed,
                    scheme: meta.rng_scheme.into(),
                    next_step: self.step,
                },
                shapes: self.shapes.clone(),
                groups,
                checksum: 0,
                train_seconds: self.train_seconds,
            },
            data,
        }
    }

    /// Restore moments, step and time from `ckpt` (read from `path`) after checking its shapes
    /// against `self.shapes`; returns the stored weights (group `params`) for the trainer to set.
    pub fn restore<'c>(
        &mut self,
        ckpt: &'c Checkpoint,
        path: &Path,
        device: &B::Device,
    ) -> Result<&'c [Vec<f32>]> {
        ckpt.check_shapes(&self.shapes, path)?;
        let weights = ckpt.require_group("params", path)?;
        self.adam.m = params::from_host(ckpt.require_group("adam_m", path)?, device);
        self.adam.v = params::from_host(ckpt.require_group("adam_v", path)?, device);
        self.step = ckpt.header.step;
        self.train_seconds = ckpt.header.train_seconds;
        Ok(weights)
    }
}

/// Set `model`'s weights from host values (visiting order) on the autodiff backend; returns the
/// values as inference-backend tensors.
pub fn set_weights<BA: AutodiffBackend, M: Module<BA>>(
    model: M,
    host: &[Vec<f32>],
    device: &BA::Device,
) -> (M, Vec<Tensor<BA::InnerBackend, 1>>) {
    let p = params::from_host::<BA::InnerBackend>(host, device);
    let p_ad: Vec<Tensor<BA, 1>> = p.iter().cloned().map(Tensor::from_inner).collect();
    (params::set(model, p_ad), p)
}
