//! Backward slice kernels of the 2-D convolution (stride 1, dilation 1, one group, zero
//! padding) on contiguous row-major `f32` buffers, by im2col and GEMM, or by the shifted
//! GEMMs of [`super::shifted`] where those are faster (which also has the forward).
//!
//! With `x` `[N, C_in, H, W]`, `w` `[C_out, C_in, kh, kw]` read as the matrix `W`
//! `[C_out, K]`, `K = C_in kh kw`, and `P = H_out W_out` output pixels
//! (`H_out = H + 2 ph - kh + 1`, `W_out = W + 2 pw - kw + 1`), the columns of a block of
//! batch items are `X_col` `[K, n_b P]`: row `(ci, ky, kx)`, column `(b, oy, ox)` holds
//! `x[b, ci, oy + ky - ph, ox + kx - pw]`, zero outside the image ([`im2col`]). Then
//!
//! * forward (for reference): `Y = W X_col + bias`,
//! * weights: `dW = sum over blocks of dY X_col^T`, `dY` `[C_out, n_b P]`,
//! * input: `dX = col2im(W^T dY)`, where [`col2im`] adds every column entry back onto the input
//!   pixel it was read from,
//! * bias: `db[co] = sum over b, p of dY[b, co, p]` (in `f64`).
//!
//! The batch is cut into blocks of about [`BLOCK_COLUMNS`] columns, fixed by the shapes alone;
//! blocks run in parallel (rayon), each with its own buffers, and the blocks' partial `dW` are
//! added in block order, so results do not depend on the number of threads. The products are
//! the `gemm` crate's (the GEMM that burn-flex uses).
use rayon::prelude::*;

use super::shifted;

/// Columns (batch items x output pixels) per block: enough for an efficient GEMM, small enough
/// that a block's column buffer stays in cache and that large images give one block per item.
pub const BLOCK_COLUMNS: usize = 1024;

/// Smallest `m n k` for which a single GEMM is split over threads.
const PARALLEL_GEMM: usize = 64 * 64 * 64;

/// Sizes of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvDims {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Zero padding on top and bottom.
    pub ph: usize,
    /// Zero padding left and right.
    pub pw: usize,
}

/// Why a kernel refused its inputs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvShapeError {
    #[error("conv2d: empty kernel or an output smaller than one pixel ({0:?})")]
    Empty(ConvDims),
    #[error("conv2d: {name} has {found} entries, expected {expected}")]
    Length {
        name: &'static str,
        found: usize,
        expected: usize,
    },
}

impl ConvDims {
    /// The sizes of `x` `[N, C_in, H, W]` convolved with a weight `[C_out, C_in, kh, kw]` and
    /// zero padding `[ph, pw]` (the weight's second size is not checked against `x`'s).
    pub fn of(x: [usize; 4], w: [usize; 4], padding: [usize; 2]) -> Self {
        ConvDims {
            n: x[0],
            c_in: x[1],
            h: x[2],
            w: x[3],
            c_out: w[0],
            kh: w[2],
            kw: w[3],
            ph: padding[0],
            pw: padding[1],
        }
    }

    /// Output height `H + 2 ph - kh + 1` (0 when the kernel does not fit).
    pub fn h_out(&self) -> usize {
        (self.h + 2 * self.ph + 1).saturating_sub(self.kh)
    }
    /// Output width `W + 2 pw - kw + 1` (0 when the kernel does not fit).
    pub fn w_out(&self) -> usize {
        (self.w + 2 * self.pw + 1).saturating_sub(self.kw)
    }
    /// Output pixels per channel.
    pub fn p(&self) -> usize {
        self.h_out() * self.w_out()
    }
    /// Rows of the column matrix, `C_in kh kw`.
    pub fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Entries of `x`.
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    /// Entries of the weight.
    pub fn w_len(&self) -> usize {
        self.c_out * self.k()
    }
    /// Entries of the output.
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.p()
    }
    /// Batch items per block (see [`BLOCK_COLUMNS`]).
    pub fn block(&self) -> usize {
        BLOCK_COLUMNS
            .div_ceil(self.p().max(1))
            .clamp(1, self.n.max(1))
    }

    /// Check the sizes and the lengths of the slices against them.
    pub fn check(&self, lens: &[(&'static str, usize, usize)]) -> Result<(), ConvShapeError> {
        if self.n == 0 || self.c_in == 0 || self.c_out == 0 || self.kh == 0 || self.kw == 0 {
            return Err(ConvShapeError::Empty(*self));
        }
        if self.p() == 0 || self.ph >= self.kh || self.pw >= self.kw {
            // padding >= kernel would read columns made only of padding; not needed here
            return Err(ConvShapeError::Empty(*self));
        }
        for &(name, found, expected) in lens {
            if found != expected {
                return Err(ConvShapeError::Length {
                    name,
                    found,
                    expected,
                });
            }
        }
        Ok(())
    }
}

/// A strided view of a row-major matrix for [`gemm`].
#[derive(Clone, Copy)]
pub(super) struct Mat<'a> {
    pub(super) data: &'a [f32],
    /// Stride between rows.
    pub(super) rs: usize,
    /// Stride between columns.
    pub(super) cs: usize,
}

