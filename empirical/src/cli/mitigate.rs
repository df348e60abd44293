//! `empirical mitigate` and `empirical table2`: Section 5's study per task and seed (DDPM,
//! guided and filtered samples, each evaluated) and Table 2 from its runs folder.
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

use super::{classifier_file, GuidanceArgs};
use crate::backend::{with_backend, DeviceKind};
use crate::classifier::config::Arch;
use crate::config::{Preset, TaskList};
use crate::error::{Error, Result};
use crate::mitigation::SamplerSource;
use crate::pipeline;

#[derive(Debug, Args)]
pub struct MitigateArgs {
    /// Task(s): A, B, C, D, a comma list, or all.
    #[arg(long, default_value = "A")]
    pub task: TaskList,
    /// Seed(s), comma separated (Table 2 reports mean +- std over them).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub seeds: Vec<u64>,
    /// Folder of the study's run directories (`<runs>/<task>-s<seed>`).
    #[arg(long, default_value = "runs/mitigation")]
    pub runs: PathBuf,
    /// Folder with the DDPM checkpoints `<task>.ckpt` [default: the shipped ones].
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Sampler settings: `preset` (the main job's: the checkpoint preset's current sampler),
    /// `checkpoint` (the `[sample]` section stored with the weights) or `ancestral` (the paper's
    /// 1000-step ancestral DDPM sampler).
    #[arg(long, value_enum, default_value_t = SamplerSource::Preset)]
    pub sampler: SamplerSource,
    /// Samples per sampler (the filtered set is a subset of the DDPM samples).
    #[arg(long, default_value_t = 300)]
    pub n: usize,
    /// Sampling batch size.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Classifier preset.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Preset::Cpu)]
    pub classifier_preset: Preset,
    /// TOML overlay on the classifier preset, for both classifiers (e.g. `max_steps = 100`).
    #[arg(long)]
    pub classifier_config: Option<PathBuf>,
    /// Noisy classifier architecture (the paper: unet; mlp is the cheap option).
    #[arg(long, value_enum, ignore_case = true, default_value_t = Arch::Unet)]
    pub guidance_arch: Arch,
    /// Filtering classifier architecture [default: mlp for Tasks A/B, unet for C/D, as App. G.2].
    #[arg(long, value_enum, ignore_case = true)]
    pub filter_arch: Option<Arch>,
    /// Use this trained noisy classifier (checkpoint or run dir) instead of training one.
    #[arg(long)]
    pub guidance_classifier: Option<PathBuf>,
    /// Use this trained clean classifier instead of training one.
    #[arg(long)]
    pub filter_classifier: Option<PathBuf>,
    /// Guidance scale [default: the paper's 7 for Tasks A/C, 10 for B/D].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Guidance schedule [default: the paper's best per task: constant for A/B/D, piecewise for C].
    #[arg(long, value_enum)]
    pub schedule: Option<crate::guidance::GuidanceScheduleKind>,
    /// Piecewise window length (final denoising steps of the sampler).
    #[arg(long, default_value_t = 20)]
    pub guidance_last_steps: usize,
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct Table2Args {
    /// Folder of run directories (as written by `mitigate` or `run`).
    #[arg(long, default_value = "runs/mitigation")]
    pub runs: PathBuf,
    /// Where to write table2.md/.csv/.json [default: --runs].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(super) fn cmd_mitigate(a: &MitigateArgs) -> Result<()> {
    let tasks = &a.task.0;
    if a.seeds.is_empty() {
        return Err(Error::config("seeds", "give at least one seed"));
    }
    let ckpt_dir = a
        .checkpoint_dir
        .clone()
        .unwrap_or_else(pipeline::shipped_checkpoint_dir);
    // validate everything before any work
    let mut studies = Vec::new();
    for &task in tasks {
        let ddpm_checkpoint = ckpt_dir.join(format!("{task}.ckpt"));
        if !ddpm_checkpoint.is_file() {
            return Err(Error::Other(format!(
                "no DDPM checkpoint {} (train one with `empirical train --task {task}` and \
                 `empirical export`, or pass --checkpoint-dir)",
                ddpm_checkpoint.display()
            )));
        }
        crate::checkpoint::expect_kind(&ddpm_checkpoint, crate::checkpoint::CheckpointKind::Ddpm)?;
        for p in [&a.guidance_classifier, &a.filter_classifier]
            .into_iter()
            .flatten()
        {
            classifier_file(p)?;
        }
        let paper = crate::paper::PaperSettings::of(task);
        let (scale, kind) = (paper.guidance_scale, paper.guidance_schedule);
        let guidance = GuidanceArgs {
            guidance: None,
            scale: a.scale.unwrap_or(scale),
            schedule: a.schedule.unwrap_or(kind),
            guidance_last_steps: a.guidance_last_steps,
            guidance_class: 1,
        }
        .options()?;
        let filter_arch = a.filter_arch.unwrap_or(paper.filter_arch);
        for &seed in &a.seeds {
            let o = crate::mitigation::MitigationOptions {
                task,
                seed,
                root: a.runs.join(format!("{task}-s{seed}")),
                ddpm_checkpoint: ddpm_checkpoint.clone(),
                sampler: a.sampler,
                n: a.n,
                batch: a.batch,
                classifier_preset: a.classifier_preset,
                classifier_config: a.classifier_config.clone(),
                guidance_arch: a.guidance_arch,
                filter_arch,
                guidance_classifier: a.guidance_classifier.clone(),
                filter_classifier: a.filter_classifier.clone(),
                guidance,
                quiet: a.quiet,
            };
            for (arch, noisy) in [(o.guidance_arch, true), (o.filter_arch, false)] {
                let c = crate::mitigation::classifier_config(&o, arch, noisy)?;
                if c.image_size as usize != 32 {
                    return Err(Error::config(
                        "image_size",
                        format!(
                            "classifier image_size {} differs from the DDPM's 32 px samples",
                            c.image_size
                        ),
                    ));
                }
            }
            studies.push(o);
        }
    }
    crate::backend::probe(a.device)?;
    for o in &studies {
        let t0 = Instant::now();
        with_backend!(a.device, mitigate_cmd(o))?;
        eprintln!(
            "task {} seed {}: done in {:.1} s -> {}",
            o.task,
            o.seed,
            t0.elapsed().as_secs_f64(),
            o.root.display()
        );
    }
    cmd_table2(&Table2Args {
        runs: a.runs.clone(),
        out: None,
    })
}

fn mitigate_cmd<B: burn::tensor::backend::AutodiffBackend>(
    o: &crate::mitigation::MitigationOptions,
    device: &B::Device,
) -> Result<crate::mitigation::MitigationSummary> {
    crate::mitigation::run_mitigation::<B>(o, device)
}

pub(super) fn cmd_table2(a: &Table2Args) -> Result<()> {
    let t = crate::table2::collect(&a.runs)?;
    if t.cells.is_empty() {
        return Err(Error::Other(format!(
            "no results under {} (run `empirical mitigate` first)",
            a.runs.display()
        )));
    }
    let out = a.out.clone().unwrap_or_else(|| a.runs.clone());
    t.write(&out)?;
    println!(
        "Table 2 (ours: mean ± std over runs; paper beside)\n{}",
        t.to_markdown()
    );
    for (p, why) in &t.unreadable {
        eprintln!("warning: unreadable {}: {why}", p.display());
    }
    println!("wrote {}/table2.{{md,csv,json}}", out.display());
    Ok(())
}
