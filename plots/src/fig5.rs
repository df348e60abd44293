//! Figure 5 (Section 3.3): (a) how many samples conform to the fine rule,
//! i.e. have a ratio `y/x` within ±0.01 of the target ratio `k`; (b)
//! memorisation check: nearest-neighbour distances of rule-conforming samples
//! to the training set in the 4-D feature space `(l1, l2, h1, h2)` and the
//! 13-D space that adds the RGB colours of sun, pole and shadow, with the
//! replica thresholds.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{draw_err, PlotError};
use crate::hist::histogram;
use crate::render::{padded_range, text, Figure};

/// Rule-conforming count of one task (Fig. 5a).
#[derive(Debug, Clone, PartialEq)]
pub struct ConformingCount {
    /// Task name ("A".."D").
    pub task: String,
    /// Samples with `|y/x − k| ≤ tol`.
    pub count: usize,
    /// Valid samples evaluated.
    pub n_valid: usize,
}

/// Count of ratios `y/x` within `tol` of `k` (pairs with `x = 0` never count).
pub fn count_within(x: &[f64], y: &[f64], k: f64, tol: f64) -> usize {
    x.iter()
        .zip(y)
        .filter(|(a, b)| **a != 0.0 && ((**b / **a) - k).abs() <= tol)
        .count()
}

/// Figure 5(a): bar chart of rule-conforming counts per task.
#[derive(Debug, Clone)]
pub struct Figure5a {
    counts: Vec<ConformingCount>,
    tol: f64,
}

impl Figure5a {
    /// Errors on an empty list.
    pub fn new(counts: Vec<ConformingCount>, tol: f64) -> Result<Self, PlotError> {
        if counts.is_empty() {
            return Err(PlotError::Empty {
                figure: "fig5a",
                what: "no task counts".into(),
            });
        }
        Ok(Figure5a { counts, tol })
    }
}

impl Figure for Figure5a {
    const NAME: &'static str = "fig5a";
    fn size(&self) -> (u32, u32) {
        (200 * self.counts.len() as u32 + 200, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let n = self.counts.len();
        let ymax = self.counts.iter().map(|c| c.count).max().unwrap_or(0) as f64 * 1.25 + 1.0;
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .caption(
                format!(
                    "Figure 5(a): rule-conforming samples (|ratio − target| ≤ {})",
                    self.tol
                ),
                text(20.0),
            )
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n as f64, 0.0..ymax)
            .map_err(draw_err)?;
        let labels: Vec<String> = self
            .counts
            .iter()
            .map(|c| format!("Task {}", c.task))
            .collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|v| {
                let i = (*v - 0.5).round();
                if (v - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("task")
            .y_desc("number of samples")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(text(14.0))
            .axis_desc_style(text(15.0))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(self.counts.iter().enumerate().map(|(i, c)| {
                Rectangle::new(
                    [(i as f64 + 0.2, 0.0), (i as f64 + 0.8, c.count as f64)],
                    RGBColor(70, 110, 180).filled(),
                )
            }))
            .map_err(draw_err)?;
        chart
            .draw_series(self.counts.iter().enumerate().map(|(i, c)| {
                Text::new(
                    format!("{} / {}", c.count, c.n_valid),
                    (i as f64 + 0.25, c.count as f64 + ymax * 0.03),
                    text(14.0),
                )
            }))
            .map_err(draw_err)?;
        Ok(())
    }
}

/// Nearest-neighbour distances of rule-conforming samples to the training
/// set in one feature space (Fig. 5b).
#[derive(Debug, Clone, PartialEq)]
pub struct NnDistances {
    /// Name of the space, e.g. "4-D (l1, l2, h1, h2)".
    pub space: String,
    /// Distance of each sample to its nearest training image.
    pub distances: Vec<f64>,
    /// Replica thresholds drawn as vertical lines.
    pub thresholds: Vec<f64>,
}

/// Euclidean nearest-neighbour distance of each query to `reference`.
pub fn nearest_neighbour_distances(queries: &[Vec<f64>], reference: &[Vec<f64>]) -> Vec<f64> {
    queries
        .iter()
        .map(|q| {
            reference
                .iter()
                .map(|r| q.iter().zip(r).map(|(a, b)| (a - b).powi(2)).sum::<f64>())
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .collect()
}

/// Figure 5(b): one histogram per feature space with threshold lines.
#[derive(Debug, Clone)]
pub struct Figure5b {
    spaces: Vec<NnDistances>,
}

impl Figure5b {
    /// Errors when there is no space or a space has no distances.
    pub fn new(spaces: Vec<NnDistances>) -> Result<Self, PlotError> {
        if spaces.is_empty() || spaces.iter().any(|s| s.distances.is_empty()) {
            return Err(PlotError::Empty {
                figure: "fig5b",
                what: "no nearest-neighbour distances".into(),
            });
        }
        Ok(Figure5b { spaces })
    }
}

impl Figure for Figure5b {
    const NAME: &'static str = "fig5b";
    fn size(&self) -> (u32, u32) {
        (520 * self.spaces.len() as u32 + 20, 500)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title, body) = root.split_vertically(46);
        title
            .draw(&Text::new(
                "Figure 5(b): nearest-neighbour distance of rule-conforming samples to the training set",
                (16, 12),
                text(19.0),
            ))
            .map_err(draw_err)?;
        let cells = body.split_evenly((1, self.spaces.len()));
        for (s, area) in self.spaces.iter().zip(cells.iter()) {
            let (lo, hi) = padded_range(
                s.distances
                    .iter()
                    .copied()
                    .chain(s.thresholds.iter().copied())
                    .chain([0.0]),
                0.05,
            )
            .unwrap_or((0.0, 1.0));
            let bins = 20;
            let counts = histogram(&s.distances, lo, hi, bins);
            let ymax = *counts.iter().max().unwrap_or(&1) as f64 * 1.2 + 1.0;
            let w = (hi - lo) / bins as f64;
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .caption(
                    format!("{} (n = {})", s.space, s.distances.len()),
                    text(16.0),
                )
                .x_label_area_size(44)
                .y_label_area_size(56)
                .build_cartesian_2d(lo..hi, 0.0..ymax)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("distance to nearest training image (features scaled to [0, 1])")
                .y_desc("number of samples")
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style(text(13.0))
                .axis_desc_style(text(13.0))
                .light_line_style(WHITE)
                .draw()
                .map_err(draw_err)?;
            chart
                .draw_series(counts.iter().enumerate().map(|(k, &c)| {
                    let x0 = lo + k as f64 * w;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + w, c as f64)],
                        RGBColor(150, 150, 150).filled(),
                    )
                }))
                .map_err(draw_err)?;
            for (i, &th) in s.thresholds.iter().enumerate() {
                let below = s.distances.iter().filter(|d| **d < th).count();
                let colour = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(th, 0.0), (th, ymax)],
                        colour.stroke_width(2),
                    )))
                    .map_err(draw_err)?
                    .label(format!("threshold {th}: {below} replica(s) below"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(text(12.0))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(draw_err)?;
        }
        Ok(())
    }
}