impl<'a> Mat<'a> {
    /// Row-major `rows x cols`.
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of the row-major `cols x rows` matrix `data`.
    fn transposed(data: &'a [f32], rows: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: rows,
        }
    }
    /// Largest index read for an `r x c` matrix, plus one.
    fn extent(&self, r: usize, c: usize) -> usize {
        if r == 0 || c == 0 {
            0
        } else {
            (r - 1) * self.rs + (c - 1) * self.cs + 1
        }
    }
}

/// `dst` (row-major `m x n`) `= [dst +] lhs rhs`, `lhs` `m x k`, `rhs` `k x n`.
fn gemm(
    dst: &mut [f32],
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    (m, n, k): (usize, usize, usize),
    threads: bool,
) {
    gemm_strided(dst, (n, 1), accumulate, lhs, rhs, (m, n, k), threads);
}

/// `dst` (`m x n` with row and column strides `dst_strides`) `= [dst +] lhs rhs`, `lhs`
/// `m x k`, `rhs` `k x n`.
pub(super) fn gemm_strided(
    dst: &mut [f32],
    (dst_rs, dst_cs): (usize, usize),
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    (m, n, k): (usize, usize, usize),
    threads: bool,
) {
    let dst_extent = Mat {
        data: &[],
        rs: dst_rs,
        cs: dst_cs,
    }
    .extent(m, n);
    assert!(dst.len() >= dst_extent, "gemm: destination too short");
    assert!(lhs.data.len() >= lhs.extent(m, k), "gemm: lhs too short");
    assert!(rhs.data.len() >= rhs.extent(k, n), "gemm: rhs too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let parallelism = if threads && m * n * k >= PARALLEL_GEMM {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above bound every index that gemm touches in the three buffers;
    // `dst` is borrowed mutably and so does not alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The range of output columns `ox` whose input column `ox + off - pad` lies in `0..len`.
fn valid(out_len: usize, len: usize, off: usize, pad: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(off).min(out_len);
    let hi = (len + pad).saturating_sub(off).min(out_len).max(lo);
    (lo, hi)
}

/// The column matrix `[K, nb P]` of the `nb` batch items in `x` (`[nb, C_in, H, W]`).
pub fn im2col(x: &[f32], nb: usize, d: &ConvDims) -> Vec<f32> {
    let (ho, wo, p) = (d.h_out(), d.w_out(), d.p());
    let cols = nb * p;
    let mut col = vec![0.0f32; d.k() * cols];
    let img = d.h * d.w;
    for (row, dst_row) in col.chunks_mut(cols).enumerate() {
        let (ci, ky, kx) = (row / (d.kh * d.kw), (row / d.kw) % d.kh, row % d.kw);
        let (lo, hi) = valid(wo, d.w, kx, d.pw);
        let (ylo, yhi) = valid(ho, d.h, ky, d.ph);
        if lo == hi {
            continue;
        }
        for b in 0..nb {
            let src = &x[(b * d.c_in + ci) * img..][..img];
            for oy in ylo..yhi {
                let iy = oy + ky - d.ph;
                let dst = &mut dst_row[b * p + oy * wo..][..wo];
                let s = &src[iy * d.w + lo + kx - d.pw..][..hi - lo];
                dst[lo..hi].copy_from_slice(s);
            }
        }
    }
    col
}

/// Add every entry of the column matrix `col` `[K, nb P]` onto the input pixel of `dx`
/// (`[nb, C_in, H, W]`, zeroed here) that [`im2col`] reads it from.
pub fn col2im(col: &[f32], nb: usize, d: &ConvDims, dx: &mut [f32]) {
    let (ho, wo, p) = (d.h_out(), d.w_out(), d.p());
    let cols = nb * p;
    let img = d.h * d.w;
    dx.fill(0.0);
    for (row, src_row) in col.chunks(cols).enumerate() {
        let (ci, ky, kx) = (row / (d.kh * d.kw), (row / d.kw) % d.kh, row % d.kw);
        let (lo, hi) = valid(wo, d.w, kx, d.pw);
        let (ylo, yhi) = valid(ho, d.h, ky, d.ph);
        if lo == hi {
            continue;
        }
        for b in 0..nb {
            let dst = &mut dx[(b * d.c_in + ci) * img..][..img];
            for oy in ylo..yhi {
                let iy = oy + ky - d.ph;
                let s = &src_row[b * p + oy * wo + lo..][..hi - lo];
                let t = &mut dst[iy * d.w + lo + kx - d.pw..][..hi - lo];
                for (t, s) in t.iter_mut().zip(s) {
                    *t += s;
                }
            }
        }
    }
}

/// `[C, nb P]` from `[nb, C, P]`: channel-major rows of a block of batch items.
fn channel_major(t: &[f32], nb: usize, c: usize, p: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; c * nb * p];
    for b in 0..nb {
        for ch in 0..c {
            out[ch * nb * p + b * p..][..p].copy_from_slice(&t[(b * c + ch) * p..][..p]);
        }
    }
    out
}

/// Whether the column matrix of one batch item is the item itself (1x1 kernel, no padding).
fn identity_columns(d: &ConvDims) -> bool {
    d.kh == 1 && d.kw == 1 && d.ph == 0 && d.pw == 0
}

/// Whether blocks run one at a time, each GEMM split over threads instead.
fn one_block_at_a_time(d: &ConvDims) -> bool {
    d.n.div_ceil(d.block()) < 2
}

/// Which gradients [`backward`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub x: bool,
    pub weight: bool,
    pub bias: bool,
}

