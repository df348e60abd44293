//! Section 5's mitigation study for one task and seed as one resumable run directory
//! (`<runs>/<task>-s<seed>/`), the layout [`crate::table2`] and the bridge read:
//!
//! | stage | output | skipped when present |
//! |---|---|---|
//! | DDPM samples (shipped or given checkpoint) | `samples/`, `eval/results.json` | `eval/results.json` |
//! | noisy classifier f(x_t, t) (Eq. 3, App. G.1) | `classifier-guidance/` | its `eval.json` |
//! | guided samples (Dhariwal & Nichol) | `guided/samples/`, `guided/eval/results.json` | `guided/eval/results.json` |
//! | clean classifier (App. G.2) | `classifier-filter-<arch>/` | its `eval.json` |
//! | filtered DDPM samples | `filtered/` (`filter.json`, `eval/results.json`) | `filtered/eval/results.json` |
//!
//! Classifier training resumes from its newest checkpoint, so a killed study continues where it
//! stopped. Every stage is seeded from the study's seed.
use burn::tensor::backend::AutodiffBackend;
use empirical_rules::color::RangeSet;
use empirical_rules::{RunLayout, Task};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::classifier::{self, config::Arch};
use crate::config::{Preset, RunConfig, SampleConfig, SampleMethod};
use crate::error::{Error, Result};
use crate::guidance::{self, GuidanceOptions};
use crate::pipeline;
use crate::rundir::write_atomic;

/// Options of one mitigation study.
#[derive(Clone, Debug)]
pub struct MitigationOptions {
    /// Task (App. C).
    pub task: Task,
    /// Seed of sampling and classifier training.
    pub seed: u64,
    /// Run directory of this task and seed.
    pub root: PathBuf,
    /// DDPM checkpoint to sample from (weights-only or training checkpoint).
    pub ddpm_checkpoint: PathBuf,
    /// Which sampler settings the DDPM and guided samples use.
    pub sampler: SamplerSource,
    /// Samples per sampler (DDPM and guided); the filtered set is a subset of the DDPM samples.
    pub n: usize,
    /// Sampling batch size.
    pub batch: usize,
    /// Classifier preset.
    pub classifier_preset: Preset,
    /// TOML overlay on the classifier preset (both classifiers; unknown keys rejected).
    pub classifier_config: Option<PathBuf>,
    /// Architecture of the noisy classifier (`unet` in the paper, `mlp` the cheap option).
    pub guidance_arch: Arch,
    /// Architecture of the clean filtering classifier.
    pub filter_arch: Arch,
    /// Use this trained noisy classifier instead of training one.
    pub guidance_classifier: Option<PathBuf>,
    /// Use this trained clean classifier instead of training one.
    pub filter_classifier: Option<PathBuf>,
    /// Guidance scale and schedule.
    pub guidance: GuidanceOptions,
    pub quiet: bool,
}

/// Where a study takes its sampler settings (method, steps, η) from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SamplerSource {
    /// The current preset of the checkpoint's `preset` (what the main job samples with, so
    /// Table 2's DDPM column and Table 1 come from the same sampler).
    #[default]
    Preset,
    /// The `[sample]` section stored in the checkpoint (the sampler of the preset when it was
    /// trained).
    Checkpoint,
    /// The paper's sampler (Sec. 3.3, App. D.1): ancestral DDPM over all T steps,
    /// sigma_t^2 = beta_t, with the preset's other sample settings.
    Ancestral,
}

impl SamplerSource {
    /// The `[sample]` settings this source gives a checkpoint of config `stored`.
    pub fn sample_config(self, stored: &RunConfig) -> Result<SampleConfig> {
        Ok(match self {
            SamplerSource::Preset => RunConfig::preset(stored.preset, stored.task)?.sample,
            SamplerSource::Ancestral => SampleConfig {
                method: SampleMethod::Ddpm,
                ..RunConfig::preset(stored.preset, stored.task)?.sample
            },
            SamplerSource::Checkpoint => stored.sample.clone(),
        })
    }
}

