//! Issue 9's floor study: the rule-conforming error (Def. 4.3) against network width, one line
//! per architecture, one panel per (loss convention, t), from `theory floor`'s `floor.csv`
//! (rows with λ = 0 only: plain DSM).
//!
//! Log-log axes; a rule error below [`FLOOR_DRAWN`] (e.g. the 1e-31 of the constrained
//! score-form network) is drawn at that value and the caption says so.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use crate::error::{draw_err, PlotError};
use crate::render::{text, Figure};

/// Smallest rule error drawn on the log axis.
pub const FLOOR_DRAWN: f64 = 1e-12;

/// The `floor.csv` columns this figure reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FloorRow {
    /// Architecture name (`per_patch`, `joint`, `joint_mlp`, `structured_free`, ...).
    pub architecture: String,
    /// Width m (0 for the Bayes-optimal reference).
    pub width: usize,
    /// Loss convention.
    pub convention: String,
    /// Diffusion time t.
    pub t: f64,
    /// Weight of the rule penalty (0: plain DSM).
    pub lambda: f64,
    /// Rule-conforming error E.
    pub rule_error: f64,
}

/// Read `floor.csv`.
pub fn read_floor_csv(path: &std::path::Path) -> Result<Vec<FloorRow>, PlotError> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| PlotError::Invalid {
        figure: "floor",
        what: format!("{}: {e}", path.display()),
    })?;
    rdr.deserialize()
        .collect::<Result<Vec<FloorRow>, _>>()
        .map_err(|e| PlotError::Invalid {
            figure: "floor",
            what: format!("{}: {e}", path.display()),
        })
}

type Line = (String, Vec<(f64, f64)>);

/// Rule error against width.
#[derive(Debug, Clone)]
pub struct FloorFigure {
    panels: Vec<(String, Vec<Line>)>,
}

impl FloorFigure {
    /// Group λ = 0 rows with width ≥ 1 into panels and lines; errors on no usable row.
    pub fn new(rows: &[FloorRow]) -> Result<Self, PlotError> {
        let mut panels: Vec<(String, Vec<Line>)> = Vec::new();
        for r in rows.iter().filter(|r| r.lambda == 0.0 && r.width >= 1) {
            if !r.rule_error.is_finite() || r.rule_error < 0.0 {
                return Err(PlotError::Invalid {
                    figure: "floor",
                    what: format!(
                        "rule error {} for {} m={}",
                        r.rule_error, r.architecture, r.width
                    ),
                });
            }
            let key = format!("{} loss, t = {}", r.convention, r.t);
            let idx = match panels.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    panels.push((key, Vec::new()));
                    panels.len() - 1
                }
            };
            let lines = &mut panels[idx].1;
            let point = (r.width as f64, r.rule_error.max(FLOOR_DRAWN));
            match lines.iter_mut().find(|(a, _)| *a == r.architecture) {
                Some((_, pts)) => pts.push(point),
                None => lines.push((r.architecture.clone(), vec![point])),
            }
        }
        if panels.is_empty() {
            return Err(PlotError::Empty {
                figure: "floor",
                what: "no λ = 0 rows with width ≥ 1".into(),
            });
        }
        for (_, lines) in &mut panels {
            for (_, pts) in lines.iter_mut() {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
        Ok(FloorFigure { panels })
    }
}

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

impl Figure for FloorFigure {
    const NAME: &'static str = "floor";
    fn size(&self) -> (u32, u32) {
        (
            560 * self.panels.len().min(3) as u32,
            520 * self.panels.len().div_ceil(3) as u32,
        )
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title, body) = root.split_vertically(40);
        title
            .draw(&Text::new(
                format!(
                    "Rule-conforming error vs width (plain DSM; values < {FLOOR_DRAWN:e} drawn at {FLOOR_DRAWN:e})"
                ),
                (12, 10),
                text(17.0),
            ))
            .map_err(draw_err)?;
        let cols = self.panels.len().min(3);
        let rows = self.panels.len().div_ceil(3);
        let areas = body.split_evenly((rows, cols));
        for ((key, lines), area) in self.panels.iter().zip(areas.iter()) {
            let all = lines.iter().flat_map(|(_, p)| p.iter());
            let (xmax, ymin, ymax) = all
                .fold((1.0f64, f64::INFINITY, 0.0f64), |(x, lo, hi), &(a, b)| {
                    (x.max(a), lo.min(b), hi.max(b))
                });
            let mut chart = ChartBuilder::on(area)
                .caption(key.as_str(), text(15.0))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(
                    (0.8f64..xmax * 1.25).log_scale(),
                    (ymin / 3.0..ymax * 3.0).log_scale(),
                )
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("width m (hidden units)")
                .y_desc("rule error E (dimensionless)")
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .label_style(text(12.0))
                .axis_desc_style(text(13.0))
                .draw()
                .map_err(draw_err)?;
            for (i, (arch, pts)) in lines.iter().enumerate() {
                let c = COLOURS[i % COLOURS.len()];
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                    .map_err(draw_err)?
                    .label(arch.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
                    .map_err(draw_err)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(text(12.0))
                .position(SeriesLabelPosition::LowerLeft)
                .draw()
                .map_err(draw_err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arch: &str, width: usize, lambda: f64, e: f64) -> FloorRow {
        FloorRow {
            architecture: arch.into(),
            width,
            convention: "score".into(),
            t: 0.2,
            lambda,
            rule_error: e,
        }
    }

    #[test]
    fn groups_lambda_zero_rows_and_rejects_empty_or_bad_input() {
        let rows = vec![
            row("per_patch", 1, 0.0, 2.0),
            row("per_patch", 4, 0.0, 1.5),
            row("joint_mlp", 4, 0.0, 1e-40),
            row("per_patch", 4, 10.0, 0.5),
            row("bayes", 0, 0.0, 0.0),
        ];
        let f = FloorFigure::new(&rows).unwrap();
        assert_eq!(f.panels.len(), 1);
        let lines = &f.panels[0].1;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1, vec![(1.0, 2.0), (4.0, 1.5)]);
        assert_eq!(lines[1].1, vec![(4.0, FLOOR_DRAWN)]);
        assert!(FloorFigure::new(&rows[3..]).is_err());
        assert!(FloorFigure::new(&[row("x", 2, 0.0, f64::NAN)]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let w = crate::write_figure(&f, &dir.path().join("floor")).unwrap();
        assert!(std::fs::metadata(&w.png).unwrap().len() > 1000);
        assert!(std::fs::read_to_string(&w.svg)
            .unwrap()
            .contains("per_patch"));
    }
}
