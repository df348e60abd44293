//! Steps of a run composed into commands: train (fresh or resumed), load a model from a
//! checkpoint, sample to files, evaluate, and the full per-task run that prints a Table 1 row
//! and the Table 2 DDPM column (Sec. 3.3).
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use empirical_rules::color::RangeSet;
use empirical_rules::{evaluate, EvalConfig, EvalReport, Task};
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::checkpoint::Checkpoint;
use crate::config::RunConfig;
use crate::data;
use crate::denoiser::Denoiser;
use crate::error::{Error, Result};
use crate::model::UNet;
use crate::params;
use crate::rundir::{write_atomic, RunDir, RunInfo};
use crate::sampler::{self, SamplerOptions};
use crate::schedule::Schedule;
use crate::train::{self, TrainOptions, Trainer};

/// Where shipped checkpoints live (`empirical/checkpoints/<task>.ckpt`).
pub fn shipped_checkpoint_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/checkpoints"))
}

/// Build an inference model from a checkpoint: its `ema` group (or `params` when `raw`).
pub fn model_from_checkpoint<B: Backend>(
    path: &Path,
    raw: bool,
    device: &B::Device,
) -> Result<(RunConfig, UNet<B>, u64)> {
    let ckpt = Checkpoint::load(path)?;
    let cfg = ckpt.ddpm_config(path)?;
    let mut rng = train::init_rng(cfg.seed);
    let model = UNet::<B>::new(&cfg.model, cfg.image_size, &mut rng, device);
    let (_, shapes) = params::collect(&model);
    ckpt.check_shapes(&shapes, path)?;
    let group = ckpt.require_group(if raw { "params" } else { "ema" }, path)?;
    let model = params::set(model, params::from_host::<B>(group, device));
    Ok((cfg, model, ckpt.header.step))
}

/// Sampler options of a config.
pub fn sampler_options(cfg: &RunConfig) -> SamplerOptions {
    SamplerOptions {
        method: cfg.sample.method,
        ddim_steps: cfg.sample.ddim_steps,
        ddim_eta: cfg.sample.ddim_eta,
        clip_x0: cfg.sample.clip_x0,
    }
}

/// The sampling noise stream of a sampling seed (shared by unguided and guided sampling, so that
/// guidance at scale 0 reproduces unguided samples exactly).
pub fn sampling_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ 0x5341_4d50_4c45_5f5f)
}

/// Draw `n` images with `model` in batches (seeded by `seed`), with a progress bar.
#[allow(clippy::too_many_arguments)]
pub fn sample_images<B: Backend>(
    model: &dyn Denoiser<B>,
    cfg: &RunConfig,
    n: usize,
    batch: usize,
    opts: &SamplerOptions,
    seed: u64,
    quiet: bool,
    device: &B::Device,
) -> Vec<RgbImage> {
    let sched = Schedule::from_config(&cfg.diffusion);
    let (c, s) = (cfg.model.in_channels, cfg.image_size);
    sample_images_with(
        cfg,
        n,
        batch,
        opts,
        seed,
        quiet,
        "sample",
        |nb, rng, on_step| sampler::sample(model, &sched, nb, c, s, opts, rng, device, on_step),
    )
}

/// `cfg.sample.n` images of `model` in batches of `cfg.sample.batch_size`, with `cfg`'s sampler
/// and seed (the main job's, a sweep point's and a curve milestone's samples).
pub fn sample_as_configured<B: Backend>(
    model: &dyn Denoiser<B>,
    cfg: &RunConfig,
    quiet: bool,
    device: &B::Device,
) -> Vec<RgbImage> {
    sample_images(
        model,
        cfg,
        cfg.sample.n,
        cfg.sample.batch_size,
        &sampler_options(cfg),
        cfg.seed,
        quiet,
        device,
    )
}

