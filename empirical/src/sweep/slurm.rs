//! `sweep slurm`: an `sbatch` job-array script whose element i runs
//! `empirical sweep run-one SPEC --index i`. Points are independent, so the array is the
//! whole parallelism; the array lists only the points not finished when the script is written,
//! and each element skips its point if it finished meanwhile, so resubmitting re-runs only
//! unfinished points.
use std::path::{Path, PathBuf};

use super::exec::device_arg;
use super::layout::SweepLayout;
use crate::backend::DeviceKind;

/// Resources and placement of the array's jobs.
#[derive(Clone, Debug, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// Wall-clock limit per point (`--time`, e.g. `04:00:00`).
    pub time: String,
    /// CPUs per point (`--cpus-per-task`; also the point's `RAYON_NUM_THREADS`).
    pub cpus: usize,
    /// GPUs per point (`--gres gpu:N`), none when 0.
    pub gpus: usize,
    /// Memory per point (`--mem`, e.g. `8G`).
    pub mem: Option<String>,
    /// Most array elements running at once (`%N`).
    pub max_parallel: Option<usize>,
    pub device: DeviceKind,
    /// The `empirical` executable the jobs run (on a cluster: a path every node can read).
    pub exe: PathBuf,
    /// Extra `#SBATCH` lines (e.g. `--account=...`), without the prefix.
    pub extra: Vec<String>,
}

/// `0-3,5,7-9` for indices `[0,1,2,3,5,7,8,9]` (sorted, distinct).
pub fn array_ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Quote `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script text for the points `indices` of the sweep `name` (spec at `spec_path`, output
/// in `layout`; both should be absolute).
pub fn sbatch_script(
    name: &str,
    spec_path: &Path,
    layout: &SweepLayout,
    n_points: usize,
    indices: &[usize],
    o: &SlurmOptions,
) -> String {
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# Slurm job array of sweep `{name}`: {} of its {n_points} points (those unfinished when\n\
         # this script was written). Submit with `sbatch {}`; write it again with\n\
         # `empirical sweep slurm` after a partial run to list only the points still unfinished.\n",
        indices.len(),
        layout.sbatch_script(name).display()
    ));
    let mut array = array_ranges(indices);
    if let Some(m) = o.max_parallel {
        array.push_str(&format!("%{m}"));
    }
    let mut directive = |line: String| s.push_str(&format!("#SBATCH {line}\n"));
    directive(format!("--job-name={name}"));
    directive(format!("--array={array}"));
    directive(format!(
        "--output={}",
        layout.slurm().join("%A_%a.out").display()
    ));
    directive(format!("--cpus-per-task={}", o.cpus.max(1)));
    directive(format!("--time={}", o.time));
    directive("--ntasks=1".into());
    if let Some(p) = &o.partition {
        directive(format!("--partition={p}"));
    }
    if o.gpus > 0 {
        directive(format!("--gres=gpu:{}", o.gpus));
    }
    if let Some(m) = &o.mem {
        directive(format!("--mem={m}"));
    }
    for e in &o.extra {
        directive(e.trim_start_matches("#SBATCH").trim().to_string());
    }
    s.push_str("set -euo pipefail\n");
    s.push_str("export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n");
    s.push_str(&format!(
        "exec {} sweep run-one {} --out {} --index \"$SLURM_ARRAY_TASK_ID\" --device {} --quiet\n",
        shell_quote(&o.exe.display().to_string()),
        shell_quote(&spec_path.display().to_string()),
        shell_quote(&layout.root.display().to_string()),
        device_arg(o.device)
    ));
    s
}
