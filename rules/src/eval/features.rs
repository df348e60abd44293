//! Step 3 of Fig. 2: key points and features per task from the coverage moments of `measure`,
//! all divided by the image side (Section 3.2: "scaled to [0, 1]").
//!
//! Shape estimators (exact for the generator's coverage anti-aliasing, up to 8-bit rounding):
//! - **disk**: centre = coverage centroid, `r = sqrt(mass / pi)`. A disk cut by one image border
//!   (Task A's far suns) has `r` = half its largest column (row) sum (plus the mean pixel-averaging
//!   correction `1/(12 r)` source px) and the centre offset `u`
//!   from the border solving `pi r^2 - (r^2 acos(u/r) - u sqrt(r^2 - u^2)) = mass`; the other
//!   coordinate is the centroid's.
//! - **box**: when the box is >= 2 source px tall (largest column sum >= 2 px or >= 4 rows
//!   touched), one row is fully covered: the width is the largest row sum and the height
//!   `mass / width`; otherwise, when it is >= 2 px wide (same tests on rows/columns), the height is the largest column sum and the width
//!   `mass / height`; centre = centroid.
//!
//! Task features (the authors' key points: sun and pole centres, pole top, shadow ends):
//! - A: `l1 = |sun_x - pole_x|`, `h2` = pole height, pole top = `pole_y - h2/2`,
//!   `h1 = top - sun_y`, `l2` = shadow length. Coarse: sun and shadow centroid on opposite
//!   sides of the pole axis (a violation needs both strictly on the same side). The paper's
//!   "shadow endpoint" (Sec. 3.2) gives the same verdict: the far end of a bar lies on the same
//!   side of the axis as its centre. The rule's premise, the sun's side, is only resolved at the
//!   image's resolution when the sun centre is off the axis by at least a pixel, so the offset
//!   `|sun_x - pole_x|` in source pixels is reported as the premise margin (see
//!   [`EvalConfig::coarse_min_premise_px`](super::EvalConfig)).
//! - B: `x_i` = left edge, `h_i` = height of rectangle i (1 yellow, 2 blue-green). Coarse: the
//!   left-most rectangle is the taller.
//! - C: radii `r1` (blue-green), `r2` (yellow), centre offset. Coarse: `|r2/r1 - 1| >= tol`.
//! - D: sides `sqrt(width * height)` of the upper (yellow) and lower (blue-green) squares; a
//!   width/height ratio outside [0.8, 1.25] is invalid ("not square", cf. the authors' 0.9-1.1
//!   bounding-box test). Coarse: the higher square is the smaller.
use super::measure::{ElementStats, Measured};
use super::validity::InvalidReason;
use crate::task::Task;

/// Result of feature extraction for one valid-so-far image.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFeatures {
    /// The four features of [`Task::feature_names`] (normalised).
    pub features: [f64; 4],
    pub coarse_ok: bool,
    /// How far the coarse rule's premise is from undecided, in source pixels: Task A's sun
    /// offset from the pole axis; `None` where the premise is fixed by the layout (B: which
    /// rectangle is left, D: which square is higher) or the rule has its own tolerance (C).
    pub coarse_premise_px: Option<f64>,
}

