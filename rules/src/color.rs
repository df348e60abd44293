//! Colours in OpenCV's HSV convention (H in [0, 180), S and V in [0, 255]) and the per-element
//! ranges of Appendix C.
//!
//! Appendix C (strict, used to synthesise training data):
//! - yellowish (sun, rectangle 1, yellow circle, upper square): H [0, 30], S [100, 255], V [200, 255];
//! - blue-green (pole, rectangle 2, blue-green circle, lower square): H [90, 150], S [100, 255], V [100, 255];
//! - shadow (dark grey/brown/black): H [0, 180], S [0, 50], V [50, 150].
//!
//! The authors evaluated generated images with looser ranges (reference notes: e.g. sun S >= 50,
//! H <= 60; shadow S <= 150, V <= 220). Their exact loose values are not in the paper; our named
//! [`RangeSet::Loose`] is documented below and is ours.
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Colour family of an element (Appendix C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Palette {
    /// "Yellowish tones".
    Yellow,
    /// "Blue-green tones".
    BlueGreen,
    /// "Dark tones like black, brown, gray" (Task A shadow).
    Shadow,
}

/// An HSV box in OpenCV units. Hue may wrap: `h_lo > h_hi` means `[h_lo, 180) U [0, h_hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HsvRange {
    pub h_lo: f32,
    pub h_hi: f32,
    pub s_lo: f32,
    pub s_hi: f32,
    pub v_lo: f32,
    pub v_hi: f32,
}

impl HsvRange {
    /// Whether an HSV triple lies in the box widened by `slack` units in S and V.
    #[inline]
    pub fn contains_slack(&self, h: f32, s: f32, v: f32, slack: f32) -> bool {
        let wide = HsvRange {
            s_lo: self.s_lo - slack,
            s_hi: self.s_hi + slack,
            v_lo: self.v_lo - slack,
            v_hi: self.v_hi + slack,
            ..*self
        };
        wide.contains(h, s, v)
    }

    /// Whether an HSV triple lies in the box (inclusive).
    #[inline]
    pub fn contains(&self, h: f32, s: f32, v: f32) -> bool {
        let h_ok = if self.h_lo <= self.h_hi {
            h >= self.h_lo && h <= self.h_hi
        } else {
            h >= self.h_lo || h <= self.h_hi
        };
        h_ok && s >= self.s_lo && s <= self.s_hi && v >= self.v_lo && v <= self.v_hi
    }
}

/// Which set of colour ranges the evaluator's masks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RangeSet {
    /// Appendix C's generation ranges (for training data).
    #[default]
    Strict,
    /// Ours, for generated images: yellow H [170, 180) U [0, 45], S [60, 255], V [150, 255];
    /// blue-green H [75, 165], S [60, 255], V [60, 255]; shadow any H, S [0, 80], V [20, 200].
    Loose,
}

impl std::str::FromStr for RangeSet {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Ok(RangeSet::Strict),
            "loose" => Ok(RangeSet::Loose),
            _ => Err(crate::Error::param(
                "ranges",
                format!("`{s}`: use strict or loose"),
            )),
        }
    }
}

impl Palette {
    /// The generation range of Appendix C.
    pub fn strict(self) -> HsvRange {
        match self {
            Palette::Yellow => HsvRange {
                h_lo: 0.0,
                h_hi: 30.0,
                s_lo: 100.0,
                s_hi: 255.0,
                v_lo: 200.0,
                v_hi: 255.0,
            },
            Palette::BlueGreen => HsvRange {
                h_lo: 90.0,
                h_hi: 150.0,
                s_lo: 100.0,
                s_hi: 255.0,
                v_lo: 100.0,
                v_hi: 255.0,
            },
            Palette::Shadow => HsvRange {
                h_lo: 0.0,
                h_hi: 180.0,
                s_lo: 0.0,
                s_hi: 50.0,
                v_lo: 50.0,
                v_hi: 150.0,
            },
        }
    }
    /// The evaluator's looser range for generated images ([`RangeSet::Loose`]).
    pub fn loose(self) -> HsvRange {
        match self {
            Palette::Yellow => HsvRange {
                h_lo: 170.0,
                h_hi: 45.0,
                s_lo: 60.0,
                s_hi: 255.0,
                v_lo: 150.0,
                v_hi: 255.0,
            },
            Palette::BlueGreen => HsvRange {
                h_lo: 75.0,
                h_hi: 165.0,
                s_lo: 60.0,
                s_hi: 255.0,
                v_lo: 60.0,
                v_hi: 255.0,
            },
            Palette::Shadow => HsvRange {
                h_lo: 0.0,
                h_hi: 180.0,
                s_lo: 0.0,
                s_hi: 80.0,
                v_lo: 20.0,
                v_hi: 200.0,
            },
        }
    }
    /// Range of this palette in a [`RangeSet`].
    pub fn range(self, set: RangeSet) -> HsvRange {
        match set {
            RangeSet::Strict => self.strict(),
            RangeSet::Loose => self.loose(),
        }
    }

