//! The main job's table in README is generated: `empirical run --readme README.md` stores the
//! rows it measured in the record [`RECORD`] (relative to README's folder) and writes their table
//! between the [`MARKERS`] lines. A test renders the stored record again and compares it with
//! README, so the document cannot drift from what the job printed.
use hidden_rules_core::marked::Markers;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pipeline::{format_table, TaskRow};
use crate::rundir::write_atomic;

/// The lines around the table in README.
pub const MARKERS: Markers = Markers {
    begin: "<!-- BEGIN main-job table: written by `cargo run -p empirical --release -- run --readme README.md`, do not edit -->",
    end: "<!-- END main-job table -->",
};

/// Where the rows behind README's table are stored, relative to README's folder.
pub const RECORD: &str = "docs/main-job.json";

/// README's block for `rows`: the printed table in a code fence.
pub fn render(rows: &[TaskRow]) -> String {
    format!("```\n{}```\n", format_table(rows))
}

/// The record beside `readme`.
pub fn record_path(readme: &Path) -> PathBuf {
    readme
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(RECORD)
}

/// Read the rows stored beside `readme`.
pub fn load(readme: &Path) -> Result<Vec<TaskRow>> {
    let path = record_path(readme);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Other(format!("cannot parse {}: {e}", path.display())))
}

/// Check that `readme` can take the table (it is readable and has the markers), before any work.
pub fn check(readme: &Path) -> Result<()> {
    let text = std::fs::read_to_string(readme).map_err(|e| Error::io(readme, e))?;
    match MARKERS.block(&text) {
        Some(_) => Ok(()),
        None => Err(Error::Other(format!(
            "{} has no main-job table markers",
            readme.display()
        ))),
    }
}

/// Store `rows` beside `readme` and write their table into it. README is checked for the markers
/// before anything is written.
pub fn write(readme: &Path, rows: &[TaskRow]) -> Result<()> {
    let text = std::fs::read_to_string(readme).map_err(|e| Error::io(readme, e))?;
    let new = MARKERS
        .splice(&text, &render(rows))
        .map_err(|e| Error::Other(format!("{}: {e}", readme.display())))?;
    let record = record_path(readme);
    let json = serde_json::to_vec_pretty(rows).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&record, &json)?;
    write_atomic(readme, new.as_bytes())
}
