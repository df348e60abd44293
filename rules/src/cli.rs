//! Command-line front ends `data` and `eval` (used by this crate's `empirical-rules` binary and by
//! the `empirical` binary).
//!
//! ```text
//! empirical-rules data --task A --n 4000 --size 32 --seed 0 --out DIR [--kind train|contrastive|coarse-violating|immature] [--delta 0.1]
//! empirical-rules eval --task A --samples PATH [--train DIR] --out results.json [--csv per_image.csv] [--ranges strict|loose]
//! ```
//!
//! `data` never mixes old and new files: `--out` must be absent, empty, or a previous `data`
//! output (replaced as a whole once the new set is complete); anything else is refused.
//! `eval` reads a folder through its manifest or sample list (see [`crate::io`]) and prints
//! what it read, what it ignored and, for float `.npy`, the value range it assumed.
use crate::batch::evaluate_sets;
use crate::color::RangeSet;
use crate::error::{Error, Result};
use crate::eval::{EvalConfig, EvalReport, TrimVariant};
use crate::generate::{check_output_dir, generate, GenConfig, Kind};
use crate::io::{atomic_write, load_samples};
use crate::task::Task;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

fn parse_task(s: &str) -> std::result::Result<Task, String> {
    s.parse::<Task>().map_err(|e| e.to_string())
}
fn parse_ranges(s: &str) -> std::result::Result<RangeSet, String> {
    s.parse::<RangeSet>().map_err(|e| e.to_string())
}
fn parse_trim(s: &str) -> std::result::Result<TrimVariant, String> {
    s.parse::<TrimVariant>().map_err(|e| e.to_string())
}

/// Which set `data` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// The training distribution (App. C).
    Train,
    /// Three classes, 0 and 2 breaking the fine rule by 1 -+ delta (Sec. 5).
    Contrastive,
    /// Every image breaks the coarse rule.
    CoarseViolating,
    /// Negatives in the look of an immature DDPM (soft colour clouds, speckle, blurred
    /// smears, merged elements) that the validity verdict must reject.
    Immature,
}

/// `data`: generate a task's images with ground truth (PNGs, manifest.csv, images.npy).
///
/// The output folder receives exactly the new set: it must not exist, be empty, or be a
/// previous `data` output, which is replaced as a whole once every new file is written
/// (generated in a hidden temporary folder, then renamed). A folder holding other files is
/// refused, and nothing is written.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Task: A, B, C or D.
    #[arg(long, value_parser = parse_task)]
    pub task: Task,
    /// Number of images (at least 1).
    #[arg(long, default_value_t = 2000)]
    pub n: usize,
    /// Image side in pixels.
    #[arg(long, default_value_t = 32)]
    pub size: u32,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder: created if absent; an empty folder or a previous `data` output
    /// (NNNNNN.png, manifest.csv, images.npy only) is replaced as a whole once the new set is
    /// complete; a folder holding anything else is refused (remove it or choose another).
    #[arg(long)]
    pub out: PathBuf,
    /// Which set.
    #[arg(long, value_enum, default_value_t = KindArg::Train)]
    pub kind: KindArg,
    /// Contrastive classes 0/2 scale the rule's dependent length by 1 -+ delta.
    #[arg(long, default_value_t = 0.1)]
    pub delta: f64,
}

/// `eval`: score images against the task's coarse and fine rules.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Task: A, B, C or D.
    #[arg(long, value_parser = parse_task)]
    pub task: Task,
    /// Images to score: a .npy (N x H x W x 3 or N x H x W; uint8, or float in [-1, 1], the
    /// model's range, assumed when any value is negative, else [0, 1]; values up to 1e-3
    /// beyond are clamped and counted, others are an error), a PNG, or a folder. A folder is
    /// read through its manifest.csv (`data`) or samples.npy / images.npy (`empirical
    /// sample`) when it has one, else as its *.png files, skipping hidden files and preview
    /// grids (grid.png, *_grid.png, grid_*.png); files not read are counted in the output.
    #[arg(long)]
    pub samples: PathBuf,
    /// Training images (folder or .npy, read like --samples) for nearest-neighbour distances
    /// (Fig. 5b).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Output JSON (an EvalReport).
    #[arg(long, default_value = "results.json")]
    pub out: PathBuf,
    /// Per-image CSV [default: per_image.csv next to --out].
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Mask colour ranges: strict (App. C, training data) or loose (generated images).
    #[arg(long, value_parser = parse_ranges, default_value = "strict")]
    pub ranges: RangeSet,
    /// Upscale target side by integer pixel replication (the paper's 128); 0 = none (features
    /// are invariant to replication).
    #[arg(long, default_value_t = 0)]
    pub upscale: u32,
    /// Smallest mixing weight for mask membership (1 = plain inRange).
    #[arg(long, default_value_t = 0.1)]
    pub a_min: f32,
    /// Trimming variant of summary.eq4: none, per-coordinate or ratio.
    #[arg(long, value_parser = parse_trim, default_value = "per-coordinate")]
    pub trim: TrimVariant,
    /// Stricter verdict: also reject any second component of an element's colour outside
    /// the elements' regions (the default verdict allows stray mass up to a bound).
    #[arg(long)]
    pub strict_count: bool,
    /// "Premise resolved" coarse count: Task A images count only when the sun centre is at
    /// least this many source pixels off the pole axis (reported beside the plain count).
    #[arg(long, default_value_t = 1.0)]
    pub coarse_min_premise_px: f64,
}

