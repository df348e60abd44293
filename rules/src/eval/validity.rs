//! The validity verdict: does the picture show this task's elements (Sec. 3.2: "images where
//! the key elements cannot be detected are counted as invalid", Table 1's "invalid" column;
//! App. D.2's detector)?
//!
//! Finding a component of each element's colour (Fig. 2 step 1, the authors' detector) is not
//! enough: a soft cloud of yellow and blue-green, a blurred smear or a handful of coloured
//! specks all have a largest component per colour. An image is **valid** only when, for every
//! element of [`Task::elements`],
//! 1. **one dominant object of its colour**: the kept component holds at least
//!    [`DOMINANT_SHARE`] of the colour mass (mixing weights `a`) of itself and its rival, the
//!    largest other component of that colour, counting only mass outside every element's region
//!    (the kept components dilated by one source pixel: anti-aliased edges of a neighbour can
//!    pass a third colour's range and are allowed); a rival of at most [`STRAY_FLOOR_PX2`] is
//!    ignored whatever its share. A second object of comparable size fails; a faint tint spread
//!    over the background in many small pieces does not (its pieces are judged as background,
//!    criterion 4): on real DDPM samples of Task B, summing all stray mass instead rejected 14
//!    of 27 images that show both rectangles by eye (`rules/labelled/`);
//! 2. **the right shape**: the element's recovered coverage map agrees with the ideal shape
//!    fitted to it (disc: centre and radius of [`features::disk`]; rectangle / square: centre,
//!    width and height of [`features::boxed`]), rendered with the generator's exact
//!    anti-aliasing. The misfit `sum max(|alpha - alpha_model| - 0.1, 0) / max(mass, 2 px^2)`
//!    (differences under 0.1 per pixel are pixel noise, [`MISFIT_DEAD_ZONE`]) must be at most
//!    [`MAX_MISFIT`], and, once the element holds at least [`MISFIT_FLOOR_PX2`] of coverage,
//!    the other shape must not fit it better by more than [`SHAPE_MARGIN`] (a square drawn
//!    where a disc belongs, and vice versa). This tests area against the fitted shape, its
//!    straight or round edges and their sharpness: a 7 px square read as a disc misfits by
//!    0.12, a disc read as a square by 0.16, a box blurred by a Gaussian of 1 px by ~0.3, a
//!    soft cloud by ~0.4 (median of the immature set); training images by <= 0.01;
//! 3. **a plausible size for the task** ([`rules`]): App. C's ranges widened by a factor 1.5 to
//!    each side (lower bound 0 where App. C lets a length vanish: Task A's shadow length, Task
//!    B's `h2`); a lower bound is only checked where the box estimator resolves the length
//!    (a fully covered row or column exists, see [`features::boxed`]);
//!
//! and the picture as a whole
//! 4. has a **background that is mostly background**: at most [`MAX_CLUTTER`] of the source
//!    pixels outside every element's region differ from the background estimate by more than
//!    [`CLUTTER_TOL`](super::measure::CLUTTER_TOL) (0-255) in a channel;
//! 5. passes the task's own checks of [`features::task_features`] (Task A: sun above the pole
//!    top; Task D: width / height within [0.8, 1.25]).
//!
//! Every failure is an [`InvalidReason`]; the first one found (in the order above, element by
//! element) is the image's reason, all are kept in [`ImageResult::failures`](super::ImageResult).
//! The thresholds and the measurements that set them are in the crate README ("Validity").
use super::features::{self, TaskFeatures};
use super::measure::{ElementStats, Measured};
use crate::render::Canvas;
use crate::task::Task;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Smallest share of the kept component in the mass of itself and its largest rival, the
/// largest other component of the element's colour outside every region (criterion 1).
pub const DOMINANT_SHARE: f64 = 0.75;
/// A rival of at most this colour mass (source px^2) is ignored whatever its share: a speck of
/// a pixel or so.
pub const STRAY_FLOOR_PX2: f64 = 1.0;
/// Largest shape misfit `sum max(|alpha - alpha_model| - MISFIT_DEAD_ZONE, 0) / max(mass, MISFIT_FLOOR_PX2)`
/// (criterion 2).
pub const MAX_MISFIT: f64 = 0.2;
/// Largest share of off-background pixels outside the elements' regions (criterion 4).
pub const MAX_CLUTTER: f64 = 0.03;
/// Smallest mass (source px^2) a misfit is divided by: below two pixels' worth of coverage a
/// shape is not resolved (a 0.1 px long shadow), and a misplaced fraction of a pixel must not
/// read as a wrong shape.
pub const MISFIT_FLOOR_PX2: f64 = 2.0;
/// An element (of at least [`MISFIT_FLOOR_PX2`]) is the wrong shape when the other shape fits it
/// better by more than this: a 2.5 px square shadow is fitted about as well by a disc (down to
/// 0.008 better on training images), a 7 px square by 0.12.
pub const SHAPE_MARGIN: f64 = 0.05;
/// Per-pixel coverage differences up to this are not counted in the misfit: pixel noise of a
/// few levels moves a pixel's recovered coverage by a few hundredths (+-6 levels against a
/// colour 100-200 levels from the background: 0.03-0.06), and over the ~20 pixels of a thin
/// rectangle's region that alone would read as a misfit of 0.1-0.2; blurred or cloudy edges
/// differ by 0.2-0.5 per pixel and still count.
pub const MISFIT_DEAD_ZONE: f64 = 0.1;
/// Factor by which App. C's size ranges are widened to each side (criterion 3).
pub const SIZE_SLACK: f64 = 1.5;

