//! Pixel-space DDPMs on Tasks A-D (Sec. 3.2, App. D.1): a burn U-Net denoiser, the linear-beta
//! DDPM schedule, ancestral and DDIM samplers, a resumable training loop, run directories and
//! the suite's main job (`cargo run -p empirical --release`).
//!
//! Modules, one job each: [`config`] (presets, validation), [`schedule`] (beta_t, alpha_bar_t),
//! [`model`] (U-Net), [`denoiser`] (the eps_theta trait), [`params`] (flat parameter views, AdamW,
//! EMA), [`optim`] (optimiser state and its checkpoint groups), [`diffusion`] (q_sample, loss),
//! [`sampler`] (one reverse loop: DDPM / DDIM, guidance as a hook), [`train`] (loop), [`checkpoint`] (files), [`rundir`]
//! (layout, atomic writes), [`backend`] (CPU / CUDA / wgpu), [`sweep`] (studies as grids, locally or
//! on Slurm), [`paper`] (the paper's per-task settings and Table 2), [`table2`] (Table 2 from run
//! folders), [`workload`] (fixed train / sample steps for timing).
pub mod agreement;
pub mod backend;
pub mod checkpoint;
pub mod classifier;
pub mod config;
pub mod curve;
pub mod denoiser;
pub mod diagnose;
pub mod diffusion;
pub mod error;
pub mod gpu_check;
pub mod guidance;
pub mod mitigation;
pub mod model;
pub mod ops;
pub mod optim;
pub mod paper;
pub mod params;
pub mod rundir;
pub mod sampler;
pub mod schedule;
pub mod sweep;
pub mod table2;
pub mod train;
pub mod workload;

pub use error::{Error, Result};
pub mod cli;
pub mod data;
pub mod pipeline;
pub mod readme_table;