impl EvalArgs {
    /// The evaluator configuration these arguments select.
    pub fn config(&self) -> EvalConfig {
        EvalConfig {
            ranges: self.ranges,
            upscale: self.upscale,
            a_min: self.a_min,
            default_trim: self.trim,
            strict_count: self.strict_count,
            coarse_min_premise_px: self.coarse_min_premise_px,
            ..EvalConfig::default()
        }
    }
}

/// Run `data` (see [`DataArgs`] for what happens to an existing output folder).
pub fn run_data(a: &DataArgs) -> Result<()> {
    if a.n == 0 {
        return Err(Error::param("n", "must be at least 1"));
    }
    // refuse a folder with foreign files before spending time on generation
    check_output_dir(&a.out)?;
    let kind = match a.kind {
        KindArg::Train => Kind::Train,
        KindArg::Contrastive => Kind::Contrastive { delta: a.delta },
        KindArg::CoarseViolating => Kind::CoarseViolating,
        KindArg::Immature => Kind::Immature,
    };
    let cfg = GenConfig {
        task: a.task,
        n: a.n,
        size: a.size,
        seed: a.seed,
        kind,
    };
    let ds = generate(&cfg)?;
    ds.write_dir(&a.out)?;
    println!(
        "wrote {} task {} images ({}) of {}x{} to {}",
        a.n,
        a.task,
        kind.name(),
        a.size,
        a.size,
        a.out.display()
    );
    Ok(())
}

/// Write the per-image CSV of a report.
pub fn write_per_image_csv(report: &EvalReport, path: &Path) -> Result<()> {
    let task = report.task;
    atomic_write(path, |w| {
        let map = |e: csv::Error| std::io::Error::other(e.to_string());
        let mut wr = csv::Writer::from_writer(w);
        let mut head: Vec<String> = [
            "index",
            "name",
            "valid",
            "reason",
            "detected",
            "coarse_ok",
            "coarse_premise_px",
            "x",
            "y",
            "ratio",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        head.extend(task.feature_names().iter().map(|s| s.to_string()));
        for e in task.elements() {
            for ch in ["r", "g", "b"] {
                head.push(format!("{}_{}", e.name, ch));
            }
        }
        head.push("nn_4d".into());
        head.push("nn_full".into());
        wr.write_record(&head).map_err(map)?;
        let f = |v: Option<f64>| v.map(|v| format!("{v:.8}")).unwrap_or_default();
        for r in &report.per_image {
            let mut row = vec![
                r.index.to_string(),
                r.name.clone().unwrap_or_default(),
                r.valid.to_string(),
                r.reason.clone().unwrap_or_default(),
                r.detected.to_string(),
                r.coarse_ok.map(|b| b.to_string()).unwrap_or_default(),
                f(r.coarse_premise_px),
                f(r.x),
                f(r.y),
                f(r.ratio),
            ];
            for n in task.feature_names() {
                row.push(f(r.features.get(n).copied()));
            }
            for e in 0..task.elements().len() {
                match r.colors.get(e) {
                    Some(c) => row.extend(c.iter().map(|u| u.to_string())),
                    None => row.extend(std::iter::repeat_n(String::new(), 3)),
                }
            }
            row.push(f(r.nn_4d));
            row.push(f(r.nn_full));
            wr.write_record(&row).map_err(map)?;
        }
        wr.flush()
    })
}

/// The fine-rule pairs `(x, y)` of the valid images of a per-image CSV
/// ([`write_per_image_csv`]), in row order: the pairs a summary's Eq. 4 rests on.
pub fn read_per_image_pairs(path: &Path) -> Result<(Vec<f64>, Vec<f64>)> {
    let bad = |message: String| crate::Error::Report {
        path: path.to_path_buf(),
        message,
    };
    let mut rd = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let head = rd.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no `{name}` column")))
    };
    let (cv, cx, cy) = (col("valid")?, col("x")?, col("y")?);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (i, row) in rd.records().enumerate() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let cell = |c: usize| row.get(c).unwrap_or("").trim();
        if cell(cv) != "true" {
            continue;
        }
        let num = |c: usize| -> Result<Option<f64>> {
            match cell(c) {
                "" => Ok(None),
                t => t
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(format!("row {}: `{t}` is not a number", i + 1))),
            }
        };
        if let (Some(x), Some(y)) = (num(cx)?, num(cy)?) {
            xs.push(x);
            ys.push(y);
        }
    }
    Ok((xs, ys))
}

