//! The bridge table: theory rows and experiment rows side by side, each with
//! the Eq. 4 bias part, variance part, Error, R² (where defined) and source;
//! rendered as Markdown and CSV and written atomically.

use std::path::Path;

use serde::Serialize;

use crate::theory_side::{TheoryErrors, TheoryPoint};
use crate::BridgeError;
use empirical_rules::results::{ExperimentResult, Method, Scan};
use empirical_rules::Task;

/// One row of the bridge table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// "theory" or "experiment".
    pub side: String,
    /// Activation (theory) or "Task X" (experiment).
    pub setting: String,
    /// Time `t` (theory only).
    pub t: Option<f64>,
    /// Loss convention (theory only).
    pub convention: Option<String>,
    /// Mapping ("psi", "patches") or sampler ("DDPM", "Guidance", "Filtering").
    pub quantity: String,
    /// Pairs the metric rests on.
    pub n: Option<usize>,
    /// Eq. 4 bias part.
    pub bias_part: Option<f64>,
    /// Eq. 4 variance part.
    pub variance_part: Option<f64>,
    /// Eq. 4 Error.
    pub error: Option<f64>,
    /// R² of the OLS fit (None where undefined).
    pub r_squared: Option<f64>,
    /// Where the numbers come from.
    pub source: String,
}

/// The two rows of one theory setting.
pub fn theory_rows(point: &TheoryPoint, e: &TheoryErrors) -> Vec<Row> {
    let conv = format!("{:?}", point.convention).to_lowercase();
    let cert = format!(
        "theory (||grad L|| = {:.1e}{})",
        point.grad_norm,
        if point.converged {
            ""
        } else {
            ", not converged"
        }
    );
    vec![
        Row {
            side: "theory".into(),
            setting: point.activation.to_string(),
            t: Some(point.t),
            convention: Some(conv.clone()),
            quantity: "psi".into(),
            n: Some(e.psi.n),
            bias_part: Some(e.psi.bias_part),
            variance_part: Some(e.psi.variance_part),
            error: Some(e.psi.total),
            r_squared: None,
            source: cert.clone(),
        },
        Row {
            side: "theory".into(),
            setting: point.activation.to_string(),
            t: Some(point.t),
            convention: Some(conv),
            quantity: "patches".into(),
            n: Some(e.patches.n_kept),
            bias_part: Some(e.patches.bias_part),
            variance_part: Some(e.patches.variance_part),
            error: Some(e.patches.total),
            r_squared: Some(e.patches.fit.r_squared),
            source: cert,
        },
    ]
}

/// One row per readable result, and a "no run" row for each task × method
/// with none; unreadable files get a row naming the problem.
pub fn experiment_rows(scan: &Scan, tasks: &[Task]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut task_list: Vec<Task> = tasks.to_vec();
    for r in &scan.results {
        if !task_list.contains(&r.task) {
            task_list.push(r.task);
        }
    }
    for &task in &task_list {
        for method in Method::ALL {
            let found: Vec<&ExperimentResult> = scan
                .results
                .iter()
                .filter(|r| r.task == task && r.method == method)
                .collect();
            if found.is_empty() {
                rows.push(empty_row(task, method, "no run"));
            }
            for r in found {
                let source = r.source.display().to_string();
                match &r.eq4 {
                    Some(e) => rows.push(Row {
                        side: "experiment".into(),
                        setting: format!("Task {task}"),
                        t: None,
                        convention: None,
                        quantity: method.name().into(),
                        n: Some(e.n_kept),
                        bias_part: Some(e.bias_part),
                        variance_part: Some(e.variance_part),
                        error: Some(e.total),
                        r_squared: Some(e.fit.r_squared),
                        source: format!("{source} (trim {})", r.default_trim),
                    }),
                    None => rows.push(empty_row(
                        task,
                        method,
                        &format!("{source}: no Eq. 4 (valid images: {})", r.n_valid),
                    )),
                }
            }
        }
    }
    for (path, why) in &scan.unreadable {
        rows.push(Row {
            side: "experiment".into(),
            setting: "?".into(),
            t: None,
            convention: None,
            quantity: "?".into(),
            n: None,
            bias_part: None,
            variance_part: None,
            error: None,
            r_squared: None,
            source: format!("unreadable {}: {why}", path.display()),
        });
    }
    rows
}

fn empty_row(task: Task, method: Method, source: &str) -> Row {
    Row {
        side: "experiment".into(),
        setting: format!("Task {task}"),
        t: None,
        convention: None,
        quantity: method.name().into(),
        n: None,
        bias_part: None,
        variance_part: None,
        error: None,
        r_squared: None,
        source: source.into(),
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        Some(x) => format!("{x}"),
        None => "-".into(),
    }
}

fn cells(r: &Row) -> [String; 11] {
    [
        r.side.clone(),
        r.setting.clone(),
        r.t.map_or(String::new(), |t| format!("{t}")),
        r.convention.clone().unwrap_or_default(),
        r.quantity.clone(),
        r.n.map_or("-".into(), |n| n.to_string()),
        num(r.bias_part),
        num(r.variance_part),
        num(r.error),
        num(r.r_squared),
        r.source.clone(),
    ]
}

const HEADER: [&str; 11] = [
    "side",
    "setting",
    "t",
    "convention",
    "quantity",
    "n",
    "bias part",
    "variance part",
    "Error",
    "R²",
    "source",
];

/// The table as GitHub Markdown.
pub fn to_markdown(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    s.push_str(&format!("|{}\n", "---|".repeat(HEADER.len())));
    for r in rows {
        s.push_str(&format!(
            "| {} |\n",
            cells(r).join(" | ").replace('\n', " ")
        ));
    }
    s
}

/// The table as CSV (full precision numbers, empty cells where undefined).
pub fn to_csv(rows: &[Row]) -> Result<String, BridgeError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "side",
        "setting",
        "t",
        "convention",
        "quantity",
        "n",
        "bias_part",
        "variance_part",
        "error",
        "r_squared",
        "source",
    ];
    w.write_record(header)
        .map_err(|e| BridgeError::Csv(e.to_string()))?;
    let f = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    for r in rows {
        w.write_record([
            r.side.clone(),
            r.setting.clone(),
            r.t.map_or(String::new(), |t| format!("{t}")),
            r.convention.clone().unwrap_or_default(),
            r.quantity.clone(),
            r.n.map_or(String::new(), |n| n.to_string()),
            f(r.bias_part),
            f(r.variance_part),
            f(r.error),
            f(r.r_squared),
            r.source.clone(),
        ])
        .map_err(|e| BridgeError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| BridgeError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| BridgeError::Csv(e.to_string()))
}

/// Write `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BridgeError> {
    theory::fsio::write_atomic(path, bytes).map_err(|e| BridgeError::io(path, e))
}
