//! The 2-D convolution with bias (stride 1, dilation 1, one group, zero padding) by shifted
//! GEMMs on a padded copy of the input: no column matrix. Forward, and the weight gradient, a
//! GEMM of the same kind.
//!
//! Pad the input to `H_p = H + 2 ph`, `W_p = W + 2 pw`; number the padded pixels of the batch
//! `q = (b H_p + iy) W_p + ix`. An output pixel `(b, oy, ox)` sits at
//! `q = (b H_p + oy) W_p + ox` of the same grid, and the input it reads at the tap `(ky, kx)`
//! is `q + ky W_p + kx`: a shift, the same for every pixel.
//!
//! * Forward ([`forward`]): with the padded input channels-first, `x_p[ci, q]`, each tap is one
//!   GEMM `Y_p[q, co] += sum over ci of x_p[ci, q + ky W_p + kx] w[co, ci, ky, kx]`, whose left
//!   factor is a column-major view of `x_p` (column stride `N H_p W_p`) and whose right factor
//!   a strided view of `w` — `kh kw` GEMMs in all, starting from `Y_p = bias`. `Y_p` covers the
//!   whole padded grid; the pixels with `oy < H_out`, `ox < W_out` are the output
//!   `[N, C_out, H_out, W_out]` (the others, `(W_p - W_out) / W_p` of a row and the rows between
//!   images, are computed and dropped). A 1x1 kernel without padding needs no copy:
//!   `Y[b] = bias + W x[b]`, one GEMM per item.
//! * Weight gradient for the output gradient `dY` ([`weight_grad`]): with the padded input
//!   channels-last, `x_p[q, ci]`, the taps `kx` and the channels `ci` of one kernel row `ky`
//!   are contiguous (`x_p[q + ky W_p + kx, ci]` is entry `(q + ky W_p) C_in + kx C_in + ci`),
//!   and with `dY` placed on the padded grid (`dY_p[q, co]`, zero on the padding pixels) the
//!   kernel row is one GEMM over the pixels,
//!   `dW_ky[(kx, ci), co] = sum over q of x_p[q + ky W_p + kx, ci] dY_p[q, co]`.
//!
//! Which layout serves which product was measured (the `profile` example's `--convs` tables):
//! per tap on the channels-first copy is 1.3-1.5x faster for the forward than per kernel row
//! on the channels-last one, which in turn is faster for the weight gradient from 64 channels
//! on. The input gradient, the convolution of `dY` with the flipped kernel, is faster by
//! im2col and GEMM at the U-Net's shapes (see [`super::kernel`]).
//!
//! The batch is cut into blocks of whole images fixed by the shapes alone; blocks run in
//! parallel (rayon), and the blocks' partial weight gradients are added in block order, so
//! results do not depend on the number of threads. Each output entry is a fixed sequence of
//! GEMM sums, the same sums as the definition up to `f32` rounding.
use rayon::prelude::*;

use super::kernel::{gemm_strided, ConvDims, ConvShapeError, Mat};

/// Padded pixels per block: enough rows for an efficient GEMM, few enough that the block's
/// output stays in cache.
const BLOCK_ROWS: usize = 2048;

/// Fewest blocks a batch of four or more items is cut into, so that both cores get work.
const MIN_BLOCKS: usize = 4;

/// Images per block for padded images of `img` pixels in a batch of `n`.
fn block_items(n: usize, img: usize) -> usize {
    BLOCK_ROWS
        .div_ceil(img.max(1))
        .min(n.div_ceil(MIN_BLOCKS))
        .max(1)
}

/// Whether the padded grid adds at most 30 % to the output pixels (large images), where the
/// shifted GEMMs beat im2col + GEMM (measured with the `profile` example's `--convs` table;
/// small images with many channels are faster by im2col).
pub fn shifts(d: &ConvDims) -> bool {
    let padded = (d.h + 2 * d.ph) * (d.w + 2 * d.pw);
    10 * padded <= 13 * d.p()
}

/// Whether [`forward`] is expected to beat burn-flex's `conv2d` (im2col + GEMM) at these
/// sizes: for a 1x1 kernel without padding, and where [`shifts`].
pub fn preferred(d: &ConvDims) -> bool {
    is_pointwise(d) || shifts(d)
}

