//! Classifier configuration (Sec. 5, App. G): presets `paper`, `cpu`, `tiny`, overlaid by a TOML
//! file whose unknown keys are rejected with the key named.
use empirical_rules::Task;
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::config::{parse_task, Preset};
use crate::error::{Error, Result};

/// Classifier architecture (App. G): an MLP on flattened pixels, a ResNet-8, or the U-Net
/// encoder of the authors' guided-diffusion classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Arch {
    Mlp,
    Resnet8,
    Unet,
}

impl Arch {
    pub const ALL: [Arch; 3] = [Arch::Mlp, Arch::Resnet8, Arch::Unet];

    /// Lower-case name, as in configs and folder names (`mlp`, `resnet8`, `unet`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::Resnet8 => "resnet8",
            Arch::Unet => "unet",
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Arch {
    type Err = Error;
    /// Case-insensitive (`UNet` is `unet`); an unknown name is a config error on `arch`.
    fn from_str(s: &str) -> Result<Self> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::config("arch", format!("unknown arch `{s}` (mlp, resnet8 or unet)"))
            })
    }
}

impl TryFrom<String> for Arch {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// One classifier run: data, architecture, loss (Eq. 3, Eq. 9) and optimiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Task (App. C).
    pub task: Task,
    pub arch: Arch,
    /// true: f(x_t, t) for guidance (inputs noised at uniform t, time embedding); false: clean.
    pub noisy: bool,
    pub image_size: u32,
    /// Contrastive images per class (2000 in the paper).
    pub n_per_class: usize,
    /// Classes 0 / 2 scale the fine rule's dependent length by 1 -+ delta (rules crate default 0.1).
    pub delta: f64,
    pub test_fraction: f64,
    /// NT-Xent weight lambda of Eq. 3.
    pub lambda: f64,
    /// NT-Xent temperature tau of Eq. 9.
    pub tau: f64,
    pub lr: f64,
    pub weight_decay: f64,
    pub batch_size: usize,
    /// Epochs over the training split; the run stops at whichever of epochs / max_steps is first.
    pub epochs: usize,
    /// 0 = no step limit.
    pub max_steps: u64,
    /// Channel / hidden widths: MLP hidden sizes, ResNet stage widths, U-Net block widths.
    pub widths: Vec<usize>,
    pub time_emb_dim: usize,
    /// Self-attention after the deepest U-Net encoder block.
    pub attention: bool,
    /// DDPM schedule of the noisy classifier: T, beta_1, beta_T.
    pub timesteps: usize,
    pub beta_start: f64,
    pub beta_end: f64,
    pub seed: u64,
    pub checkpoint_every: u64,
    pub log_every: u64,
}