/// Gradients `(dx, dw, db)` of the convolution for the output gradient `dy`; `None` for those
/// not [`Wanted`]. `dW` of a kernel larger than 1x1 by the shifted GEMMs of
/// [`shifted::weight_grad`] where [`shifted::shifts`], everything else by im2col and GEMM
/// (measured with the `profile` example's `--convs` table: the shifted `dW` is faster at 16 x 16
/// and above, `dx` is faster by im2col at every U-Net shape).
#[allow(clippy::type_complexity)]
pub fn backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    d: ConvDims,
    wanted: Wanted,
) -> Result<(Option<Vec<f32>>, Option<Vec<f32>>, Option<Vec<f32>>), ConvShapeError> {
    // the lengths are checked by `backward_columns` before any work
    let shift_w = wanted.weight && !identity_columns(&d) && shifted::shifts(&d);
    let rest = Wanted {
        weight: wanted.weight && !shift_w,
        ..wanted
    };
    let (dx, dw, db) = backward_columns(x, w, dy, d, rest)?;
    let dw = if shift_w {
        Some(shifted::weight_grad(x, dy, d)?)
    } else {
        dw
    };
    Ok((dx, dw, db))
}

/// [`backward`] by im2col and GEMM for all that is `wanted` (one column matrix per block for
/// `dx` and `dW`).
#[allow(clippy::type_complexity)]
pub fn backward_columns(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    d: ConvDims,
    wanted: Wanted,
) -> Result<(Option<Vec<f32>>, Option<Vec<f32>>, Option<Vec<f32>>), ConvShapeError> {
    d.check(&[
        ("x", x.len(), d.x_len()),
        ("weight", w.len(), d.w_len()),
        ("grad", dy.len(), d.y_len()),
    ])?;
    let (p, k, nb) = (d.p(), d.k(), d.block());
    let threads = one_block_at_a_time(&d);
    let x_block = nb * d.c_in * d.h * d.w;
    let blocks = d.n.div_ceil(nb);

    // one block: its dx (written in place) and its partial dW
    let run = |i: usize, dx: Option<&mut [f32]>| -> Option<Vec<f32>> {
        let b0 = i * nb;
        let nbi = nb.min(d.n - b0);
        let cols = nbi * p;
        let x = &x[b0 * d.c_in * d.h * d.w..][..nbi * d.c_in * d.h * d.w];
        let dy = &dy[b0 * d.c_out * p..][..nbi * d.c_out * p];
        let dyt_own;
        let dyt: &[f32] = if nbi == 1 {
            dy
        } else {
            dyt_own = channel_major(dy, nbi, d.c_out, p);
            &dyt_own
        };
        let dw = wanted.weight.then(|| {
            let col_own;
            let col: &[f32] = if identity_columns(&d) && nbi == 1 {
                x
            } else {
                col_own = im2col(x, nbi, &d);
                &col_own
            };
            let mut dw = vec![0.0f32; d.c_out * k];
            gemm(
                &mut dw,
                false,
                Mat::rows(dyt, cols),
                Mat::transposed(col, cols),
                (d.c_out, k, cols),
                threads,
            );
            dw
        });
        if let Some(dx) = dx {
            let lhs = Mat::transposed(w, k);
            let rhs = Mat::rows(dyt, cols);
            if identity_columns(&d) && nbi == 1 {
                gemm(dx, false, lhs, rhs, (k, cols, d.c_out), threads);
            } else {
                let mut dcol = vec![0.0f32; k * cols];
                gemm(&mut dcol, false, lhs, rhs, (k, cols, d.c_out), threads);
                col2im(&dcol, nbi, &d, dx);
            }
        }
        dw
    };

    let (dx, partials): (Option<Vec<f32>>, Vec<Option<Vec<f32>>>) = if wanted.x {
        let mut dx = vec![0.0f32; d.x_len()];
        let partials = dx
            .par_chunks_mut(x_block)
            .enumerate()
            .map(|(i, dx)| run(i, Some(dx)))
            .collect();
        (Some(dx), partials)
    } else if wanted.weight {
        (
            None,
            (0..blocks).into_par_iter().map(|i| run(i, None)).collect(),
        )
    } else {
        (None, Vec::new())
    };
    let dw = wanted.weight.then(|| {
        let mut it = partials.into_iter().flatten();
        let mut acc = it.next().unwrap_or_else(|| vec![0.0; d.c_out * k]);
        for part in it {
            for (a, v) in acc.iter_mut().zip(&part) {
                *a += v;
            }
        }
        acc
    });
    let db = wanted.bias.then(|| bias_grad(dy, d.n, d.c_out, p));
    Ok((dx, dw, db))
}

