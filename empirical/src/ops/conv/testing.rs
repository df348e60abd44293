//! Inputs of the kernels' unit tests.
use super::ConvDims;

/// `len` deterministic values in [-1, 1].
pub(super) fn data(len: usize, seed: f32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as f32 + seed) * 0.731).sin())
        .collect()
}

/// The dimensions `(n, c_in, c_out, h, w, kh, kw, ph, pw)`.
pub(super) fn dims(
    (n, c_in, c_out, h, w, kh, kw, ph, pw): (
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
    ),
) -> ConvDims {
    ConvDims {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        ph,
        pw,
    }
}
