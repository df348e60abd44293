//! Shared histogram helpers (equal-width bins over a closed range).

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]` (values
/// outside are ignored; `hi` falls in the last bin).
pub fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let mut counts = vec![0usize; bins.max(1)];
    let width = (hi - lo) / counts.len() as f64;
    for &v in values {
        if !v.is_finite() || v < lo || v > hi || width <= 0.0 {
            continue;
        }
        let i = (((v - lo) / width) as usize).min(counts.len() - 1);
        counts[i] += 1;
    }
    counts
}

/// Mean and population standard deviation of `values`.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_edges_land_inside() {
        let v = [0.0, 0.25, 0.5, 0.75, 1.0, 2.0];
        let c = histogram(&v, 0.0, 1.0, 4);
        assert_eq!(c, vec![1, 1, 1, 2]);
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 1.0));
    }
}
