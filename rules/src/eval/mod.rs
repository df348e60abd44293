//! The rule evaluator of Section 3.2 (Fig. 2; App. D.2): masks, element count, key points, the
//! validity verdict ([`validity`]), the coarse verdict and the fine-rule coordinates `(x, y)`
//! per image, then the summary (Table 1, Figs 3-5, Eq. 4). See [`measure`], [`features`] and
//! [`validity`] for every step and its documented choice.
pub mod features;
pub mod interval;
pub mod labelled;
pub mod measure;
pub mod summary;
pub mod validity;

use crate::color::RangeSet;
use crate::error::Result;
use crate::io::Loaded;
use crate::task::Task;
use hidden_rules_core::eq4::Ddof;
use image::RgbImage;
pub use interval::{Bootstrap, Eq4Interval, Interval};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
pub use summary::{
    CoarseResolved, DetectorReading, NnSummary, Stats, Summary, TrimVariant, TrimmedEq4,
};
pub use validity::{ElementCheck, InvalidReason};

/// Evaluator settings (defaults = the ones used for every number in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Colour ranges of the masks: `Strict` (App. C) for training data, `Loose` for generated.
    pub ranges: RangeSet,
    /// Upscale target side (App. D.2: 128) by integer pixel replication; 0 = none (default:
    /// replication provably leaves every feature unchanged, see `measure`, and costs 16x).
    pub upscale: u32,
    /// Smallest mixing weight for a pixel to join a mask (1.0 = the paper's plain inRange).
    pub a_min: f32,
    /// Smallest coverage mass of an element, as a fraction of the image area (2e-4 = 0.2 px^2 at 32).
    pub min_mass_frac: f64,
    /// Also count as invalid any second component of an element's colour (colour mass above
    /// the mass threshold outside every element's region), on top of the validity rules of
    /// [`validity`], which allow stray mass up to a bound.
    pub strict_count: bool,
    /// Task C: radii count as equal (coarse violation) when `|r2/r1 - 1| < coarse_equal_tol`.
    pub coarse_equal_tol: f64,
    /// The "premise resolved" reading of the coarse count (reported beside the plain count, which
    /// counts every valid image): only images whose coarse premise is at least this many source
    /// pixels from undecided count (Task A: sun centre this far off the pole axis; B-D are
    /// always counted). Default 1 px: below a pixel the sun's side, and so the shadow's correct
    /// side, is a sub-pixel quantity of the kind the fine rule measures.
    #[serde(default = "default_min_premise_px")]
    pub coarse_min_premise_px: f64,
    /// Tail fraction of the [q, 1 - q] trimming (paper: 0.025).
    pub trim_q: f64,
    /// Trimming variant reported as `summary.eq4`.
    pub default_trim: TrimVariant,
    /// Degrees of freedom of `Var(y_hat - y)` in Eq. 4.
    pub ddof: Ddof,
    /// Fig. 5a: a ratio within `k +- within_tol` is rule-conforming.
    pub within_tol: f64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            ranges: RangeSet::Strict,
            upscale: 0,
            a_min: 0.1,
            min_mass_frac: 2e-4,
            strict_count: false,
            coarse_equal_tol: 0.05,
            coarse_min_premise_px: default_min_premise_px(),
            trim_q: 0.025,
            default_trim: TrimVariant::PerCoordinate,
            ddof: Ddof::Population,
            within_tol: 0.01,
        }
    }
}

fn default_min_premise_px() -> f64 {
    1.0
}