/// The batching, seeding and progress bar of [`sample_images`] around any batch sampler
/// `sample_batch(batch_size, rng, on_step) -> [batch, C, S, S]` (also used by guided sampling,
/// so both draw the same noise for the same seed); `label` prefixes the progress bar.
#[allow(clippy::too_many_arguments)]
pub fn sample_images_with<B: Backend>(
    cfg: &RunConfig,
    n: usize,
    batch: usize,
    opts: &SamplerOptions,
    seed: u64,
    quiet: bool,
    label: &str,
    mut sample_batch: impl FnMut(usize, &mut ChaCha8Rng, &mut dyn FnMut()) -> Tensor<B, 4>,
) -> Vec<RgbImage> {
    let batch = batch.max(1);
    let steps = sampler::step_sequence(opts, cfg.diffusion.timesteps).len() as u64;
    let batches = n.div_ceil(batch);
    let pb = if quiet {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::new(steps * batches as u64);
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{label} {{prefix}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} steps ({{per_sec}}, eta {{eta}})"
        )) {
            pb.set_style(style);
        }
        pb.set_prefix(cfg.task.to_string());
        pb
    };
    let mut rng = sampling_rng(seed);
    let s = cfg.image_size;
    let mut images = Vec::with_capacity(n);
    for b in 0..batches {
        let nb = batch.min(n - b * batch);
        let x = sample_batch(nb, &mut rng, &mut || pb.inc(1));
        let v: Vec<f32> = x.into_data().convert::<f32>().to_vec::<f32>().expect("f32");
        images.extend(empirical_rules::from_chw_f32(&v, nb, s));
    }
    pb.finish_and_clear();
    images
}

/// Write `images` as `dir/000000.png ...` and `dir/samples.npy` (N x H x W x 3 u8), each file
/// atomically. Nothing else is written into `dir` (previews go beside it, see [`grid_path`]).
pub fn write_samples(images: &[RgbImage], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let npy = npy_u8(images).map_err(|m| Error::Other(format!("{}: {m}", dir.display())))?;
    for (i, img) in images.iter().enumerate() {
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png)
            .map_err(|e| Error::Other(e.to_string()))?;
        write_atomic(&dir.join(format!("{i:06}.png")), buf.get_ref())?;
    }
    write_atomic(&dir.join("samples.npy"), &npy)
}

/// Write images (all the same size) as one `N x H x W x 3` `u8` `.npy` at `path`, atomically.
pub fn write_npy_u8(path: &Path, images: &[RgbImage]) -> Result<()> {
    let npy = npy_u8(images).map_err(|m| Error::Other(format!("{}: {m}", path.display())))?;
    write_atomic(path, &npy)
}

/// The bytes of a `.npy` (format 1.0, `|u1`, C order) holding `images` as N x H x W x 3.
pub fn npy_u8(images: &[RgbImage]) -> std::result::Result<Vec<u8>, String> {
    let (w, h) = images.first().map(|i| i.dimensions()).unwrap_or((0, 0));
    if images.iter().any(|i| i.dimensions() != (w, h)) {
        return Err("images of different sizes cannot share one .npy".into());
    }
    let mut header = format!(
        "{{'descr': '|u1', 'fortran_order': False, 'shape': ({}, {h}, {w}, 3), }}",
        images.len()
    );
    // magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let hlen = u16::try_from(header.len()).map_err(|_| "npy header too long".to_string())?;
    let mut out = Vec::with_capacity(10 + header.len() + images.len() * (w * h * 3) as usize);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for img in images {
        out.extend_from_slice(img.as_raw());
    }
    Ok(out)
}

/// Where the preview grid of the samples folder `dir` goes: beside it, as
/// `<parent>/<folder name>_grid.png` (e.g. `RUN/samples_grid.png` for `RUN/samples`), so that
/// the folder holds only the samples. `None` when `dir` has no folder name (e.g. `/`).
pub fn grid_path(dir: &Path) -> Option<PathBuf> {
    let named = |d: &Path| -> Option<PathBuf> {
        let name = d.file_name()?.to_string_lossy().into_owned();
        let parent = d.parent().unwrap_or(Path::new(""));
        Some(parent.join(format!("{name}_grid.png")))
    };
    if let Some(p) = named(dir) {
        return Some(p);
    }
    // `.` or `..`: name the folder by its canonical path
    std::fs::canonicalize(dir).ok().and_then(|d| named(&d))
}