    /// Draw a colour uniformly in (H, S, V) over the strict range, as Appendix C; redrawn until
    /// the rounded 8-bit RGB colour itself lies in the range (so training colours pass the masks).
    pub fn sample<R: Rng + ?Sized>(self, rng: &mut R) -> [u8; 3] {
        let r = self.strict();
        loop {
            let h = rng.random_range(r.h_lo..=r.h_hi);
            let s = rng.random_range(r.s_lo..=r.s_hi);
            let v = rng.random_range(r.v_lo..=r.v_hi);
            let c = hsv_to_rgb(h, s, v);
            let q = [c[0].round() as u8, c[1].round() as u8, c[2].round() as u8];
            let (h2, s2, v2) = rgb_to_hsv([q[0] as f32, q[1] as f32, q[2] as f32]);
            if r.contains(h2, s2, v2) {
                return q;
            }
        }
    }
}

/// RGB in [0, 255] to HSV in OpenCV's convention (H in [0, 180), S, V in [0, 255]), unrounded.
#[inline]
pub fn rgb_to_hsv(c: [f32; 3]) -> (f32, f32, f32) {
    let [r, g, b] = c;
    let v = r.max(g).max(b);
    let m = r.min(g).min(b);
    let d = v - m;
    let s = if v > 0.0 { 255.0 * d / v } else { 0.0 };
    let h = if d <= 0.0 {
        0.0
    } else if v == r {
        let h = 60.0 * (g - b) / d;
        if h < 0.0 {
            h + 360.0
        } else {
            h
        }
    } else if v == g {
        120.0 + 60.0 * (b - r) / d
    } else {
        240.0 + 60.0 * (r - g) / d
    };
    (h / 2.0, s, v)
}

/// HSV in OpenCV's convention to RGB in [0, 255], unrounded.
pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let hd = (h * 2.0).rem_euclid(360.0) / 60.0;
    let s = (s / 255.0).clamp(0.0, 1.0);
    let c = v * s;
    let x = c * (1.0 - ((hd % 2.0) - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match hd as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r + m, g + m, b + m]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    #[test]
    fn hsv_round_trip_and_sampling_in_range() {
        for &(h, s, v) in &[
            (10.0, 200.0, 230.0),
            (120.0, 150.0, 180.0),
            (0.0, 0.0, 100.0),
            (170.0, 255.0, 255.0),
        ] {
            let c = hsv_to_rgb(h, s, v);
            let (h2, s2, v2) = rgb_to_hsv(c);
            assert!((h2 - h).abs() < 1e-3 || s == 0.0, "{h} {h2}");
            assert!((s2 - s).abs() < 1e-2 && (v2 - v).abs() < 1e-3);
        }
        // pure yellow is H = 30 in OpenCV units
        assert!((rgb_to_hsv([255.0, 255.0, 0.0]).0 - 30.0).abs() < 1e-4);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for p in [Palette::Yellow, Palette::BlueGreen, Palette::Shadow] {
            for _ in 0..200 {
                let q = p.sample(&mut rng);
                let (h, s, v) = rgb_to_hsv([q[0] as f32, q[1] as f32, q[2] as f32]);
                assert!(p.strict().contains(h, s, v));
            }
        }
    }
}
