//! Annotated sample grids in the style of Figures 8-10 (App. C, D.2):
//! images with their extracted key points and the rule ratio `y/x` against
//! the task's target ratio.
//!
//! Pixels are drawn as filled rectangles so that the same figure renders to
//! PNG and to SVG.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{draw_err, PlotError};
use crate::render::{text, Figure};

/// A key point in continuous image coordinates (pixel `i` spans `[i, i+1)`; x right, y down).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPoint {
    /// Short label, e.g. "sun".
    pub label: String,
    /// Horizontal pixel coordinate.
    pub x: f64,
    /// Vertical pixel coordinate (down).
    pub y: f64,
}

/// One image of the grid with its annotations.
#[derive(Debug, Clone)]
pub struct AnnotatedImage {
    /// The image.
    pub image: image::RgbImage,
    /// Extracted key points (may be empty).
    pub points: Vec<KeyPoint>,
    /// Ratio `y/x` of the rule quantities, if the image was valid.
    pub ratio: Option<f64>,
    /// Short caption (index, validity reason...).
    pub caption: String,
}

/// A grid of annotated images.
#[derive(Debug, Clone)]
pub struct SampleGrid {
    title: String,
    target_ratio: f64,
    images: Vec<AnnotatedImage>,
    cols: usize,
    cell: u32,
}

impl SampleGrid {
    /// Errors on an empty list or an empty image.
    pub fn new(
        title: impl Into<String>,
        target_ratio: f64,
        images: Vec<AnnotatedImage>,
    ) -> Result<Self, PlotError> {
        if images.is_empty() {
            return Err(PlotError::Empty {
                figure: "grid",
                what: "no images".into(),
            });
        }
        if images
            .iter()
            .any(|a| a.image.width() == 0 || a.image.height() == 0)
        {
            return Err(PlotError::Invalid {
                figure: "grid",
                what: "an image has zero size".into(),
            });
        }
        let cols = images.len().min(5);
        Ok(SampleGrid {
            title: title.into(),
            target_ratio,
            images,
            cols,
            cell: 192,
        })
    }
}

impl Figure for SampleGrid {
    const NAME: &'static str = "grid";
    fn size(&self) -> (u32, u32) {
        let rows = self.images.len().div_ceil(self.cols) as u32;
        (
            (self.cell + 20) * self.cols as u32 + 20,
            (self.cell + 64) * rows + 60,
        )
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        root.draw(&Text::new(
            format!("{} (target ratio {:.4})", self.title, self.target_ratio),
            (14, 14),
            text(20.0),
        ))
        .map_err(draw_err)?;
        for (i, a) in self.images.iter().enumerate() {
            let (r, c) = (i / self.cols, i % self.cols);
            let x0 = 20 + c as i32 * (self.cell as i32 + 20);
            let y0 = 60 + r as i32 * (self.cell as i32 + 64);
            draw_image(root, a, (x0, y0), self.cell)?;
            let ratio = match a.ratio {
                Some(v) => format!("ratio = {v:.3}"),
                None => "ratio: n/a".into(),
            };
            root.draw(&Text::new(
                ratio,
                (x0, y0 + self.cell as i32 + 6),
                text(15.0),
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(
                a.caption.clone(),
                (x0, y0 + self.cell as i32 + 26),
                text(12.0),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}

fn draw_image<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: &AnnotatedImage,
    (x0, y0): (i32, i32),
    cell: u32,
) -> Result<(), PlotError> {
    let (w, h) = a.image.dimensions();
    let scale = cell as f64 / w.max(h) as f64;
    let px = |v: f64| (v * scale).round() as i32;
    for (x, y, p) in a.image.enumerate_pixels() {
        let [r, g, b] = p.0;
        let (xa, ya) = (x0 + px(x as f64), y0 + px(y as f64));
        let (xb, yb) = (x0 + px(x as f64 + 1.0), y0 + px(y as f64 + 1.0));
        root.draw(&Rectangle::new(
            [(xa, ya), (xb, yb)],
            RGBColor(r, g, b).filled(),
        ))
        .map_err(draw_err)?;
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + px(w as f64), y0 + px(h as f64))],
        BLACK.stroke_width(1),
    ))
    .map_err(draw_err)?;
    for (k, kp) in a.points.iter().enumerate() {
        let (cx, cy) = (x0 + px(kp.x), y0 + px(kp.y));
        let colour = Palette99::pick(k).to_rgba();
        root.draw(&Cross::new((cx, cy), 6, RED.stroke_width(2)))
            .map_err(draw_err)?;
        root.draw(&Circle::new((cx, cy), 7, colour.stroke_width(1)))
            .map_err(draw_err)?;
        root.draw(&Text::new(kp.label.clone(), (cx + 8, cy - 8), text(12.0)))
            .map_err(draw_err)?;
    }
    Ok(())
}