/// A grid image of the first `cols * cols` images (a quick visual check).
pub fn write_grid(images: &[RgbImage], cols: usize, path: &Path) -> Result<()> {
    let Some(first) = images.first() else {
        return Ok(());
    };
    let (w, h) = first.dimensions();
    let k = images.len().min(cols * cols);
    let rows = k.div_ceil(cols);
    let pad = 2;
    let mut grid = RgbImage::from_pixel(
        cols as u32 * (w + pad) + pad,
        rows as u32 * (h + pad) + pad,
        image::Rgb([255, 255, 255]),
    );
    for (i, img) in images.iter().take(k).enumerate() {
        let x0 = pad + (i % cols) as u32 * (w + pad);
        let y0 = pad + (i / cols) as u32 * (h + pad);
        image::imageops::replace(&mut grid, img, x0 as i64, y0 as i64);
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    grid.write_to(&mut buf, image::ImageFormat::Png)
        .map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(path, buf.get_ref())
}

/// The evaluator settings of [`evaluate_to`]: the defaults with the colour ranges `ranges`.
pub fn eval_config(ranges: RangeSet) -> EvalConfig {
    EvalConfig {
        ranges,
        ..EvalConfig::default()
    }
}

/// Evaluate images of `cfg.task` and write `dir/<stem>.json` (an EvalReport) and
/// `dir/<stem>_per_image.csv` (`results.json` / `per_image.csv` for stem "results").
pub fn evaluate_to(
    cfg: &RunConfig,
    images: &[RgbImage],
    ranges: RangeSet,
    dir: &Path,
    stem: &str,
) -> Result<EvalReport> {
    let task = data::task_of(cfg)?;
    let report =
        evaluate(task, images, &eval_config(ranges)).map_err(|e| Error::Rules(e.to_string()))?;
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&dir.join(format!("{stem}.json")), &json)?;
    let csv_name = if stem == "results" {
        "per_image.csv".to_string()
    } else {
        format!("{stem}_per_image.csv")
    };
    empirical_rules::cli::write_per_image_csv(&report, &dir.join(csv_name))
        .map_err(|e| Error::Rules(e.to_string()))?;
    Ok(report)
}

/// Check a warm-start checkpoint (`train.init_from`) without training: it must load, be a
/// DDPM checkpoint, and fit `cfg`'s model (model config, image size, parameter shapes).
/// Nothing to check when `train.init_from` is empty.
pub fn check_init_from(cfg: &RunConfig) -> Result<()> {
    if cfg.train.init_from.is_empty() {
        return Ok(());
    }
    let p = PathBuf::from(&cfg.train.init_from);
    crate::checkpoint::expect_kind(&p, crate::checkpoint::CheckpointKind::Ddpm)?;
    let ckpt = Checkpoint::load(&p)?;
    let src = ckpt.ddpm_config(&p)?;
    if src.model != cfg.model || src.image_size != cfg.image_size {
        return Err(Error::Checkpoint {
            path: p,
            message: format!(
                "train.init_from: its model config or image size ({} px) differs from this \
                 run's ({} px, preset `{}`)",
                src.image_size, cfg.image_size, cfg.preset
            ),
        });
    }
    let device = Default::default();
    let model = UNet::<crate::backend::Cpu>::new(
        &cfg.model,
        cfg.image_size,
        &mut train::init_rng(cfg.seed),
        &device,
    );
    let (_, shapes) = params::collect(&model);
    ckpt.check_shapes(&shapes, &p)?;
    if ckpt.group("params").is_none() {
        ckpt.require_group("ema", &p)?;
    }
    Ok(())
}

/// Options of [`train_run`].
#[derive(Clone, Debug, Default)]
pub struct TrainRunOptions {
    pub quiet: bool,
    pub stop_at: Option<u64>,
    pub command: String,
    pub backend: String,
}

