//! The validity verdict ([`super::validity`]) against labels given by eye.
//!
//! A labelled folder holds sets, each a pair `<set>.npy` (the images, `N x H x W x 3` `u8`)
//! and `<set>.labels.csv` (`index,source,label,note`: `source` names the checkpoint and sampler
//! the image came from, `label` is `valid` or `invalid` by the written rule of the folder's
//! README). A set's name is its task letter, optionally followed by `-` and a name
//! (`A`, `A-holdout`). Scoring evaluates every image with loose ranges (generated images) and
//! counts, with "positive" = valid:
//! - precision `TP / (TP + FP)`: of the images the verdict calls valid, the share valid by eye;
//! - recall `TP / (TP + FN)`: of the images valid by eye, the share the verdict keeps;
//! - specificity `TN / (TN + FP)`: of the images invalid by eye, the share the verdict rejects.
//!
//! The authors' detector reading ([`super::ImageResult::detected`]) is scored the same way,
//! beside the verdict.
use super::{evaluate, EvalConfig, ImageResult};
use crate::color::RangeSet;
use crate::error::{Error, Result};
use crate::task::Task;
use image::{Rgb, RgbImage};
use std::fmt::Write as _;
use std::path::Path;

/// A label given by eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Every element of the task is visible as one object of its colour and shape.
    Valid,
    /// At least one element is missing, merged, smeared or a cloud.
    Invalid,
}

/// One labelled image.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub index: usize,
    /// Checkpoint and sampler the image came from (e.g. `shipped`, `early-300`).
    pub source: String,
    pub label: Label,
    pub note: String,
}

/// A 2 x 2 table of a binary verdict against the labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    /// Valid by eye, valid by the verdict.
    pub tp: usize,
    /// Invalid by eye, valid by the verdict.
    pub fp: usize,
    /// Valid by eye, invalid by the verdict.
    pub fn_: usize,
    /// Invalid by eye, invalid by the verdict.
    pub tn: usize,
}

impl Confusion {
    fn add(&mut self, label: Label, says_valid: bool) {
        match (label, says_valid) {
            (Label::Valid, true) => self.tp += 1,
            (Label::Invalid, true) => self.fp += 1,
            (Label::Valid, false) => self.fn_ += 1,
            (Label::Invalid, false) => self.tn += 1,
        }
    }
    /// `TP / (TP + FP)`; `None` when the verdict calls nothing valid.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }
    /// `TP / (TP + FN)`; `None` when nothing is valid by eye.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// `TN / (TN + FP)`; `None` when nothing is invalid by eye.
    pub fn specificity(&self) -> Option<f64> {
        ratio(self.tn, self.tn + self.fp)
    }
    pub fn n(&self) -> usize {
        self.tp + self.fp + self.fn_ + self.tn
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// A disagreement between the verdict and the label.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub index: usize,
    pub source: String,
    pub label: Label,
    /// The verdict's reason when it calls the image invalid.
    pub reason: Option<String>,
    pub note: String,
}

/// The scores of one labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskScores {
    /// The set's name (`A`, `A-holdout`).
    pub set: String,
    pub task: Task,
    /// The verdict against the labels, over all images.
    pub verdict: Confusion,
    /// The authors' detector reading against the labels.
    pub detector: Confusion,
    /// The verdict per source, in the order sources first appear.
    pub by_source: Vec<(String, Confusion)>,
    pub disagreements: Vec<Disagreement>,
}

/// Read `<task>.labels.csv`.
pub fn read_labels(path: &Path) -> Result<Vec<Labelled>> {
    let bad = |message: String| Error::Labels {
        path: path.to_path_buf(),
        message,
    };
    let mut rd = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for (row, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let field = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        let index: usize = field(0).parse().map_err(|_| {
            bad(format!(
                "row {}: index `{}` is not a number",
                row + 1,
                field(0)
            ))
        })?;
        let label = match field(2).as_str() {
            "valid" => Label::Valid,
            "invalid" => Label::Invalid,
            other => {
                return Err(bad(format!(
                    "row {}: label `{other}` is neither `valid` nor `invalid`",
                    row + 1
                )))
            }
        };
        if index != out.len() {
            return Err(bad(format!(
                "row {}: index {index}, expected {} (one row per image, in order)",
                row + 1,
                out.len()
            )));
        }
        out.push(Labelled {
            index,
            source: field(1),
            label,
            note: field(3),
        });
    }
    Ok(out)
}

/// Score one set's images against its labels.
pub fn score(
    set: &str,
    task: Task,
    images: &[RgbImage],
    labels: &[Labelled],
) -> Result<TaskScores> {
    if images.len() != labels.len() {
        return Err(Error::Param {
            name: "labels",
            message: format!("{} images but {} labels", images.len(), labels.len()),
        });
    }
    let cfg = EvalConfig {
        ranges: RangeSet::Loose,
        ..EvalConfig::default()
    };
    let rep = evaluate(task, images, &cfg)?;
    Ok(tally(set, task, &rep.per_image, labels))
}

fn tally(set: &str, task: Task, per_image: &[ImageResult], labels: &[Labelled]) -> TaskScores {
    let mut verdict = Confusion::default();
    let mut detector = Confusion::default();
    let mut by_source: Vec<(String, Confusion)> = Vec::new();
    let mut disagreements = Vec::new();
    for (r, l) in per_image.iter().zip(labels) {
        verdict.add(l.label, r.valid);
        detector.add(l.label, r.detected);
        let slot = match by_source.iter().position(|(s, _)| *s == l.source) {
            Some(i) => i,
            None => {
                by_source.push((l.source.clone(), Confusion::default()));
                by_source.len() - 1
            }
        };
        by_source[slot].1.add(l.label, r.valid);
        if r.valid != (l.label == Label::Valid) {
            disagreements.push(Disagreement {
                index: l.index,
                source: l.source.clone(),
                label: l.label,
                reason: r.reason.clone(),
                note: l.note.clone(),
            });
        }
    }
    TaskScores {
        set: set.to_string(),
        task,
        verdict,
        detector,
        by_source,
        disagreements,
    }
}

