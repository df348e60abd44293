//! Small Monte Carlo statistics helpers (mean, variance, standard error) and Gaussian sampling.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Running mean and variance (Welford), for Monte Carlo estimates with standard errors.
#[derive(Clone, Debug, Default)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    /// Empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds one sample.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }
    /// Number of samples.
    pub fn n(&self) -> u64 {
        self.n
    }
    /// Sample mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// Sample variance (ddof = 1).
    pub fn var(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }
    /// Population variance of the sample (ddof = 0).
    pub fn var_pop(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.m2 / self.n as f64
        }
    }
    /// Standard error of the mean.
    pub fn se(&self) -> f64 {
        (self.var() / self.n.max(1) as f64).sqrt()
    }
}

/// A vector of `d` independent standard normals.
pub fn normal_vec<R: Rng + ?Sized>(d: usize, rng: &mut R) -> Vec<f64> {
    (0..d).map(|_| StandardNormal.sample(rng)).collect()
}

/// One standard normal.
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// Euclidean inner product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Squared Euclidean norm.
pub fn norm_sq(a: &[f64]) -> f64 {
    dot(a, a)
}

/// Standard error of a sample variance estimate, `sqrt((m4 - s^4 (n-3)/(n-1)) / n)`,
/// computed from the samples (used for tolerances on Monte Carlo variances).
pub fn se_of_variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let s2 = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    ((m4 - s2 * s2 * (n - 3.0) / (n - 1.0)).max(0.0) / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn welford_matches_two_pass() {
        let xs = [1.0, 4.0, 2.5, -3.0, 7.25];
        let mut w = Welford::new();
        xs.iter().for_each(|x| w.push(*x));
        let m = xs.iter().sum::<f64>() / 5.0;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4.0;
        assert!((w.mean() - m).abs() < 1e-14);
        assert!((w.var() - v).abs() < 1e-12);
        assert!((w.se() - (v / 5.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn normal_vec_is_seeded() {
        let a = normal_vec(5, &mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        let b = normal_vec(5, &mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
    }
}
