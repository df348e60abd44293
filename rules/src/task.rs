//! The four synthetic tasks of Section 3.1.2 / Appendix C: their elements (one colour range each),
//! feature names and fine-rule target slopes `k` (Fig. 8: ratios 1, 1, sqrt 2, 1.5).
use crate::color::Palette;
use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the paper's synthetic tasks (Section 3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Task {
    /// Sun, pole and shadow: coarse = sun and shadow on opposite sides; fine `l1 h2 = l2 h1`.
    A,
    /// Two rectangles in perspective: coarse = left taller; fine `x1 H1 = x2 H2`.
    B,
    /// Two tangent circles: coarse `r1 != r2`; fine `r2 = sqrt(2) r1`.
    C,
    /// Two squares, upper smaller: coarse `l1 < l2`; fine `l2 = 1.5 l1`.
    D,
}

/// A coloured element of a task's image (one HSV mask each in the evaluator, Fig. 2 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementSpec {
    /// Name used in reasons and CSV headers.
    pub name: &'static str,
    /// Colour family (Appendix C).
    pub palette: Palette,
}

impl Task {
    /// All tasks in order.
    pub const ALL: [Task; 4] = [Task::A, Task::B, Task::C, Task::D];

    /// Slope `k` of the fine-rule line `y = k x` (Fig. 8: 1, 1, sqrt 2, 1.5).
    pub fn target_slope(self) -> f64 {
        match self {
            Task::A | Task::B => 1.0,
            Task::C => std::f64::consts::SQRT_2,
            Task::D => 1.5,
        }
    }

    /// The task's elements, in the order of colours in manifests and of 13-D colour vectors.
    pub fn elements(self) -> &'static [ElementSpec] {
        use Palette::*;
        match self {
            Task::A => &[
                ElementSpec {
                    name: "sun",
                    palette: Yellow,
                },
                ElementSpec {
                    name: "pole",
                    palette: BlueGreen,
                },
                ElementSpec {
                    name: "shadow",
                    palette: Shadow,
                },
            ],
            Task::B => &[
                ElementSpec {
                    name: "rect1",
                    palette: Yellow,
                },
                ElementSpec {
                    name: "rect2",
                    palette: BlueGreen,
                },
            ],
            Task::C => &[
                ElementSpec {
                    name: "circle1",
                    palette: BlueGreen,
                },
                ElementSpec {
                    name: "circle2",
                    palette: Yellow,
                },
            ],
            Task::D => &[
                ElementSpec {
                    name: "top",
                    palette: Yellow,
                },
                ElementSpec {
                    name: "bottom",
                    palette: BlueGreen,
                },
            ],
        }
    }

    /// Names of the four structural features (normalised by the image side), the "4-D" space of
    /// Section 3.3 / App. D.2 for Task A; the analogous choice for B-D.
    ///
    /// - A: `l1` horizontal sun-pole distance, `l2` shadow length, `h1` sun centre to pole top,
    ///   `h2` pole height.
    /// - B: `x1`, `h1` left edge and height of rectangle 1 (yellow), `x2`, `h2` of rectangle 2.
    /// - C: `r1` blue-green radius, `r2` yellow radius, `dx`, `dy` centre offset (2 minus 1).
    /// - D: `l1` upper (yellow) side, `l2` lower (blue-green) side, `cx1`, `cx2` centre abscissae.
    pub fn feature_names(self) -> [&'static str; 4] {
        match self {
            Task::A => ["l1", "l2", "h1", "h2"],
            Task::B => ["x1", "h1", "x2", "h2"],
            Task::C => ["r1", "r2", "dx", "dy"],
            Task::D => ["l1", "l2", "cx1", "cx2"],
        }
    }

    /// Fine-rule coordinates `(x, y)` from the four features, truth `y = k x`.
    ///
    /// A: `x = l1 h2`, `y = l2 h1` (Section 3.2); B: `x = x1 h1`, `y = x2 h2` (perspective: size
    /// times distance from the left-edge viewpoint is constant); C: `(r1, r2)`; D: `(l1, l2)`.
    pub fn fine_xy(self, f: &[f64; 4]) -> (f64, f64) {
        match self {
            Task::A => (f[0] * f[3], f[1] * f[2]),
            Task::B => (f[0] * f[1], f[2] * f[3]),
            Task::C | Task::D => (f[0], f[1]),
        }
    }

    /// Lower-case letter.
    pub fn letter(self) -> &'static str {
        match self {
            Task::A => "A",
            Task::B => "B",
            Task::C => "C",
            Task::D => "D",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

impl FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(Task::A),
            "B" => Ok(Task::B),
            "C" => Ok(Task::C),
            "D" => Ok(Task::D),
            _ => Err(Error::UnknownTask(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse_case_insensitive_and_reject_unknown() {
        assert_eq!("c".parse::<Task>().unwrap(), Task::C);
        assert_eq!(" D ".parse::<Task>().unwrap(), Task::D);
        let e = "E".parse::<Task>().unwrap_err().to_string();
        assert!(e.contains("A, B, C, D"), "{e}");
        assert!((Task::C.target_slope() - 2f64.sqrt()).abs() < 1e-15);
    }
}