/// Ideal shape of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A (possibly border-clipped) filled circle.
    Disc,
    /// An axis-aligned filled rectangle or square.
    Box,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Disc => "disc",
            Shape::Box => "rectangle",
        })
    }
}

/// Which length a size bound applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Radius,
    Width,
    Height,
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Radius => "radius",
            Dimension::Width => "width",
            Dimension::Height => "height",
        })
    }
}

/// Shape and plausible sizes of one element (lengths in units of the image side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElementRule {
    pub shape: Shape,
    /// Disc: `[radius]`; box: `[width, height]`, each `(lo, hi)` (App. C's range widened by
    /// [`SIZE_SLACK`]).
    pub sizes: &'static [(Dimension, f64, f64)],
}

const fn widen(lo: f64, hi: f64) -> (f64, f64) {
    (lo / SIZE_SLACK, hi * SIZE_SLACK)
}

macro_rules! size {
    ($d:ident, $lo:expr, $hi:expr) => {
        (Dimension::$d, widen($lo, $hi).0, widen($lo, $hi).1)
    };
}

/// The elements' shapes and App. C's sizes (nominal ranges before widening, units of `S`):
/// - A: sun disc r = 0.1; pole box w = 0.12, h in [0.2, 0.4]; shadow box length in
///   [0, 0.5] (it must end inside the image), thickness 0.08.
/// - B: rectangles w = 0.12, h1 in [0.2, 0.6], h2 = h1 x1 / x2 in [0, 0.36].
/// - C: discs r1 in [0.05, 0.15], r2 = sqrt 2 r1 in [0.071, 0.212].
/// - D: squares l1 in [0.15, 0.35], l2 = 1.5 l1 in [0.225, 0.525].
pub fn rules(task: Task) -> &'static [ElementRule] {
    const A: &[ElementRule] = &[
        ElementRule {
            shape: Shape::Disc,
            sizes: &[size!(Radius, 0.1, 0.1)],
        },
        ElementRule {
            shape: Shape::Box,
            sizes: &[size!(Width, 0.12, 0.12), size!(Height, 0.2, 0.4)],
        },
        ElementRule {
            shape: Shape::Box,
            sizes: &[size!(Width, 0.0, 0.5), size!(Height, 0.08, 0.08)],
        },
    ];
    const B: &[ElementRule] = &[
        ElementRule {
            shape: Shape::Box,
            sizes: &[size!(Width, 0.12, 0.12), size!(Height, 0.2, 0.6)],
        },
        ElementRule {
            shape: Shape::Box,
            sizes: &[size!(Width, 0.12, 0.12), size!(Height, 0.0, 0.36)],
        },
    ];
    const C: &[ElementRule] = &[
        ElementRule {
            shape: Shape::Disc,
            sizes: &[size!(Radius, 0.05, 0.15)],
        },
        ElementRule {
            shape: Shape::Disc,
            sizes: &[size!(Radius, 0.0707, 0.2122)],
        },
    ];
    const D: &[ElementRule] = &[
        ElementRule {
            shape: Shape::Box,
            sizes: &[size!(Width, 0.15, 0.35), size!(Height, 0.15, 0.35)],
        },
        ElementRule {
            shape: Shape::Box,
            sizes: &[size!(Width, 0.225, 0.525), size!(Height, 0.225, 0.525)],
        },
    ];
    match task {
        Task::A => A,
        Task::B => B,
        Task::C => C,
        Task::D => D,
    }
}

