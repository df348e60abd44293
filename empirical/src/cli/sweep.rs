//! `empirical sweep`: plan, run (locally or one point), status, collect, and a Slurm script.
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

use crate::backend::DeviceKind;
use crate::error::{Error, Result};
use crate::sweep::exec::{keep_spec_copy, state};
use crate::sweep::plan::describe;
use crate::sweep::slurm::{sbatch_script, SlurmOptions};
use crate::sweep::{self, LocalOptions, Outcome, PointState, SweepLayout, SweepSpec};

/// Sweep commands.
#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// List the points of a spec with their ids (checks the whole spec; does no work).
    Plan(SpecArgs),
    /// Run every unfinished point, `--jobs` at a time (skips finished points, resumes
    /// interrupted ones; a failed point does not stop the others).
    Run(RunArgs),
    /// Run one point (what each Slurm array element runs).
    RunOne(RunOneArgs),
    /// Where each point stands: done, failed, started (checkpoint step) or pending.
    Status(SpecArgs),
    /// One table of every finished point (`sweep.csv`, `sweep.json` in the sweep's folder).
    Collect(SpecArgs),
    /// Write an sbatch job-array script of the unfinished points.
    Slurm(SlurmArgs),
}

/// The spec and the sweep's folder.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Sweep spec (TOML).
    pub spec: PathBuf,
    /// The sweep's folder (default `runs/sweeps/<name>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Points run at once (each as its own process).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

#[derive(Debug, Args)]
pub struct RunOneArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// The point's index (`sweep plan` lists them).
    #[arg(long)]
    pub index: usize,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Partition (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Wall-clock limit per point.
    #[arg(long, default_value = "24:00:00")]
    pub time: String,
    /// CPUs per point (also its RAYON_NUM_THREADS).
    #[arg(long, default_value_t = 2)]
    pub cpus: usize,
    /// GPUs per point (`--gres gpu:N`).
    #[arg(long, default_value_t = 0)]
    pub gpus: usize,
    /// Memory per point (e.g. 8G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Most points running at once.
    #[arg(long)]
    pub max_parallel: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// The `empirical` executable the jobs run (default: this one; on a cluster it must be on
    /// a file system every node reads).
    #[arg(long)]
    pub exe: Option<PathBuf>,
    /// An extra `#SBATCH` option (repeatable), e.g. `--sbatch=--account=myproject`.
    #[arg(long = "sbatch")]
    pub extra: Vec<String>,
    /// Where to write the script (default `<sweep folder>/slurm/<name>.sbatch`).
    #[arg(long)]
    pub script: Option<PathBuf>,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

fn load(a: &SpecArgs) -> Result<(SweepSpec, Vec<sweep::Point>, SweepLayout)> {
    let spec = SweepSpec::from_file(&a.spec)?;
    let points = sweep::plan(&spec)?;
    let root = a
        .out
        .clone()
        .unwrap_or_else(|| SweepLayout::default_root(&spec.name));
    Ok((spec, points, SweepLayout::new(root)))
}

fn current_exe() -> Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot locate the running executable: {e}")))
}

