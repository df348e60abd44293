//! The floor study: DSM excess over the Bayes loss (top row) and rule-conforming error (Def. 4.3,
//! bottom row) against network width, one line per trained architecture, one column per (loss
//! convention, t), from `theory floor`'s `floor.csv` (rows with λ = 0 only: plain DSM).
//!
//! Reference rows (width 0) are drawn as horizontal lines at their quadrature values: the per-patch
//! limit (`per_patch_bayes`, dashed: no per-patch network's DSM excess is below it), the trivial
//! predictor (`trivial`, dotted) and, where it is positive, the Bayes-optimal rule error (`bayes`,
//! dash-dot grey). Filled markers: the optimiser's certificate ‖∇J‖ ≤ tolerance was reached; hollow:
//! not converged.
//!
//! Log-log axes; a value below [`FLOOR_DRAWN`] (e.g. the 1e-31 rule error of the constrained
//! score-form network) is drawn at that value and the title says so.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use crate::error::{draw_err, PlotError};
use crate::render::{text, Figure, PALETTE};

/// Smallest value drawn on the log axes.
pub const FLOOR_DRAWN: f64 = 1e-12;

/// The `floor.csv` columns this figure reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FloorRow {
    /// Architecture name (`per_patch`, `joint`, `joint_mlp`, ..., or a reference row).
    pub architecture: String,
    /// Width m (0 for the reference rows).
    pub width: usize,
    /// Loss convention.
    pub convention: theory::Convention,
    /// Diffusion time t.
    pub t: f64,
    /// Weight of the rule penalty (0: plain DSM).
    pub lambda: f64,
    /// DSM excess over the Bayes loss (held-out Monte Carlo).
    pub dsm_excess: f64,
    /// Rule-conforming error E (held-out Monte Carlo).
    pub rule_error: f64,
    /// Certificate reached.
    pub converged: bool,
    /// Reference rows: DSM excess by quadrature.
    #[serde(default)]
    pub quad_dsm_excess: Option<f64>,
    /// Reference rows: rule error by quadrature.
    #[serde(default)]
    pub quad_rule_error: Option<f64>,
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

/// (width, value, converged)
type Point = (f64, f64, bool);
type Line = (String, Vec<Point>);

/// One (convention, t): lines and reference levels of both metrics.
#[derive(Debug, Clone, Default)]
struct Panel {
    key: String,
    /// metric 0: DSM excess, 1: rule error
    lines: [Vec<Line>; 2],
    /// (reference name, value) per metric
    refs: [Vec<(String, f64)>; 2],
}

/// DSM excess and rule error against width.
#[derive(Debug, Clone)]
pub struct FloorFigure {
    panels: Vec<Panel>,
    /// trained architectures in order of first appearance (one colour each)
    archs: Vec<String>,
    /// reference rows drawn somewhere
    refs: Vec<String>,
}

const METRICS: [&str; 2] = [
    "DSM excess over L* (dimensionless)",
    "rule error E (dimensionless)",
];

fn check(v: f64, what: &str, r: &FloorRow) -> Result<f64, PlotError> {
    if !v.is_finite() || v < 0.0 {
        return Err(PlotError::Invalid {
            figure: "floor",
            what: format!("{what} {v} for {} m={}", r.architecture, r.width),
        });
    }
    Ok(v)
}

