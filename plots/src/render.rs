//! Render one figure to PNG and SVG in memory, then write both files
//! atomically (temporary file in the destination folder, then rename).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{draw_err, PlotError};
use crate::font;

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Name used in error messages ("fig6", ...).
    const NAME: &'static str;
    /// Canvas size in pixels (PNG) / user units (SVG).
    fn size(&self) -> (u32, u32);
    /// Draw onto the whole canvas.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// The two files one figure produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
}

/// Draw `fig` and write `<stem>.png` and `<stem>.svg` atomically.
pub fn write_figure<F: Figure>(fig: &F, stem: &Path) -> Result<Written, PlotError> {
    font::ensure_registered()?;
    let (w, h) = fig.size();
    let png_bytes = render_png(fig, w, h)?;
    let svg = render_svg(fig, w, h)?;
    let png_path = stem.with_extension("png");
    let svg_path = stem.with_extension("svg");
    write_atomic(&png_path, &png_bytes)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(Written {
        png: png_path,
        svg: svg_path,
    })
}

fn render_png<F: Figure>(fig: &F, w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    let mut buf = vec![0u8; (w as usize) * (h as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        fig.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| PlotError::Encode("buffer size mismatch".into()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

fn render_svg<F: Figure>(fig: &F, w: u32, h: u32) -> Result<String, PlotError> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        fig.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(s)
}

/// Write `bytes` to `path` atomically, creating the parent folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    theory::fsio::write_atomic(path, bytes).map_err(|e| PlotError::io(path, e))
}

/// Text style of titles, labels and legends (DejaVu Sans).
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    (font::FAMILY, size).into_font().into()
}

/// Finite range covering `values` padded by `pad` of its span (or ±0.5 when flat).
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return None;
    }
    let span = hi - lo;
    if span <= 1e-12 * lo.abs().max(1.0) {
        let d = 0.5 * lo.abs().max(1e-3);
        return Some((lo - d, hi + d));
    }
    Some((lo - pad * span, hi + pad * span))
}

/// Line colours for figures with one line per series, in series order.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];
