//! Anti-aliased rasterisation by area coverage (Appendix C draws "anti-aliased shapes").
//!
//! Pixel `(i, j)` is the unit square `[i, i+1] x [j, j+1]` (x right, y down). Each shape adds its
//! exact (boxes) or numerically integrated (disks: 32 sub-columns per pixel, each with the exact
//! vertical chord overlap) coverage `a in [0, 1]`; the final pixel is the linear mix
//! `sum_e a_e C_e + (1 - sum_e a_e) B` with background `B`, rounded to 8 bits. Shapes of one image
//! never overlap, so the coverages add up to at most 1. This works at any image size.
use image::{Rgb, RgbImage};

/// Sub-columns per pixel used to integrate disk coverage.
const DISK_SUBCOLS: usize = 32;

/// An accumulating canvas of side `size` with background colour `bg`.
pub struct Canvas {
    size: usize,
    bg: [f32; 3],
    color: Vec<[f32; 3]>,
    cover: Vec<f32>,
}

fn overlap(a0: f64, a1: f64, b0: f64, b1: f64) -> f64 {
    (a1.min(b1) - a0.max(b0)).max(0.0)
}

impl Canvas {
    /// A blank canvas.
    pub fn new(size: usize, bg: [u8; 3]) -> Self {
        Canvas {
            size,
            bg: bg.map(f32::from),
            color: vec![[0.0; 3]; size * size],
            cover: vec![0.0; size * size],
        }
    }

    fn add(&mut self, i: usize, j: usize, a: f64, c: [f32; 3]) {
        if a <= 0.0 {
            return;
        }
        let k = j * self.size + i;
        let a = a as f32;
        self.cover[k] += a;
        for ch in 0..3 {
            self.color[k][ch] += a * c[ch];
        }
    }

    fn range(&self, lo: f64, hi: f64) -> std::ops::Range<usize> {
        let s = self.size as f64;
        let a = lo.floor().clamp(0.0, s) as usize;
        let b = hi.ceil().clamp(0.0, s) as usize;
        a..b
    }

    /// Axis-aligned box `[x0, x1] x [y0, y1]` (pixel units), exact coverage, clipped to the image.
    pub fn fill_rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]) {
        let c = c.map(f32::from);
        for j in self.range(y0, y1) {
            let oy = overlap(y0, y1, j as f64, j as f64 + 1.0);
            if oy <= 0.0 {
                continue;
            }
            for i in self.range(x0, x1) {
                let ox = overlap(x0, x1, i as f64, i as f64 + 1.0);
                self.add(i, j, ox * oy, c);
            }
        }
    }

    /// Disk of centre `(cx, cy)` and radius `r` (pixel units), clipped to the image.
    pub fn fill_disk(&mut self, cx: f64, cy: f64, r: f64, c: [u8; 3]) {
        let c = c.map(f32::from);
        let n = DISK_SUBCOLS as f64;
        for j in self.range(cy - r, cy + r) {
            let (y0, y1) = (j as f64, j as f64 + 1.0);
            for i in self.range(cx - r, cx + r) {
                let mut acc = 0.0;
                for k in 0..DISK_SUBCOLS {
                    let x = i as f64 + (k as f64 + 0.5) / n;
                    let d2 = r * r - (x - cx) * (x - cx);
                    if d2 > 0.0 {
                        let h = d2.sqrt();
                        acc += overlap(cy - h, cy + h, y0, y1);
                    }
                }
                self.add(i, j, acc / n, c);
            }
        }
    }

    /// The accumulated coverage per pixel (row-major, clamped to 1): the shape model that the
    /// evaluator compares a measured element against.
    pub fn coverage(self) -> Vec<f32> {
        self.cover.into_iter().map(|a| a.min(1.0)).collect()
    }

    /// Composite over the background and quantise to 8 bits.
    pub fn finish(self) -> RgbImage {
        let s = self.size as u32;
        let mut img = RgbImage::new(s, s);
        for (k, px) in img.pixels_mut().enumerate() {
            let a = self.cover[k].min(1.0);
            let norm = if self.cover[k] > 1.0 {
                1.0 / self.cover[k]
            } else {
                1.0
            };
            let mut out = [0u8; 3];
            for ch in 0..3 {
                let v = self.color[k][ch] * norm + (1.0 - a) * self.bg[ch];
                out[ch] = v.round().clamp(0.0, 255.0) as u8;
            }
            *px = Rgb(out);
        }
        img
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn coverage_sums_to_area() {
        // black shape on white: darkness sum / 255 = area
        let mut c = Canvas::new(32, [255; 3]);
        c.fill_rect(3.3, 4.7, 9.1, 12.25, [0; 3]);
        let img = c.finish();
        let dark: f64 = img.pixels().map(|p| (255.0 - p[0] as f64) / 255.0).sum();
        assert!((dark - 5.8 * 7.55).abs() < 0.05, "{dark}");
        let mut c = Canvas::new(32, [255; 3]);
        c.fill_disk(15.3, 16.8, 4.1, [0; 3]);
        let img = c.finish();
        let dark: f64 = img.pixels().map(|p| (255.0 - p[0] as f64) / 255.0).sum();
        let area = std::f64::consts::PI * 4.1 * 4.1;
        assert!((dark - area).abs() < 0.1, "{dark} vs {area}");
    }
}
