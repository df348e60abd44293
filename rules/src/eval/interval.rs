//! Bootstrap intervals of Eq. 4 (Section 5.1) over one sample set: how far the Error, its parts
//! and R² of a set of generated images would move if the same model were sampled again with as
//! many valid images. The valid pairs `(x_i, y_i)` are resampled with replacement, each resample
//! trimmed and fitted exactly as the point estimate is (`hidden_rules_core::eq4::eq4_error`), and
//! the percentile interval of each statistic over the resamples is reported (Efron's percentile
//! bootstrap). The interval is conditional on the valid count: it measures the evaluation's
//! sampling noise, not the spread between training runs or checkpoints.
use super::EvalConfig;
use crate::task::Task;
use hidden_rules_core::eq4::{eq4_error, quantile, Ddof, Trim};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Settings of the bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Resamples drawn.
    pub resamples: usize,
    /// Two-sided coverage of the interval, in (0, 1).
    pub level: f64,
    /// Seed of the resampling (ChaCha8, so the same seed gives the same interval everywhere).
    pub seed: u64,
}

impl Default for Bootstrap {
    /// 2000 resamples, 95 %, seed 0: the setting of every interval in the docs.
    fn default() -> Self {
        Bootstrap {
            resamples: 2000,
            level: 0.95,
            seed: 0,
        }
    }
}

/// A closed interval `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl From<Interval> for (f64, f64) {
    fn from(i: Interval) -> Self {
        (i.lo, i.hi)
    }
}

impl Interval {
    /// Whether `v` lies in the interval.
    pub fn contains(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }

    /// `hi - lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }

    /// The percentile interval of `values` (not empty) at two-sided `level`.
    fn percentile(values: &mut [f64], level: f64) -> Interval {
        values.sort_by(f64::total_cmp);
        let tail = (1.0 - level) / 2.0;
        Interval {
            lo: quantile(values, tail),
            hi: quantile(values, 1.0 - tail),
        }
    }
}

/// Percentile intervals of Eq. 4's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eq4Interval {
    pub bootstrap: Bootstrap,
    /// Resamples whose fit was defined (a resample whose `x` are all equal has none).
    pub resamples_used: usize,
    /// Pairs per resample (the valid pairs given, before trimming).
    pub n: usize,
    pub error: Interval,
    pub bias_part: Interval,
    pub variance_part: Interval,
    pub r_squared: Interval,
}

/// The bootstrap of Eq. 4 on pairs `(x, y)` against `y = k x`, trimmed with `rule` and with
/// `ddof` in every resample. `None` with fewer than 3 pairs, with settings outside their ranges
/// (`resamples` 0, `level` outside (0, 1)), or when fewer than half the resamples have a fit.
pub fn eq4_interval(
    x: &[f64],
    y: &[f64],
    k: f64,
    rule: Trim,
    ddof: Ddof,
    b: Bootstrap,
) -> Option<Eq4Interval> {
    let n = x.len();
    if n < 3 || y.len() != n || b.resamples == 0 || !(b.level > 0.0 && b.level < 1.0) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(b.seed);
    let (mut rx, mut ry) = (vec![0.0; n], vec![0.0; n]);
    let mut stats: [Vec<f64>; 4] = Default::default();
    for _ in 0..b.resamples {
        for (u, v) in rx.iter_mut().zip(ry.iter_mut()) {
            let i = rng.random_range(0..n);
            (*u, *v) = (x[i], y[i]);
        }
        if let Ok(e) = eq4_error(&rx, &ry, k, rule, ddof) {
            for (s, v) in
                stats
                    .iter_mut()
                    .zip([e.total, e.bias_part, e.variance_part, e.fit.r_squared])
            {
                s.push(v);
            }
        }
    }
    let used = stats[0].len();
    if 2 * used < b.resamples {
        return None;
    }
    let [mut error, mut bias, mut var, mut r2] = stats;
    Some(Eq4Interval {
        bootstrap: b,
        resamples_used: used,
        n,
        error: Interval::percentile(&mut error, b.level),
        bias_part: Interval::percentile(&mut bias, b.level),
        variance_part: Interval::percentile(&mut var, b.level),
        r_squared: Interval::percentile(&mut r2, b.level),
    })
}

