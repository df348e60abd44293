//! `empirical sample`: DDPM or DDIM samples of a run or checkpoint, optionally
//! classifier-guided (Sec. 5, App. G.1), as PNGs and samples.npy.
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::classifier_file;
use crate::backend::{with_backend, DeviceKind};
use crate::config::SampleMethod;
use crate::error::{Error, Result};
use crate::guidance::{GuidanceOptions, GuidanceSchedule, GuidanceScheduleKind};
use crate::pipeline;
use crate::rundir::RunDir;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A run directory (uses its newest checkpoint) ...
    #[arg(long, conflicts_with = "checkpoint")]
    pub run: Option<PathBuf>,
    /// ... or a checkpoint file.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Number of samples [default: the config's sample.n].
    #[arg(long)]
    pub n: Option<usize>,
    /// Sampler [default: the config's].
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// DDIM steps [default: the config's].
    #[arg(long)]
    pub steps: Option<usize>,
    /// DDIM eta (0 = deterministic, 1 = DDPM-like noise) [default: the config's].
    #[arg(long)]
    pub eta: Option<f64>,
    /// Clip the predicted x_0 inside DDIM steps [default: the config's].
    #[arg(long)]
    pub clip_x0: Option<bool>,
    /// Batch size [default: the config's].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Classifier guidance (Sec. 5): `--guidance CKPT --scale 7 --schedule piecewise`.
    #[command(flatten)]
    pub guidance: GuidanceArgs,
    /// Output folder of the samples (NNNNNN.png and samples.npy only) [default: <run>/samples
    /// or ./samples]; the preview grid goes beside it, as <out>_grid.png.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    Ddpm,
    Ddim,
}

/// Guidance flags of `empirical sample` (Sec. 5, App. G.1).
#[derive(Debug, Clone, clap::Args)]
pub struct GuidanceArgs {
    /// Noisy classifier checkpoint f_theta(x_t, t) to guide with (no guidance when absent).
    #[arg(long = "guidance", value_name = "CKPT")]
    pub guidance: Option<PathBuf>,
    /// Gradient scale c (paper: 7 for Tasks A/C, 10 for B/D).
    #[arg(long, default_value_t = 7.0)]
    pub scale: f64,
    /// Weight schedule: `constant` (w = c every step) or `piecewise` (final steps only, rising
    /// linearly to c).
    #[arg(long, value_enum, default_value_t = GuidanceScheduleKind::Constant)]
    pub schedule: GuidanceScheduleKind,
    /// Length of the piecewise window (final denoising steps).
    #[arg(long, default_value_t = 20)]
    pub guidance_last_steps: usize,
    /// Class to guide toward (1 = follows the fine rule).
    #[arg(long, default_value_t = 1)]
    pub guidance_class: usize,
}

impl GuidanceArgs {
    /// The validated options these flags describe (errors name the offending flag).
    pub fn options(&self) -> Result<GuidanceOptions> {
        if self.schedule == GuidanceScheduleKind::Piecewise && self.guidance_last_steps == 0 {
            return Err(Error::config(
                "guidance-last-steps",
                "must be at least 1".to_string(),
            ));
        }
        let o = GuidanceOptions {
            scale: self.scale,
            schedule: GuidanceSchedule::from_kind(self.schedule, self.guidance_last_steps),
            class: self.guidance_class,
        };
        o.validate()?;
        Ok(o)
    }
}

