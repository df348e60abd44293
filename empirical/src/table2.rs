//! Table 2 (Sec. 5.2): Error (Eq. 4, with its bias and variance parts) and R^2 of DDPM, Guided
//! DDPM and Filtered DDPM per task, aggregated over runs (seeds) as mean +- std, with the number
//! of samples each cell rests on and the paper's own numbers beside ours.
//!
//! Every number comes from the same evaluator (`empirical_rules::evaluate`, default trimming)
//! through the results files the bridge reads (`<runs>/<run>/eval/results.json`,
//! `guided/eval/results.json`, `filtered/eval/results.json`; see
//! [`empirical_rules::results::scan_runs`]), so DDPM, guidance and filtering are scored alike.
use empirical_rules::results::{scan_runs, ExperimentResult, Method};
use empirical_rules::Task;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::paper::PaperSettings;
use crate::rundir::write_atomic;

/// The paper's (Error, R²) for `task` and `method` ([`PaperSettings::table2`]).
pub fn paper_value(task: Task, method: Method) -> (f64, f64) {
    PaperSettings::of(task).table2(method)
}

/// Mean and sample standard deviation (ddof 1; `None` for one value) of a list of values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub std: Option<f64>,
    pub values: Vec<f64>,
}

impl Stat {
    /// Summarise `values`; `None` when empty.
    pub fn of(values: Vec<f64>) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.len() > 1)
            .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
        Some(Stat { mean, std, values })
    }

    fn show(&self, prec: usize) -> String {
        match self.std {
            Some(s) => format!("{:.prec$}±{:.prec$}", self.mean, s),
            None => format!("{:.prec$}", self.mean),
        }
    }
}

/// One cell group of Table 2: a task and a sampler, over all runs found.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub task: Task,
    pub method: Method,
    /// Runs (seeds) with a results file for this cell.
    pub runs: usize,
    /// Runs whose Eq. 4 could be computed (enough valid images).
    pub runs_with_error: usize,
    /// Images evaluated, summed over runs.
    pub samples: usize,
    /// Valid images (all elements found), summed over runs.
    pub valid: usize,
    /// Pairs kept by the evaluator's default trimming and used in the fit, summed over runs.
    pub fitted: usize,
    /// Eq. 4 total, bias part |b1 - k| + |b0|, variance part sqrt(Var(y_hat - y)), fit R^2.
    pub error: Option<Stat>,
    pub bias: Option<Stat>,
    pub variance: Option<Stat>,
    pub r_squared: Option<Stat>,
    /// The paper's Error and R^2 for this cell.
    pub paper_error: f64,
    pub paper_r_squared: f64,
    pub sources: Vec<PathBuf>,
}