/// Why an image is invalid: always named, never empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvalidReason {
    /// The file could not be decoded.
    Decode { message: String },
    /// Width and height differ.
    NonSquareImage { width: u32, height: u32 },
    /// Side below 8 px.
    ImageTooSmall { width: u32, height: u32 },
    /// No component of the element's colour above the mass threshold.
    Missing { element: String },
    /// The kept component's recovered coverage is below the mass threshold.
    CoverageTooSmall { element: String },
    /// `strict_count`: more components of the element's colour outside every region.
    ExtraComponents { element: String, count: usize },
    /// The kept component holds only `share` of the element colour's mass.
    NotDominant { element: String, share: f64 },
    /// The coverage map does not match the fitted ideal shape.
    WrongShape {
        element: String,
        shape: Shape,
        misfit: f64,
        /// Misfit under the other shape (a disc for a box, a box for a disc).
        #[serde(default)]
        other_misfit: f64,
    },
    /// A length outside the task's plausible range (units of the image side).
    ImplausibleSize {
        element: String,
        dimension: Dimension,
        value: f64,
        lo: f64,
        hi: f64,
    },
    /// Task A: the sun centre is not above the pole top.
    SunNotAbovePole,
    /// A disc of radius 0.
    ZeroRadius { element: String },
    /// Task D: width / height outside [0.8, 1.25].
    NotSquare { element: String, aspect: f64 },
    /// Too many off-background pixels outside the elements.
    ClutteredBackground { share: f64 },
    /// A feature came out NaN or infinite.
    NonFiniteFeature,
}

impl InvalidReason {
    /// A short name without numbers, used to count reasons in the summary.
    pub fn label(&self) -> String {
        use InvalidReason::*;
        match self {
            Decode { .. } => "decode error".into(),
            NonSquareImage { .. } => "non-square image".into(),
            ImageTooSmall { .. } => "image too small".into(),
            Missing { element } => format!("missing {element}"),
            CoverageTooSmall { element } => format!("missing {element} (coverage too small)"),
            ExtraComponents { element, .. } => format!("extra components of {element}"),
            NotDominant { element, .. } => format!("{element} not one dominant object"),
            WrongShape { element, shape, .. } => format!("{element} not a {shape}"),
            ImplausibleSize {
                element, dimension, ..
            } => format!("{element} implausible {dimension}"),
            SunNotAbovePole => "sun not above the pole top".into(),
            ZeroRadius { element } => format!("zero radius: {element}"),
            NotSquare { element, .. } => format!("not square: {element}"),
            ClutteredBackground { .. } => "cluttered background".into(),
            NonFiniteFeature => "non-finite feature".into(),
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InvalidReason::*;
        match self {
            Decode { message } => write!(f, "decode error: {message}"),
            NonSquareImage { width, height } => write!(f, "non-square image {width}x{height}"),
            ImageTooSmall { width, height } => {
                write!(f, "image too small ({width}x{height}, need >= 8)")
            }
            ExtraComponents { element, count } => {
                write!(f, "extra components of {element} ({count} beyond the kept one)")
            }
            NotDominant { element, share } => write!(
                f,
                "{element} not one dominant object (kept component holds {share:.2} of its colour, need >= {DOMINANT_SHARE})"
            ),
            WrongShape {
                element,
                shape,
                misfit,
                other_misfit,
            } if *misfit <= MAX_MISFIT => write!(
                f,
                "{element} not a {shape} (the other shape fits better: misfit {other_misfit:.2} against {misfit:.2})"
            ),
            WrongShape {
                element,
                shape,
                misfit,
                ..
            } => write!(
                f,
                "{element} not a {shape} (misfit {misfit:.2}, allowed {MAX_MISFIT})"
            ),
            ImplausibleSize {
                element,
                dimension,
                value,
                lo,
                hi,
            } => write!(
                f,
                "{element} implausible {dimension} ({value:.3} of the side, plausible [{lo:.3}, {hi:.3}])"
            ),
            NotSquare { element, aspect } => write!(f, "not square: {element} aspect {aspect:.2}"),
            ClutteredBackground { share } => write!(
                f,
                "cluttered background ({:.1} % of background pixels off, allowed {} %)",
                100.0 * share,
                100.0 * MAX_CLUTTER
            ),
            _ => f.write_str(&self.label()),
        }
    }
}

/// Measurements behind the verdict of one element (reported for calibration).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ElementCheck {
    /// Share of the kept component in the mass of itself and its rival (1 when no stray mass).
    pub share: f64,
    /// Stray colour mass (every component outside the elements' regions), source px^2.
    pub stray_px2: f64,
    /// Colour mass of the largest stray component, the kept component's rival, source px^2.
    #[serde(default)]
    pub rival_px2: f64,
    /// Shape misfit under the element's own shape.
    pub misfit: f64,
    /// Misfit under the other shape (box for a disc, disc for a box).
    pub other_misfit: f64,
}

