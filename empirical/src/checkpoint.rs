//! Checkpoint files: training state (weights, AdamW moments, EMA weights, step, RNG state) or
//! weights only (EMA, for shipping), in one self-describing binary file written atomically.
//!
//! Layout: 8 magic bytes `HRDDPM01`, u64 LE header length, a JSON [`Header`], then every group's
//! tensors as f32 LE in header order. The header carries an FNV-1a 64 checksum of the payload.
//! A hand-rolled format because burn 0.21's byte recorders panic on malformed input and key the
//! optimiser state by random `ParamId`s; this one fails with a typed error naming the file.
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::rundir::write_atomic;

const MAGIC: &[u8; 8] = b"HRDDPM01";

/// RNG state of a run: every step's noise stream is ChaCha8 seeded from `seed`, stream = step
/// (see `train::step_rng`), so (seed, step) is the complete RNG state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RngState {
    pub seed: u64,
    pub scheme: String,
    pub next_step: u64,
}

/// Checkpoint header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// Optimiser steps done.
    pub step: u64,
    /// Resolved run config (TOML text).
    pub config: String,
    pub rng: RngState,
    pub shapes: Vec<Vec<usize>>,
    /// Names of the stored groups, e.g. ["params", "adam_m", "adam_v", "ema"] or ["ema"].
    pub groups: Vec<String>,
    pub checksum: u64,
    /// Seconds of training so far (informational).
    pub train_seconds: f64,
}

/// What a checkpoint file holds, told by the config TOML in its header: a DDPM (a run config
/// with `[model]` and `[diffusion]` tables) or a classifier (`arch` and `noisy` keys, written by
/// `empirical classifier train`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    Ddpm,
    Classifier,
    Unknown,
}

impl CheckpointKind {
    /// The kind of a header's config TOML.
    pub fn of_config(config: &str) -> Self {
        let Ok(t) = config.parse::<toml::Table>() else {
            return CheckpointKind::Unknown;
        };
        if t.contains_key("arch") && t.contains_key("noisy") {
            CheckpointKind::Classifier
        } else if t.get("model").is_some_and(|v| v.is_table())
            && t.get("diffusion").is_some_and(|v| v.is_table())
        {
            CheckpointKind::Ddpm
        } else {
            CheckpointKind::Unknown
        }
    }

    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            CheckpointKind::Ddpm => "a DDPM checkpoint",
            CheckpointKind::Classifier => "a classifier checkpoint",
            CheckpointKind::Unknown => "a checkpoint of unknown kind",
        }
    }
}

/// Check that the checkpoint file `path` holds a DDPM (`want` = [`CheckpointKind::Ddpm`]) or a
/// classifier, reading only its header; a wrong kind is an error saying what the file is and
/// what to pass instead. A file that is no checkpoint at all is left to the loader's errors.
pub fn expect_kind(path: &Path, want: CheckpointKind) -> Result<()> {
    let Ok(header) = Checkpoint::read_header(path) else {
        return Ok(());
    };
    let got = CheckpointKind::of_config(&header.config);
    if got == want || got == CheckpointKind::Unknown {
        return Ok(());
    }
    let hint = match got {
        CheckpointKind::Ddpm => {
            "pass it as the DDPM (`--checkpoint` / `--run`); a classifier comes from \
             `empirical classifier train`"
        }
        _ => {
            "pass it as a classifier (e.g. `sample --guidance`, `filter --classifier`); a DDPM \
              checkpoint comes from `empirical train` / `empirical export`"
        }
    };
    Err(Error::Checkpoint {
        path: path.to_path_buf(),
        message: format!(
            "this is {}, not {}; {hint}",
            got.describe(),
            want.describe()
        ),
    })
}

