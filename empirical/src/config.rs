//! Run configuration: model, diffusion, training and sampling settings, presets per task
//! (Sec. 3.2, App. D.1), and validation that rejects a bad config before any work, naming the key.
//!
//! A config file is a TOML overlay on a preset: every key it names must exist in the preset
//! (an unknown key is an error naming its dotted path), every number must be non-negative,
//! and the merged result is deserialised with `deny_unknown_fields` and then range-checked.
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};
use crate::paper::PaperSettings;
use empirical_rules::Task;

/// Normalisation used inside the U-Net's double convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// GroupNorm with `norm_groups` groups (the reference code uses 1 group).
    Group,
    /// No normalisation (cheapest on the CPU backend).
    None,
}

/// Activation of the U-Net blocks (App. D.1 says ReLU; the authors' code uses GELU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Gelu,
    Silu,
}

/// U-Net denoiser shape (App. D.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Image channels (3 for RGB).
    pub in_channels: usize,
    /// Width of the first (full-resolution) double convolution.
    pub base_channels: usize,
    /// Width of level i is `base_channels * channel_mults[i]`; level 0 is full resolution,
    /// each further level halves the resolution (max-pooling) - `len - 1` down blocks.
    pub channel_mults: Vec<usize>,
    /// Width of the bottleneck double convolutions.
    pub bottleneck_channels: usize,
    /// Spatial sizes (e.g. 16, 8) after which a self-attention block is applied.
    pub attention_resolutions: Vec<usize>,
    /// Heads of each self-attention block.
    pub attention_heads: usize,
    /// Width of the sinusoidal time embedding.
    pub time_emb_dim: usize,
    /// Normalisation kind.
    pub norm: Norm,
    /// Groups of the GroupNorm (1 = the reference code's choice).
    pub norm_groups: usize,
    /// Activation kind.
    pub activation: Activation,
    /// Use a residual double convolution before each down/up double convolution (reference code).
    pub residual_blocks: bool,
}

/// DDPM forward process (Ho et al. 2020; Sec. 3.2): linear beta_t from `beta_start` to `beta_end`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionConfig {
    /// Number of diffusion steps T.
    pub timesteps: usize,
    pub beta_start: f64,
    pub beta_end: f64,
}

/// Training-set generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Number of training images (paper: 4000 for A, 2000 for B, C, D).
    pub n_train: usize,
}

/// Learning-rate schedule over a run's optimiser steps. App. D.1 trains at a constant lr;
/// `cosine` (linear warm-up, then half a cosine down to `train.lr_min` at the run's last step,
/// as diffusers' `get_cosine_schedule_with_warmup`) anneals the weight noise of short CPU runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `train.lr` at every step (the paper).
    #[default]
    Constant,
    /// Warm-up over `train.warmup_steps`, then cosine decay to `train.lr_min`.
    Cosine,
}

/// Per-step weight of the eps-prediction MSE. The paper (Ho et al.'s simple loss) weighs every t
/// alike; `min_snr` (Hang et al. 2023, "Min-SNR-gamma") weighs step t by
/// min(SNR_t, gamma) / SNR_t, SNR_t = alpha_bar_t / (1 - alpha_bar_t), which leaves every t's
/// minimiser E[eps | x_t] unchanged but stops the nearly clean steps from dominating the gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossWeighting {
    /// Every step alike (the paper).
    #[default]
    Uniform,
    /// min(SNR_t, `train.min_snr_gamma`) / SNR_t.
    MinSnr,
}

fn default_min_snr_gamma() -> f64 {
    5.0
}