/// Train `cfg` in run directory `run` (resuming from its newest checkpoint if one exists);
/// returns the trainer (for its EMA model) and a summary.
pub fn train_run<B: AutodiffBackend>(
    cfg: &RunConfig,
    run: &RunDir,
    opts: &TrainRunOptions,
    device: &B::Device,
) -> Result<(Trainer<B>, train::TrainSummary)> {
    let images = data::training_images(cfg, Some(&run.data()))?;
    let flat = data::to_tensor_data(&images);
    let latest = run.latest_checkpoint();
    let resuming = latest.is_some();
    let mut trainer = match latest {
        Some((_, p)) => {
            let ckpt = Checkpoint::load(&p)?;
            let mut t = Trainer::<B>::from_checkpoint(&ckpt, &p, device)?;
            // only the stopping point may change on resume (`train --resume DIR --max-steps N`)
            let mut same = t.cfg.clone();
            same.train.max_steps = cfg.train.max_steps;
            same.train.epochs = cfg.train.epochs;
            if same != *cfg {
                return Err(Error::Other(format!(
                    "checkpoint {} was written with a different config than {} \
                     (only train.max_steps and train.epochs may change on resume)",
                    p.display(),
                    run.config_path().display()
                )));
            }
            t.cfg = cfg.clone();
            if !opts.quiet {
                eprintln!("resuming from {} (step {})", p.display(), t.step());
            }
            t
        }
        None => {
            let mut t = Trainer::<B>::new(cfg, device);
            if !cfg.train.init_from.is_empty() {
                let p = PathBuf::from(&cfg.train.init_from);
                t.warm_start(&Checkpoint::load(&p)?, &p)?;
                if !opts.quiet {
                    eprintln!("warm start from {}", p.display());
                }
            }
            t
        }
    };
    run.write_config(cfg)?;
    let info = RunInfo::new(cfg, &opts.backend, trainer.num_params(), &opts.command);
    let info = if resuming {
        info.resumed_from(run.read_info())
    } else {
        info
    };
    run.write_info(&info)?;
    if !opts.quiet {
        eprintln!(
            "task {}: {} parameters, {} training images, stopping at {} steps ({})",
            cfg.task,
            trainer.num_params(),
            images.len(),
            train::total_steps(cfg, images.len()),
            train::stop_reason(cfg, images.len())
        );
    }
    let summary = train::train(
        &mut trainer,
        run,
        &flat,
        images.len(),
        &TrainOptions {
            quiet: opts.quiet,
            stop_at: opts.stop_at,
        },
    )?;
    Ok((trainer, summary))
}

/// One task's line of the main job's tables.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskRow {
    pub task: Task,
    pub n_samples: usize,
    pub invalid_pct: f64,
    pub coarse_violations: usize,
    pub n_valid: usize,
    /// Coarse violations and valid images under the "premise resolved" reading (Task A: sun
    /// at least `EvalConfig::coarse_min_premise_px` off the pole axis).
    #[serde(default)]
    pub coarse_resolved: Option<(usize, usize)>,
    pub error: Option<f64>,
    pub r_squared: Option<f64>,
    pub train_error: Option<f64>,
    pub train_r_squared: Option<f64>,
    pub model_source: String,
    pub train_steps: u64,
    pub seconds: f64,
}

/// Options of [`run_task`].
#[derive(Clone, Debug)]
pub struct RunTaskOptions {
    pub retrain: bool,
    pub checkpoint_dir: PathBuf,
    pub quiet: bool,
    pub backend: String,
    pub command: String,
}

/// The full pipeline for one task in run directory `root`: data, train or load, sample,
/// evaluate samples and (a subset of equal size of) the training data.
pub fn run_task<B: AutodiffBackend>(
    cfg: &RunConfig,
    root: &Path,
    opts: &RunTaskOptions,
    device: &B::Device,
) -> Result<TaskRow> {
    let t0 = Instant::now();
    let run = RunDir::create(root)?;
    let shipped = opts.checkpoint_dir.join(format!("{}.ckpt", cfg.task));
    let (model, source, steps, model_cfg) = if !opts.retrain && shipped.is_file() {
        let (ccfg, model, step) =
            model_from_checkpoint::<B::InnerBackend>(&shipped, false, device)?;
        if ccfg.model != cfg.model
            || ccfg.image_size != cfg.image_size
            || ccfg.diffusion != cfg.diffusion
        {
            return Err(Error::Other(format!(
                "shipped checkpoint {} has a different model/diffusion config than preset `{}`; \
                 use --retrain or --checkpoint-dir",
                shipped.display(),
                cfg.preset
            )));
        }
        let mut merged = ccfg.clone();
        merged.sample = cfg.sample.clone();
        run.write_config(&merged)?;
        run.write_info(&RunInfo::new(
            cfg,
            &opts.backend,
            burn::module::Module::num_params(&model),
            &opts.command,
        ))?;
        (
            model,
            format!("shipped {}", shipped.display()),
            step,
            merged,
        )
    } else {
        if !opts.retrain && !opts.quiet {
            eprintln!(
                "no shipped checkpoint {} - training from scratch (slow on the CPU)",
                shipped.display()
            );
        }
        let (trainer, summary) = train_run::<B>(
            cfg,
            &run,
            &TrainRunOptions {
                quiet: opts.quiet,
                stop_at: None,
                command: opts.command.clone(),
                backend: opts.backend.clone(),
            },
            device,
        )?;
        let model = trainer.sampling_model();
        (
            model,
            "trained in this run".to_string(),
            summary.steps,
            cfg.clone(),
        )
    };
    let sopts = sampler_options(cfg);
    let images = sample_images(
        &model,
        &model_cfg,
        cfg.sample.n,
        cfg.sample.batch_size,
        &sopts,
        cfg.seed,
        opts.quiet,
        device,
    );
    write_samples(&images, &run.samples())?;
    if let Some(g) = grid_path(&run.samples()) {
        write_grid(&images, 8, &g)?;
    }
    let report = evaluate_to(cfg, &images, RangeSet::Loose, &run.eval(), "results")?;
    // the training data's own fit, on as many training images as samples (Fig. 3)
    let mut tcfg = cfg.clone();
    tcfg.data.n_train = cfg.sample.n.min(cfg.data.n_train);
    let train_imgs = data::training_images(&tcfg, Some(&run.data()))?;
    write_grid(&train_imgs, 8, &run.root.join("train_grid.png"))?;
    let treport = evaluate_to(
        cfg,
        &train_imgs,
        RangeSet::Strict,
        &run.eval(),
        "train_results",
    )?;
    let s = &report.summary;
    let row = TaskRow {
        task: cfg.task,
        n_samples: s.n,
        invalid_pct: s.invalid_pct,
        coarse_violations: s.coarse_violations,
        n_valid: s.n_valid,
        coarse_resolved: s.coarse_resolved.map(|c| (c.violations, c.n)),
        error: s.eq4.as_ref().map(|e| e.total),
        r_squared: s.eq4.as_ref().map(|e| e.fit.r_squared),
        train_error: treport.summary.eq4.as_ref().map(|e| e.total),
        train_r_squared: treport.summary.eq4.as_ref().map(|e| e.fit.r_squared),
        model_source: source,
        train_steps: steps,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok(row)
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.prec$}"))
}