/// Score every set of `dir` (every `<set>.labels.csv` with its `<set>.npy`), in name order.
pub fn score_dir(dir: &Path) -> Result<Vec<TaskScores>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut sets = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(set) = name.strip_suffix(".labels.csv") {
            sets.push(set.to_string());
        }
    }
    sets.sort();
    let mut out = Vec::new();
    for set in sets {
        let task_name = set.split('-').next().unwrap_or_default();
        let task: Task = task_name.parse().map_err(|_| Error::Labels {
            path: dir.join(format!("{set}.labels.csv")),
            message: format!("set name `{set}` does not start with a task letter (A-D)"),
        })?;
        let images = crate::io::read_npy_images(&dir.join(format!("{set}.npy")))?;
        let labels = read_labels(&dir.join(format!("{set}.labels.csv")))?;
        out.push(score(&set, task, &images, &labels)?);
    }
    if out.is_empty() {
        return Err(Error::Empty(dir.to_path_buf()));
    }
    Ok(out)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{:.1} %", 100.0 * v))
}

/// The scores as the Markdown document `scores.md` (written by the `labelled` example).
pub fn render_markdown(scores: &[TaskScores]) -> String {
    let mut s = String::new();
    s.push_str("# The validity verdict against labels given by eye\n\n");
    s.push_str(
        "Written by `cargo run --release -p empirical-rules --example labelled -- score` from \
         the labelled sets in this folder (loose ranges); the labelling rule is in README.md. \
         Positive = valid. Precision: of the images the verdict keeps, the share valid by eye; \
         recall: of the images valid by eye, the share the verdict keeps.\n\n",
    );
    s.push_str(
        "| set | images | valid by eye | verdict: valid | precision | recall | specificity | \
         detector reading: precision | recall | specificity |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for t in scores {
        let v = &t.verdict;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.set,
            v.n(),
            v.tp + v.fn_,
            v.tp + v.fp,
            pct(v.precision()),
            pct(v.recall()),
            pct(v.specificity()),
            pct(t.detector.precision()),
            pct(t.detector.recall()),
            pct(t.detector.specificity()),
        );
    }
    s.push_str("\n## Per source (verdict)\n\n");
    s.push_str(
        "| set | source | images | valid by eye | verdict: valid | agree |\n\
         |---|---|---|---|---|---|\n",
    );
    for t in scores {
        for (src, c) in &t.by_source {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                t.set,
                src,
                c.n(),
                c.tp + c.fn_,
                c.tp + c.fp,
                c.tp + c.tn
            );
        }
    }
    s.push_str("\n## Disagreements\n\n");
    let mut any = false;
    for t in scores {
        for d in &t.disagreements {
            any = true;
            let by_eye = match d.label {
                Label::Valid => "valid",
                Label::Invalid => "invalid",
            };
            let verdict = d
                .reason
                .as_deref()
                .map_or("valid".to_string(), |r| format!("invalid ({r})"));
            let note = if d.note.is_empty() {
                String::new()
            } else {
                format!("; by eye: {}", d.note)
            };
            let _ = writeln!(
                s,
                "- {} #{} ({}): {by_eye} by eye, verdict {verdict}{note}",
                t.set, d.index, d.source
            );
        }
    }
    if !any {
        s.push_str("None.\n");
    }
    s
}

/// A contact sheet: the images in rows of 10, each upscaled `scale` times by pixel
/// replication, separated by 2 px grey gutters; image `i` sits at row `i / 10`, column `i % 10`.
pub fn write_sheet(images: &[RgbImage], scale: u32, out: &Path) -> Result<()> {
    const COLS: u32 = 10;
    const GUTTER: u32 = 2;
    if images.is_empty() {
        return Err(Error::Empty(out.to_path_buf()));
    }
    if !(1..=16).contains(&scale) {
        return Err(Error::Param {
            name: "scale",
            message: format!("{scale}: must be 1 to 16"),
        });
    }
    let (w, h) = images[0].dimensions();
    let rows = (images.len() as u32).div_ceil(COLS);
    let cw = w * scale + GUTTER;
    let ch = h * scale + GUTTER;
    let mut sheet = RgbImage::from_pixel(COLS * cw + GUTTER, rows * ch + GUTTER, Rgb([128; 3]));
    for (i, img) in images.iter().enumerate() {
        if img.dimensions() != (w, h) {
            return Err(Error::Param {
                name: "images",
                message: format!(
                    "image {i} is {:?}, the first {:?}",
                    img.dimensions(),
                    (w, h)
                ),
            });
        }
        let (x0, y0) = (
            GUTTER + (i as u32 % COLS) * cw,
            GUTTER + (i as u32 / COLS) * ch,
        );
        for (x, y, p) in img.enumerate_pixels() {
            for dy in 0..scale {
                for dx in 0..scale {
                    sheet.put_pixel(x0 + x * scale + dx, y0 + y * scale + dy, *p);
                }
            }
        }
    }
    let mut png = Vec::new();
    sheet
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Image {
            path: out.to_path_buf(),
            message: e.to_string(),
        })?;
    crate::io::atomic_write(out, |w| std::io::Write::write_all(w, &png))
}
