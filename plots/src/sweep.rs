//! Figures 12-14 style sweeps (App. D.3): R² and the Eq. 4 Error of the
//! sampled images against a swept setting (training epochs, training-set
//! size, image resolution), one point per run directory.

use plotters::coord::Shift;
use plotters::prelude::*;

use empirical_rules::Task;

use crate::error::{draw_err, PlotError};
use crate::render::{padded_range, text, Figure, PALETTE};

/// One point of a sweep: a run's setting and its Eq. 4 summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Value of the swept setting (e.g. 400 epochs).
    pub value: f64,
    /// R² of the fit.
    pub r_squared: f64,
    /// Eq. 4 Error.
    pub error: f64,
    /// Intervals `(lo, hi)` of `r_squared` and `error` (e.g. the evaluator's bootstrap over the
    /// samples), drawn as error bars; `None` draws none.
    pub r_squared_interval: Option<(f64, f64)>,
    pub error_interval: Option<(f64, f64)>,
    /// Run directory name, for the caption.
    pub run: String,
}

/// An interval `(lo, hi)` drawn as an error bar.
type Bar = (f64, f64);

/// What one point of a [`SweepFigure`] is, and which points one line joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Each point is one run; one line joins them in order of the setting.
    Runs,
    /// Each point is a milestone of the same run (a training curve).
    MilestonesOfOneRun,
    /// Milestones of several runs (e.g. seeds): one line and colour per run, with a legend.
    MilestonesOfRuns,
}

impl Grouping {
    /// What `n` points of `runs` runs are, for the title.
    fn counted(self, n: usize, runs: usize) -> String {
        match self {
            Grouping::Runs => format!("{n} runs"),
            Grouping::MilestonesOfOneRun => format!("{n} milestones of one run"),
            Grouping::MilestonesOfRuns => format!("{n} milestones of {runs} runs"),
        }
    }
}

/// R² and Error against one swept setting.
#[derive(Debug, Clone)]
pub struct SweepFigure {
    variable: String,
    task: Task,
    points: Vec<SweepPoint>,
    grouping: Grouping,
}

impl SweepFigure {
    /// Errors on an empty sweep or non-finite values.
    pub fn new(
        variable: impl Into<String>,
        task: Task,
        mut points: Vec<SweepPoint>,
    ) -> Result<Self, PlotError> {
        if points.is_empty() {
            return Err(PlotError::Empty {
                figure: "sweep",
                what: "no runs in the sweep".into(),
            });
        }
        if points
            .iter()
            .any(|p| !p.value.is_finite() || !p.error.is_finite())
        {
            return Err(PlotError::Invalid {
                figure: "sweep",
                what: "non-finite setting or Error".into(),
            });
        }
        points.sort_by(|a, b| a.value.total_cmp(&b.value));
        Ok(SweepFigure {
            variable: variable.into(),
            task,
            points,
            grouping: Grouping::Runs,
        })
    }

    /// The same figure for the milestones of one training run (a training curve).
    pub fn of_one_run(mut self) -> Self {
        self.grouping = Grouping::MilestonesOfOneRun;
        self
    }

    /// The same figure for the milestones of several runs (each point's `run`
    /// names its run): one line per run, so seeds can be told apart from a trend.
    pub fn of_runs(mut self) -> Self {
        self.grouping = Grouping::MilestonesOfRuns;
        self
    }

    /// The runs' names in name order (one entry unless [`Grouping::MilestonesOfRuns`]).
    fn lines(&self) -> Vec<Option<&str>> {
        if self.grouping != Grouping::MilestonesOfRuns {
            return vec![None];
        }
        let mut names: Vec<&str> = Vec::new();
        for p in &self.points {
            if !names.contains(&p.run.as_str()) {
                names.push(&p.run);
            }
        }
        names.sort_unstable();
        names.into_iter().map(Some).collect()
    }

    /// Whether the setting is drawn on a log axis: all values positive and spanning a factor 8
    /// or more (doubling milestones, training-set sizes), so that equal ratios look equal.
    fn log_x(&self) -> bool {
        let (lo, hi) = self
            .points
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), p| {
                (l.min(p.value), h.max(p.value))
            });
        lo > 0.0 && hi / lo >= 8.0
    }
}