/// `db[co] = sum over b, p of dy[b, co, p]`, summed in `f64` in a fixed order.
fn bias_grad(dy: &[f32], n: usize, c: usize, p: usize) -> Vec<f32> {
    (0..c)
        .into_par_iter()
        .map(|co| {
            (0..n)
                .map(|b| {
                    dy[(b * c + co) * p..][..p]
                        .iter()
                        .map(|&v| v as f64)
                        .sum::<f64>()
                })
                .sum::<f64>() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::conv::testing::{data, dims};

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for all x, c
        let d = dims((2, 3, 1, 5, 4, 3, 3, 1, 1));
        let x = data(d.x_len(), 0.5);
        let c = data(d.k() * d.n * d.p(), 3.0);
        let col = im2col(&x, d.n, &d);
        let mut back = vec![0.0; d.x_len()];
        col2im(&c, d.n, &d, &mut back);
        let lhs: f64 = col.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| (a * b) as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }

    #[test]
    fn refuses_bad_lengths() {
        let d = dims((1, 1, 1, 2, 2, 3, 3, 1, 1));
        let all = Wanted {
            x: true,
            weight: true,
            bias: true,
        };
        assert!(backward(&[0.0; 3], &[0.0; 9], &[0.0; 4], d, all).is_err());
        assert!(backward(&[0.0; 4], &[0.0; 9], &[0.0; 5], d, all).is_err());
    }
}
