//! Running points: one point in this process ([`run_one`], what a Slurm array element runs),
//! or every unfinished point as child processes, `jobs` at a time ([`run_local`]). A point's
//! training resumes from its newest checkpoint, so an interrupted sweep continues where it
//! stopped; a finished point (its `point.json`) is skipped.
use burn::tensor::backend::AutodiffBackend;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use super::layout::SweepLayout;
use super::plan::{describe, Point};
use super::record::{finished, AxisValue, PointEval, PointRecord};
use super::spec::{Step, SweepSpec};
use crate::backend::DeviceKind;
use crate::error::{Error, Result};
use crate::pipeline::{self, TrainRunOptions};
use crate::rundir::{write_atomic, RunDir};

/// What [`run_one`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The point was already finished.
    Skipped(PointRecord),
    /// The point ran to its end now.
    Ran(PointRecord),
}

/// Run point `index` of `spec` into `layout` on `device` (skipped when finished). On failure the
/// error is also written to `points/<id>/failed.txt`.
pub fn run_one(
    spec: &SweepSpec,
    points: &[Point],
    layout: &SweepLayout,
    index: usize,
    device: DeviceKind,
    quiet: bool,
) -> Result<Outcome> {
    let point = points.get(index).ok_or_else(|| {
        Error::Other(format!(
            "point index {index} out of range: sweep `{}` has {} points (0..={})",
            spec.name,
            points.len(),
            points.len().saturating_sub(1)
        ))
    })?;
    if let Some(r) = finished(layout, spec, point) {
        return Ok(Outcome::Skipped(r));
    }
    let run = RunDir::create(&layout.point(&point.id))?;
    let _ = std::fs::remove_file(layout.failed(&point.id));
    let t0 = Instant::now();
    let ctx = PointContext {
        spec,
        point,
        run: &run,
        quiet,
        backend: device.name(),
    };
    let result = crate::backend::with_backend!(device, run_point(&ctx));
    match result {
        Ok(mut record) => {
            record.seconds = t0.elapsed().as_secs_f64();
            record.write(layout)?;
            Ok(Outcome::Ran(record))
        }
        Err(e) => {
            let _ = write_atomic(&layout.failed(&point.id), format!("{e}\n").as_bytes());
            Err(e)
        }
    }
}

struct PointContext<'a> {
    spec: &'a SweepSpec,
    point: &'a Point,
    run: &'a RunDir,
    quiet: bool,
    backend: &'static str,
}

fn run_point<B: AutodiffBackend>(c: &PointContext, device: &B::Device) -> Result<PointRecord> {
    let cfg = &c.point.cfg;
    let mut record = PointRecord {
        index: c.point.index,
        id: c.point.id.clone(),
        task: cfg.task,
        seed: cfg.seed,
        axes: c
            .point
            .axes
            .iter()
            .map(|(key, value)| AxisValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        steps: c.spec.steps.clone(),
        ranges: c.spec.ranges,
        train_steps: 0,
        final_loss: None,
        eval: None,
        samples_sha256: None,
        backend: c.backend.into(),
        seconds: 0.0,
    };
    if !c.spec.runs(Step::Train) {
        return Ok(record);
    }
    let (trainer, summary) = pipeline::train_run::<B>(
        cfg,
        c.run,
        &TrainRunOptions {
            quiet: c.quiet,
            stop_at: None,
            command: format!(
                "empirical sweep run-one {} --index {}",
                c.spec.source.display(),
                c.point.index
            ),
            backend: c.backend.into(),
        },
        device,
    )?;
    record.train_steps = summary.steps;
    record.final_loss = summary.last_loss.map(|(_, l)| l);
    if !c.spec.runs(Step::Sample) {
        return Ok(record);
    }
    let model = trainer.sampling_model();
    let images = pipeline::sample_as_configured(&model, cfg, c.quiet, device);
    pipeline::write_samples(&images, &c.run.samples())?;
    let npy = c.run.samples().join("samples.npy");
    let bytes = std::fs::read(&npy).map_err(|e| Error::io(&npy, e))?;
    record.samples_sha256 = Some(
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    );
    if let Some(g) = pipeline::grid_path(&c.run.samples()) {
        pipeline::write_grid(&images, 8, &g)?;
    }
    if c.spec.runs(Step::Eval) {
        let report = pipeline::evaluate_to(cfg, &images, c.spec.ranges, &c.run.eval(), "results")?;
        record.eval = Some(PointEval::from_report(&report));
    }
    Ok(record)
}

/// Where a point stands.
#[derive(Clone, Debug, PartialEq)]
pub enum PointState {
    Done(PointRecord),
    /// Its last attempt failed with this message.
    Failed(String),
    /// Started: its newest checkpoint is at this step.
    Started(u64),
    Pending,
}

/// The state of `point` in `layout`.
pub fn state(layout: &SweepLayout, spec: &SweepSpec, point: &Point) -> PointState {
    if let Some(r) = finished(layout, spec, point) {
        return PointState::Done(r);
    }
    if let Ok(msg) = std::fs::read_to_string(layout.failed(&point.id)) {
        return PointState::Failed(msg.trim().to_string());
    }
    let run = RunDir {
        root: layout.point(&point.id),
    };
    match run.latest_checkpoint() {
        Some((step, _)) => PointState::Started(step),
        None => PointState::Pending,
    }
}

/// Options of [`run_local`].
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Points run at once.
    pub jobs: usize,
    pub device: DeviceKind,
    /// The `empirical` executable the children run.
    pub exe: PathBuf,
    /// The spec file the children read.
    pub spec_path: PathBuf,
}