/// What one study produced (also written to `mitigation.json`).
#[derive(Clone, Debug, Serialize)]
pub struct MitigationSummary {
    pub task: Task,
    pub seed: u64,
    pub ddpm_checkpoint: PathBuf,
    pub guidance_classifier: PathBuf,
    pub filter_classifier: PathBuf,
    pub guidance: String,
    /// Seconds spent per stage in this call (0 for stages found done).
    pub seconds: Vec<(String, f64)>,
}

fn log(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("{msg}");
    }
}

/// Train (or resume) a classifier of `arch` into `dir` unless it is done; returns the path to
/// load it from.
fn ensure_classifier(
    o: &MitigationOptions,
    arch: Arch,
    noisy: bool,
    dir: &Path,
) -> Result<PathBuf> {
    if dir.join("eval.json").is_file() {
        log(
            o.quiet,
            &format!("classifier {} done, reusing", dir.display()),
        );
        return Ok(dir.to_path_buf());
    }
    let mut cfg = classifier_config(o, arch, noisy)?;
    cfg.seed = o.seed;
    let resume = dir.join("config.toml").is_file();
    log(
        o.quiet,
        &format!(
            "training {} classifier ({arch}) -> {}",
            if noisy { "noisy" } else { "clean" },
            dir.display()
        ),
    );
    classifier::train::train_classifier(&cfg, dir, resume, o.quiet)?;
    Ok(dir.to_path_buf())
}

/// The classifier config of a study: preset, overlaid by `classifier_config` when given.
pub fn classifier_config(
    o: &MitigationOptions,
    arch: Arch,
    noisy: bool,
) -> Result<classifier::config::ClassifierConfig> {
    use classifier::config::ClassifierConfig;
    match &o.classifier_config {
        Some(p) => ClassifierConfig::from_file(o.classifier_preset, o.task, arch, noisy, p),
        None => ClassifierConfig::preset(o.classifier_preset, o.task, arch, noisy),
    }
}

