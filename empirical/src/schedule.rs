//! DDPM noise schedule (Ho et al. 2020; Sec. 3.2, App. D.1): linear beta_t, alpha_t = 1 - beta_t,
//! alpha_bar_t = prod_{s<=t} alpha_s. Index `t` here runs 0..T-1 and stands for the paper's
//! step t+1 in 1..T. (Note: Section 4's theory writes x_t = alpha_t x_0 + beta_t eps with alpha_t,
//! beta_t the *scale* and *std*; in that notation alpha_t = sqrt(alpha_bar_t) and
//! beta_t = sqrt(1 - alpha_bar_t) of this module.)
use crate::config::DiffusionConfig;

/// Precomputed per-step coefficients in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// beta_t, the variance of step t's noise.
    pub beta: Vec<f64>,
    /// alpha_t = 1 - beta_t.
    pub alpha: Vec<f64>,
    /// alpha_bar_t = prod_{s <= t} alpha_s.
    pub alpha_bar: Vec<f64>,
}

impl Schedule {
    /// Linear schedule beta_t = beta_start + (beta_end - beta_start) * t / (T - 1), t = 0..T-1
    /// (`torch.linspace(beta_start, beta_end, T)` in the reference code).
    pub fn linear(timesteps: usize, beta_start: f64, beta_end: f64) -> Self {
        let beta: Vec<f64> = (0..timesteps)
            .map(|t| {
                if timesteps == 1 {
                    beta_start
                } else {
                    beta_start + (beta_end - beta_start) * t as f64 / (timesteps - 1) as f64
                }
            })
            .collect();
        let alpha: Vec<f64> = beta.iter().map(|b| 1.0 - b).collect();
        let mut alpha_bar = Vec::with_capacity(timesteps);
        let mut acc = 1.0;
        for a in &alpha {
            acc *= a;
            alpha_bar.push(acc);
        }
        Schedule {
            beta,
            alpha,
            alpha_bar,
        }
    }

    /// The schedule of a [`DiffusionConfig`].
    pub fn from_config(c: &DiffusionConfig) -> Self {
        Self::linear(c.timesteps, c.beta_start, c.beta_end)
    }

    /// Number of steps T.
    pub fn len(&self) -> usize {
        self.beta.len()
    }

    /// True when T = 0.
    pub fn is_empty(&self) -> bool {
        self.beta.is_empty()
    }

    /// sqrt(alpha_bar_t): scale of x_0 in q(x_t | x_0).
    pub fn sqrt_alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bar[t].sqrt()
    }

    /// sqrt(1 - alpha_bar_t): std of the noise in q(x_t | x_0).
    pub fn sqrt_one_minus_alpha_bar(&self, t: usize) -> f64 {
        (1.0 - self.alpha_bar[t]).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_endpoints_and_product() {
        let s = Schedule::linear(1000, 1e-4, 2e-2);
        assert_eq!(s.len(), 1000);
        assert!((s.beta[0] - 1e-4).abs() < 1e-15);
        assert!((s.beta[999] - 2e-2).abs() < 1e-15);
        // alpha_bar_T by a log-sum, independently of the running product
        let log_sum: f64 = s.beta.iter().map(|b| (1.0 - b).ln()).sum();
        assert!((s.alpha_bar[999] - log_sum.exp()).abs() < 1e-12);
        // the DDPM schedule nearly destroys the signal: alpha_bar_T ~ 4e-5
        assert!(s.alpha_bar[999] < 1e-4 && s.alpha_bar[999] > 1e-5);
        assert!(s.alpha_bar.windows(2).all(|w| w[1] < w[0]));
    }
}