/// Weight gradient `dW` `[C_out, C_in, kh, kw]` of [`forward`] for the output gradient `dy`:
/// `kh` GEMMs per block over its padded pixels (see the module docs), the blocks' parts added
/// in block order.
pub fn weight_grad(x: &[f32], dy: &[f32], d: ConvDims) -> Result<Vec<f32>, ConvShapeError> {
    d.check(&[("x", x.len(), d.x_len()), ("grad", dy.len(), d.y_len())])?;
    let wp = d.w + 2 * d.pw;
    let img = (d.h + 2 * d.ph) * wp;
    let (ho, wo, p) = (d.h_out(), d.w_out(), d.p());
    let xp = padded_channels_last(x, &d);
    let nb = block_items(d.n, img);
    let blocks = d.n.div_ceil(nb);
    let threads = blocks < 2;
    let m = d.kw * d.c_in;
    let parts: Vec<Vec<f32>> = (0..blocks)
        .into_par_iter()
        .map(|i| {
            let nbi = nb.min(d.n - i * nb);
            let q0 = i * nb * img;
            let rows = (nbi - 1) * img + (ho - 1) * wp + wo;
            // dY_p of the block, entry (r, co) at co * rows + r, zero on the padding pixels
            let mut dyp = vec![0.0f32; d.c_out * rows];
            let dy = &dy[i * nb * d.c_out * p..][..nbi * d.c_out * p];
            for (b, dy) in dy.chunks(d.c_out * p).enumerate() {
                for (co, src) in dy.chunks(p).enumerate() {
                    let dst = &mut dyp[co * rows + b * img..];
                    for (oy, row) in src.chunks(wo).enumerate() {
                        dst[oy * wp..][..wo].copy_from_slice(row);
                    }
                }
            }
            let mut part = vec![0.0f32; d.kh * m * d.c_out];
            for (ky, dst) in part.chunks_mut(m * d.c_out).enumerate() {
                let lhs = Mat {
                    data: &xp[(q0 + ky * wp) * d.c_in..],
                    rs: 1,
                    cs: d.c_in,
                };
                let rhs = Mat {
                    data: &dyp,
                    rs: 1,
                    cs: rows,
                };
                gemm_strided(
                    dst,
                    (d.c_out, 1),
                    false,
                    lhs,
                    rhs,
                    (m, d.c_out, rows),
                    threads,
                );
            }
            part
        })
        .collect();
    let mut parts = parts.into_iter();
    let mut acc = parts.next().unwrap_or_default();
    for part in parts {
        for (a, v) in acc.iter_mut().zip(&part) {
            *a += v;
        }
    }
    // from the kernel-row layout ((ky kw + kx) C_in + ci, co) to [co, ci, ky, kx]
    let mut dw = vec![0.0f32; d.w_len()];
    for co in 0..d.c_out {
        for ci in 0..d.c_in {
            for ky in 0..d.kh {
                for kx in 0..d.kw {
                    dw[((co * d.c_in + ci) * d.kh + ky) * d.kw + kx] =
                        acc[((ky * d.kw + kx) * d.c_in + ci) * d.c_out + co];
                }
            }
        }
    }
    Ok(dw)
}

/// A 1x1 kernel without padding.
fn is_pointwise(d: &ConvDims) -> bool {
    d.kh == 1 && d.kw == 1 && d.ph == 0 && d.pw == 0
}

/// Forward `y = conv(x, w) + bias`, `[N, C_out, H_out, W_out]`, for `x` `[N, C_in, H, W]`,
/// `w` `[C_out, C_in, kh, kw]` and `bias` `[C_out]` (row-major). A 1x1 kernel without
/// padding takes one GEMM per batch item, straight from `x`.
pub fn forward(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    d: ConvDims,
) -> Result<Vec<f32>, ConvShapeError> {
    d.check(&[
        ("x", x.len(), d.x_len()),
        ("weight", w.len(), d.w_len()),
        ("bias", bias.len(), d.c_out),
    ])?;
    if is_pointwise(&d) {
        return Ok(pointwise(x, w, bias, d));
    }
    Ok(shifted(&padded_channels_first(x, &d), w, bias, &d))
}

/// `x` `[N, C_in, H, W]` zero-padded to `[C_in, N, H_p, W_p]`.
fn padded_channels_first(x: &[f32], d: &ConvDims) -> Vec<f32> {
    let (hp, wp) = (d.h + 2 * d.ph, d.w + 2 * d.pw);
    let img = hp * wp;
    let mut xp = vec![0.0f32; d.c_in * d.n * img];
    xp.par_chunks_mut(d.n * img)
        .enumerate()
        .for_each(|(ci, xp)| {
            for (b, xp) in xp.chunks_mut(img).enumerate() {
                let plane = &x[(b * d.c_in + ci) * d.h * d.w..][..d.h * d.w];
                for (iy, row) in plane.chunks(d.w).enumerate() {
                    xp[(iy + d.ph) * wp + d.pw..][..d.w].copy_from_slice(row);
                }
            }
        });
    xp
}