/// Run (or finish) the study described by `o` on the autodiff backend `B`.
pub fn run_mitigation<B: AutodiffBackend>(
    o: &MitigationOptions,
    device: &B::Device,
) -> Result<MitigationSummary> {
    if o.n == 0 || o.batch == 0 {
        return Err(Error::config(
            "n",
            "sample count and batch must be positive",
        ));
    }
    std::fs::create_dir_all(&o.root).map_err(|e| Error::io(&o.root, e))?;
    let mut seconds = Vec::new();
    let (mut cfg, model, step) =
        pipeline::model_from_checkpoint::<B::InnerBackend>(&o.ddpm_checkpoint, false, device)?;
    if cfg.task != o.task {
        return Err(Error::Other(format!(
            "checkpoint {} is for task {}, not {}",
            o.ddpm_checkpoint.display(),
            cfg.task,
            o.task
        )));
    }
    cfg.sample = o.sampler.sample_config(&cfg)?;
    cfg.seed = o.seed;
    cfg.sample.n = o.n;
    cfg.sample.batch_size = o.batch;
    let sopts = pipeline::sampler_options(&cfg);
    write_atomic(&o.root.join("config.toml"), cfg.to_toml().as_bytes())?;

    // 1. DDPM samples
    let t0 = Instant::now();
    let run = RunLayout::new(&o.root);
    let samples_dir = run.samples();
    if run.results().is_file() {
        log(o.quiet, "DDPM samples done, reusing");
    } else {
        log(
            o.quiet,
            &format!("sampling {} DDPM images (checkpoint step {step})", o.n),
        );
        let images =
            pipeline::sample_images(&model, &cfg, o.n, o.batch, &sopts, o.seed, o.quiet, device);
        pipeline::write_samples(&images, &samples_dir)?;
        pipeline::write_grid(&images, 8, &o.root.join("samples_grid.png"))?;
        pipeline::evaluate_to(
            &cfg,
            &images,
            RangeSet::Loose,
            &o.root.join("eval"),
            "results",
        )?;
    }
    seconds.push(("ddpm".to_string(), t0.elapsed().as_secs_f64()));

    // 2. noisy classifier
    let t0 = Instant::now();
    let gpath = match &o.guidance_classifier {
        Some(p) => p.clone(),
        None => ensure_classifier(
            o,
            o.guidance_arch,
            true,
            &o.root.join("classifier-guidance"),
        )?,
    };
    seconds.push((
        "guidance_classifier".to_string(),
        t0.elapsed().as_secs_f64(),
    ));

    // 3. guided samples
    let t0 = Instant::now();
    let guided = RunLayout::new(&o.root).guided().root;
    if RunLayout::is_evaluated(&guided) {
        log(o.quiet, "guided samples done, reusing");
    } else {
        let (_, clf) = classifier::train::load_classifier::<B>(&gpath, device)?;
        log(
            o.quiet,
            &format!("sampling {} guided images ({})", o.n, o.guidance.describe()),
        );
        let images = guidance::sample_images_guided::<B::InnerBackend, B, _>(
            &model,
            &clf,
            &cfg,
            o.n,
            o.batch,
            &sopts,
            &o.guidance,
            o.seed,
            o.quiet,
            device,
        );
        pipeline::write_samples(&images, &guided.join("samples"))?;
        pipeline::write_grid(&images, 8, &guided.join("samples_grid.png"))?;
        pipeline::evaluate_to(
            &cfg,
            &images,
            RangeSet::Loose,
            &guided.join("eval"),
            "results",
        )?;
    }
    seconds.push(("guided".to_string(), t0.elapsed().as_secs_f64()));

    // 4. clean classifier
    let t0 = Instant::now();
    let fpath = match &o.filter_classifier {
        Some(p) => p.clone(),
        None => ensure_classifier(
            o,
            o.filter_arch,
            false,
            &o.root.join(format!("classifier-filter-{}", o.filter_arch)),
        )?,
    };
    seconds.push(("filter_classifier".to_string(), t0.elapsed().as_secs_f64()));

    // 5. filtered samples
    let t0 = Instant::now();
    let filtered = RunLayout::new(&o.root).filtered().root;
    if RunLayout::is_evaluated(&filtered) {
        log(o.quiet, "filtered samples done, reusing");
    } else {
        classifier::filter::run_filter(
            &fpath,
            &samples_dir.join("samples.npy"),
            &filtered,
            o.task,
        )?;
    }
    seconds.push(("filtered".to_string(), t0.elapsed().as_secs_f64()));

    let summary = MitigationSummary {
        task: o.task,
        seed: o.seed,
        ddpm_checkpoint: o.ddpm_checkpoint.clone(),
        guidance_classifier: gpath,
        filter_classifier: fpath,
        guidance: o.guidance.describe(),
        seconds,
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&o.root.join("mitigation.json"), &json)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_sources_resolve_to_their_settings() {
        let mut stored = RunConfig::preset(Preset::Cpu, Task::A).unwrap();
        stored.sample.method = SampleMethod::Ddim;
        stored.sample.ddim_steps = 25;
        stored.sample.ddim_eta = 0.0;
        let preset = RunConfig::preset(Preset::Cpu, Task::A).unwrap().sample;
        assert_eq!(
            SamplerSource::Checkpoint.sample_config(&stored).unwrap(),
            stored.sample
        );
        assert_eq!(
            SamplerSource::Preset.sample_config(&stored).unwrap(),
            preset
        );
        let anc = SamplerSource::Ancestral.sample_config(&stored).unwrap();
        assert_eq!(anc.method, SampleMethod::Ddpm);
        assert_eq!(
            (anc.n, anc.use_ema, anc.clip_x0),
            (preset.n, preset.use_ema, preset.clip_x0)
        );
        // the ancestral sampler visits every one of the T steps (Sec. 3.3: T = 1000)
        stored.sample = anc;
        let opts = crate::pipeline::sampler_options(&stored);
        assert_eq!(
            crate::sampler::step_sequence(&opts, stored.diffusion.timesteps).len(),
            1000
        );
    }
}