impl ClassifierConfig {
    /// The classifier preset for `task`, `arch`, `noisy`.
    pub fn preset(preset: Preset, task: Task, arch: Arch, noisy: bool) -> Result<Self> {
        let widths = |p: Preset| -> Vec<usize> {
            match (p, arch) {
                (Preset::Paper, Arch::Mlp) => vec![512, 128],
                (Preset::Paper, Arch::Resnet8) => vec![32, 64, 128],
                (Preset::Paper, Arch::Unet) => vec![64, 128, 256],
                (Preset::Cpu, Arch::Mlp) => vec![512, 128],
                (Preset::Cpu, _) => vec![8, 16, 32],
                (Preset::Tiny, Arch::Mlp) => vec![32, 16],
                (Preset::Tiny, _) => vec![4, 8, 8],
            }
        };
        let base = ClassifierConfig {
            task,
            arch,
            noisy,
            image_size: 32,
            n_per_class: 2000,
            delta: 0.1,
            test_fraction: 0.2,
            lambda: 1.0,
            tau: 0.5,
            lr: 3e-4,
            weight_decay: 0.01,
            batch_size: 64,
            epochs: 100,
            max_steps: if noisy { 20_000 } else { 0 },
            widths: widths(Preset::Paper),
            time_emb_dim: 64,
            attention: false,
            timesteps: 1000,
            beta_start: 1e-4,
            beta_end: 2e-2,
            seed: 0,
            checkpoint_every: 1000,
            log_every: 50,
        };
        let cfg = match preset {
            Preset::Paper => base,
            Preset::Cpu => ClassifierConfig {
                n_per_class: 500,
                batch_size: 64,
                epochs: if noisy { 1000 } else { 15 },
                max_steps: if noisy { 600 } else { 0 },
                widths: widths(Preset::Cpu),
                time_emb_dim: 32,
                lr: 1e-3,
                checkpoint_every: 200,
                log_every: 20,
                ..base
            },
            Preset::Tiny => ClassifierConfig {
                image_size: 16,
                n_per_class: 20,
                batch_size: 16,
                epochs: 1000,
                max_steps: 30,
                widths: widths(Preset::Tiny),
                time_emb_dim: 8,
                lr: 3e-3,
                checkpoint_every: 10,
                log_every: 5,
                ..base
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// `preset` overlaid with the TOML text `overlay`; unknown keys and bad values are rejected
    /// naming the key.
    pub fn from_overlay(
        preset: Preset,
        task: Task,
        arch: Arch,
        noisy: bool,
        overlay: &str,
        source_name: &str,
    ) -> Result<Self> {
        let ov: toml::Table = toml::from_str(overlay).map_err(|e| Error::ConfigParse {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        let s = |k: &str| -> Result<Option<&str>> {
            match ov.get(k) {
                Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::config(k, "must be a string")),
                None => Ok(None),
            }
        };
        let noisy = match ov.get("noisy") {
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => return Err(Error::config("noisy", "must be a boolean")),
            None => noisy,
        };
        let base = Self::preset(
            s("preset")?.map_or(Ok(preset), str::parse)?,
            s("task")?.map_or(Ok(task), parse_task)?,
            s("arch")?.map_or(Ok(arch), str::parse)?,
            noisy,
        )?;
        let mut merged = toml::Table::try_from(&base).map_err(|e| Error::Other(e.to_string()))?;
        for (k, v) in ov {
            if k == "preset" {
                continue;
            }
            if !merged.contains_key(&k) {
                return Err(Error::config(
                    k.clone(),
                    format!("unknown key `{k}` in {source_name}"),
                ));
            }
            merged.insert(k, v);
        }
        let cfg: ClassifierConfig =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| Error::ConfigParse {
                    source_name: source_name.into(),
                    message: e.to_string(),
                })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read a config file (overlay, see [`ClassifierConfig::from_overlay`]).
    pub fn from_file(
        preset: Preset,
        task: Task,
        arch: Arch,
        noisy: bool,
        path: &Path,
    ) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_overlay(
            preset,
            task,
            arch,
            noisy,
            &text,
            &path.display().to_string(),
        )
    }

    /// A complete resolved config (run dir / checkpoint), no preset.
    pub fn from_resolved_toml(text: &str, source_name: &str) -> Result<Self> {
        let cfg: ClassifierConfig = toml::from_str(text).map_err(|e| Error::ConfigParse {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// TOML text of the resolved config.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::Other(e.to_string()))
    }

    /// Range checks, naming the key.
    pub fn validate(&self) -> Result<()> {
        let pos = |k: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::config(k, format!("must be > 0, got {v}")))
            }
        };
        pos("lr", self.lr)?;
        pos("tau", self.tau)?;
        pos("batch_size", self.batch_size as f64)?;
        pos("n_per_class", self.n_per_class as f64)?;
        pos("epochs", self.epochs as f64)?;
        pos("checkpoint_every", self.checkpoint_every as f64)?;
        pos("log_every", self.log_every as f64)?;
        pos("timesteps", self.timesteps as f64)?;
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(Error::config("lambda", "must be >= 0"));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::config("weight_decay", "must be >= 0"));
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(Error::config(
                "delta",
                format!("must be in (0, 1), got {}", self.delta),
            ));
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(Error::config("test_fraction", "must be in (0, 1)"));
        }
        if self.image_size < 8 || self.image_size % 4 != 0 {
            return Err(Error::config(
                "image_size",
                "must be >= 8 and a multiple of 4",
            ));
        }
        let need = if self.arch == Arch::Mlp { 2 } else { 3 };
        if self.widths.len() != need || self.widths.contains(&0) {
            return Err(Error::config(
                "widths",
                format!("arch {} needs {need} positive widths", self.arch),
            ));
        }
        if self.arch != Arch::Mlp && self.widths.iter().any(|w| w % 4 != 0) {
            return Err(Error::config(
                "widths",
                "conv widths must be multiples of 4 (GroupNorm groups)",
            ));
        }
        if self.time_emb_dim == 0 || self.time_emb_dim % 2 != 0 {
            return Err(Error::config("time_emb_dim", "must be even and > 0"));
        }
        if !(self.beta_start > 0.0 && self.beta_end >= self.beta_start && self.beta_end < 1.0) {
            return Err(Error::config(
                "beta_end",
                "need 0 < beta_start <= beta_end < 1",
            ));
        }
        Ok(())
    }
}
