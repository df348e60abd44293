//! Figures of the paper as PNG and SVG.