/// The interval of a summary's `eq4`: the valid pairs of `task`, with the evaluator's default
/// trimming and `ddof` of `cfg` and the default [`Bootstrap`].
pub fn of_summary_pairs(task: Task, x: &[f64], y: &[f64], cfg: &EvalConfig) -> Option<Eq4Interval> {
    eq4_interval(
        x,
        y,
        task.target_slope(),
        cfg.default_trim.rule(cfg.trim_q),
        cfg.ddof,
        Bootstrap::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// `n` pairs `x ~ U(0.5, 1.5)`, `y = k x + N(0, sigma)`.
    fn noisy_line(n: usize, k: f64, sigma: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, sigma).unwrap();
        (0..n)
            .map(|_| {
                let x: f64 = rng.random_range(0.5..1.5);
                (x, k * x + noise.sample(&mut rng))
            })
            .unzip()
    }

    fn quick() -> Bootstrap {
        Bootstrap {
            resamples: 400,
            ..Bootstrap::default()
        }
    }

    #[test]
    fn pairs_on_the_truth_line_give_a_zero_width_error_interval() {
        let x: Vec<f64> = (0..50).map(|i| 0.5 + i as f64 / 50.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 1.3 * v).collect();
        let iv = eq4_interval(&x, &y, 1.3, Trim::None, Ddof::Population, quick()).unwrap();
        assert!(iv.error.hi < 1e-9, "{iv:?}");
        assert!(iv.r_squared.lo > 1.0 - 1e-9, "{iv:?}");
        assert_eq!(iv.resamples_used, 400);
    }

    #[test]
    fn the_variance_part_interval_has_the_width_of_a_standard_deviation_estimate() {
        // For normal residuals the sample sd over n pairs has standard error sigma / sqrt(2 n),
        // so a 95 % interval is about 2 * 1.96 * sigma / sqrt(2 n) wide.
        let (n, sigma) = (200, 0.1);
        let theory = 2.0 * 1.96 * sigma / (2.0 * n as f64).sqrt();
        let widths: Vec<f64> = (0..20)
            .map(|s| {
                let (x, y) = noisy_line(n, 1.0, sigma, s);
                eq4_interval(&x, &y, 1.0, Trim::None, Ddof::Population, quick())
                    .unwrap()
                    .variance_part
                    .width()
            })
            .collect();
        let mean = widths.iter().sum::<f64>() / widths.len() as f64;
        assert!(
            (0.75 * theory..1.25 * theory).contains(&mean),
            "mean width {mean}, theory {theory}"
        );
    }

    #[test]
    fn intervals_cover_the_true_residual_sd_at_about_their_level() {
        // 60 data sets of a known line: the 95 % interval of the variance part should contain
        // sigma in about 57 of them (binomial sd 1.7); fewer than 50 means the interval is far
        // too narrow.
        let sigma = 0.05;
        let covered = (0..60)
            .filter(|&s| {
                let (x, y) = noisy_line(150, 2.0, sigma, 100 + s);
                eq4_interval(&x, &y, 2.0, Trim::None, Ddof::Population, quick())
                    .unwrap()
                    .variance_part
                    .contains(sigma)
            })
            .count();
        assert!(covered >= 50, "{covered} of 60 covered");
    }

    #[test]
    fn the_interval_narrows_as_one_over_root_n() {
        let width = |n: usize| {
            let (x, y) = noisy_line(n, 1.0, 0.1, 7);
            eq4_interval(
                &x,
                &y,
                1.0,
                Trim::PAPER_PER_COORDINATE,
                Ddof::Population,
                quick(),
            )
            .unwrap()
            .error
            .width()
        };
        let ratio = width(1600) / width(100);
        assert!((0.15..0.40).contains(&ratio), "ratio {ratio}, 1/4 expected");
    }

    #[test]
    fn the_same_seed_gives_the_same_interval_and_bad_settings_none() {
        let (x, y) = noisy_line(80, 1.0, 0.1, 3);
        let b = quick();
        let a = eq4_interval(&x, &y, 1.0, Trim::None, Ddof::Population, b);
        assert_eq!(
            a,
            eq4_interval(&x, &y, 1.0, Trim::None, Ddof::Population, b)
        );
        assert!(a.is_some());
        for bad in [
            Bootstrap { resamples: 0, ..b },
            Bootstrap { level: 1.0, ..b },
            Bootstrap { level: 0.0, ..b },
        ] {
            assert!(eq4_interval(&x, &y, 1.0, Trim::None, Ddof::Population, bad).is_none());
        }
        assert!(eq4_interval(&x[..2], &y[..2], 1.0, Trim::None, Ddof::Population, b).is_none());
        // identical x in every pair: no resample has a fit
        let flat = vec![1.0; 10];
        assert!(eq4_interval(&flat, &y[..10], 1.0, Trim::None, Ddof::Population, b).is_none());
    }
}