/// Run `eval`: writes `--out` (JSON EvalReport) and the per-image CSV, prints the summary.
pub fn run_eval(a: &EvalArgs) -> Result<()> {
    let cfg = a.config();
    let samples = load_samples(&a.samples)?;
    let train_set = match &a.train {
        Some(p) => Some(load_samples(p)?),
        None => None,
    };
    let train = train_set.as_ref().map(|t| t.images.as_slice());
    let report = evaluate_sets(a.task, &samples.images, train, &cfg)?;
    if let Some(dir) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Write {
        path: a.out.clone(),
        message: e.to_string(),
    })?;
    atomic_write(&a.out, |w| w.write_all(&json))?;
    let csv_path = a.csv.clone().unwrap_or_else(|| {
        a.out
            .parent()
            .map(|p| p.join("per_image.csv"))
            .unwrap_or_else(|| PathBuf::from("per_image.csv"))
    });
    write_per_image_csv(&report, &csv_path)?;
    let s = &report.summary;
    // (stdout errors such as a closed pipe are ignored: the files are already written)
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "samples: {}", samples.describe());
    if let Some(t) = &train_set {
        let _ = writeln!(o, "train: {}", t.describe());
    }
    for (what, set) in [("samples", Some(&samples)), ("train", train_set.as_ref())] {
        let Some(set) = set else { continue };
        let task = a.task.to_string();
        if !set.manifest_tasks.is_empty() && set.manifest_tasks.iter().any(|t| *t != task) {
            eprintln!(
                "warning: --{what}'s manifest.csv records task {}, evaluated as task {task}",
                set.manifest_tasks.join(", ")
            );
        }
    }
    let _ = writeln!(
        o,
        "task {}: {} images, invalid {:.2} %, coarse violations {} ({:.2} % of valid), within +-{} of k: {:.2} %",
        s.task,
        s.n,
        s.invalid_pct,
        s.coarse_violations,
        s.coarse_violation_pct,
        cfg.within_tol,
        100.0 * s.within_001_share
    );
    for t in &s.eq4_by_trim {
        let _ = match &t.eq4 {
            Some(e) => writeln!(
                o,
                "  trim {:<15} n={:<5} slope {:.4} (k {:.4}) intercept {:+.4} R2 {:.4}  Error {:.4} = bias {:.4} + var {:.4}",
                t.trim, e.n_kept, e.fit.beta1, e.k, e.fit.beta0, e.fit.r_squared, e.total, e.bias_part, e.variance_part
            ),
            None => writeln!(o, "  trim {:<15} no fit: {}", t.trim, t.error.as_deref().unwrap_or("")),
        };
    }
    if let Some(c) = &s.coarse_resolved {
        let _ = writeln!(
            o,
            "  premise resolved (>= {} px): coarse violations {} of {} ({:.2} %)",
            c.min_premise_px, c.violations, c.n, c.violation_pct
        );
    }
    if !s.invalid_reasons.is_empty() {
        let _ = writeln!(o, "  invalid reasons: {:?}", s.invalid_reasons);
    }
    if let Some(d) = &s.detector {
        let _ = writeln!(
            o,
            "  detector reading (a component of every colour, App. D.2): invalid {:.2} %; {} detected images fail the verdict",
            d.invalid_pct, d.detected_but_invalid
        );
    }
    let _ = writeln!(o, "wrote {} and {}", a.out.display(), csv_path.display());
    Ok(())
}