/// Table 2 built from a runs folder.
#[derive(Clone, Debug, Serialize)]
pub struct Table2 {
    pub runs_dir: PathBuf,
    pub cells: Vec<Cell>,
    /// Results files that exist but could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

fn cell(task: Task, method: Method, results: &[&ExperimentResult]) -> Cell {
    let eq: Vec<_> = results.iter().filter_map(|r| r.eq4.as_ref()).collect();
    let (paper_error, paper_r_squared) = paper_value(task, method);
    Cell {
        task,
        method,
        runs: results.len(),
        runs_with_error: eq.len(),
        samples: results.iter().map(|r| r.n).sum(),
        valid: results.iter().map(|r| r.n_valid).sum(),
        fitted: eq.iter().map(|e| e.n_kept).sum(),
        error: Stat::of(eq.iter().map(|e| e.total).collect()),
        bias: Stat::of(eq.iter().map(|e| e.bias_part).collect()),
        variance: Stat::of(eq.iter().map(|e| e.variance_part).collect()),
        r_squared: Stat::of(eq.iter().map(|e| e.fit.r_squared).collect()),
        paper_error,
        paper_r_squared,
        sources: results.iter().map(|r| r.source.clone()).collect(),
    }
}

/// Collect Table 2 from every run directory directly under `runs` (one run per seed and task).
/// Cells without any results file are omitted; a missing folder is an error.
pub fn collect(runs: &Path) -> Result<Table2> {
    if !runs.is_dir() {
        return Err(Error::Other(format!(
            "runs folder {} does not exist (expected <runs>/<run>/eval/results.json, \
             guided/eval/results.json, filtered/eval/results.json)",
            runs.display()
        )));
    }
    let scan = scan_runs(runs);
    let mut groups: BTreeMap<(Task, Method), Vec<&ExperimentResult>> = BTreeMap::new();
    for r in &scan.results {
        groups.entry((r.task, r.method)).or_default().push(r);
    }
    let cells = groups
        .iter()
        .map(|(&(task, method), rs)| cell(task, method, rs))
        .collect();
    Ok(Table2 {
        runs_dir: runs.to_path_buf(),
        cells,
        unreadable: scan.unreadable,
    })
}

fn opt_stat(s: &Option<Stat>, prec: usize) -> String {
    s.as_ref().map_or("-".into(), |s| s.show(prec))
}

impl Table2 {
    /// The cell of `task` and `method`, if any run had it.
    pub fn get(&self, task: Task, method: Method) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.task == task && c.method == method)
    }

    /// Markdown table: one row per task and sampler (ours mean ± std over runs, paper beside).
    pub fn to_markdown(&self) -> String {
        let mut s = String::from(
            "| Task | Sampler | runs | samples | valid | fitted | Error (Eq. 4) | bias part | variance part | R² | paper Error | paper R² |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for c in &self.cells {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                c.task,
                c.method,
                c.runs,
                c.samples,
                c.valid,
                c.fitted,
                opt_stat(&c.error, 3),
                opt_stat(&c.bias, 3),
                opt_stat(&c.variance, 3),
                opt_stat(&c.r_squared, 3),
                format!("{:.2}", c.paper_error),
                format!("{:.2}", c.paper_r_squared),
            ));
        }
        s
    }

    /// CSV: one row per task and sampler with means, stds and counts.
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::Other(format!("CSV: {e}"));
        w.write_record([
            "task",
            "method",
            "runs",
            "samples",
            "valid",
            "fitted",
            "error_mean",
            "error_std",
            "bias_mean",
            "bias_std",
            "variance_mean",
            "variance_std",
            "r2_mean",
            "r2_std",
            "paper_error",
            "paper_r2",
        ])
        .map_err(err)?;
        let f = |s: &Option<Stat>| -> [String; 2] {
            match s {
                Some(s) => [
                    s.mean.to_string(),
                    s.std.map_or(String::new(), |v| v.to_string()),
                ],
                None => [String::new(), String::new()],
            }
        };
        for c in &self.cells {
            let [em, es] = f(&c.error);
            let [bm, bs] = f(&c.bias);
            let [vm, vs] = f(&c.variance);
            let [rm, rs] = f(&c.r_squared);
            w.write_record([
                c.task.to_string(),
                c.method.name().to_string(),
                c.runs.to_string(),
                c.samples.to_string(),
                c.valid.to_string(),
                c.fitted.to_string(),
                em,
                es,
                bm,
                bs,
                vm,
                vs,
                rm,
                rs,
                c.paper_error.to_string(),
                c.paper_r_squared.to_string(),
            ])
            .map_err(err)?;
        }
        let bytes = w.into_inner().map_err(|e| Error::Other(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| Error::Other(e.to_string()))
    }

    /// Write `table2.md`, `table2.csv` and `table2.json` into `out`.
    pub fn write(&self, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        write_atomic(&out.join("table2.md"), self.to_markdown().as_bytes())?;
        write_atomic(&out.join("table2.csv"), self.to_csv()?.as_bytes())?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Other(e.to_string()))?;
        write_atomic(&out.join("table2.json"), &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_mean_and_sample_std() {
        let s = Stat::of(vec![1.0, 2.0, 4.0]).unwrap();
        assert!((s.mean - 7.0 / 3.0).abs() < 1e-15);
        // sum of squared deviations = 14/3, / (n - 1) = 7/3
        assert!((s.std.unwrap() - (7.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(Stat::of(vec![0.5]).unwrap().std, None);
        assert!(Stat::of(vec![]).is_none());
    }

    #[test]
    fn paper_values_match_table2_columns() {
        assert_eq!(paper_value(Task::A, Method::Ddpm), (0.25, 0.85));
        assert_eq!(paper_value(Task::B, Method::Filtering), (0.05, 0.86));
        assert_eq!(paper_value(Task::C, Method::Guidance), (0.26, 0.67));
        assert_eq!(paper_value(Task::D, Method::Filtering), (0.39, 0.85));
    }

    fn write_results(dir: &Path, seed: u64, n: usize) -> empirical_rules::EvalReport {
        use empirical_rules::{evaluate, generate, EvalConfig, GenConfig, Kind};
        let ds = generate(&GenConfig {
            task: Task::A,
            n,
            size: 32,
            seed,
            kind: Kind::Train,
        })
        .unwrap();
        let rep = evaluate(Task::A, &ds.images, &EvalConfig::default()).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("results.json"), serde_json::to_vec(&rep).unwrap()).unwrap();
        rep
    }

    #[test]
    fn cells_aggregate_the_evaluator_results_of_every_run() {
        let tmp = tempfile::tempdir().unwrap();
        let r0 = write_results(&tmp.path().join("A-s0/eval"), 0, 40);
        let r1 = write_results(&tmp.path().join("A-s1/eval"), 1, 30);
        let g0 = write_results(&tmp.path().join("A-s0/guided/eval"), 2, 25);
        let t = collect(tmp.path()).unwrap();
        let d = t.get(Task::A, Method::Ddpm).unwrap();
        assert_eq!(d.runs, 2);
        assert_eq!(d.samples, 70);
        assert_eq!(d.valid, r0.summary.n_valid + r1.summary.n_valid);
        let (e0, e1) = (
            r0.summary.eq4.as_ref().unwrap(),
            r1.summary.eq4.as_ref().unwrap(),
        );
        let err = d.error.as_ref().unwrap();
        assert!((err.mean - (e0.total + e1.total) / 2.0).abs() < 1e-12);
        assert!((err.std.unwrap() - (e0.total - e1.total).abs() / 2f64.sqrt()).abs() < 1e-12);
        let bias = d.bias.as_ref().unwrap().mean;
        let var = d.variance.as_ref().unwrap().mean;
        assert!(
            (bias + var - err.mean).abs() < 1e-12,
            "Eq. 4 = bias + variance"
        );
        assert_eq!(d.fitted, e0.n_kept + e1.n_kept);
        let g = t.get(Task::A, Method::Guidance).unwrap();
        assert_eq!((g.runs, g.samples), (1, 25));
        assert_eq!(
            g.error.as_ref().unwrap().mean,
            g0.summary.eq4.as_ref().unwrap().total
        );
        assert!(t.get(Task::A, Method::Filtering).is_none());
        assert_eq!(d.paper_error, 0.25);
        let md = t.to_markdown();
        assert!(md.contains("| A | DDPM | 2 | 70 |"), "{md}");
        let csv = t.to_csv().unwrap();
        assert_eq!(csv.lines().count(), 3);
        t.write(&tmp.path().join("out")).unwrap();
        assert!(tmp.path().join("out/table2.json").is_file());
    }

    #[test]
    fn missing_runs_folder_is_an_error() {
        let e = collect(Path::new("/definitely/not/here")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