/// The forward's GEMMs, one per tap, on the channels-first padded input `xp`.
fn shifted(xp: &[f32], w: &[f32], bias: &[f32], d: &ConvDims) -> Vec<f32> {
    let wp = d.w + 2 * d.pw;
    let img = (d.h + 2 * d.ph) * wp;
    let (ho, wo, p) = (d.h_out(), d.w_out(), d.p());
    let nb = block_items(d.n, img);
    let threads = d.n.div_ceil(nb) < 2;
    let plane = d.n * img;
    let taps = d.kh * d.kw;
    let mut y = vec![0.0f32; d.y_len()];
    y.par_chunks_mut(nb * d.c_out * p)
        .enumerate()
        .for_each(|(i, y)| {
            let nbi = y.len() / (d.c_out * p);
            let q0 = i * nb * img;
            let rows = (nbi - 1) * img + (ho - 1) * wp + wo;
            let mut out = bias_columns(bias, rows);
            for ky in 0..d.kh {
                for kx in 0..d.kw {
                    let lhs = Mat {
                        data: &xp[q0 + ky * wp + kx..],
                        rs: 1,
                        cs: plane,
                    };
                    let rhs = Mat {
                        data: &w[ky * d.kw + kx..],
                        rs: taps,
                        cs: d.c_in * taps,
                    };
                    gemm_strided(
                        &mut out,
                        (1, rows),
                        true,
                        lhs,
                        rhs,
                        (rows, d.c_out, d.c_in),
                        threads,
                    );
                }
            }
            scatter(y, &out, rows, img, wp, d);
        });
    y
}

/// The output `[nb, C_out, P]` of a block from its pixel-major product `out` (entry
/// `(r, co)` at `co * rows + r`), whose item `b` starts at row `b * item_rows` and whose
/// output row `oy` starts `oy * row_stride` rows later.
fn scatter(
    y: &mut [f32],
    out: &[f32],
    rows: usize,
    item_rows: usize,
    row_stride: usize,
    d: &ConvDims,
) {
    let (wo, p) = (d.w_out(), d.p());
    for (b, y) in y.chunks_mut(d.c_out * p).enumerate() {
        for (co, dst) in y.chunks_mut(p).enumerate() {
            let src = &out[co * rows + b * item_rows..];
            for (oy, row) in dst.chunks_mut(wo).enumerate() {
                row.copy_from_slice(&src[oy * row_stride..][..wo]);
            }
        }
    }
}

/// `out` (`rows x C_out`, entry `(r, co)` at `co * rows + r`) filled with the bias.
fn bias_columns(bias: &[f32], rows: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; bias.len() * rows];
    for (col, &b) in out.chunks_mut(rows).zip(bias) {
        col.fill(b);
    }
    out
}

/// `x` `[N, C_in, H, W]` zero-padded to `[N, H_p, W_p, C_in]`.
fn padded_channels_last(x: &[f32], d: &ConvDims) -> Vec<f32> {
    let (hp, wp) = (d.h + 2 * d.ph, d.w + 2 * d.pw);
    let img = hp * wp;
    let mut xp = vec![0.0f32; d.n * img * d.c_in];
    xp.par_chunks_mut(img * d.c_in)
        .zip(x.par_chunks(d.c_in * d.h * d.w))
        .for_each(|(xp, x)| {
            for (ci, plane) in x.chunks(d.h * d.w).enumerate() {
                for (iy, row) in plane.chunks(d.w).enumerate() {
                    let start = ((iy + d.ph) * wp + d.pw) * d.c_in + ci;
                    for (ix, &v) in row.iter().enumerate() {
                        xp[start + ix * d.c_in] = v;
                    }
                }
            }
        });
    xp
}