impl EvalConfig {
    fn check(&self) -> Result<()> {
        use crate::Error;
        if !(self.coarse_min_premise_px >= 0.0 && self.coarse_min_premise_px.is_finite()) {
            return Err(Error::param(
                "coarse_min_premise_px",
                format!("{} is not a finite number >= 0", self.coarse_min_premise_px),
            ));
        }
        if !(self.a_min > 0.0 && self.a_min <= 1.0) {
            return Err(Error::param(
                "a_min",
                format!("{} is outside (0, 1]", self.a_min),
            ));
        }
        if !(0.0..0.5).contains(&self.trim_q) {
            return Err(Error::param(
                "trim_q",
                format!("{} is outside [0, 0.5)", self.trim_q),
            ));
        }
        if !(self.min_mass_frac >= 0.0 && self.min_mass_frac < 1.0) {
            return Err(Error::param(
                "min_mass_frac",
                format!("{} is outside [0, 1)", self.min_mass_frac),
            ));
        }
        if self.upscale > 4096 {
            return Err(Error::param(
                "upscale",
                format!("{} is above 4096", self.upscale),
            ));
        }
        Ok(())
    }
}

/// One image's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    pub index: usize,
    /// File name when loaded from a folder.
    pub name: Option<String>,
    pub valid: bool,
    /// Why the image is invalid: the first of `failures`, as text.
    pub reason: Option<String>,
    /// Every failed validity criterion ([`validity`]), in the order they are checked.
    #[serde(default)]
    pub failures: Vec<InvalidReason>,
    /// The authors' detector reading (App. D.2): a component of every element's colour was
    /// found and the task's own checks passed, whatever its shape, dominance or background.
    /// Reported beside the verdict (`summary.detector`); `valid` implies `detected`.
    #[serde(default)]
    pub detected: bool,
    /// Per element, the measurements behind the verdict (empty when nothing was measured).
    #[serde(default)]
    pub checks: Vec<ElementCheck>,
    /// Share of background pixels (outside every element) off the background (criterion 4 of
    /// [`validity`]); `None` when nothing was measured.
    #[serde(default)]
    pub clutter: Option<f64>,
    /// Coarse-rule verdict (valid images only).
    pub coarse_ok: Option<bool>,
    /// Margin of the coarse rule's premise in source pixels (Task A: the sun's offset from the
    /// pole axis), see [`features::TaskFeatures::coarse_premise_px`].
    #[serde(default)]
    pub coarse_premise_px: Option<f64>,
    /// Fine-rule coordinates ([`Task::fine_xy`]); truth `y = k x`.
    pub x: Option<f64>,
    pub y: Option<f64>,
    /// `y / x` (None when `x = 0`).
    pub ratio: Option<f64>,
    /// The four features by name (normalised by the side).
    pub features: BTreeMap<String, f64>,
    /// Estimated pure colour of each element (RGB 0-255), in [`Task::elements`] order.
    pub colors: Vec<[u8; 3]>,
    /// Components per element above the mass threshold.
    pub n_components: Vec<usize>,
    /// Euclidean distance to the nearest training image in the 4-D feature space.
    pub nn_4d: Option<f64>,
    /// ... in the feature + colour space (13-D for Task A; colours in [0, 1]).
    pub nn_full: Option<f64>,
}

impl ImageResult {
    fn invalid(index: usize, name: Option<String>, reason: InvalidReason) -> Self {
        ImageResult {
            index,
            name,
            valid: false,
            reason: Some(reason.to_string()),
            failures: vec![reason],
            detected: false,
            checks: vec![],
            clutter: None,
            coarse_ok: None,
            coarse_premise_px: None,
            x: None,
            y: None,
            ratio: None,
            features: BTreeMap::new(),
            colors: vec![],
            n_components: vec![],
            nn_4d: None,
            nn_full: None,
        }
    }

    /// The 4-D feature vector in [`Task::feature_names`] order.
    pub fn feature_vec(&self, task: Task) -> Option<[f64; 4]> {
        let names = task.feature_names();
        let mut v = [0.0; 4];
        for (k, n) in names.iter().enumerate() {
            v[k] = *self.features.get(*n)?;
        }
        Some(v)
    }

    /// Features followed by colours / 255 (13-D for Task A).
    pub fn full_vec(&self, task: Task) -> Option<Vec<f64>> {
        let mut v = self.feature_vec(task)?.to_vec();
        v.extend(
            self.colors
                .iter()
                .flat_map(|c| c.iter().map(|&u| u as f64 / 255.0)),
        );
        Some(v)
    }
}

