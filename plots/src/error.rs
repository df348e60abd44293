//! Typed errors of the plotting library.

use std::path::PathBuf;

/// Everything that can go wrong while making a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A figure was asked for with no data to draw.
    #[error("{figure}: nothing to plot ({what})")]
    Empty { figure: &'static str, what: String },
    /// Data that cannot be drawn (non-finite values, mismatched lengths...).
    #[error("{figure}: invalid input: {what}")]
    Invalid { figure: &'static str, what: String },
    /// The shipped font could not be registered.
    #[error("the shipped DejaVu Sans font could not be registered with plotters")]
    Font,
    /// A plotters drawing error.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A run file could not be parsed.
    #[error("{path}: {what}")]
    Parse { path: PathBuf, what: String },
    /// The Eq. 4 metric rejected the data.
    #[error("{figure}: {source}")]
    Metric {
        figure: &'static str,
        source: bridge::MetricError,
    },
    /// The Eq. 4 metric rejected one panel's data (the panel names its run).
    #[error("{figure}: {panel}: {source}")]
    Panel {
        figure: &'static str,
        panel: String,
        source: bridge::MetricError,
    },
    /// The theory crate failed to compute a figure's data.
    #[error("theory: {0}")]
    Theory(String),
}

impl PlotError {
    /// Shorthand for [`PlotError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PlotError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Convert any plotters error into [`PlotError::Draw`].
pub(crate) fn draw_err<E: std::fmt::Debug>(e: E) -> PlotError {
    PlotError::Draw(format!("{e:?}"))
}
