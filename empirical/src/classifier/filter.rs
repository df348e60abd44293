//! Filtered DDPM (Sec. 5, App. G.2): a clean-image classifier keeps the samples it predicts as
//! class 1 (fine rule kept); the kept images are evaluated with the task's evaluator.
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use empirical_rules::Task;
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::config::Arch;
use super::nets::Classifier;
use super::train::{checkpoint_path, load_classifier};
use crate::error::{Error, Result};
use crate::rundir::write_atomic;

/// Class and softmax probabilities of each image (clean classifier, t ignored; a noisy
/// classifier is evaluated at t = 0, i.e. step index 0).
pub fn predict<B: Backend>(
    classifier: &Classifier<B>,
    images: &[RgbImage],
    batch: usize,
    device: &B::Device,
) -> Vec<(u8, [f32; 3])> {
    let batch = batch.max(1);
    let mut out = Vec::with_capacity(images.len());
    for chunk in images.chunks(batch) {
        let (w, h) = chunk[0].dimensions();
        let x = empirical_rules::to_chw_f32(chunk);
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(x, [chunk.len(), 3, h as usize, w as usize]),
            device,
        );
        let t = if classifier.noisy {
            vec![0; chunk.len()]
        } else {
            Vec::new()
        };
        let p = softmax(classifier.forward(x, &t), 1).into_data();
        let p: Vec<f32> = p.iter::<f32>().collect();
        for row in p.chunks(3) {
            let probs = [row[0], row[1], row[2]];
            let mut c = 0u8;
            for k in 1..3 {
                if probs[k] > probs[c as usize] {
                    c = k as u8;
                }
            }
            out.push((c, probs));
        }
    }
    out
}

/// Indices of the images predicted as class 1.
pub fn filter_class1<B: Backend>(
    classifier: &Classifier<B>,
    images: &[RgbImage],
    batch: usize,
    device: &B::Device,
) -> Vec<usize> {
    predict(classifier, images, batch, device)
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| *c == 1)
        .map(|(i, _)| i)
        .collect()
}

/// `filter.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FilterReport {
    pub task: Task,
    pub n_in: usize,
    pub n_kept: usize,
    /// Predicted class counts [0, 1, 2].
    pub class_counts: [usize; 3],
    pub classifier: PathBuf,
    pub classifier_arch: Arch,
    /// Test accuracy from the classifier run's eval.json, when found.
    pub classifier_test_accuracy: Option<f64>,
}

/// Filter the images at `samples_path` (PNG dir or .npy) with the classifier at
/// `classifier_path` (checkpoint or run dir); writes `out_dir/samples/` (+ samples.npy),
/// `predictions.csv`, `filter.json` and `eval/results.json` (Loose ranges, as the DDPM rows).
pub fn run_filter(
    classifier_path: &Path,
    samples_path: &Path,
    out_dir: &Path,
    task: Task,
) -> Result<FilterReport> {
    run_filter_batch(classifier_path, samples_path, out_dir, task, 256)
}

/// [`run_filter`] with a batch size.
pub fn run_filter_batch(
    classifier_path: &Path,
    samples_path: &Path,
    out_dir: &Path,
    task: Task,
    batch: usize,
) -> Result<FilterReport> {
    type B = crate::backend::Cpu;
    let device = Default::default();
    let ck = checkpoint_path(classifier_path)?;
    let (cfg, clf) = load_classifier::<B>(&ck, &device)?;
    let run_cfg = crate::config::RunConfig::preset(crate::config::Preset::Cpu, task)?;
    if cfg.task != run_cfg.task {
        return Err(Error::config(
            "task",
            format!(
                "classifier was trained on task {}, filtering task {}",
                cfg.task, run_cfg.task
            ),
        ));
    }
    if !samples_path.exists() {
        return Err(Error::Other(format!(
            "samples not found: {}",
            samples_path.display()
        )));
    }
    let images =
        empirical_rules::load_images(samples_path).map_err(|e| Error::Rules(e.to_string()))?;
    if images.is_empty() {
        return Err(Error::Other(format!(
            "no images in {}",
            samples_path.display()
        )));
    }
    if let Some(bad) = images
        .iter()
        .find(|i| i.dimensions() != (cfg.image_size, cfg.image_size))
    {
        return Err(Error::Other(format!(
            "sample size {:?} differs from the classifier's image_size {}",
            bad.dimensions(),
            cfg.image_size
        )));
    }
    let preds = predict(&clf, &images, batch, &device);
    let mut csv = String::from("index,pred,p0,p1,p2\n");
    let mut counts = [0usize; 3];
    let mut kept = Vec::new();
    for (i, (c, p)) in preds.iter().enumerate() {
        counts[*c as usize] += 1;
        csv.push_str(&format!("{i},{c},{},{},{}\n", p[0], p[1], p[2]));
        if *c == 1 {
            kept.push(images[i].clone());
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    write_atomic(&out_dir.join("predictions.csv"), csv.as_bytes())?;
    crate::pipeline::write_samples(&kept, &out_dir.join("samples"))?;
    let acc = ck
        .parent()
        .map(|d| {
            if d.ends_with("checkpoints") {
                d.parent().unwrap_or(d)
            } else {
                d
            }
        })
        .map(|d| d.join("eval.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v.get("test_accuracy").and_then(|a| a.as_f64()));
    let report = FilterReport {
        task: run_cfg.task.clone(),
        n_in: images.len(),
        n_kept: kept.len(),
        class_counts: counts,
        classifier: ck.clone(),
        classifier_arch: cfg.arch,
        classifier_test_accuracy: acc,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&out_dir.join("filter.json"), &json)?;
    // written even when nothing was kept (an n = 0 report), so that a resumed study sees the
    // stage as done and Table 2 shows the empty cell
    crate::pipeline::evaluate_to(
        &run_cfg,
        &kept,
        empirical_rules::color::RangeSet::Loose,
        &out_dir.join("eval"),
        "results",
    )?;
    Ok(report)
}
