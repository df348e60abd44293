//! Figures 3 and 4 (Section 3.2-3.3), and the panels of Figures 12-14:
//! estimated vs ground-truth fine-rule quantities `(x, y)` per task, with
//! the OLS "Estimation" line, the "Ground Truth" line `y = k·x` and R², all
//! computed by the one Eq. 4 implementation [`bridge::eq4_error`].

use plotters::coord::Shift;
use plotters::prelude::*;

use bridge::{Ddof, Eq4Error, Trim};

use crate::error::{draw_err, PlotError};
use crate::render::{padded_range, text, Figure};

/// One scatter panel: the per-image rule quantities of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPanel {
    /// Panel title, e.g. "Task A (samples)".
    pub title: String,
    /// Axis label of `x`, e.g. "x = l1·h2 / S²  (fraction of image area)".
    pub x_label: String,
    /// Axis label of `y`.
    pub y_label: String,
    /// Rule quantity `x` per valid image.
    pub x: Vec<f64>,
    /// Rule quantity `y` per valid image.
    pub y: Vec<f64>,
    /// Target slope `k` of the ground-truth line.
    pub k: f64,
    /// Trimming before the fit (the paper shows the [2.5 %, 97.5 %] interval).
    pub trim: Trim,
}

impl ScatterPanel {
    /// The points kept by the trimming and the panel's Eq. 4 fit; errors (naming the panel)
    /// when there are no pairs or the metric rejects them (e.g. every `x` equal).
    pub fn fit(&self) -> Result<(Vec<(f64, f64)>, Eq4Error), PlotError> {
        if self.x.is_empty() {
            return Err(PlotError::Empty {
                figure: "scatter",
                what: format!("{}: no (x, y) pairs", self.title),
            });
        }
        let metric = |source| PlotError::Panel {
            figure: "scatter",
            panel: self.title.clone(),
            source,
        };
        let (tx, ty) = bridge::trim(&self.x, &self.y, self.trim).map_err(metric)?;
        let e = bridge::eq4_error(&self.x, &self.y, self.k, self.trim, Ddof::Population)
            .map_err(metric)?;
        Ok((tx.into_iter().zip(ty).collect(), e))
    }
}

/// A panel with the points its trimming kept and its Eq. 4 fit.
#[derive(Debug, Clone)]
struct FittedPanel {
    panel: ScatterPanel,
    kept: Vec<(f64, f64)>,
    fit: Eq4Error,
}

/// A row of scatter panels with their Eq. 4 fits.
#[derive(Debug, Clone)]
pub struct ScatterFigure {
    title: String,
    panels: Vec<FittedPanel>,
}

impl ScatterFigure {
    /// Fit every panel (Eq. 4 after trimming); errors on empty input or a
    /// panel the metric rejects.
    pub fn new(title: impl Into<String>, panels: Vec<ScatterPanel>) -> Result<Self, PlotError> {
        if panels.is_empty() {
            return Err(PlotError::Empty {
                figure: "scatter",
                what: "no task panels".into(),
            });
        }
        let mut out = Vec::new();
        for p in panels {
            let (kept, fit) = p.fit()?;
            out.push(FittedPanel {
                panel: p,
                kept,
                fit,
            });
        }
        Ok(ScatterFigure {
            title: title.into(),
            panels: out,
        })
    }

    /// The Eq. 4 result of each panel, in order.
    pub fn fits(&self) -> Vec<&Eq4Error> {
        self.panels.iter().map(|f| &f.fit).collect()
    }
}

impl Figure for ScatterFigure {
    const NAME: &'static str = "scatter";

    fn size(&self) -> (u32, u32) {
        let n = self.panels.len() as u32;
        let cols = n.min(4);
        let rows = n.div_ceil(cols);
        (440 * cols + 20, 440 * rows + 60)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title, body) = root.split_vertically(50);
        title
            .draw(&Text::new(self.title.clone(), (16, 12), text(22.0)))
            .map_err(draw_err)?;
        let n = self.panels.len();
        let cols = n.min(4);
        let rows = n.div_ceil(cols);
        let cells = body.split_evenly((rows, cols));
        for (f, area) in self.panels.iter().zip(cells.iter()) {
            draw_scatter(area, &f.panel, &f.kept, &f.fit)?;
        }
        Ok(())
    }
}

fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &ScatterPanel,
    kept: &[(f64, f64)],
    e: &Eq4Error,
) -> Result<(), PlotError> {
    let (xl, xh) = padded_range(kept.iter().map(|q| q.0), 0.05).unwrap_or((0.0, 1.0));
    let (yl, yh) = padded_range(kept.iter().map(|q| q.1), 0.05).unwrap_or((0.0, 1.0));
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .caption(&p.title, text(18.0))
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(xl..xh, yl..yh)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(&p.x_label)
        .y_desc(&p.y_label)
        .label_style(text(13.0))
        .axis_desc_style(text(14.0))
        .x_labels(5)
        .y_labels(5)
        .light_line_style(WHITE)
        .draw()
        .map_err(draw_err)?;
    const POINT: RGBColor = RGBColor(70, 110, 180);
    let point = POINT;
    chart
        .draw_series(
            kept.iter()
                .map(|&(x, y)| Circle::new((x, y), 2, point.mix(0.5).filled())),
        )
        .map_err(draw_err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(xl, p.k * xl), (xh, p.k * xh)],
            BLACK.stroke_width(4),
        )))
        .map_err(draw_err)?
        .label(format!("Ground truth: y = {:.3}x", p.k))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(4)));
    let fit = e.fit;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![
                (xl, fit.beta1 * xl + fit.beta0),
                (xh, fit.beta1 * xh + fit.beta0),
            ],
            RED.stroke_width(2),
        )))
        .map_err(draw_err)?
        .label(format!(
            "Estimation: y = {:.3}x {} {:.3}",
            fit.beta1,
            if fit.beta0 < 0.0 { "-" } else { "+" },
            fit.beta0.abs()
        ))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
    chart
        .draw_series(std::iter::once(Circle::new((xl, yl), 0, WHITE)))
        .map_err(draw_err)?
        .label(format!(
            "R² = {:.3}, Error = {:.3} (n = {})",
            fit.r_squared, e.total, e.n_kept
        ))
        .legend(|(x, y)| Circle::new((x + 9, y), 3, POINT.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(text(13.0))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}