/// The main job's printed tables (Table 1 row and Table 2 DDPM column per task). Coarse
/// violations are printed as "violations / valid images", plainly and under the "premise
/// resolved" reading (Task A: sun at least 1 px off the pole axis; the same images for B-D).
pub fn format_table(rows: &[TaskRow]) -> String {
    let mut s = String::new();
    s.push_str("Table 1 (DDPM samples)                                       | Table 2, DDPM column   | training data (Fig. 3)\n");
    s.push_str(
        "Task | samples | Invalid (%) | Coarse viol. | premise >= 1 px | Error (Eq. 4) |   R^2   | Error   |   R^2\n",
    );
    s.push_str("-----+---------+-------------+--------------+-----------------+---------------+---------+---------+--------\n");
    for r in rows {
        let resolved = r
            .coarse_resolved
            .map_or("-".into(), |(v, n)| format!("{v} / {n}"));
        s.push_str(&format!(
            "  {}  | {:>7} | {:>11.2} | {:>12} | {:>15} | {:>13} | {:>7} | {:>7} | {:>7}\n",
            r.task,
            r.n_samples,
            r.invalid_pct,
            format!("{} / {}", r.coarse_violations, r.n_valid),
            resolved,
            opt(r.error, 4),
            opt(r.r_squared, 3),
            opt(r.train_error, 4),
            opt(r.train_r_squared, 3),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(task: Task, resolved: Option<(usize, usize)>) -> TaskRow {
        TaskRow {
            task: task.into(),
            n_samples: 300,
            invalid_pct: 1.0,
            coarse_violations: 33,
            n_valid: 297,
            coarse_resolved: resolved,
            error: Some(0.3383),
            r_squared: None,
            train_error: Some(0.0022),
            train_r_squared: Some(1.0),
            model_source: "test".into(),
            train_steps: 1,
            seconds: 0.0,
        }
    }

    #[test]
    fn table_prints_both_coarse_readings_as_violations_of_valid() {
        let t = format_table(&[row(Task::A, Some((23, 276))), row(Task::B, None)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5, "{t}");
        let cells: Vec<&str> = lines[3].split('|').map(str::trim).collect();
        assert_eq!(
            cells[..6],
            ["A", "300", "1.00", "33 / 297", "23 / 276", "0.3383"]
        );
        assert_eq!(cells[6], "-");
        let cells: Vec<&str> = lines[4].split('|').map(str::trim).collect();
        assert_eq!(cells[4], "-");
        // every line of the table body has the header's column boundaries
        let bars = |l: &str| l.match_indices('|').map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(bars(lines[1]), bars(lines[3]));
        assert_eq!(bars(lines[1]), bars(lines[4]));
    }
}
