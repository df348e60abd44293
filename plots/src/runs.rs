//! Reading run directories (layout: `<runs>/<name>/eval/results.json` = an
//! `empirical_rules::EvalReport`, `config.toml`, `samples/`) and turning
//! evaluator results into plotting data.

use std::path::{Path, PathBuf};

use empirical_rules::{EvalReport, ImageResult, RunLayout, Task};

use crate::error::PlotError;
use crate::scatter::ScatterPanel;

/// One run directory with its evaluation.
#[derive(Debug, Clone)]
pub struct Run {
    /// Directory name.
    pub name: String,
    /// Directory.
    pub dir: PathBuf,
    /// `eval/results.json`.
    pub report: EvalReport,
}

/// Every `<runs>/*/eval/results.json` that parses (sorted by name), and the
/// unreadable ones with their reason. A missing folder gives no runs.
pub fn load_runs(runs: &Path) -> (Vec<Run>, Vec<String>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(runs) else {
        return (out, bad);
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| RunLayout::is_evaluated(p))
        .collect();
    dirs.sort();
    for dir in dirs {
        match read_report(&RunLayout::new(&dir).results()) {
            Ok(report) => out.push(Run {
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                dir,
                report,
            }),
            Err(e) => bad.push(e.to_string()),
        }
    }
    (out, bad)
}

/// Parse one `results.json`.
pub fn read_report(path: &Path) -> Result<EvalReport, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlotError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| PlotError::Parse {
        path: path.to_path_buf(),
        what: e.to_string(),
    })
}

/// Axis labels of a task's fine-rule quantities (features divided by the image side).
pub fn axis_labels(task: Task) -> (String, String) {
    let f = task.feature_names();
    let (x, y) = match task {
        Task::A => (format!("{}·{}", f[0], f[3]), format!("{}·{}", f[1], f[2])),
        Task::B => (format!("{}·{}", f[0], f[1]), format!("{}·{}", f[2], f[3])),
        Task::C | Task::D => (f[0].to_string(), f[1].to_string()),
    };
    let unit = match task {
        Task::A | Task::B => "(fraction of image area)",
        Task::C | Task::D => "(fraction of image side)",
    };
    (format!("x = {x}  {unit}"), format!("y = {y}  {unit}"))
}

/// Valid `(x, y)` pairs of a report.
pub fn valid_xy(per_image: &[ImageResult]) -> (Vec<f64>, Vec<f64>) {
    per_image
        .iter()
        .filter(|r| r.valid)
        .filter_map(|r| Some((r.x?, r.y?)))
        .unzip()
}

/// A scatter panel from an evaluation, trimmed like its `summary.eq4`.
pub fn scatter_panel(report: &EvalReport, title: String) -> ScatterPanel {
    let (x, y) = valid_xy(&report.per_image);
    let (x_label, y_label) = axis_labels(report.task);
    ScatterPanel {
        title,
        x_label,
        y_label,
        x,
        y,
        k: report.task.target_slope(),
        trim: report.config.default_trim.rule(report.config.trim_q),
    }
}

/// Look up a numeric setting by key anywhere in a run's `config.toml`
/// (e.g. `epochs`, `n_train`, `image_size`).
pub fn config_value(dir: &Path, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(RunLayout::new(dir).config()).ok()?;
    let v: toml::Value = toml::from_str(&text).ok()?;
    find_key(&v, key)
}

fn find_key(v: &toml::Value, key: &str) -> Option<f64> {
    match v {
        toml::Value::Table(t) => {
            if let Some(x) = t.get(key) {
                match x {
                    toml::Value::Integer(i) => return Some(*i as f64),
                    toml::Value::Float(f) => return Some(*f),
                    _ => {}
                }
            }
            t.values().find_map(|c| find_key(c, key))
        }
        _ => None,
    }
}
