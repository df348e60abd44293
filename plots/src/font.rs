//! The one font every figure uses: DejaVu Sans, shipped in `plots/assets/`
//! (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`) and
//! registered with plotters' `ab_glyph` text backend, so that no system font
//! library (fontconfig/freetype) is needed.

use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::error::PlotError;

/// The font family name figures ask plotters for.
pub const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Register DejaVu Sans as `sans-serif` (all styles fall back to it). Idempotent.
pub fn ensure_registered() -> Result<(), PlotError> {
    let ok = *REGISTERED.get_or_init(|| {
        [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ]
        .into_iter()
        .all(|s| plotters::style::register_font(FAMILY, s, DEJAVU_SANS).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}