impl FloorFigure {
    /// Group λ = 0 rows into columns, trained rows (width ≥ 1) into lines and the reference rows
    /// (width 0) into levels; errors on no usable trained row or a bad value.
    pub fn new(rows: &[FloorRow]) -> Result<Self, PlotError> {
        let mut panels: Vec<Panel> = Vec::new();
        for r in rows.iter().filter(|r| r.lambda == 0.0) {
            let vals = [
                check(r.quad_dsm_excess.unwrap_or(r.dsm_excess), "DSM excess", r)?,
                check(r.quad_rule_error.unwrap_or(r.rule_error), "rule error", r)?,
            ];
            let key = format!("{} loss, t = {}", r.convention, r.t);
            let idx = match panels.iter().position(|p| p.key == key) {
                Some(i) => i,
                None => {
                    panels.push(Panel {
                        key,
                        ..Panel::default()
                    });
                    panels.len() - 1
                }
            };
            let panel = &mut panels[idx];
            for (k, &v) in vals.iter().enumerate() {
                if r.width == 0 {
                    // a zero (Bayes excess; score-convention Bayes and trivial rule error) has no
                    // place on a log axis
                    let drawn = matches!(
                        r.architecture.as_str(),
                        "per_patch_bayes" | "trivial" | "bayes"
                    ) && v > 0.0;
                    if drawn {
                        panel.refs[k].push((r.architecture.clone(), v));
                    }
                    continue;
                }
                let point = (r.width as f64, v.max(FLOOR_DRAWN), r.converged);
                let lines = &mut panel.lines[k];
                match lines.iter_mut().find(|(a, _)| *a == r.architecture) {
                    Some((_, pts)) => pts.push(point),
                    None => lines.push((r.architecture.clone(), vec![point])),
                }
            }
        }
        panels.retain(|p| !p.lines[0].is_empty());
        if panels.is_empty() {
            return Err(PlotError::Empty {
                figure: "floor",
                what: "no λ = 0 rows with width ≥ 1".into(),
            });
        }
        let (mut archs, mut refs) = (Vec::<String>::new(), Vec::<String>::new());
        for p in &mut panels {
            for lines in &mut p.lines {
                for (a, pts) in lines.iter_mut() {
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    if !archs.contains(a) {
                        archs.push(a.clone());
                    }
                }
            }
            for (name, _) in p.refs.iter().flatten() {
                if !refs.contains(name) {
                    refs.push(name.clone());
                }
            }
        }
        Ok(FloorFigure {
            panels,
            archs,
            refs,
        })
    }
}

fn reference_style(name: &str) -> (RGBColor, (u32, u32)) {
    match name {
        "per_patch_bayes" => (BLACK, (10, 6)),
        "trivial" => (RGBColor(90, 90, 90), (3, 4)),
        _ => (RGBColor(150, 150, 150), (14, 4)),
    }
}

fn reference_label(name: &str) -> &str {
    match name {
        "per_patch_bayes" => "per-patch limit",
        "trivial" => "trivial (prior mean)",
        "bayes" => "Bayes-optimal",
        o => o,
    }
}

impl FloorFigure {
    fn colour(&self, arch: &str) -> RGBColor {
        let i = self.archs.iter().position(|a| a == arch).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    }
}