pub(super) fn cmd_sample(a: &SampleArgs) -> Result<()> {
    let (ckpt, default_out) = match (&a.run, &a.checkpoint) {
        (Some(run), _) => {
            if let Ok(text) = std::fs::read_to_string(run.join("config.toml")) {
                use crate::checkpoint::CheckpointKind;
                if CheckpointKind::of_config(&text) == CheckpointKind::Classifier {
                    return Err(Error::Checkpoint {
                        path: run.clone(),
                        message: "this is a classifier run directory, not a DDPM run; pass it \
                                  as `--guidance` (a DDPM run comes from `empirical train`)"
                            .into(),
                    });
                }
            }
            let r = RunDir::open(run)?;
            let (_, p) = r.latest_checkpoint().ok_or_else(|| {
                Error::Other(format!("run {} has no checkpoint yet", run.display()))
            })?;
            (p, r.samples())
        }
        (None, Some(p)) => (p.clone(), PathBuf::from("samples")),
        (None, None) => {
            return Err(Error::Other(
                "give --run RUN_DIR or --checkpoint FILE".into(),
            ))
        }
    };
    crate::checkpoint::expect_kind(&ckpt, crate::checkpoint::CheckpointKind::Ddpm)?;
    if let Some(g) = &a.guidance.guidance {
        classifier_file(g)?;
    }
    let out = a.out.clone().unwrap_or(default_out);
    with_backend!(a.device, sample_cmd(a, &ckpt, &out))
}

fn sample_cmd<B: burn::tensor::backend::AutodiffBackend>(
    a: &SampleArgs,
    ckpt: &Path,
    out: &Path,
    device: &B::Device,
) -> Result<()> {
    let (mut cfg, model, step) =
        pipeline::model_from_checkpoint::<B::InnerBackend>(ckpt, a.raw, device)?;
    if let Some(m) = a.method {
        cfg.sample.method = match m {
            MethodArg::Ddpm => SampleMethod::Ddpm,
            MethodArg::Ddim => SampleMethod::Ddim,
        };
    }
    if let Some(s) = a.steps {
        cfg.sample.ddim_steps = s;
    }
    if let Some(e) = a.eta {
        cfg.sample.ddim_eta = e;
    }
    if let Some(c) = a.clip_x0 {
        cfg.sample.clip_x0 = c;
    }
    if let Some(n) = a.n {
        cfg.sample.n = n;
    }
    if let Some(b) = a.batch {
        cfg.sample.batch_size = b;
    }
    cfg.validate()?;
    let t0 = Instant::now();
    let opts = pipeline::sampler_options(&cfg);
    let guidance = a.guidance.options()?;
    let images = match &a.guidance.guidance {
        None => pipeline::sample_images(
            &model,
            &cfg,
            cfg.sample.n,
            cfg.sample.batch_size,
            &opts,
            a.seed,
            a.quiet,
            device,
        ),
        Some(path) => {
            let path = &classifier_file(path)?;
            let (ccfg, clf) = crate::classifier::train::load_classifier::<B>(path, device)?;
            if !ccfg.noisy {
                return Err(Error::Other(format!(
                    "{} is a clean-image classifier; guidance needs a noise-aware one \
                     (`empirical classifier train --noisy`)",
                    path.display()
                )));
            }
            if ccfg.task != cfg.task {
                return Err(Error::Other(format!(
                    "classifier {} is for task {}, the DDPM for task {}",
                    path.display(),
                    ccfg.task,
                    cfg.task
                )));
            }
            eprintln!("guidance: {}", guidance.describe());
            crate::guidance::sample_images_guided::<B::InnerBackend, B, _>(
                &model,
                &clf,
                &cfg,
                cfg.sample.n,
                cfg.sample.batch_size,
                &opts,
                &guidance,
                a.seed,
                a.quiet,
                device,
            )
        }
    };
    pipeline::write_samples(&images, out)?;
    // the preview is a convenience: failing to write it beside the folder only warns
    let grid = pipeline::grid_path(out).filter(|g| match pipeline::write_grid(&images, 8, g) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("warning: no preview grid: {e}");
            false
        }
    });
    println!(
        "{} samples of task {} (checkpoint step {step}, {:?}) in {:.1} s -> {}{}",
        images.len(),
        cfg.task,
        cfg.sample.method,
        t0.elapsed().as_secs_f64(),
        out.display(),
        grid.map_or(String::new(), |g| format!(" (preview {})", g.display()))
    );
    Ok(())
}