/// A checkpoint in host memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub header: Header,
    /// `groups[g][p]` = flat values of parameter p in group g.
    pub data: Vec<Vec<Vec<f32>>>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl Checkpoint {
    /// Group `name`, if stored.
    pub fn group(&self, name: &str) -> Option<&Vec<Vec<f32>>> {
        self.header
            .groups
            .iter()
            .position(|g| g == name)
            .map(|i| &self.data[i])
    }

    /// Group `name`, or an error naming the file (`path`) and the missing group.
    pub fn require_group(&self, name: &str, path: &Path) -> Result<&Vec<Vec<f32>>> {
        self.group(name).ok_or_else(|| Error::Checkpoint {
            path: path.to_path_buf(),
            message: format!("no `{name}` group in this checkpoint"),
        })
    }

    /// Check that the stored parameter shapes equal a model's (`expected`, visiting order),
    /// naming the first difference and the file (`path`).
    pub fn check_shapes(&self, expected: &[Vec<usize>], path: &Path) -> Result<()> {
        match crate::params::check_shapes(expected, &self.header.shapes) {
            None => Ok(()),
            Some(message) => Err(Error::Checkpoint {
                path: path.to_path_buf(),
                message,
            }),
        }
    }

    /// The kind of model stored (DDPM or classifier).
    pub fn kind(&self) -> CheckpointKind {
        CheckpointKind::of_config(&self.header.config)
    }

    /// The run config stored in the file (a DDPM checkpoint's).
    pub fn config(&self) -> Result<RunConfig> {
        if self.kind() == CheckpointKind::Classifier {
            return Err(Error::Other(
                "this is a classifier checkpoint, not a DDPM checkpoint".into(),
            ));
        }
        RunConfig::from_resolved_toml(&self.header.config, "checkpoint header")
    }

    /// [`Checkpoint::config`], with errors naming the file `path` (a classifier checkpoint
    /// says so instead of failing to parse).
    pub fn ddpm_config(&self, path: &Path) -> Result<RunConfig> {
        let kind = self.kind();
        if kind == CheckpointKind::Classifier {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                message: "this is a classifier checkpoint (from `empirical classifier train`), \
                          not a DDPM checkpoint; pass a DDPM checkpoint from `empirical train` \
                          or `empirical export` (a classifier goes to `sample --guidance`)"
                    .into(),
            });
        }
        RunConfig::from_resolved_toml(
            &self.header.config,
            &format!("the config in checkpoint {}", path.display()),
        )
    }

    /// Serialise to bytes (checksum filled in).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        for g in &self.data {
            for p in g {
                for x in p {
                    payload.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        let mut header = self.header.clone();
        header.checksum = fnv1a(&payload);
        let hj = serde_json::to_vec(&header).expect("header serialises");
        let mut out = Vec::with_capacity(16 + hj.len() + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(hj.len() as u64).to_le_bytes());
        out.extend_from_slice(&hj);
        out.extend_from_slice(&payload);
        out
    }

    /// Parse bytes; `path` is only used in error messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |m: &str| Error::Checkpoint {
            path: path.to_path_buf(),
            message: m.to_string(),
        };
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad("not a hidden-rules DDPM checkpoint (bad magic)"));
        }
        let hlen = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
        if hlen > bytes.len() - 16 {
            return Err(bad("truncated header"));
        }
        let header: Header = serde_json::from_slice(&bytes[16..16 + hlen])
            .map_err(|e| bad(&format!("bad header: {e}")))?;
        if header.format != 1 {
            return Err(bad(&format!("unsupported format {}", header.format)));
        }
        let payload = &bytes[16 + hlen..];
        let per_group = header.shapes.iter().try_fold(0usize, |acc, s| {
            s.iter()
                .try_fold(1usize, |p, &d| p.checked_mul(d))
                .and_then(|n| acc.checked_add(n))
        });
        let expected = per_group
            .and_then(|n| n.checked_mul(header.groups.len()))
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| bad("header shapes are too large"))?;
        if payload.len() != expected {
            return Err(bad(&format!(
                "payload has {} bytes, header implies {expected}",
                payload.len()
            )));
        }
        if fnv1a(payload) != header.checksum {
            return Err(bad("checksum mismatch (file corrupted)"));
        }
        let mut floats = payload
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()));
        let data = header
            .groups
            .iter()
            .map(|_| {
                header
                    .shapes
                    .iter()
                    .map(|s| floats.by_ref().take(s.iter().product()).collect())
                    .collect()
            })
            .collect();
        Ok(Checkpoint { header, data })
    }

    /// Write atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// Read only the header of the checkpoint file `path` (not the tensors, no checksum check).
    pub fn read_header(path: &Path) -> Result<Header> {
        use std::io::Read;
        let bad = |m: &str| Error::Checkpoint {
            path: path.to_path_buf(),
            message: m.to_string(),
        };
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = [0u8; 16];
        f.read_exact(&mut head)
            .map_err(|_| bad("not a hidden-rules DDPM checkpoint (bad magic)"))?;
        if &head[..8] != MAGIC {
            return Err(bad("not a hidden-rules DDPM checkpoint (bad magic)"));
        }
        let hlen = u64::from_le_bytes(head[8..16].try_into().unwrap());
        let size = f.metadata().map_err(|e| Error::io(path, e))?.len();
        if hlen > size.saturating_sub(16) {
            return Err(bad("truncated header"));
        }
        let mut hj = vec![0u8; hlen as usize];
        f.read_exact(&mut hj).map_err(|_| bad("truncated header"))?;
        serde_json::from_slice(&hj).map_err(|e| bad(&format!("bad header: {e}")))
    }

    /// Read from `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// A weights-only copy holding just group `name` (renamed `ema`), e.g. to ship.
    pub fn weights_only(&self, name: &str) -> Option<Checkpoint> {
        let g = self.group(name)?.clone();
        let mut header = self.header.clone();
        header.groups = vec!["ema".into()];
        Some(Checkpoint {
            header,
            data: vec![g],
        })
    }
}