/// Disk centre and radius (evaluation pixels); `factor` = upscale factor.
pub fn disk(s: &ElementStats, side: f64, factor: usize) -> (f64, f64, f64) {
    let [l, r, t, b] = s.touches;
    let unclipped = (s.cx, s.cy, (s.mass / std::f64::consts::PI).sqrt());
    if !(l || r || t || b) {
        return unclipped;
    }
    // The chord across the clipping border is complete: it is the larger of the two.
    let horiz = (l || r) && (!(t || b) || s.max_col >= s.max_row);
    if (horiz && l && r) || (!horiz && t && b) {
        return unclipped;
    }
    let chord = if horiz { s.max_col } else { s.max_row };
    // Largest pixel-averaged chord of a disk: 2 r (1 - (d^2 + 1/12) / (2 r^2)) at offset d from
    // the centre (source px); with E[d^2] = 1/12, r = c/2 + 1/(12 r) on average.
    let f = factor as f64;
    let rs = chord / 2.0 / f;
    let rad = (rs + 1.0 / (12.0 * rs.max(0.5))) * f;
    // Centroid distance from the clipping border of a disk whose centre is at distance `u`
    // inside it: u + (2/3)(r^2 - u^2)^(3/2) / (pi r^2 - segment area) (the cut-off segment's
    // moment removed). Monotone in u and equal to u at tangency, so tangent disks are unbiased.
    let m_of = |u: f64| {
        let u = u.clamp(-rad, rad);
        let seg = rad * rad * (u / rad).acos() - u * (rad * rad - u * u).max(0.0).sqrt();
        let vis = (std::f64::consts::PI * rad * rad - seg).max(1e-12);
        u + (2.0 / 3.0) * (rad * rad - u * u).max(0.0).powf(1.5) / vis
    };
    let measured = if horiz {
        if l {
            s.cx
        } else {
            side - s.cx
        }
    } else if t {
        s.cy
    } else {
        side - s.cy
    };
    if measured >= rad {
        return (s.cx, s.cy, rad);
    }
    let (mut lo, mut hi) = (-0.999 * rad, rad);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if m_of(mid) < measured {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let u = 0.5 * (lo + hi);
    if horiz {
        (if l { u } else { side - u }, s.cy, rad)
    } else {
        (s.cx, if t { u } else { side - u }, rad)
    }
}

/// Whether [`boxed`] resolves both lengths: the box is >= 2 source px tall or wide (a fully
/// covered row or column exists), so its width and height are measured, not guessed.
pub fn box_resolved(s: &ElementStats, factor: usize) -> bool {
    let f = factor as f64;
    let tall = s.max_col >= 2.0 * f || s.n_rows as f64 >= 4.0 * f;
    let wide = s.max_row >= 2.0 * f || s.n_cols as f64 >= 4.0 * f;
    (tall && s.max_row > 0.0) || (wide && s.max_col > 0.0)
}

/// Box centre, width and height (evaluation pixels); `factor` = upscale factor.
pub fn boxed(s: &ElementStats, factor: usize) -> (f64, f64, f64, f64) {
    let f = factor as f64;
    // >= 2 px tall (a column sum >= 2, or >= 4 rows touched) => one row is fully covered
    let tall = s.max_col >= 2.0 * f || s.n_rows as f64 >= 4.0 * f;
    let wide = s.max_row >= 2.0 * f || s.n_cols as f64 >= 4.0 * f;
    let (w, h) = if tall && s.max_row > 0.0 {
        (s.max_row, s.mass / s.max_row)
    } else if wide && s.max_col > 0.0 {
        (s.mass / s.max_col, s.max_col)
    } else {
        (s.max_row, s.max_col)
    };
    (s.cx, s.cy, w, h)
}

/// Per-task features; `Err(reason)` makes the image invalid.
pub fn task_features(
    task: Task,
    m: &Measured,
    coarse_equal_tol: f64,
) -> Result<TaskFeatures, InvalidReason> {
    let n = m.side;
    let e = &m.elements;
    match task {
        Task::A => {
            let (sx, sy, _) = disk(&e[0], n, m.factor);
            let (px, py, _, h2) = boxed(&e[1], m.factor);
            let (shx, _, l2, _) = boxed(&e[2], m.factor);
            let top = py - h2 / 2.0;
            let h1 = top - sy;
            if h1 <= 0.0 {
                return Err(InvalidReason::SunNotAbovePole);
            }
            let coarse_ok = (sx - px) * (shx - px) <= 0.0;
            Ok(TaskFeatures {
                features: [(sx - px).abs() / n, l2 / n, h1 / n, h2 / n],
                coarse_ok,
                coarse_premise_px: Some((sx - px).abs() / m.factor as f64),
            })
        }
        Task::B => {
            let (c1, _, w1, h1) = boxed(&e[0], m.factor);
            let (c2, _, w2, h2) = boxed(&e[1], m.factor);
            let (x1, x2) = (c1 - w1 / 2.0, c2 - w2 / 2.0);
            let coarse_ok = if c1 <= c2 { h1 > h2 } else { h2 > h1 };
            Ok(TaskFeatures {
                features: [x1 / n, h1 / n, x2 / n, h2 / n],
                coarse_ok,
                coarse_premise_px: None,
            })
        }
        Task::C => {
            let (x1, y1, r1) = disk(&e[0], n, m.factor);
            let (x2, y2, r2) = disk(&e[1], n, m.factor);
            if r1 <= 0.0 {
                return Err(InvalidReason::ZeroRadius {
                    element: "circle1".into(),
                });
            }
            let coarse_ok = (r2 / r1 - 1.0).abs() >= coarse_equal_tol;
            Ok(TaskFeatures {
                features: [r1 / n, r2 / n, (x2 - x1) / n, (y2 - y1) / n],
                coarse_ok,
                coarse_premise_px: None,
            })
        }
        Task::D => {
            let (x1, y1, w1, h1) = boxed(&e[0], m.factor);
            let (x2, y2, w2, h2) = boxed(&e[1], m.factor);
            for (name, w, h) in [("top", w1, h1), ("bottom", w2, h2)] {
                let asp = w / h;
                if !(0.8..=1.25).contains(&asp) {
                    return Err(InvalidReason::NotSquare {
                        element: name.into(),
                        aspect: asp,
                    });
                }
            }
            let (l1, l2) = ((w1 * h1).sqrt(), (w2 * h2).sqrt());
            let coarse_ok = if y1 <= y2 { l1 < l2 } else { l2 < l1 };
            Ok(TaskFeatures {
                features: [l1 / n, l2 / n, x1 / n, x2 / n],
                coarse_ok,
                coarse_premise_px: None,
            })
        }
    }
}
