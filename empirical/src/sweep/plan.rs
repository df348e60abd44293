//! A spec's points: each axis combination resolved into a complete, validated [`RunConfig`]
//! and given a stable id derived from that config alone.
use sha2::{Digest, Sha256};

use super::spec::{set_dotted, value_text, SweepSpec};
use crate::config::RunConfig;
use crate::error::{Error, Result};

/// One point of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Position in the spec's enumeration (the Slurm array index).
    pub index: usize,
    /// `<task>-<12 hex digits of SHA-256 of the resolved config>`: the same config gives the
    /// same id whatever the spec's order or the other points.
    pub id: String,
    /// The axis values of this point, in spec order.
    pub axes: Vec<(String, toml::Value)>,
    /// The resolved run config.
    pub cfg: RunConfig,
}

/// The id of a resolved config.
pub fn point_id(cfg: &RunConfig) -> String {
    let digest = Sha256::digest(cfg.to_toml().as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", cfg.task)
}

fn resolve(spec: &SweepSpec, axes: &[(String, toml::Value)], what: &str) -> Result<RunConfig> {
    let mut overlay = spec.base.clone();
    for (k, v) in axes {
        set_dotted(&mut overlay, k, v.clone())?;
    }
    let text = toml::to_string(&overlay).map_err(|e| Error::Other(e.to_string()))?;
    let source = format!("sweep spec {} ({what})", spec.source.display());
    RunConfig::from_overlay_choosing(None, None, &text, &source)
}

fn in_context(e: Error, key: &str, what: &str) -> Error {
    match e {
        Error::Config { key: k, message } if k == key => Error::Config {
            key: k,
            message: format!("{message} ({what})"),
        },
        other => Error::config(key, format!("{what}: {other}")),
    }
}

/// Resolve every point of `spec`, checking the base, each axis value on its own (so that an
/// unknown key or a wrong type is reported with its axis key) and then each combination.
pub fn plan(spec: &SweepSpec) -> Result<Vec<Point>> {
    resolve(spec, &[], "base").map_err(|e| in_context(e, "base", "the spec's [base]"))?;
    for a in &spec.axes {
        for v in &a.values {
            let what = format!("axis value {} = {}", a.key, value_text(v));
            resolve(spec, &[(a.key.clone(), v.clone())], &what)
                .map_err(|e| in_context(e, &a.key, &what))?;
        }
    }
    let n = spec.n_points();
    let mut points = Vec::with_capacity(n);
    let mut ids = std::collections::HashMap::with_capacity(n);
    for index in 0..n {
        let axes = spec.combination(index);
        let what = format!("point {index}: {}", describe(&axes));
        let cfg = resolve(spec, &axes, &what)?;
        let id = point_id(&cfg);
        if let Some(j) = ids.insert(id.clone(), index) {
            return Err(Error::config(
                "axis",
                format!(
                    "points {j} and {index} resolve to the same run config (id {id}); \
                     remove the repeated value"
                ),
            ));
        }
        points.push(Point {
            index,
            id,
            axes,
            cfg,
        });
    }
    Ok(points)
}

/// `key=value, key=value` of a point's axes.
pub fn describe(axes: &[(String, toml::Value)]) -> String {
    if axes.is_empty() {
        return "(base)".into();
    }
    axes.iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}