/// What [`run_local`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalSummary {
    pub skipped: usize,
    pub ran: usize,
    /// (id, message) of each point that failed.
    pub failed: Vec<(String, String)>,
}

/// Run every unfinished point of `spec` as a child process `empirical sweep run-one`, `jobs`
/// at a time, each child's output in `points/<id>/log.txt`. A failed point does not stop the
/// others; it is listed in the summary. With `jobs > 1` each child gets
/// `RAYON_NUM_THREADS = cores / jobs` unless the variable is set.
pub fn run_local(
    spec: &SweepSpec,
    points: &[Point],
    layout: &SweepLayout,
    opts: &LocalOptions,
) -> Result<LocalSummary> {
    let mut summary = LocalSummary::default();
    let mut queue = VecDeque::new();
    for p in points {
        if finished(layout, spec, p).is_some() {
            summary.skipped += 1;
        } else {
            queue.push_back(p);
        }
    }
    let total = queue.len();
    let jobs = opts.jobs.max(1).min(total.max(1));
    let threads = (std::env::var_os("RAYON_NUM_THREADS").is_none() && jobs > 1).then(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / jobs).max(1)
    });
    let queue = Mutex::new(queue);
    let done = Mutex::new((0usize, Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let Some(p) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) else {
                    return;
                };
                let t0 = Instant::now();
                let r = run_child(p, layout, opts, threads);
                let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
                d.0 += 1;
                let tag = format!("[{}/{total}] point {} {}", d.0, p.index, p.id);
                match r {
                    Ok(()) => {
                        eprintln!(
                            "{tag} done in {:.1} s ({})",
                            t0.elapsed().as_secs_f64(),
                            describe(&p.axes)
                        );
                    }
                    Err(msg) => {
                        eprintln!("{tag} FAILED: {msg}");
                        d.1.push((p.id.clone(), msg));
                    }
                }
            });
        }
    });
    let (ran, failed) = done.into_inner().unwrap_or_else(|e| e.into_inner());
    summary.ran = ran - failed.len();
    summary.failed = failed;
    Ok(summary)
}

fn run_child(
    p: &Point,
    layout: &SweepLayout,
    opts: &LocalOptions,
    threads: Option<usize>,
) -> std::result::Result<(), String> {
    let dir = layout.point(&p.id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log_path = layout.log(&p.id);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&opts.exe);
    cmd.arg("sweep")
        .arg("run-one")
        .arg(&opts.spec_path)
        .arg("--out")
        .arg(&layout.root)
        .arg("--index")
        .arg(p.index.to_string())
        .arg("--device")
        .arg(device_arg(opts.device))
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t.to_string());
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", opts.exe.display()))?;
    if status.success() {
        return Ok(());
    }
    let why = std::fs::read_to_string(layout.failed(&p.id))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("exit status {status}; see {}", log_path.display()));
    Err(why)
}

/// The `--device` value of a device kind.
pub fn device_arg(d: DeviceKind) -> String {
    use clap::ValueEnum;
    d.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_else(|| "cpu".into())
}

/// Copy the spec's text to `spec.toml` in the sweep's folder (what was run, for the record).
pub fn keep_spec_copy(spec_path: &Path, layout: &SweepLayout) -> Result<()> {
    let text = std::fs::read(spec_path).map_err(|e| Error::io(spec_path, e))?;
    std::fs::create_dir_all(&layout.root).map_err(|e| Error::io(&layout.root, e))?;
    write_atomic(&layout.spec_copy(), &text)
}