/// Optimisation (App. D.1: AdamW lr 3e-4, batch 16; EMA 0.995 after 2000 steps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub batch_size: usize,
    /// Warm start: a checkpoint file (training or exported weights) whose weights (`params`,
    /// else `ema`) initialise a fresh run instead of ChaCha8(seed); empty = none (the paper).
    #[serde(default)]
    pub init_from: String,
    /// Epochs over the training set (paper: 400/800/1600/1000).
    pub epochs: usize,
    /// If > 0, stop after this many optimiser steps even if epochs remain.
    pub max_steps: u64,
    pub lr: f64,
    /// Learning-rate schedule (the paper: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Weight of each step's MSE (the paper: uniform).
    #[serde(default)]
    pub loss_weighting: LossWeighting,
    /// gamma of the `min_snr` weighting.
    #[serde(default = "default_min_snr_gamma")]
    pub min_snr_gamma: f64,
    /// Linear warm-up steps of the `cosine` schedule.
    #[serde(default)]
    pub warmup_steps: u64,
    /// Final learning rate of the `cosine` schedule.
    #[serde(default)]
    pub lr_min: f64,
    /// Decoupled weight decay (PyTorch AdamW default 0.01; burn's default is 1e-4).
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    /// Adam epsilon (PyTorch default 1e-8; burn's default is 1e-5).
    pub adam_eps: f64,
    /// EMA decay of the weights.
    pub ema_decay: f64,
    /// Steps during which the EMA is a plain copy of the weights.
    pub ema_start: u64,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Keep this many most recent checkpoints.
    pub keep_checkpoints: usize,
    /// Log a metrics row every this many steps.
    pub log_every: u64,
}

/// Sampler choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleMethod {
    /// Full ancestral DDPM, sigma_t^2 = beta_t, T steps.
    Ddpm,
    /// DDIM (Song et al. 2021) on an evenly spaced subsequence of `ddim_steps` steps.
    Ddim,
}

/// Sampling settings (Sec. 3.3: 2000 samples per task).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    pub n: usize,
    pub batch_size: usize,
    pub method: SampleMethod,
    pub ddim_steps: usize,
    /// DDIM eta (0 = deterministic).
    pub ddim_eta: f64,
    /// Clip the predicted x_0 to [-1, 1] inside DDIM steps.
    pub clip_x0: bool,
    /// Sample from the EMA weights (otherwise the raw weights).
    pub use_ema: bool,
}

/// One run's complete configuration (written resolved into `config.toml` of the run directory).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Task (App. C).
    pub task: Task,
    /// Preset this config started from.
    pub preset: Preset,
    /// Image side in pixels (paper: 32).
    pub image_size: usize,
    /// Master seed (data, initialisation, noise, sampling).
    pub seed: u64,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub diffusion: DiffusionConfig,
    pub train: TrainConfig,
    pub sample: SampleConfig,
}

/// A run configuration's starting point: the paper's App. D.1 settings, the same network at CPU
/// scale, or a seconds-long network for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The paper's U-Net and schedule (App. D.1).
    Paper,
    /// A smaller U-Net for a 2-core machine.
    Cpu,
    /// A tiny U-Net for tests (seconds per run).
    Tiny,
}

impl Preset {
    /// All presets in order.
    pub const ALL: [Preset; 3] = [Preset::Paper, Preset::Cpu, Preset::Tiny];

    /// The preset's name in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Paper => "paper",
            Preset::Cpu => "cpu",
            Preset::Tiny => "tiny",
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == t)
            .ok_or_else(|| {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                Error::config(
                    "preset",
                    format!("unknown preset `{s}`; valid presets: {}", names.join(", ")),
                )
            })
    }
}

/// The preset when neither the command line nor a config file names one.
pub const DEFAULT_PRESET: Preset = Preset::Cpu;
/// The task when neither the command line nor a config file names one.
pub const DEFAULT_TASK: Task = Task::A;

/// Smallest and largest `image_size` (the task generators draw from 8 px; 512 px is 256 times
/// the paper's 32 px images).
pub const IMAGE_SIZE_RANGE: (usize, usize) = (8, 512);
/// Largest `data.n_train` and `sample.n`.
pub const MAX_IMAGES: usize = 1_000_000;
/// Largest training set held in memory, in f32 values (`data.n_train x 3 x image_size^2`, 8 GiB).
pub const MAX_TRAIN_FLOATS: usize = 1 << 31;
/// Largest `train.batch_size` and `sample.batch_size`.
pub const MAX_BATCH: usize = 65_536;
/// Largest U-Net width (`model.base_channels x channel_mults[i]`, `model.bottleneck_channels`,
/// `model.time_emb_dim`).
pub const MAX_WIDTH: usize = 8192;
/// Most U-Net levels (`model.channel_mults` entries).
pub const MAX_LEVELS: usize = 8;
/// Largest spatial size at which self-attention may run (its cost grows as size^4).
pub const MAX_ATTENTION_RESOLUTION: usize = 64;
/// Largest `diffusion.timesteps`.
pub const MAX_TIMESTEPS: usize = 100_000;
/// Largest `train.max_steps` and `train.epochs`.
pub const MAX_STEPS: u64 = 1_000_000_000_000;

