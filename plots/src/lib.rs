//! `plots`: every figure of the paper as PNG and SVG (plotters, DejaVu Sans
//! shipped in `assets/`, no system font library).
//!
//! Each figure is a plain-data struct implementing [`render::Figure`];
//! [`render::write_figure`] draws it to `<stem>.png` and `<stem>.svg`
//! atomically. The figures:
//! - [`fig6::Figure6`]: Figure 6 (Sec. 4, App. F), ψ_t distributions from `theory`.
//! - [`scatter::ScatterFigure`]: Figures 3/4 (Sec. 3.2-3.3), fine-rule fits per task.
//! - [`fig5::Figure5a`], [`fig5::Figure5b`]: Figure 5 (Sec. 3.3).
//! - [`sweep::SweepFigure`]: Figures 12-14 (App. D.3).
//! - [`grid::SampleGrid`]: Figures 8-10 (App. C, D.2).

pub mod cli;
pub mod error;
pub mod fig5;
pub mod fig6;
pub mod floor;
pub mod font;
pub mod grid;
pub mod hist;
pub mod render;
pub mod runs;
pub mod scatter;
pub mod sweep;
pub mod theory_data;

pub use error::PlotError;
pub use render::{write_figure, Figure, Written};