/// Shape misfit of one element: `sum max(|alpha - alpha_model| - 0.1, 0) / max(mass, 2 px^2)`
/// over source pixels ([`MISFIT_DEAD_ZONE`], [`MISFIT_FLOOR_PX2`]), the model rendered with the
/// generator's anti-aliasing ([`Canvas`]).
pub fn misfit(s: &ElementStats, shape: Shape, m: &Measured) -> f64 {
    let f = m.factor as f64;
    let src = (m.side / f).round() as usize;
    let mut canvas = Canvas::new(src, [255, 255, 255]);
    match shape {
        Shape::Disc => {
            let (cx, cy, r) = features::disk(s, m.side, m.factor);
            canvas.fill_disk(cx / f, cy / f, r / f, [0, 0, 0]);
        }
        Shape::Box => {
            let (cx, cy, w, h) = features::boxed(s, m.factor);
            let (cx, cy, w, h) = (cx / f, cy / f, w / f, h / f);
            canvas.fill_rect(
                cx - w / 2.0,
                cy - h / 2.0,
                cx + w / 2.0,
                cy + h / 2.0,
                [0, 0, 0],
            );
        }
    }
    let mut model = canvas.coverage();
    let dead = |d: f64| (d.abs() - MISFIT_DEAD_ZONE).max(0.0);
    let mut diff = 0f64;
    for &(k, a) in &s.coverage {
        let k = k as usize;
        if let Some(mk) = model.get_mut(k) {
            diff += dead(a as f64 - *mk as f64);
            *mk = 0.0;
        } else {
            diff += dead(a as f64);
        }
    }
    diff += model.iter().map(|&v| dead(v as f64)).sum::<f64>();
    let mass = s.mass / (f * f);
    diff / mass.max(MISFIT_FLOOR_PX2)
}

/// Measured lengths of an element for its size rule, units of the side, with whether each is
/// resolved (a lower bound is only checked on a resolved length).
fn lengths(s: &ElementStats, rule: &ElementRule, m: &Measured) -> Vec<(f64, bool)> {
    match rule.shape {
        Shape::Disc => {
            let (_, _, r) = features::disk(s, m.side, m.factor);
            vec![(r / m.side, true)]
        }
        Shape::Box => {
            let (_, _, w, h) = features::boxed(s, m.factor);
            let resolved = features::box_resolved(s, m.factor);
            vec![(w / m.side, resolved), (h / m.side, resolved)]
        }
    }
}

