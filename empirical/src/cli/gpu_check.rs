//! `empirical gpu-check --device cuda|wgpu`: probe the device, check it against the CPU backend
//! ([`crate::agreement`]) and measure the `paper` preset's train and sample throughput, written
//! as one JSON ([`crate::gpu_check`]).
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

use crate::agreement::{self, Agreement};
use crate::backend::DeviceKind;
use crate::config::Preset;
use crate::error::{Error, Result};
use crate::gpu_check::{peak_rss_bytes, throughput, Throughput};

#[derive(Debug, Args)]
pub struct GpuCheckArgs {
    /// The device to check (`cpu` checks the CPU backend against itself).
    #[arg(long, value_enum)]
    pub device: DeviceKind,
    /// Preset whose train and sample steps are timed.
    #[arg(long, value_enum, default_value_t = Preset::Paper)]
    pub preset: Preset,
    /// Batch size of the timed steps.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Timed repeats of each step (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Skip the throughput part (e.g. on a software device, where it measures nothing useful).
    #[arg(long)]
    pub no_throughput: bool,
    /// Where to write the JSON report.
    #[arg(long, default_value = "gpu-check.json")]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Report {
    device: String,
    agreement: Agreement,
    agreement_passed: bool,
    throughput: Option<Throughput>,
    /// Peak resident host memory of the process (GPU memory is not included).
    peak_rss_bytes: Option<u64>,
}

fn check<B: burn::tensor::backend::AutodiffBackend>(
    a: &GpuCheckArgs,
    device: &B::Device,
) -> Result<(Agreement, Option<Throughput>)> {
    let agreement = agreement::compare::<B>(device)?;
    let tp = if a.no_throughput {
        None
    } else {
        Some(throughput::<B>(a.preset, a.batch, a.repeats, device)?)
    };
    Ok((agreement, tp))
}

/// Run the check and write its report; fails (after writing) when the backends disagree.
pub fn run(a: &GpuCheckArgs) -> Result<()> {
    crate::backend::probe(a.device)?;
    let (agreement, tp) = crate::backend::with_backend!(a.device, check(a))?;
    let passed = agreement.passed();
    let report = Report {
        device: a.device.name().into(),
        agreement,
        agreement_passed: passed,
        throughput: tp,
        peak_rss_bytes: peak_rss_bytes(),
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Other(e.to_string()))?;
    crate::rundir::write_atomic(&a.out, &json)?;
    println!("{}", report.agreement.to_text());
    if let Some(t) = &report.throughput {
        println!(
            "{} preset, batch {}: train step {:.3} s ({:.1} images/s), sample step {:.3} s ({:.1} images/s), median of {}",
            t.preset,
            t.batch,
            t.train_step_s,
            t.train_images_per_s,
            t.sample_step_s,
            t.sample_images_per_s,
            t.repeats
        );
    }
    println!("wrote {}", a.out.display());
    if passed {
        Ok(())
    } else {
        Err(Error::Device(format!(
            "{} disagrees with the CPU backend beyond the stated tolerances (see {})",
            a.device.name(),
            a.out.display()
        )))
    }
}
