//! Negatives in the look of an immature DDPM (the validity verdict's calibration set, Sec. 3.2
//! and Table 1's "invalid" column): pictures in the task's element colours that do not show
//! the task's elements. Lengths below are for a 32 px side and scale with it.
//!
//! Styles (`class` = index mod 4):
//! - **0 soft colour clouds**: one anisotropic Gaussian cloud per element colour
//!   (sigma 2-6.4 px, peak weight 0.7-1), where the elements would be.
//! - **1 speckle**: 3-15 % of the pixels take one of the element colours (weight 0.4-1), with
//!   1-2 px dots among them, over faint clouds (peak weight <= 0.4).
//! - **2 blurred smear**: either a training picture or one element alone (even split),
//!   smeared along a random direction by 4-10 px and blurred by a Gaussian of 1.2-2.5 px.
//! - **3 elements merged**: the task's elements at their App. C sizes, the second centred on
//!   the first (offset at most half their mean extent; Task A: the sun on the pole, the shadow
//!   in place) and blended where they overlap, then blurred by 0.6-1.2 px.
//!
//! Every image also gets +-4 levels of uniform pixel noise. Colours are drawn from App. C's
//! strict ranges, so every style passes the colour masks and can only be rejected for what
//! it shows.
use super::{draw_one, Drawn, GenConfig, BACKGROUND};
use crate::error::Result;
use crate::render::Canvas;
use crate::task::Task;
use image::{Rgb, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Number of styles (`class` = index mod `STYLES`).
pub const STYLES: usize = 4;

/// A float RGB picture on the white background.
struct Pic {
    s: usize,
    px: Vec<[f32; 3]>,
}

impl Pic {
    fn new(s: usize) -> Self {
        Pic {
            s,
            px: vec![BACKGROUND.map(f32::from); s * s],
        }
    }
    fn from_image(img: &RgbImage) -> Self {
        Pic {
            s: img.width() as usize,
            px: img.pixels().map(|p| p.0.map(f32::from)).collect(),
        }
    }
    /// `p <- a c + (1 - a) p` with per-pixel weights `a`.
    fn splat(&mut self, alpha: &[f32], c: [u8; 3]) {
        for (p, &a) in self.px.iter_mut().zip(alpha) {
            let a = a.clamp(0.0, 1.0);
            for ch in 0..3 {
                p[ch] = a * c[ch] as f32 + (1.0 - a) * p[ch];
            }
        }
    }
    /// Convolve with a 1-D kernel along x (`horizontal`) or y, padding with the background.
    fn convolve(&mut self, kernel: &[(isize, f32)], dir: (isize, isize)) {
        let s = self.s as isize;
        let bg = BACKGROUND.map(f32::from);
        let src = self.px.clone();
        for y in 0..s {
            for x in 0..s {
                let mut acc = [0f32; 3];
                for &(k, w) in kernel {
                    let (u, v) = (x + k * dir.0, y + k * dir.1);
                    let p = if u >= 0 && v >= 0 && u < s && v < s {
                        src[(v * s + u) as usize]
                    } else {
                        bg
                    };
                    for ch in 0..3 {
                        acc[ch] += w * p[ch];
                    }
                }
                self.px[(y * s + x) as usize] = acc;
            }
        }
    }
    fn gaussian(&mut self, sigma: f64) {
        let r = (3.0 * sigma).ceil() as isize;
        let mut k: Vec<(isize, f32)> = (-r..=r)
            .map(|i| (i, (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32))
            .collect();
        let sum: f32 = k.iter().map(|p| p.1).sum();
        k.iter_mut().for_each(|p| p.1 /= sum);
        self.convolve(&k, (1, 0));
        self.convolve(&k, (0, 1));
    }
    /// Motion smear of `len` px along the angle `theta` (sampled at sub-pixel steps, bilinear).
    fn smear(&mut self, len: f64, theta: f64) {
        let s = self.s;
        let src = self.px.clone();
        let steps = (4.0 * len).ceil().max(2.0) as usize;
        let bg = BACKGROUND.map(f32::from);
        let at = |x: f64, y: f64| -> [f32; 3] {
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
            let get = |u: f64, v: f64| {
                if u < 0.0 || v < 0.0 || u >= s as f64 || v >= s as f64 {
                    bg
                } else {
                    src[v as usize * s + u as usize]
                }
            };
            let (a, b, c, d) = (
                get(x0, y0),
                get(x0 + 1.0, y0),
                get(x0, y0 + 1.0),
                get(x0 + 1.0, y0 + 1.0),
            );
            [0, 1, 2].map(|ch| {
                (a[ch] * (1.0 - fx) + b[ch] * fx) * (1.0 - fy)
                    + (c[ch] * (1.0 - fx) + d[ch] * fx) * fy
            })
        };
        for y in 0..s {
            for x in 0..s {
                let mut acc = [0f32; 3];
                for k in 0..steps {
                    let t = (k as f64 / (steps - 1) as f64 - 0.5) * len;
                    let p = at(x as f64 + t * theta.cos(), y as f64 + t * theta.sin());
                    for ch in 0..3 {
                        acc[ch] += p[ch] / steps as f32;
                    }
                }
                self.px[y * s + x] = acc;
            }
        }
    }
    fn finish(self, noise: f32, rng: &mut ChaCha8Rng) -> RgbImage {
        let s = self.s as u32;
        let mut img = RgbImage::new(s, s);
        for (q, p) in img.pixels_mut().zip(self.px) {
            *q = Rgb(p.map(|v| {
                (v + rng.random_range(-noise..=noise))
                    .round()
                    .clamp(0.0, 255.0) as u8
            }));
        }
        img
    }
}

/// Weights of an anisotropic Gaussian cloud.
fn cloud(s: usize, cx: f64, cy: f64, sx: f64, sy: f64, peak: f64) -> Vec<f32> {
    (0..s * s)
        .map(|k| {
            let (x, y) = ((k % s) as f64 + 0.5, (k / s) as f64 + 0.5);
            let d = ((x - cx) / sx).powi(2) + ((y - cy) / sy).powi(2);
            (peak * (-0.5 * d).exp()) as f32
        })
        .collect()
}

fn colors(task: Task, rng: &mut ChaCha8Rng) -> Vec<[u8; 3]> {
    task.elements()
        .iter()
        .map(|e| e.palette.sample(rng))
        .collect()
}

/// One element of `task` at an App. C size, as `(is_disc, centre x, centre y, w, h)` in px
/// (`w` = diameter for discs), centred at `(cx, cy)`.
fn element_geometry(task: Task, e: usize, s: f64, rng: &mut ChaCha8Rng) -> (bool, f64, f64) {
    let u = |rng: &mut ChaCha8Rng, lo: f64, hi: f64| rng.random_range(lo * s..=hi * s);
    match (task, e) {
        (Task::A, 0) => (true, 0.2 * s, 0.2 * s),
        (Task::A, 1) => (false, 0.12 * s, u(rng, 0.2, 0.4)),
        (Task::A, _) => (false, u(rng, 0.1, 0.5), 0.08 * s),
        (Task::B, _) => (false, 0.12 * s, u(rng, 0.1, 0.6)),
        (Task::C, 0) => {
            let d = u(rng, 0.1, 0.3);
            (true, d, d)
        }
        (Task::C, _) => {
            let d = u(rng, 0.14, 0.42);
            (true, d, d)
        }
        (Task::D, 0) => {
            let l = u(rng, 0.15, 0.35);
            (false, l, l)
        }
        (Task::D, _) => {
            let l = u(rng, 0.225, 0.525);
            (false, l, l)
        }
    }
}

fn draw_shape(c: &mut Canvas, disc: bool, cx: f64, cy: f64, w: f64, h: f64, col: [u8; 3]) {
    if disc {
        c.fill_disk(cx, cy, w / 2.0, col);
    } else {
        c.fill_rect(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0, col);
    }
}

/// Draw one negative of `style` for `cfg.task` (features are NaN: there is no ground truth).
pub(crate) fn draw(cfg: &GenConfig, style: u8, rng: &mut ChaCha8Rng) -> Result<Drawn> {
    let s = cfg.size as usize;
    let sf = s as f64;
    let u = sf / 32.0;
    let task = cfg.task;
    let cols = colors(task, rng);
    let img = match style {
        0 => {
            let mut p = Pic::new(s);
            for &c in &cols {
                let sx = rng.random_range(2.0..=6.4) * u;
                let sy = sx * rng.random_range(0.6..=1.6);
                let (cx, cy) = (
                    rng.random_range(0.15..=0.85) * sf,
                    rng.random_range(0.15..=0.85) * sf,
                );
                let peak = rng.random_range(0.7..=1.0);
                p.splat(&cloud(s, cx, cy, sx, sy, peak), c);
            }
            p.finish(4.0, rng)
        }
        1 => {
            let mut p = Pic::new(s);
            for &c in &cols {
                let (cx, cy) = (
                    rng.random_range(0.2..=0.8) * sf,
                    rng.random_range(0.2..=0.8) * sf,
                );
                let sx = rng.random_range(3.0..=6.0) * u;
                let peak = rng.random_range(0.0..=0.4);
                p.splat(&cloud(s, cx, cy, sx, sx, peak), c);
            }
            let density = rng.random_range(0.03..=0.15);
            let mut alpha = vec![vec![0f32; s * s]; cols.len()];
            for k in 0..s * s {
                if rng.random_bool(density) {
                    let e = rng.random_range(0..cols.len());
                    alpha[e][k] = rng.random_range(0.4..=1.0);
                }
            }
            for (e, &c) in cols.iter().enumerate() {
                let mut canvas = Canvas::new(s, BACKGROUND);
                for _ in 0..rng.random_range(2..=8usize) {
                    let (x, y) = (rng.random_range(0.0..sf), rng.random_range(0.0..sf));
                    canvas.fill_disk(x, y, rng.random_range(0.5..=1.0) * u, c);
                }
                let dots = canvas.coverage();
                for (a, d) in alpha[e].iter_mut().zip(dots) {
                    *a = a.max(d);
                }
                p.splat(&alpha[e], c);
            }
            p.finish(4.0, rng)
        }
        2 => {
            let mut p = if rng.random_bool(0.5) {
                let train = GenConfig {
                    kind: super::Kind::Train,
                    ..*cfg
                };
                Pic::from_image(&draw_one(&train, Some(1), rng)?.img)
            } else {
                let e = rng.random_range(0..cols.len());
                let (disc, w, h) = element_geometry(task, e, sf, rng);
                let (cx, cy) = (
                    rng.random_range(w / 2.0..=(sf - w / 2.0).max(w / 2.0)),
                    rng.random_range(h / 2.0..=(sf - h / 2.0).max(h / 2.0)),
                );
                let mut c = Canvas::new(s, BACKGROUND);
                draw_shape(&mut c, disc, cx, cy, w, h, cols[e]);
                Pic::from_image(&c.finish())
            };
            p.smear(
                rng.random_range(4.0..=10.0) * u,
                rng.random_range(0.0..std::f64::consts::PI),
            );
            p.gaussian(rng.random_range(1.2..=2.5) * u);
            p.finish(4.0, rng)
        }
        _ => {
            let mut c = Canvas::new(s, BACKGROUND);
            let g0 = element_geometry(task, 0, sf, rng);
            let g1 = element_geometry(task, 1, sf, rng);
            let (w, h) = (g0.1.max(g1.1), g0.2.max(g1.2));
            let cx = rng.random_range(w / 2.0..=(sf - w / 2.0).max(w / 2.0));
            let cy = rng.random_range(h / 2.0..=(sf - h / 2.0).max(h / 2.0));
            let ext = 0.25 * (g0.1 + g0.2 + g1.1 + g1.2) / 2.0;
            let (r, th) = (
                rng.random_range(0.0..=0.5) * ext,
                rng.random_range(0.0..std::f64::consts::TAU),
            );
            draw_shape(&mut c, g0.0, cx, cy, g0.1, g0.2, cols[0]);
            draw_shape(
                &mut c,
                g1.0,
                cx + r * th.cos(),
                cy + r * th.sin(),
                g1.1,
                g1.2,
                cols[1],
            );
            if task == Task::A {
                // the shadow in its place below the ground line, from the pole axis
                let len = rng.random_range(0.1..=0.4) * sf;
                let x0 = if rng.random_bool(0.5) {
                    0.5 * sf
                } else {
                    0.5 * sf - len
                };
                c.fill_rect(x0, 0.9 * sf, x0 + len, 0.98 * sf, cols[2]);
            }
            let mut p = Pic::from_image(&c.finish());
            p.gaussian(rng.random_range(0.6..=1.2) * u);
            p.finish(4.0, rng)
        }
    };
    Ok(Drawn {
        img,
        features: [f64::NAN; 4],
        coarse_ok: false,
        colors: cols,
    })
}