/// Evaluation of a set of images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub task: Task,
    pub config: EvalConfig,
    pub per_image: Vec<ImageResult>,
    pub summary: Summary,
}

/// Evaluate one image (Fig. 2 pipeline).
pub fn evaluate_image(
    task: Task,
    img: &RgbImage,
    cfg: &EvalConfig,
    index: usize,
    name: Option<String>,
) -> ImageResult {
    let m = match measure::measure(img, task, cfg) {
        Ok(m) => m,
        Err(r) => return ImageResult::invalid(index, name, r),
    };
    let tf = features::task_features(task, &m, cfg.coarse_equal_tol).and_then(|t| {
        if t.features.iter().all(|v| v.is_finite()) {
            Ok(t)
        } else {
            Err(InvalidReason::NonFiniteFeature)
        }
    });
    let (checks, failures) = validity::check(task, &m, &tf, cfg.strict_count);
    let detected = tf.is_ok();
    let tf = match (tf, failures.first()) {
        (Ok(t), None) => t,
        (_, first) => {
            let first = first.cloned().unwrap_or(InvalidReason::NonFiniteFeature);
            let mut r = ImageResult::invalid(index, name, first);
            r.failures = failures;
            r.detected = detected;
            r.checks = checks;
            r.clutter = Some(m.clutter);
            return r;
        }
    };
    let (x, y) = task.fine_xy(&tf.features);
    let features = task
        .feature_names()
        .iter()
        .zip(tf.features)
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    ImageResult {
        index,
        name,
        valid: true,
        reason: None,
        failures: vec![],
        detected: true,
        checks,
        clutter: Some(m.clutter),
        coarse_ok: Some(tf.coarse_ok),
        coarse_premise_px: tf.coarse_premise_px,
        x: Some(x),
        y: Some(y),
        ratio: (x != 0.0).then(|| y / x),
        features,
        colors: m
            .elements
            .iter()
            .map(|e| e.color.map(|c| c.round() as u8))
            .collect(),
        n_components: m.elements.iter().map(|e| e.n_components).collect(),
        nn_4d: None,
        nn_full: None,
    }
}

/// Evaluate images of `task` (in parallel) and summarise.
pub fn evaluate(task: Task, images: &[RgbImage], cfg: &EvalConfig) -> Result<EvalReport> {
    cfg.check()?;
    let per_image: Vec<ImageResult> = images
        .par_iter()
        .enumerate()
        .map(|(i, img)| evaluate_image(task, img, cfg, i, None))
        .collect();
    let summary = summary::summarise(task, &per_image, cfg, None);
    Ok(EvalReport {
        task,
        config: *cfg,
        per_image,
        summary,
    })
}

/// Evaluate loaded files (undecodable ones are invalid with the decoder's message), with
/// nearest-neighbour distances to `train` (an evaluation of the training images) when given.
pub fn evaluate_loaded(
    task: Task,
    loaded: &[Loaded],
    cfg: &EvalConfig,
    train: Option<&[ImageResult]>,
) -> Result<EvalReport> {
    cfg.check()?;
    let mut per_image: Vec<ImageResult> = loaded
        .par_iter()
        .enumerate()
        .map(|(i, l)| match &l.image {
            Ok(img) => evaluate_image(task, img, cfg, i, Some(l.name.clone())),
            Err(m) => ImageResult::invalid(
                i,
                Some(l.name.clone()),
                InvalidReason::Decode { message: m.clone() },
            ),
        })
        .collect();
    let nn = train.map(|t| summary::nearest_neighbours(task, &mut per_image, t, cfg));
    let summary = summary::summarise(task, &per_image, cfg, nn);
    Ok(EvalReport {
        task,
        config: *cfg,
        per_image,
        summary,
    })
}

/// Add nearest-neighbour distances to a training-set evaluation (Fig. 5b, App. D.2).
pub fn add_nearest_neighbours(report: &mut EvalReport, train: &[ImageResult]) {
    let nn = summary::nearest_neighbours(report.task, &mut report.per_image, train, &report.config);
    report.summary.nn = Some(nn);
}