/// Check criteria 1-4 of the module docs; `tf` is the outcome of the task's own checks
/// (criterion 5). Returns the per-element measurements and every failure found, in order.
pub fn check(
    task: Task,
    m: &Measured,
    tf: &Result<TaskFeatures, InvalidReason>,
    strict_count: bool,
) -> (Vec<ElementCheck>, Vec<InvalidReason>) {
    let mut fails = Vec::new();
    let mut checks = Vec::new();
    let f2 = (m.factor * m.factor) as f64;
    for ((s, spec), rule) in m.elements.iter().zip(task.elements()).zip(rules(task)) {
        let element = spec.name.to_string();
        let share = if s.color_mass + s.rival_mass > 0.0 {
            s.color_mass / (s.color_mass + s.rival_mass)
        } else {
            1.0
        };
        let stray_px2 = s.stray_mass / f2;
        let rival_px2 = s.rival_mass / f2;
        let mis = misfit(s, rule.shape, m);
        let other = match rule.shape {
            Shape::Disc => Shape::Box,
            Shape::Box => Shape::Disc,
        };
        let other_mis = misfit(s, other, m);
        checks.push(ElementCheck {
            share,
            stray_px2,
            rival_px2,
            misfit: mis,
            other_misfit: other_mis,
        });
        if strict_count && s.n_stray > 0 {
            fails.push(InvalidReason::ExtraComponents {
                element: element.clone(),
                count: s.n_stray,
            });
        }
        if share < DOMINANT_SHARE && rival_px2 > STRAY_FLOOR_PX2 {
            fails.push(InvalidReason::NotDominant {
                element: element.clone(),
                share,
            });
        }
        let resolved = s.mass / f2 >= MISFIT_FLOOR_PX2;
        // NaN misfits fail
        if mis.is_nan() || mis > MAX_MISFIT || (resolved && other_mis + SHAPE_MARGIN < mis) {
            fails.push(InvalidReason::WrongShape {
                element: element.clone(),
                shape: rule.shape,
                misfit: mis,
                other_misfit: other_mis,
            });
        }
        for (&(dimension, lo, hi), (value, resolved)) in rule.sizes.iter().zip(lengths(s, rule, m))
        {
            let too_small = resolved && value < lo;
            if too_small || value.is_nan() || value > hi {
                fails.push(InvalidReason::ImplausibleSize {
                    element: element.clone(),
                    dimension,
                    value,
                    lo,
                    hi,
                });
            }
        }
    }
    if let Err(r) = tf {
        fails.push(r.clone());
    }
    if m.clutter > MAX_CLUTTER {
        fails.push(InvalidReason::ClutteredBackground { share: m.clutter });
    }
    (checks, fails)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn every_reason_has_a_non_empty_label_and_message() {
        let all = [
            InvalidReason::Decode {
                message: "x".into(),
            },
            InvalidReason::NonSquareImage {
                width: 1,
                height: 2,
            },
            InvalidReason::Missing {
                element: "circle1".into(),
            },
            InvalidReason::NotDominant {
                element: "sun".into(),
                share: 0.3,
            },
            InvalidReason::WrongShape {
                element: "top".into(),
                shape: Shape::Box,
                misfit: 0.5,
                other_misfit: 0.6,
            },
            InvalidReason::ClutteredBackground { share: 0.2 },
            InvalidReason::SunNotAbovePole,
        ];
        for r in all {
            assert!(!r.label().is_empty() && !r.to_string().is_empty());
            // labels keep element names whole (digits included) and carry no measured values
            assert!(!r.label().contains('.'), "{}", r.label());
        }
        assert_eq!(
            InvalidReason::Missing {
                element: "circle1".into()
            }
            .label(),
            "missing circle1"
        );
    }

    #[test]
    fn size_ranges_widen_app_c() {
        let sun = rules(Task::A)[0].sizes[0];
        assert!((sun.1 - 0.1 / 1.5).abs() < 1e-12 && (sun.2 - 0.15).abs() < 1e-12);
        for t in Task::ALL {
            assert_eq!(rules(t).len(), t.elements().len());
        }
    }
}
