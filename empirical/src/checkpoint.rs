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

    /// The run config stored in the file.
    pub fn config(&self) -> Result<RunConfig> {
        RunConfig::from_resolved_toml(&self.header.config, "checkpoint header")
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
        if bytes.len() < 16 + hlen {
            return Err(bad("truncated header"));
        }
        let header: Header = serde_json::from_slice(&bytes[16..16 + hlen])
            .map_err(|e| bad(&format!("bad header: {e}")))?;
        if header.format != 1 {
            return Err(bad(&format!("unsupported format {}", header.format)));
        }
        let payload = &bytes[16 + hlen..];
        let per_group: usize = header
            .shapes
            .iter()
            .map(|s| s.iter().product::<usize>())
            .sum();
        let expected = per_group * header.groups.len() * 4;
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
