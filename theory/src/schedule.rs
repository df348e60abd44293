//! Noise schedules: x_t = alpha_t x_0 + beta_t eps (paper Sec. 4 and App. F; DDPM, Ho et al. 2020).

use crate::error::{invalid, Result};
use serde::{Deserialize, Serialize};

/// One noise level (alpha_t, beta_t) with x_t = alpha_t x_0 + beta_t eps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseLevel {
    /// signal coefficient alpha_t
    pub alpha_t: f64,
    /// noise standard deviation beta_t
    pub beta_t: f64,
}

impl NoiseLevel {
    /// A level from explicit coefficients (alpha_t > 0, beta_t > 0, both finite).
    pub fn new(alpha_t: f64, beta_t: f64) -> Result<Self> {
        if !(alpha_t.is_finite() && alpha_t > 0.0) {
            return Err(invalid("t", format!("alpha_t must be > 0, got {alpha_t}")));
        }
        if !(beta_t.is_finite() && beta_t > 0.0) {
            return Err(invalid("t", format!("beta_t must be > 0, got {beta_t}")));
        }
        Ok(Self { alpha_t, beta_t })
    }
    /// The rule target alpha_t / beta_t^2 of Def. 4.3.
    pub fn target(&self) -> f64 {
        self.alpha_t / (self.beta_t * self.beta_t)
    }
}

/// Smallest continuous-schedule time the command-line tools accept: beta_t = 1.4e-3 there, an
/// order of magnitude below the smallest noise level of DDPM's linear schedule
/// (beta_1 = 1e-4, beta = 1e-2). Below it the DSM targets (1/beta_t) reach 1e150 and beyond.
pub const MIN_CLI_T: f64 = 1e-6;

/// Noise schedules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The paper's continuous schedule (App. F): alpha_t = e^{-t}, beta_t = sqrt(1 - e^{-2t}), t > 0.
    Continuous,
    /// DDPM's discrete linear schedule: beta_i linear from `beta_start` to `beta_end` over `t_steps`
    /// steps, alphabar_t = prod_{i<=t}(1 - beta_i); alpha_t = sqrt(alphabar_t), beta_t = sqrt(1 - alphabar_t)
    /// (the coefficients of Eq. 2's x_t); t is the integer step 1..=t_steps.
    DdpmLinear {
        /// number of steps T (1000 in DDPM)
        t_steps: usize,
        /// first beta (1e-4)
        beta_start: f64,
        /// last beta (2e-2)
        beta_end: f64,
    },
}

impl Schedule {
    /// DDPM's defaults: T = 1000, beta from 1e-4 to 2e-2.
    pub fn ddpm_default() -> Self {
        Schedule::DdpmLinear {
            t_steps: 1000,
            beta_start: 1e-4,
            beta_end: 2e-2,
        }
    }

    /// (alpha_t, beta_t) at time t (continuous: t > 0; DDPM: integer step 1..=T).
    pub fn level(&self, t: f64) -> Result<NoiseLevel> {
        match *self {
            Schedule::Continuous => {
                if !(t.is_finite() && t > 0.0) {
                    return Err(invalid(
                        "t",
                        format!("must be a finite number > 0, got {t}"),
                    ));
                }
                NoiseLevel::new((-t).exp(), (-(-2.0 * t).exp_m1()).sqrt())
            }
            Schedule::DdpmLinear {
                t_steps,
                beta_start,
                beta_end,
            } => {
                if t_steps < 1 || !(0.0 < beta_start && beta_start <= beta_end && beta_end < 1.0) {
                    return Err(invalid(
                        "schedule",
                        "need T >= 1 and 0 < beta_start <= beta_end < 1",
                    ));
                }
                if !(t.is_finite() && t >= 1.0 && t <= t_steps as f64 && t.fract() == 0.0) {
                    return Err(invalid(
                        "t",
                        format!("DDPM step must be an integer in 1..={t_steps}, got {t}"),
                    ));
                }
                let ab = Self::ddpm_alpha_bar(t_steps, beta_start, beta_end, t as usize);
                NoiseLevel::new(ab.sqrt(), (1.0 - ab).sqrt())
            }
        }
    }

    /// alphabar_t = prod_{i=1}^t (1 - beta_i) of DDPM's linear schedule.
    pub fn ddpm_alpha_bar(t_steps: usize, beta_start: f64, beta_end: f64, t: usize) -> f64 {
        (1..=t)
            .map(|i| {
                let frac = if t_steps > 1 {
                    (i - 1) as f64 / (t_steps - 1) as f64
                } else {
                    0.0
                };
                1.0 - (beta_start + (beta_end - beta_start) * frac)
            })
            .product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn continuous_is_variance_preserving() {
        let l = Schedule::Continuous.level(0.4).unwrap();
        assert!((l.alpha_t.powi(2) + l.beta_t.powi(2) - 1.0).abs() < 1e-14);
        assert!((l.alpha_t - (-0.4f64).exp()).abs() < 1e-15);
        assert!(Schedule::Continuous.level(0.0).is_err());
    }
    #[test]
    fn ddpm_endpoints() {
        let s = Schedule::ddpm_default();
        let l1 = s.level(1.0).unwrap();
        assert!((l1.alpha_t.powi(2) - (1.0 - 1e-4)).abs() < 1e-15);
        let lt = s.level(1000.0).unwrap();
        assert!(lt.alpha_t < 0.01 && lt.beta_t > 0.9999);
        assert!(s.level(0.0).is_err() && s.level(1.5).is_err() && s.level(1001.0).is_err());
    }
}