impl Figure for FloorFigure {
    const NAME: &'static str = "floor";
    fn size(&self) -> (u32, u32) {
        (560 * self.panels.len() as u32, 2 * 500 + 40 + 40)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title, rest) = root.split_vertically(40);
        let h = rest.dim_in_pixel().1;
        let (body, legend) = rest.split_vertically(h.saturating_sub(40));
        title
            .draw(&Text::new(
                format!(
                    "DSM excess and rule-conforming error vs width (plain DSM; values < {FLOOR_DRAWN:e} drawn at {FLOOR_DRAWN:e}; hollow: not converged)"
                ),
                (12, 10),
                text(17.0),
            ))
            .map_err(draw_err)?;
        let areas = body.split_evenly((2, self.panels.len()));
        let cols = self.panels.len();
        for (ci, panel) in self.panels.iter().enumerate() {
            for (k, metric) in METRICS.iter().enumerate() {
                let area = &areas[k * cols + ci];
                let lines = &panel.lines[k];
                let refs = &panel.refs[k];
                let vals = lines
                    .iter()
                    .flat_map(|(_, p)| p.iter().map(|q| q.1))
                    .chain(refs.iter().map(|r| r.1.max(FLOOR_DRAWN)));
                let (ymin, ymax) = vals.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
                let xmax = lines
                    .iter()
                    .flat_map(|(_, p)| p.iter().map(|q| q.0))
                    .fold(1.0f64, f64::max);
                let mut chart = ChartBuilder::on(area)
                    .caption(panel.key.as_str(), text(15.0))
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
                    .x_desc("width m (hidden units; per patch: units per patch)")
                    .y_desc(*metric)
                    .y_label_formatter(&|v| format!("{v:.0e}"))
                    .label_style(text(12.0))
                    .axis_desc_style(text(13.0))
                    .draw()
                    .map_err(draw_err)?;
                for (arch, pts) in lines.iter() {
                    let c = self.colour(arch);
                    let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
                    chart
                        .draw_series(LineSeries::new(xy, c.stroke_width(2)))
                        .map_err(draw_err)?;
                    chart
                        .draw_series(pts.iter().map(|&(x, y, conv)| {
                            let style = if conv { c.filled() } else { c.stroke_width(2) };
                            Circle::new((x, y), 4, style)
                        }))
                        .map_err(draw_err)?;
                }
                for (name, v) in refs {
                    let (c, dash) = reference_style(name);
                    let y = v.max(FLOOR_DRAWN);
                    chart
                        .draw_series(DashedLineSeries::new(
                            [(0.8, y), (xmax * 1.25, y)],
                            dash.0,
                            dash.1,
                            c.stroke_width(2),
                        ))
                        .map_err(draw_err)?;
                }
            }
        }
        // one legend for all panels, in a strip below them
        let mut x = 12i32;
        let y = 20i32;
        for arch in &self.archs {
            let c = self.colour(arch);
            legend
                .draw(&PathElement::new([(x, y), (x + 24, y)], c.stroke_width(3)))
                .map_err(draw_err)?;
            legend
                .draw(&Text::new(arch.clone(), (x + 30, y - 8), text(14.0)))
                .map_err(draw_err)?;
            x += 40 + 9 * arch.len() as i32;
        }
        for name in &self.refs {
            let (c, dash) = reference_style(name);
            let mut x0 = x;
            while x0 < x + 24 {
                let x1 = (x0 + dash.0 as i32).min(x + 24);
                legend
                    .draw(&PathElement::new([(x0, y), (x1, y)], c.stroke_width(2)))
                    .map_err(draw_err)?;
                x0 = x1 + dash.1 as i32;
            }
            let label = reference_label(name);
            legend
                .draw(&Text::new(label.to_string(), (x + 30, y - 8), text(14.0)))
                .map_err(draw_err)?;
            x += 40 + 9 * label.chars().count() as i32;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arch: &str, width: usize, lambda: f64, ex: f64, e: f64) -> FloorRow {
        FloorRow {
            architecture: arch.into(),
            width,
            convention: theory::Convention::Score,
            t: 0.2,
            lambda,
            dsm_excess: ex,
            rule_error: e,
            converged: width != 4,
            quad_dsm_excess: (width == 0).then_some(ex * 1.01),
            quad_rule_error: (width == 0).then_some(e),
        }
    }

    #[test]
    fn groups_lambda_zero_rows_and_rejects_empty_or_bad_input() {
        let rows = vec![
            row("per_patch", 1, 0.0, 1.3, 2.0),
            row("per_patch", 4, 0.0, 1.1, 1.5),
            row("joint_mlp", 4, 0.0, 1e-3, 1e-40),
            row("per_patch", 4, 10.0, 3.0, 0.5),
            row("bayes", 0, 0.0, 0.0, 0.0),
            row("per_patch_bayes", 0, 0.0, 0.02, 0.03),
        ];
        let f = FloorFigure::new(&rows).unwrap();
        assert_eq!(f.panels.len(), 1);
        let p = &f.panels[0];
        assert_eq!(p.lines[0].len(), 2);
        assert_eq!(p.lines[1][0].1, vec![(1.0, 2.0, true), (4.0, 1.5, false)]);
        assert_eq!(p.lines[1][1].1, vec![(4.0, FLOOR_DRAWN, false)]);
        // references: quadrature value; the zero Bayes rule error is not drawn on the log axis
        assert_eq!(
            p.refs[0],
            vec![("per_patch_bayes".to_string(), 0.02 * 1.01)]
        );
        assert_eq!(p.refs[1], vec![("per_patch_bayes".to_string(), 0.03)]);
        assert_eq!(
            f.archs,
            vec!["per_patch".to_string(), "joint_mlp".to_string()]
        );
        assert!(FloorFigure::new(&rows[3..]).is_err());
        assert!(FloorFigure::new(&[row("x", 2, 0.0, 1.0, f64::NAN)]).is_err());
        assert!(FloorFigure::new(&[row("x", 2, 0.0, -1.0, 1.0)]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let w = crate::write_figure(&f, &dir.path().join("floor")).unwrap();
        assert!(std::fs::metadata(&w.png).unwrap().len() > 1000);
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        assert!(svg.contains("joint_mlp") && svg.contains("per-patch limit"));
    }
}