impl Figure for SweepFigure {
    const NAME: &'static str = "sweep";
    fn size(&self) -> (u32, u32) {
        (1000, 460)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (title, body) = root.split_vertically(44);
        let lines = self.lines();
        let bars = self
            .points
            .iter()
            .any(|p| p.r_squared_interval.is_some() || p.error_interval.is_some());
        title
            .draw(&Text::new(
                format!(
                    "Task {}: fine-rule fit of DDPM samples vs {} ({}{})",
                    self.task.letter(),
                    self.variable,
                    self.grouping.counted(self.points.len(), lines.len()),
                    if bars { "; bars: 95 % bootstrap" } else { "" },
                ),
                (16, 12),
                text(20.0),
            ))
            .map_err(draw_err)?;
        let cells = body.split_evenly((1, 2));
        let log_x = self.log_x();
        let ax = |v: f64| if log_x { v.log2() } else { v };
        let (xl, xh) =
            padded_range(self.points.iter().map(|p| ax(p.value)), 0.08).unwrap_or((0.0, 1.0));
        let x_desc = if log_x {
            format!("{} (log scale)", self.variable)
        } else {
            self.variable.clone()
        };
        let power_of_two = |v: &f64| format!("{:.0}", v.exp2());
        // Runs drawn side by side are shifted apart a little, so their error bars do not overlap.
        let shift = |i: usize| (i as f64 - (lines.len() - 1) as f64 / 2.0) * 0.012 * (xh - xl);
        // R² rises and the Error falls with training: each legend goes in the
        // corner its curves leave empty.
        type Metric = Box<dyn Fn(&SweepPoint) -> (f64, Option<Bar>)>;
        let series: [(&str, Metric, RGBColor, SeriesLabelPosition); 2] = [
            (
                "R² of the OLS fit (dimensionless)",
                Box::new(|p| (p.r_squared, p.r_squared_interval)),
                BLUE,
                SeriesLabelPosition::UpperLeft,
            ),
            (
                "Eq. 4 Error (feature units, fraction of image)",
                Box::new(|p| (p.error, p.error_interval)),
                RED,
                SeriesLabelPosition::UpperRight,
            ),
        ];
        for ((label, f, colour, legend_at), area) in series.iter().zip(cells.iter()) {
            let ys: Vec<(f64, Option<Bar>)> = self.points.iter().map(f).collect();
            let (yl, yh) = padded_range(
                ys.iter()
                    .flat_map(|(y, iv)| [Some(*y), iv.map(|i| i.0), iv.map(|i| i.1)])
                    .flatten()
                    .filter(|v| v.is_finite())
                    .chain([0.0]),
                0.1,
            )
            .unwrap_or((0.0, 1.0));
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(60)
                .build_cartesian_2d(xl..xh, yl..yh)
                .map_err(draw_err)?;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(x_desc.clone())
                .y_desc(*label)
                .label_style(text(13.0))
                .axis_desc_style(text(14.0))
                .light_line_style(WHITE);
            if log_x {
                // one tick per power of two (a unit step of log2 up to 10 doublings)
                mesh.x_labels((xh - xl).ceil() as usize + 1)
                    .x_label_formatter(&power_of_two);
            }
            mesh.draw().map_err(draw_err)?;
            for (i, run) in lines.iter().enumerate() {
                let c = match run {
                    Some(_) => PALETTE[i % PALETTE.len()],
                    None => *colour,
                };
                // (x, y, bar, whether the point tops every other run's point at its setting)
                let chosen: Vec<(f64, f64, Option<Bar>, bool)> = self
                    .points
                    .iter()
                    .zip(&ys)
                    .filter(|(p, (y, _))| y.is_finite() && run.is_none_or(|r| p.run == r))
                    .map(|(p, &(y, iv))| {
                        let top = self.points.iter().zip(&ys).all(|(q, (yq, _))| {
                            q.run == p.run || q.value != p.value || !yq.is_finite() || *yq <= y
                        });
                        (ax(p.value) + shift(i), y, iv, top)
                    })
                    .collect();
                let pts: Vec<(f64, f64)> = chosen.iter().map(|&(x, y, _, _)| (x, y)).collect();
                let drawn = chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                    .map_err(draw_err)?;
                if let Some(r) = run {
                    drawn.label(r.to_string()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
                }
                chart
                    .draw_series(chosen.iter().filter_map(|&(x, y, iv, _)| {
                        let (lo, hi) = iv.filter(|(lo, hi)| lo.is_finite() && hi.is_finite())?;
                        Some(ErrorBar::new_vertical(x, lo, y, hi, c.stroke_width(1), 8))
                    }))
                    .map_err(draw_err)?;
                chart
                    .draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 5, c.filled())))
                    .map_err(draw_err)?;
                // Value labels in the line's colour: above a point that tops the other runs at
                // its setting, below the others, so that close runs stay readable.
                let style = text(12.0).color(&c);
                chart
                    .draw_series(chosen.iter().map(|&(x, y, _, top)| {
                        let offset = if top && lines.len() > 1 {
                            (5, -16)
                        } else {
                            (5, 2)
                        };
                        EmptyElement::at((x, y))
                            + Text::new(format!("{y:.3}"), offset, style.clone())
                    }))
                    .map_err(draw_err)?;
            }
            if lines.len() > 1 {
                chart
                    .configure_series_labels()
                    .position(legend_at.clone())
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(text(13.0))
                    .draw()
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    }
}
