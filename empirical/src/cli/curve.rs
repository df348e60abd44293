//! `empirical curve`: a training curve (Fig. 12), one run evaluated at epoch milestones.
use clap::Args;
use std::path::PathBuf;

use super::{command_line, CommonArgs};
use crate::backend::with_backend;
use crate::curve::{self, run_curve, Curve, CurveOptions};
use crate::error::{Error, Result};
use crate::paper::PaperSettings;
use crate::rundir::RunDir;

#[derive(Debug, Args)]
pub struct CurveArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Milestones in epochs, a comma list [default: 25, 50, 100, ... doubling, and the paper's
    /// epochs for the task (App. D.1: A 400, B 800, C 1600, D 1000)]. The run trains to the
    /// last one (train.epochs is set to it). With --resume: milestones to add.
    #[arg(long, value_delimiter = ',', value_name = "E,E,...")]
    pub epochs: Vec<u64>,
    /// Samples per milestone (sets sample.n) [default: the preset's, 300 for cpu].
    #[arg(long)]
    pub n: Option<usize>,
    /// Run directory [default: runs/curve-<task>-<preset>-s<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the curve in this directory (its config.toml and milestones).
    #[arg(long, conflicts_with_all = ["task", "preset", "config", "seed", "out", "n"])]
    pub resume: Option<PathBuf>,
    /// With --resume: score the measured milestones again from their samples.npy with the
    /// evaluator as it now is (rewrites their results and the curve files; trains nothing);
    /// a milestone whose samples are not kept gets only its bootstrap intervals, from its
    /// per_image.csv.
    /// A curve still training in the same directory rewrites curve.json from its own points at
    /// its next milestone: rescore after it has stopped.
    #[arg(long, requires = "resume", conflicts_with = "epochs")]
    pub rescore: bool,
}

/// 25, 50, 100, ... below `paper`, then `paper`.
pub fn default_epochs(paper: u64) -> Vec<u64> {
    let mut e: Vec<u64> = std::iter::successors(Some(25u64), |&x| Some(x * 2))
        .take_while(|&x| x < paper)
        .collect();
    e.push(paper);
    e
}

pub(super) fn cmd_curve(a: &CurveArgs) -> Result<()> {
    if let (true, Some(dir)) = (a.rescore, &a.resume) {
        let run = RunDir::open(dir)?;
        let (c, how) = curve::rescore(&run.read_config()?, &run)?;
        print!("{}", curve::format_table(&c));
        let only: Vec<String> = c
            .points
            .iter()
            .zip(&how)
            .filter(|(_, h)| **h == curve::Rescored::IntervalsOnly)
            .map(|(p, _)| p.epoch.to_string())
            .collect();
        if !only.is_empty() {
            println!(
                "samples not kept at epochs {}: only their intervals were computed, from per_image.csv",
                only.join(", ")
            );
        }
        println!(
            "curve scored again in {}",
            curve::curve_path(&run).display()
        );
        return Ok(());
    }
    let (cfg, run, epochs, created) = match &a.resume {
        Some(dir) => {
            let run = RunDir::open(dir)?;
            let mut cfg = run.read_config()?;
            let mut epochs = curve::load(&run)?.epochs;
            epochs.extend(&a.epochs);
            let last = epochs.iter().copied().max().unwrap_or(0);
            cfg.train.epochs = cfg.train.epochs.max(last as usize);
            let epochs = curve::check_epochs(&epochs, &cfg)?;
            (cfg, run, epochs, None)
        }
        None => {
            let mut cfg = a.common.config_for(None)?;
            if let Some(n) = a.n {
                cfg.sample.n = n;
            }
            let epochs = if a.epochs.is_empty() {
                default_epochs(PaperSettings::of(cfg.task).epochs as u64)
            } else {
                a.epochs.clone()
            };
            let last = epochs.iter().copied().max().unwrap_or(0);
            cfg.train.epochs = usize::try_from(last)
                .map_err(|_| Error::config("epochs", format!("{last} is too large")))?;
            cfg.train.max_steps = 0;
            cfg.validate()?;
            let epochs = curve::check_epochs(&epochs, &cfg)?;
            let out = a.out.clone().unwrap_or_else(|| {
                PathBuf::from(format!(
                    "runs/curve-{}-{}-s{}",
                    cfg.task, cfg.preset, cfg.seed
                ))
            });
            super::check_fresh_out(&out)?;
            let (run, created) = RunDir::create_new(&out)?;
            (cfg, run, epochs, Some(created))
        }
    };
    crate::backend::probe(a.common.device)?;
    let result = run.write_config(&cfg).and_then(|()| {
        let stored = Curve {
            task: cfg.task,
            epochs: epochs.clone(),
            points: curve::load(&run).map(|c| c.points).unwrap_or_default(),
        };
        curve::write_curve(&run, &stored)?;
        let opts = CurveOptions {
            quiet: a.common.quiet,
            command: command_line(),
            backend: a.common.device.name().into(),
        };
        with_backend!(a.common.device, run_curve(&cfg, &run, &epochs, &opts))
    });
    match result {
        Ok(c) => {
            print!("{}", curve::format_table(&c));
            println!("curve written to {}", curve::curve_path(&run).display());
            Ok(())
        }
        Err(e) => {
            if let Some(created) = created {
                if created.undo(&run) {
                    eprintln!(
                        "note: removed what this start made in {} (no checkpoint was written)",
                        run.root.display()
                    );
                }
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_milestones_double_up_to_the_papers_epochs() {
        assert_eq!(default_epochs(400), vec![25, 50, 100, 200, 400]);
        assert_eq!(default_epochs(1000), vec![25, 50, 100, 200, 400, 800, 1000]);
        assert_eq!(default_epochs(10), vec![10]);
    }
}