/// The 1x1 convolution without padding: `y[b] = bias + W x[b]` with `W` `[C_out, C_in]` and
/// `x[b]` `[C_in, H W]`, written in place.
fn pointwise(x: &[f32], w: &[f32], bias: &[f32], d: ConvDims) -> Vec<f32> {
    let p = d.p();
    let mut y = vec![0.0f32; d.y_len()];
    let threads = d.n < 2;
    y.par_chunks_mut(d.c_out * p)
        .zip(x.par_chunks(d.c_in * p))
        .for_each(|(y, x)| {
            for (co, row) in y.chunks_mut(p).enumerate() {
                row.fill(bias[co]);
            }
            let lhs = Mat {
                data: w,
                rs: d.c_in,
                cs: 1,
            };
            let rhs = Mat {
                data: x,
                rs: p,
                cs: 1,
            };
            gemm_strided(y, (p, 1), true, lhs, rhs, (d.c_out, p, d.c_in), threads);
        });
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::conv::testing::{data, dims};

    /// Direct sum over the kernel in `f64`: the definition of the convolution, with the sum
    /// of the terms' magnitudes.
    fn naive(x: &[f32], w: &[f32], b: &[f32], d: ConvDims) -> Vec<(f64, f64)> {
        let (ho, wo) = (d.h_out(), d.w_out());
        let mut y = vec![(0.0f64, 0.0f64); d.y_len()];
        for n in 0..d.n {
            for co in 0..d.c_out {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut s = b[co] as f64;
                        let mut a = s.abs();
                        for ci in 0..d.c_in {
                            for ky in 0..d.kh {
                                for kx in 0..d.kw {
                                    let iy = (oy + ky) as isize - d.ph as isize;
                                    let ix = (ox + kx) as isize - d.pw as isize;
                                    if iy < 0 || ix < 0 || iy >= d.h as isize || ix >= d.w as isize
                                    {
                                        continue;
                                    }
                                    let xv = x[((n * d.c_in + ci) * d.h + iy as usize) * d.w
                                        + ix as usize];
                                    let wv = w[((co * d.c_in + ci) * d.kh + ky) * d.kw + kx];
                                    s += xv as f64 * wv as f64;
                                    a += (xv as f64 * wv as f64).abs();
                                }
                            }
                        }
                        y[((n * d.c_out + co) * ho + oy) * wo + ox] = (s, a);
                    }
                }
            }
        }
        y
    }

    #[test]
    fn forward_matches_the_definition() {
        for dims_ in [
            (1, 1, 1, 1, 1, 1, 1, 0, 0),
            (3, 2, 5, 5, 7, 3, 3, 1, 1),
            (2, 3, 4, 4, 3, 3, 3, 0, 0),
            (40, 2, 3, 3, 5, 3, 3, 1, 1),
            (2, 4, 2, 6, 5, 1, 1, 0, 0),
            (5, 3, 2, 4, 6, 3, 1, 1, 0),
            (9, 7, 6, 2, 2, 3, 3, 1, 1),
        ] {
            let d = dims(dims_);
            let (x, wt, b) = (
                data(d.x_len(), 0.0),
                data(d.w_len(), 1.0),
                data(d.c_out, 2.0),
            );
            let want = naive(&x, &wt, &b, d);
            // a sum of K + 1 terms in f32, any order: |error| <= (K + 1) eps sum |terms|
            let gamma = (d.k() + 1) as f64 * f32::EPSILON as f64;
            let got = forward(&x, &wt, &b, d).unwrap();
            for (g, (e, a)) in got.iter().zip(&want) {
                assert!((*g as f64 - e).abs() <= gamma * a, "{d:?}: {g} vs {e}");
            }
        }
    }

    /// `<y(w), g>` as a function of `w` has the gradient `weight_grad(g)`: checked against the
    /// definition, since the convolution is linear in `w` (`dw[i] = <y(e_i), g>` for the unit
    /// vector `e_i`).
    #[test]
    fn weight_grad_is_the_adjoint_of_the_forward() {
        for dims_ in [
            (3, 2, 5, 5, 7, 3, 3, 1, 1),
            (2, 3, 4, 4, 3, 3, 3, 0, 0),
            (5, 3, 2, 4, 6, 3, 1, 1, 0),
            (2, 4, 3, 3, 5, 1, 1, 0, 0),
        ] {
            let d = dims(dims_);
            let (x, g) = (data(d.x_len(), 0.0), data(d.y_len(), 2.0));
            let zero = vec![0.0f32; d.c_out];
            // <conv(u, v), g> in f64 with the sum of the terms' sizes
            let pairing = |u: &[f32], v: &[f32]| {
                naive(u, v, &zero, d)
                    .iter()
                    .zip(&g)
                    .fold((0.0, 0.0), |(s, a), ((y, t), &gi)| {
                        (s + y * gi as f64, a + t * (gi as f64).abs())
                    })
            };
            let gamma = (d.k() + d.n * d.p() + 1) as f64 * f32::EPSILON as f64;
            let dw = weight_grad(&x, &g, d).unwrap();
            for (i, &got) in dw.iter().enumerate() {
                let mut e = vec![0.0f32; d.w_len()];
                e[i] = 1.0;
                let (want, size) = pairing(&x, &e);
                assert!(
                    (got as f64 - want).abs() <= gamma * size,
                    "{d:?} dw[{i}]: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn blocks_follow_the_shapes() {
        assert_eq!(block_items(16, 34 * 34), 2);
        assert_eq!(block_items(16, 6 * 6), 4);
        assert_eq!(block_items(1, 6 * 6), 1);
        assert_eq!(block_items(3, 100_000), 1);
    }
}