/// Run a sweep command.
pub fn run(cmd: &SweepCommand) -> Result<()> {
    match cmd {
        SweepCommand::Plan(a) => {
            let (spec, points, layout) = load(a)?;
            println!(
                "sweep `{}`: {} points ({} of {} axes), steps {}, folder {}",
                spec.name,
                points.len(),
                spec.combine.name(),
                spec.axes.len(),
                spec.steps
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join("+"),
                layout.root.display()
            );
            let mut out = String::new();
            for p in &points {
                out.push_str(&format!(
                    "{:>5}  {}  {}\n",
                    p.index,
                    p.id,
                    describe(&p.axes)
                ));
            }
            print!("{out}");
            Ok(())
        }
        SweepCommand::Run(a) => {
            let (spec, points, layout) = load(&a.spec)?;
            crate::backend::probe(a.device)?;
            keep_spec_copy(&a.spec.spec, &layout)?;
            let s = sweep::run_local(
                &spec,
                &points,
                &layout,
                &LocalOptions {
                    jobs: a.jobs,
                    device: a.device,
                    exe: current_exe()?,
                    spec_path: absolute(&a.spec.spec)?,
                },
            )?;
            println!(
                "sweep `{}`: {} points ran, {} already done, {} failed (folder {})",
                spec.name,
                s.ran,
                s.skipped,
                s.failed.len(),
                layout.root.display()
            );
            if s.failed.is_empty() {
                Ok(())
            } else {
                Err(Error::Other(format!(
                    "{} of {} points failed: {}",
                    s.failed.len(),
                    points.len(),
                    s.failed
                        .iter()
                        .map(|(id, m)| format!("{id} ({m})"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )))
            }
        }
        SweepCommand::RunOne(a) => {
            let (spec, points, layout) = load(&a.spec)?;
            crate::backend::probe(a.device)?;
            match sweep::run_one(&spec, &points, &layout, a.index, a.device, a.quiet)? {
                Outcome::Skipped(r) => println!("point {} {} already done", r.index, r.id),
                Outcome::Ran(r) => println!(
                    "point {} {} done in {:.1} s: {}",
                    r.index,
                    r.id,
                    r.seconds,
                    layout.point(&r.id).display()
                ),
            }
            Ok(())
        }
        SweepCommand::Status(a) => {
            let (spec, points, layout) = load(a)?;
            let mut counts = [0usize; 4];
            for p in &points {
                let (i, what) = match state(&layout, &spec, p) {
                    PointState::Done(r) => (0, format!("done ({} steps)", r.train_steps)),
                    PointState::Failed(m) => (1, format!("failed: {m}")),
                    PointState::Started(step) => {
                        (2, format!("started (checkpoint at step {step})"))
                    }
                    PointState::Pending => (3, "pending".into()),
                };
                counts[i] += 1;
                println!(
                    "{:>5}  {}  {:<40}  {}",
                    p.index,
                    p.id,
                    describe(&p.axes),
                    what
                );
            }
            println!(
                "sweep `{}`: {} points: {} done, {} failed, {} started, {} pending",
                spec.name,
                points.len(),
                counts[0],
                counts[1],
                counts[2],
                counts[3]
            );
            Ok(())
        }
        SweepCommand::Collect(a) => {
            let (spec, points, layout) = load(a)?;
            let table = sweep::collect(&spec, &points, &layout);
            if table.points.is_empty() {
                return Err(Error::Other(format!(
                    "sweep `{}`: none of its {} points is finished in {}",
                    spec.name,
                    points.len(),
                    layout.root.display()
                )));
            }
            table.write(&layout)?;
            print!("{}", table.to_text());
            if !table.unfinished.is_empty() {
                eprintln!(
                    "warning: {} of {} points not finished yet (not in the table)",
                    table.unfinished.len(),
                    points.len()
                );
            }
            println!(
                "wrote {} and {}",
                layout.csv().display(),
                layout.json().display()
            );
            Ok(())
        }
        SweepCommand::Slurm(a) => {
            let (spec, points, layout) = load(&a.spec)?;
            let layout = SweepLayout::new(absolute(&layout.root)?);
            let todo: Vec<usize> = points
                .iter()
                .filter(|p| sweep::record::finished(&layout, &spec, p).is_none())
                .map(|p| p.index)
                .collect();
            if todo.is_empty() {
                println!(
                    "sweep `{}`: all {} points are done; nothing to submit",
                    spec.name,
                    points.len()
                );
                return Ok(());
            }
            let o = SlurmOptions {
                partition: a.partition.clone(),
                time: a.time.clone(),
                cpus: a.cpus,
                gpus: a.gpus,
                mem: a.mem.clone(),
                max_parallel: a.max_parallel,
                device: a.device,
                exe: match &a.exe {
                    Some(e) => absolute(e)?,
                    None => current_exe()?,
                },
                extra: a.extra.clone(),
            };
            let text = sbatch_script(
                &spec.name,
                &absolute(&a.spec.spec)?,
                &layout,
                points.len(),
                &todo,
                &o,
            );
            let script = a
                .script
                .clone()
                .unwrap_or_else(|| layout.sbatch_script(&spec.name));
            std::fs::create_dir_all(layout.slurm()).map_err(|e| Error::io(layout.slurm(), e))?;
            if let Some(dir) = script.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            keep_spec_copy(&a.spec.spec, &layout)?;
            crate::rundir::write_atomic(&script, text.as_bytes())?;
            println!(
                "wrote {} ({} of {} points); submit with: sbatch {}",
                script.display(),
                todo.len(),
                points.len(),
                script.display()
            );
            Ok(())
        }
    }
}
