//! A sweep spec: a base run config (preset, task and any overlay keys, as a `train --config`
//! file), axes over any config key combined as a product or zipped, and the steps each point
//! runs. Read from TOML and checked before any work; every error names its key.
//!
//! ```toml
//! name = "epochs-A"            # optional, default: the file's stem
//! combine = "product"          # or "zip" (axes of equal length, taken side by side)
//! steps = ["train", "sample", "eval"]
//! ranges = "loose"             # the evaluator's colour ranges for the samples
//!
//! [base]                       # a run config overlay
//! preset = "cpu"
//! task = "A"
//! train.max_steps = 0
//!
//! [[axis]]
//! key = "train.epochs"
//! values = [25, 50, 100]
//!
//! [[axis]]
//! key = "seed"
//! values = [0, 1]
//! ```
use empirical_rules::color::RangeSet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How the axes combine into points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// Every combination of the axes' values (the last axis varies fastest).
    #[default]
    Product,
    /// The axes' i-th values together (all axes must have the same length).
    Zip,
}

impl Combine {
    /// Lower-case name, as in the spec.
    pub fn name(self) -> &'static str {
        match self {
            Combine::Product => "product",
            Combine::Zip => "zip",
        }
    }
}

/// What a point does, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Train the point's DDPM (resuming from its newest checkpoint).
    Train,
    /// Draw `sample.n` images from the trained model (`sample.*` settings).
    Sample,
    /// Score the samples with the evaluator (`eval/results.json`).
    Eval,
}

impl Step {
    /// Lower-case name, as in the spec.
    pub fn name(self) -> &'static str {
        match self {
            Step::Train => "train",
            Step::Sample => "sample",
            Step::Eval => "eval",
        }
    }
}

fn default_steps() -> Vec<Step> {
    vec![Step::Train, Step::Sample, Step::Eval]
}

fn default_ranges() -> RangeSet {
    RangeSet::Loose
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Option<String>,
    #[serde(default)]
    combine: Combine,
    #[serde(default = "default_steps")]
    steps: Vec<Step>,
    #[serde(default = "default_ranges")]
    ranges: RangeSet,
    #[serde(default)]
    base: toml::Table,
    #[serde(default, rename = "axis")]
    axes: Vec<Axis>,
}

/// One axis: a config key (dotted path, as in a config file) and the values it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// A checked sweep spec.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// Name of the sweep (its default output folder is `runs/sweeps/<name>`).
    pub name: String,
    /// The file it was read from (for messages).
    pub source: PathBuf,
    pub combine: Combine,
    /// Steps of every point, sorted, without repeats.
    pub steps: Vec<Step>,
    pub ranges: RangeSet,
    /// The base run config overlay (`preset`, `task` and config keys).
    pub base: toml::Table,
    pub axes: Vec<Axis>,
}

/// Most points one spec may have.
pub const MAX_POINTS: usize = 100_000;

fn spec_error(source: &Path, key: &str, message: impl Into<String>) -> Error {
    Error::config(format!("{key} (sweep spec {})", source.display()), message)
}

impl SweepSpec {
    /// Read and check a spec file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Parse and check a spec; `source` names it in errors and gives the default name.
    pub fn from_toml(text: &str, source: &Path) -> Result<Self> {
        let raw: RawSpec = toml::from_str(text).map_err(|e| Error::ConfigParse {
            source_name: source.display().to_string(),
            message: e.to_string(),
        })?;
        let name = match raw.name {
            Some(n) => n,
            None => source
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(spec_error(
                source,
                "name",
                format!("`{name}` must be non-empty and use only letters, digits, `-`, `_`, `.`"),
            ));
        }
        let mut steps = raw.steps;
        steps.sort();
        steps.dedup();
        if steps.is_empty() {
            return Err(spec_error(source, "steps", "must name at least one step"));
        }
        if steps.contains(&Step::Sample) && !steps.contains(&Step::Train) {
            return Err(spec_error(
                source,
                "steps",
                "`sample` needs `train` (the point's model comes from its training run)",
            ));
        }
        if steps.contains(&Step::Eval) && !steps.contains(&Step::Sample) {
            return Err(spec_error(source, "steps", "`eval` needs `sample`"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &raw.axes {
            if a.key.is_empty() || a.key.split('.').any(str::is_empty) {
                return Err(spec_error(
                    source,
                    "axis.key",
                    format!("`{}` is not a config key", a.key),
                ));
            }
            if a.values.is_empty() {
                return Err(spec_error(source, &a.key, "axis has no values"));
            }
            if !seen.insert(a.key.clone()) {
                return Err(spec_error(source, &a.key, "axis given twice"));
            }
        }
        if raw.combine == Combine::Zip {
            if let Some(first) = raw.axes.first() {
                if let Some(a) = raw
                    .axes
                    .iter()
                    .find(|a| a.values.len() != first.values.len())
                {
                    return Err(spec_error(
                        source,
                        &a.key,
                        format!(
                            "zipped axes must have equal lengths: `{}` has {}, `{}` has {}",
                            first.key,
                            first.values.len(),
                            a.key,
                            a.values.len()
                        ),
                    ));
                }
            }
        }
        let spec = SweepSpec {
            name,
            source: source.to_path_buf(),
            combine: raw.combine,
            steps,
            ranges: raw.ranges,
            base: raw.base,
            axes: raw.axes,
        };
        let n = spec.n_points();
        if n > MAX_POINTS {
            return Err(spec_error(
                source,
                "axis",
                format!("{n} points, more than the {MAX_POINTS} one spec may have"),
            ));
        }
        Ok(spec)
    }

    /// Number of points (saturating; checked against [`MAX_POINTS`] on reading).
    pub fn n_points(&self) -> usize {
        match self.combine {
            Combine::Product => self
                .axes
                .iter()
                .fold(1usize, |n, a| n.saturating_mul(a.values.len())),
            Combine::Zip => self.axes.first().map_or(1, |a| a.values.len()),
        }
    }

    /// The axis values of point `index` (`index < n_points()`), one per axis in spec order.
    pub fn combination(&self, index: usize) -> Vec<(String, toml::Value)> {
        match self.combine {
            Combine::Zip => self
                .axes
                .iter()
                .map(|a| (a.key.clone(), a.values[index].clone()))
                .collect(),
            Combine::Product => {
                let mut rest = index;
                let mut out: Vec<(String, toml::Value)> = self
                    .axes
                    .iter()
                    .rev()
                    .map(|a| {
                        let v = a.values[rest % a.values.len()].clone();
                        rest /= a.values.len();
                        (a.key.clone(), v)
                    })
                    .collect();
                out.reverse();
                out
            }
        }
    }

    /// Whether the spec runs `step`.
    pub fn runs(&self, step: Step) -> bool {
        self.steps.contains(&step)
    }
}

/// Set the dotted `key` (`train.max_steps`) of `table` to `value`, creating tables on the way.
pub fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut t = table;
    let mut path = String::new();
    for p in parts {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(p);
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            _ => return Err(Error::config(key, format!("`{path}` is not a table"))),
        };
    }
    t.insert(last.to_string(), value);
    Ok(())
}

/// A value as written in a spec (`"A"`, `25`, `0.5`, `[1, 2]`), for ids, tables and messages.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