impl ModelConfig {
    /// Near the paper's 14 M parameter U-Net (App. D.1): reference-code layout
    /// (3 down + 3 up blocks, 4-head attention at 16, 8, 4 px, 256-wide time embedding, GELU,
    /// GroupNorm(1)) with a 384-wide bottleneck instead of 512
    /// (parameter count: `empirical params`).
    pub fn paper() -> Self {
        ModelConfig {
            in_channels: 3,
            base_channels: 64,
            channel_mults: vec![1, 2, 4, 4],
            bottleneck_channels: 384,
            attention_resolutions: vec![16, 8, 4],
            attention_heads: 4,
            time_emb_dim: 256,
            norm: Norm::Group,
            norm_groups: 1,
            activation: Activation::Gelu,
            residual_blocks: true,
        }
    }
    /// Small CPU U-Net (about 1.5 M parameters): same block layout, four levels starting at
    /// only 16 channels (the full-resolution convolutions dominate the CPU cost), attention only
    /// at 4 px, ReLU (App. D.1's wording), GroupNorm(1), no residual pre-blocks.
    pub fn cpu() -> Self {
        ModelConfig {
            in_channels: 3,
            base_channels: 16,
            channel_mults: vec![1, 2, 4, 8],
            bottleneck_channels: 128,
            attention_resolutions: vec![4],
            attention_heads: 4,
            time_emb_dim: 128,
            norm: Norm::Group,
            norm_groups: 1,
            activation: Activation::Relu,
            residual_blocks: false,
        }
    }
    /// Tiny U-Net for tests (a few thousand parameters).
    pub fn tiny() -> Self {
        ModelConfig {
            in_channels: 3,
            base_channels: 8,
            channel_mults: vec![1, 2],
            bottleneck_channels: 16,
            attention_resolutions: vec![4],
            attention_heads: 2,
            time_emb_dim: 16,
            norm: Norm::Group,
            norm_groups: 1,
            activation: Activation::Relu,
            residual_blocks: false,
        }
    }
}

/// Paper dataset size per task (Sec. 3.2; [`crate::paper::PAPER`]).
pub fn paper_n_train(task: Task) -> usize {
    PaperSettings::of(task).n_train
}

/// Paper epochs per task (App. D.1; [`crate::paper::PAPER`]).
pub fn paper_epochs(task: Task) -> usize {
    PaperSettings::of(task).epochs
}

/// The [`Task`] of a task name (`A`-`D`, any case).
pub fn parse_task(task: &str) -> Result<Task> {
    task.parse().map_err(|_| {
        let names: Vec<&str> = Task::ALL.iter().map(|t| t.letter()).collect();
        Error::config(
            "task",
            format!("unknown task `{task}`; valid tasks: {}", names.join(", ")),
        )
    })
}

/// A task list as the command line gives it: `all`, or task names separated by commas
/// (`A,C`); parsed by clap through [`std::str::FromStr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskList(pub Vec<Task>);

impl std::str::FromStr for TaskList {
    type Err = String;
    fn from_str(list: &str) -> std::result::Result<Self, String> {
        if list.trim().eq_ignore_ascii_case("all") {
            return Ok(TaskList(Task::ALL.to_vec()));
        }
        list.split(',')
            .map(|t| {
                t.trim().parse::<Task>().map_err(|_| {
                    format!("unknown task `{t}`; give A, B, C, D, a comma list, or all")
                })
            })
            .collect::<std::result::Result<_, _>>()
            .map(TaskList)
    }
}

/// [`parse_task`] for clap's `value_parser`.
pub fn parse_task_arg(task: &str) -> std::result::Result<Task, String> {
    parse_task(task).map_err(|e| e.to_string())
}

