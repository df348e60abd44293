//! Figure 6 (Section 4, App. F): distributions of the rule coefficient
//! `ψ_t(x_t)` (Def. 4.3) of trained two-layer score networks, one panel per
//! activation × t, against the rule-conforming value `α_t/β_t²`.
//!
//! The panels come straight from `theory::figure6_grid` (see
//! [`crate::theory_data`]); this module only draws plain data.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{draw_err, PlotError};
use crate::hist::{histogram, mean_std};
use crate::render::{padded_range, text, Figure};

/// One panel of Figure 6: the sampled `ψ_t` values of one trained network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsiPanel {
    /// Activation name (ReLU, linear, quadratic, cubic).
    pub activation: String,
    /// Diffusion time `t` (continuous schedule `α_t = e^{-t}`).
    pub t: f64,
    /// Loss convention the network was trained with.
    pub convention: theory::Convention,
    /// `α_t`.
    pub alpha_t: f64,
    /// `β_t`.
    pub beta_t: f64,
    /// Rule-conforming value `α_t/β_t²` (Def. 4.3).
    pub target: f64,
    /// `ψ_t(x_t)` over sampled `x_t`.
    pub psi: Vec<f64>,
}

/// Figure 6 as a grid: rows = activations, columns = times.
#[derive(Debug, Clone)]
pub struct Figure6 {
    panels: Vec<PsiPanel>,
    activations: Vec<String>,
    ts: Vec<f64>,
    bins: usize,
}

impl Figure6 {
    /// Check the panels (non-empty, finite) and lay them out.
    pub fn new(panels: Vec<PsiPanel>) -> Result<Self, PlotError> {
        if panels.is_empty() {
            return Err(PlotError::Empty {
                figure: "fig6",
                what: "no ψ_t panels".into(),
            });
        }
        let mut activations: Vec<String> = Vec::new();
        let mut ts: Vec<f64> = Vec::new();
        for p in &panels {
            if p.psi.is_empty() {
                return Err(PlotError::Empty {
                    figure: "fig6",
                    what: format!("panel {} t={} has no ψ samples", p.activation, p.t),
                });
            }
            if p.psi.iter().any(|v| !v.is_finite()) || !p.target.is_finite() {
                return Err(PlotError::Invalid {
                    figure: "fig6",
                    what: format!("panel {} t={} has non-finite values", p.activation, p.t),
                });
            }
            if !activations.contains(&p.activation) {
                activations.push(p.activation.clone());
            }
            if !ts.iter().any(|t| (t - p.t).abs() < 1e-12) {
                ts.push(p.t);
            }
        }
        ts.sort_by(f64::total_cmp);
        Ok(Figure6 {
            panels,
            activations,
            ts,
            bins: 40,
        })
    }

    fn panel(&self, act: &str, t: f64) -> Option<&PsiPanel> {
        self.panels
            .iter()
            .find(|p| p.activation == act && (p.t - t).abs() < 1e-12)
    }
}

impl Figure for Figure6 {
    const NAME: &'static str = "fig6";

    fn size(&self) -> (u32, u32) {
        (
            360 * self.ts.len() as u32 + 40,
            300 * self.activations.len() as u32 + 110,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let conv = self.panels[0].convention;
        let n = self.panels[0].psi.len();
        let (title, body) = root.split_vertically(80);
        title
            .draw(&Text::new(
                format!("Figure 6: ψ_t(x_t) of trained two-layer score networks over {n} sampled x_t ({conv} loss)"),
                (20, 12),
                text(24.0),
            ))
            .map_err(draw_err)?;
        title
            .draw(&Text::new(
                "bars: histogram of ψ_t;  red dashed: rule value α_t/β_t²;  blue: mean of ψ_t",
                (20, 46),
                text(18.0),
            ))
            .map_err(draw_err)?;
        let cells = body.split_evenly((self.activations.len(), self.ts.len()));
        for (i, act) in self.activations.iter().enumerate() {
            for (j, &t) in self.ts.iter().enumerate() {
                let area = &cells[i * self.ts.len() + j];
                match self.panel(act, t) {
                    Some(p) => draw_panel(area, p, self.bins)?,
                    None => {
                        area.draw(&Text::new("(no panel)", (40, 100), text(16.0)))
                            .map_err(draw_err)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &PsiPanel,
    bins: usize,
) -> Result<(), PlotError> {
    let (mean, sd) = mean_std(&p.psi);
    let (lo, hi) =
        padded_range(p.psi.iter().copied().chain([p.target]), 0.05).ok_or_else(|| {
            PlotError::Empty {
                figure: "fig6",
                what: "no finite ψ".into(),
            }
        })?;
    let counts = histogram(&p.psi, lo, hi, bins);
    let ymax = *counts.iter().max().unwrap_or(&1) as f64 * 1.1 + 1.0;
    let width = (hi - lo) / bins as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .caption(
            format!(
                "{}, t = {:.1}   bias = {:.3}, sd = {:.3}",
                p.activation,
                p.t,
                (mean - p.target).abs(),
                sd
            ),
            text(16.0),
        )
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(lo..hi, 0.0..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("ψ_t(x_t)  (dimensionless)")
        .y_desc("count of x_t")
        .label_style(text(13.0))
        .axis_desc_style(text(14.0))
        .x_labels(5)
        .y_labels(5)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(draw_err)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(k, &c)| {
            let x0 = lo + k as f64 * width;
            Rectangle::new(
                [(x0, 0.0), (x0 + width, c as f64)],
                RGBColor(150, 150, 150).filled(),
            )
        }))
        .map_err(draw_err)?;
    // Rule value α_t/β_t² (dashed red) and the mean of ψ_t (solid blue).
    let dashes = 12;
    chart
        .draw_series((0..dashes).step_by(1).filter(|k| k % 2 == 0).map(|k| {
            let y0 = ymax * k as f64 / dashes as f64;
            let y1 = ymax * (k + 1) as f64 / dashes as f64;
            PathElement::new(vec![(p.target, y0), (p.target, y1)], RED.stroke_width(3))
        }))
        .map_err(draw_err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(mean, 0.0), (mean, ymax)],
            BLUE.stroke_width(2),
        )))
        .map_err(draw_err)?;
    Ok(())
}