impl TrainConfig {
    /// Learning rate of optimiser step `step` (1-based) of a run of `total` steps
    /// (see [`LrSchedule`]).
    pub fn lr_at(&self, step: u64, total: u64) -> f64 {
        match self.lr_schedule {
            LrSchedule::Constant => self.lr,
            LrSchedule::Cosine => {
                if step <= self.warmup_steps {
                    return self.lr * step as f64 / self.warmup_steps.max(1) as f64;
                }
                let span = total.saturating_sub(self.warmup_steps).max(1) as f64;
                let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
                self.lr_min
                    + (self.lr - self.lr_min)
                        * 0.5
                        * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

impl RunConfig {
    /// The configuration of `preset` for `task` (validated).
    pub fn preset(preset: Preset, task: Task) -> Result<Self> {
        let diffusion = DiffusionConfig {
            timesteps: 1000,
            beta_start: 1e-4,
            beta_end: 2e-2,
        };
        let cfg = match preset {
            Preset::Paper => RunConfig {
                task,
                preset,
                image_size: 32,
                seed: 0,
                data: DataConfig {
                    n_train: paper_n_train(task),
                },
                model: ModelConfig::paper(),
                diffusion,
                train: TrainConfig {
                    batch_size: 16,
                    init_from: String::new(),
                    epochs: paper_epochs(task),
                    max_steps: 0,
                    lr: 3e-4,
                    lr_schedule: LrSchedule::Constant,
                    loss_weighting: LossWeighting::Uniform,
                    min_snr_gamma: 5.0,
                    warmup_steps: 0,
                    lr_min: 0.0,
                    weight_decay: 0.01,
                    adam_beta1: 0.9,
                    adam_beta2: 0.999,
                    adam_eps: 1e-8,
                    ema_decay: 0.995,
                    ema_start: 2000,
                    checkpoint_every: 5000,
                    keep_checkpoints: 2,
                    log_every: 100,
                },
                sample: SampleConfig {
                    n: 2000,
                    batch_size: 250,
                    method: SampleMethod::Ddpm,
                    ddim_steps: 100,
                    ddim_eta: 0.0,
                    clip_x0: true,
                    use_ema: true,
                },
            },
            Preset::Cpu => RunConfig {
                task,
                preset,
                image_size: 32,
                seed: 0,
                data: DataConfig {
                    n_train: paper_n_train(task),
                },
                model: ModelConfig::cpu(),
                diffusion,
                train: TrainConfig {
                    batch_size: 16,
                    init_from: String::new(),
                    epochs: 10_000,
                    max_steps: 20_000,
                    // raised from the paper's 3e-4 so that a CPU budget of a few thousand steps learns shapes
                    lr: 1e-3,
                    lr_schedule: LrSchedule::Constant,
                    loss_weighting: LossWeighting::Uniform,
                    min_snr_gamma: 5.0,
                    warmup_steps: 0,
                    lr_min: 0.0,
                    weight_decay: 0.01,
                    adam_beta1: 0.9,
                    adam_beta2: 0.999,
                    adam_eps: 1e-8,
                    ema_decay: 0.995,
                    ema_start: 200,
                    checkpoint_every: 200,
                    keep_checkpoints: 2,
                    log_every: 50,
                },
                sample: SampleConfig {
                    n: 300,
                    batch_size: 100,
                    method: SampleMethod::Ddim,
                    // 100 rather than 25 steps: Task A's checkpoint A5 (docs/reproduce.md) breaks the coarse
                    // rule in 16 of 299 samples at 25 steps, 9 of 296 at 100 (docs/samplers.md)
                    ddim_steps: 100,
                    // stochastic DDIM (sigma as the ancestral sampler's): with eta = 0 about a
                    // quarter of the shipped checkpoints' samples stay noise (docs/samplers.md)
                    ddim_eta: 1.0,
                    clip_x0: true,
                    use_ema: true,
                },
            },
            Preset::Tiny => RunConfig {
                task,
                preset,
                image_size: 16,
                seed: 0,
                data: DataConfig { n_train: 64 },
                model: ModelConfig::tiny(),
                diffusion: DiffusionConfig {
                    timesteps: 100,
                    ..diffusion
                },
                train: TrainConfig {
                    batch_size: 8,
                    init_from: String::new(),
                    epochs: 2,
                    max_steps: 0,
                    lr: 3e-4,
                    lr_schedule: LrSchedule::Constant,
                    loss_weighting: LossWeighting::Uniform,
                    min_snr_gamma: 5.0,
                    warmup_steps: 0,
                    lr_min: 0.0,
                    weight_decay: 0.01,
                    adam_beta1: 0.9,
                    adam_beta2: 0.999,
                    adam_eps: 1e-8,
                    ema_decay: 0.995,
                    ema_start: 4,
                    checkpoint_every: 4,
                    keep_checkpoints: 2,
                    log_every: 2,
                },
                sample: SampleConfig {
                    n: 8,
                    batch_size: 4,
                    method: SampleMethod::Ddim,
                    ddim_steps: 10,
                    ddim_eta: 0.0,
                    clip_x0: true,
                    use_ema: true,
                },
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// `preset` for `task`, overlaid with the TOML text `overlay` (a config file); `source_name`
    /// names the file in errors. Unknown keys, negative numbers, type errors and out-of-range
    /// values are rejected with the key named, before any work. The given `preset` and `task`
    /// win over the file's `preset` / `task` keys (see [`RunConfig::from_overlay_choosing`]).
    pub fn from_overlay(
        preset: Preset,
        task: Task,
        overlay: &str,
        source_name: &str,
    ) -> Result<Self> {
        Self::from_overlay_choosing(Some(preset), Some(task), overlay, source_name)
    }

    /// As [`RunConfig::from_overlay`], where `preset` / `task` are `None` when not chosen by the
    /// caller (not given on the command line): then the file's `preset` / `task` key decides,
    /// else [`DEFAULT_PRESET`] / [`DEFAULT_TASK`]. A value given here wins over the file's; the
    /// file's value must still be valid.
    pub fn from_overlay_choosing(
        preset: Option<Preset>,
        task: Option<Task>,
        overlay: &str,
        source_name: &str,
    ) -> Result<Self> {
        let mut overlay: toml::Table = toml::from_str(overlay).map_err(|e| Error::ConfigParse {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        let file_task = match overlay.remove("task") {
            Some(toml::Value::String(s)) => Some(parse_task(&s)?),
            Some(_) => return Err(Error::config("task", "must be a string (A, B, C or D)")),
            None => None,
        };
        let file_preset = match overlay.remove("preset") {
            Some(toml::Value::String(s)) => Some(s.parse::<Preset>()?),
            Some(_) => return Err(Error::config("preset", "must be a string")),
            None => None,
        };
        let task = task.or(file_task).unwrap_or(DEFAULT_TASK);
        let preset = preset.or(file_preset).unwrap_or(DEFAULT_PRESET);
        let base = Self::preset(preset, task)?;
        let mut merged = toml::Table::try_from(&base).map_err(|e| Error::Other(e.to_string()))?;
        check_negative(&toml::Value::Table(overlay.clone()), "")?;
        merge(&mut merged, &overlay, "")?;
        let cfg: RunConfig =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| Error::ConfigParse {
                    source_name: source_name.into(),
                    message: e.to_string(),
                })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read a config file (overlay on `preset`/`task`, see [`RunConfig::from_overlay`]).
    pub fn from_file(preset: Preset, task: Task, path: &Path) -> Result<Self> {
        Self::from_file_choosing(Some(preset), Some(task), path)
    }

    /// Read a config file (see [`RunConfig::from_overlay_choosing`]).
    pub fn from_file_choosing(
        preset: Option<Preset>,
        task: Option<Task>,
        path: &Path,
    ) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_overlay_choosing(preset, task, &text, &path.display().to_string())
    }

    /// The `task` and `preset` keys a config file sets, if any (the rest not validated).
    pub fn file_task_and_preset(path: &Path) -> Result<(Option<Task>, Option<Preset>)> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let t: toml::Table = toml::from_str(&text).map_err(|e| Error::ConfigParse {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })?;
        let get = |k: &str| t.get(k).and_then(|v| v.as_str());
        let task = get("task").map(parse_task).transpose()?;
        let preset = get("preset").map(str::parse::<Preset>).transpose()?;
        Ok((task, preset))
    }

    /// A complete resolved config as written in a run directory (no overlay on a preset).
    pub fn from_resolved_toml(text: &str, source_name: &str) -> Result<Self> {
        let v: toml::Value = toml::from_str(text).map_err(|e| Error::ConfigParse {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        check_negative(&v, "")?;
        let cfg: RunConfig = v
            .try_into()
            .map_err(|e: toml::de::Error| Error::ConfigParse {
                source_name: source_name.into(),
                message: e.to_string(),
            })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Serialise as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("RunConfig always serialises")
    }

    /// Range checks; each error names its key.
    pub fn validate(&self) -> Result<()> {
        let pos = |key: &str, v: usize| -> Result<()> {
            if v == 0 {
                Err(Error::config(key, "must be positive"))
            } else {
                Ok(())
            }
        };
        let at_most = |key: &str, v: usize, max: usize| -> Result<()> {
            if v > max {
                Err(Error::config(
                    key,
                    format!("must be at most {max}, got {v}"),
                ))
            } else {
                Ok(())
            }
        };
        let (smin, smax) = IMAGE_SIZE_RANGE;
        if !(smin..=smax).contains(&self.image_size) {
            return Err(Error::config(
                "image_size",
                format!("must lie in {smin}..={smax} px, got {}", self.image_size),
            ));
        }
        pos("data.n_train", self.data.n_train)?;
        at_most("data.n_train", self.data.n_train, MAX_IMAGES)?;
        let floats = self.data.n_train * 3 * self.image_size * self.image_size;
        if floats > MAX_TRAIN_FLOATS {
            return Err(Error::config(
                "data.n_train",
                format!(
                    "{} training images of {s}x{s} px need {:.1} GiB in memory, more than the \
                     {} GiB limit; lower data.n_train or image_size",
                    self.data.n_train,
                    floats as f64 * 4.0 / (1u64 << 30) as f64,
                    (MAX_TRAIN_FLOATS * 4) >> 30,
                    s = self.image_size
                ),
            ));
        }
        let m = &self.model;
        if m.in_channels != 3 {
            return Err(Error::config(
                "model.in_channels",
                format!(
                    "must be 3 (the tasks' images are RGB), got {}",
                    m.in_channels
                ),
            ));
        }
        pos("model.base_channels", m.base_channels)?;
        at_most("model.base_channels", m.base_channels, MAX_WIDTH)?;
        pos("model.bottleneck_channels", m.bottleneck_channels)?;
        at_most(
            "model.bottleneck_channels",
            m.bottleneck_channels,
            MAX_WIDTH,
        )?;
        pos("model.attention_heads", m.attention_heads)?;
        pos("model.time_emb_dim", m.time_emb_dim)?;
        at_most("model.time_emb_dim", m.time_emb_dim, MAX_WIDTH)?;
        pos("model.norm_groups", m.norm_groups)?;
        if m.channel_mults.is_empty() {
            return Err(Error::config("model.channel_mults", "must not be empty"));
        }
        if m.channel_mults.len() > MAX_LEVELS {
            return Err(Error::config(
                "model.channel_mults",
                format!("at most {MAX_LEVELS} levels, got {}", m.channel_mults.len()),
            ));
        }
        if m.channel_mults.iter().any(|&c| c == 0) {
            return Err(Error::config(
                "model.channel_mults",
                "entries must be positive",
            ));
        }
        if let Some(i) = m
            .channel_mults
            .iter()
            .position(|&c| c > MAX_WIDTH / m.base_channels)
        {
            return Err(Error::config(
                "model.channel_mults",
                format!(
                    "level {i} would be {} x {} channels wide, more than {MAX_WIDTH}",
                    m.base_channels, m.channel_mults[i]
                ),
            ));
        }
        if let Some(&r) = m
            .attention_resolutions
            .iter()
            .find(|&&r| r > MAX_ATTENTION_RESOLUTION)
        {
            return Err(Error::config(
                "model.attention_resolutions",
                format!("self-attention at {r} px is too costly (at most {MAX_ATTENTION_RESOLUTION} px)"),
            ));
        }
        let levels = m.channel_mults.len() - 1;
        if self.image_size % (1 << levels) != 0 {
            return Err(Error::config(
                "image_size",
                format!(
                    "must be divisible by 2^{levels} for {} U-Net levels",
                    levels + 1
                ),
            ));
        }
        if m.time_emb_dim % 2 != 0 {
            return Err(Error::config("model.time_emb_dim", "must be even"));
        }
        for (i, &mult) in m.channel_mults.iter().enumerate() {
            let c = m.base_channels * mult;
            if m.norm == Norm::Group && c % m.norm_groups != 0 {
                return Err(Error::config(
                    "model.norm_groups",
                    format!("must divide every level width (level {i} has {c})"),
                ));
            }
            if c % m.attention_heads != 0 {
                return Err(Error::config(
                    "model.attention_heads",
                    format!("must divide every level width (level {i} has {c})"),
                ));
            }
        }
        let d = &self.diffusion;
        pos("diffusion.timesteps", d.timesteps)?;
        at_most("diffusion.timesteps", d.timesteps, MAX_TIMESTEPS)?;
        if !(d.beta_start > 0.0 && d.beta_start < 1.0) {
            return Err(Error::config("diffusion.beta_start", "must lie in (0, 1)"));
        }
        if !(d.beta_end >= d.beta_start && d.beta_end < 1.0) {
            return Err(Error::config(
                "diffusion.beta_end",
                "must lie in [beta_start, 1)",
            ));
        }
        let t = &self.train;
        pos("train.batch_size", t.batch_size)?;
        at_most("train.batch_size", t.batch_size, MAX_BATCH)?;
        pos("train.epochs", t.epochs)?;
        if t.epochs as u64 > MAX_STEPS {
            return Err(Error::config(
                "train.epochs",
                format!("must be at most {MAX_STEPS}, got {}", t.epochs),
            ));
        }
        if t.max_steps > MAX_STEPS {
            return Err(Error::config(
                "train.max_steps",
                format!("must be at most {MAX_STEPS}, got {}", t.max_steps),
            ));
        }
        if !(t.lr > 0.0 && t.lr.is_finite()) {
            return Err(Error::config("train.lr", "must be positive"));
        }
        if !(t.min_snr_gamma > 0.0 && t.min_snr_gamma.is_finite()) {
            return Err(Error::config("train.min_snr_gamma", "must be positive"));
        }
        if !(t.lr_min >= 0.0 && t.lr_min <= t.lr) {
            return Err(Error::config("train.lr_min", "must lie in [0, train.lr]"));
        }
        if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
            return Err(Error::config("train.weight_decay", "must be >= 0"));
        }
        for (key, v) in [
            ("train.adam_beta1", t.adam_beta1),
            ("train.adam_beta2", t.adam_beta2),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(Error::config(key, "must lie in [0, 1)"));
            }
        }
        if !(t.adam_eps > 0.0) {
            return Err(Error::config("train.adam_eps", "must be positive"));
        }
        if !(0.0..=1.0).contains(&t.ema_decay) {
            return Err(Error::config("train.ema_decay", "must lie in [0, 1]"));
        }
        if t.checkpoint_every == 0 {
            return Err(Error::config("train.checkpoint_every", "must be positive"));
        }
        if t.log_every == 0 {
            return Err(Error::config("train.log_every", "must be positive"));
        }
        pos("train.keep_checkpoints", t.keep_checkpoints)?;
        let s = &self.sample;
        pos("sample.n", s.n)?;
        at_most("sample.n", s.n, MAX_IMAGES)?;
        pos("sample.batch_size", s.batch_size)?;
        at_most("sample.batch_size", s.batch_size, MAX_BATCH)?;
        if s.method == SampleMethod::Ddim
            && (s.ddim_steps == 0 || s.ddim_steps > self.diffusion.timesteps)
        {
            return Err(Error::config(
                "sample.ddim_steps",
                format!("must lie in 1..={}", self.diffusion.timesteps),
            ));
        }
        if !(s.ddim_eta >= 0.0) {
            return Err(Error::config("sample.ddim_eta", "must be >= 0"));
        }
        Ok(())
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Reject negative numbers anywhere, naming the key.
fn check_negative(v: &toml::Value, path: &str) -> Result<()> {
    match v {
        toml::Value::Integer(i) if *i < 0 => Err(Error::config(
            path,
            format!("must be non-negative, got {i}"),
        )),
        toml::Value::Float(f) if *f < 0.0 => Err(Error::config(
            path,
            format!("must be non-negative, got {f}"),
        )),
        toml::Value::Table(t) => {
            for (k, v) in t {
                check_negative(v, &join(path, k))?;
            }
            Ok(())
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                check_negative(v, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Deep-merge `overlay` into `base`; a key absent from `base` is an unknown key.
fn merge(base: &mut toml::Table, overlay: &toml::Table, path: &str) -> Result<()> {
    for (k, v) in overlay {
        let key = join(path, k);
        match base.get_mut(k) {
            None => {
                return Err(Error::config(
                    key,
                    "unknown key (see `empirical train --print-config` for the valid keys)",
                ))
            }
            Some(toml::Value::Table(bt)) => match v {
                toml::Value::Table(ot) => merge(bt, ot, &key)?,
                _ => return Err(Error::config(key, "must be a table")),
            },
            Some(slot) => *slot = v.clone(),
        }
    }
    Ok(())
}
