//! GroupNorm (Wu & He 2018) with a per-channel affine map and an activation, fused into one
//! pass over the data forward and two passes backward, on contiguous NCHW `f32` slices.
//!
//! For each sample n and group g of `C / G` channels, over its `M = (C / G) H W` entries:
//! `mu = mean(x)`, `var = mean((x - mu)^2)` (biased), `r = 1 / sqrt(var + eps)`,
//! `xh = (x - mu) r`, `y = gamma_c xh + beta_c`, `out = act(y)`.
//! Backward, with `dy = dout act'(y)`: `dbeta_c = sum dy`, `dgamma_c = sum dy xh` (over n, h, w),
//! `dx = r (gamma_c dy - mean(gamma dy) - xh mean(gamma dy xh))` (means over the group).
//! Statistics and reductions are accumulated in `f64`; work is split over `N x G` groups with
//! rayon, and partial sums are added in a fixed order, so results do not depend on threads.
use rayon::prelude::*;

use burn_flex::ops::unary::erf_f32;

/// The activation applied after the affine map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Identity,
    Relu,
    /// Exact GELU `x Phi(x)` (erf form, as burn's `gelu`).
    Gelu,
    /// SiLU `x sigmoid(x)`.
    Silu,
}

impl Act {
    /// `act(y)`.
    #[inline(always)]
    pub fn apply(self, y: f32) -> f32 {
        match self {
            Act::Identity => y,
            Act::Relu => y.max(0.0),
            Act::Gelu => 0.5 * y * (1.0 + erf_f32(y / std::f32::consts::SQRT_2)),
            Act::Silu => y * sigmoid(y),
        }
    }
    /// `act'(y)` (ReLU: 1 for y > 0, else 0, as burn's `relu_backward`).
    #[inline(always)]
    pub fn derivative(self, y: f32) -> f32 {
        match self {
            Act::Identity => 1.0,
            Act::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Act::Gelu => {
                let inv_sqrt_2pi: f32 = 1.0 / (2.0 * std::f32::consts::PI).sqrt();
                let cdf = 0.5 * (1.0 + erf_f32(y / std::f32::consts::SQRT_2));
                cdf + y * inv_sqrt_2pi * (-0.5 * y * y).exp()
            }
            Act::Silu => {
                let s = sigmoid(y);
                s * (1.0 + y * (1.0 - s))
            }
        }
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Number of groups, epsilon and activation of one GroupNorm layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupNormSpec {
    pub groups: usize,
    pub eps: f64,
    pub act: Act,
}

/// A shape that GroupNorm cannot take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("GroupNorm needs at least one group")]
    NoGroups,
    #[error("{channels} channels cannot be split into {groups} groups")]
    Indivisible { channels: usize, groups: usize },
    #[error("{name} has {found} entries, expected {expected}")]
    Length {
        name: &'static str,
        found: usize,
        expected: usize,
    },
}

/// Sizes of an NCHW tensor seen as `[n, c, hw]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub n: usize,
    pub c: usize,
    pub hw: usize,
}

impl Dims {
    /// Check `groups` and the lengths of the slices against these sizes.
    pub fn check(
        self,
        groups: usize,
        lens: &[(&'static str, usize)],
        gamma_len: usize,
    ) -> Result<(), ShapeError> {
        if groups == 0 {
            return Err(ShapeError::NoGroups);
        }
        if self.c % groups != 0 {
            return Err(ShapeError::Indivisible {
                channels: self.c,
                groups,
            });
        }
        let total = self.n * self.c * self.hw;
        for &(name, found) in lens {
            if found != total {
                return Err(ShapeError::Length {
                    name,
                    found,
                    expected: total,
                });
            }
        }
        if gamma_len != self.c {
            return Err(ShapeError::Length {
                name: "gamma/beta",
                found: gamma_len,
                expected: self.c,
            });
        }
        Ok(())
    }
}

/// Mean and `1 / sqrt(var + eps)` of one group's entries (two passes, `f64`).
fn stats(x: &[f32], eps: f64) -> (f32, f32) {
    let m = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / m;
    let var = x
        .iter()
        .map(|&v| {
            let d = v as f64 - mean;
            d * d
        })
        .sum::<f64>()
        / m;
    (mean as f32, (1.0 / (var + eps).sqrt()) as f32)
}

/// Forward: `act(gamma_c (x - mu) r + beta_c)` for `x` of sizes `d`.
pub fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    d: Dims,
    spec: GroupNormSpec,
) -> Result<Vec<f32>, ShapeError> {
    d.check(spec.groups, &[("x", x.len())], gamma.len())?;
    if beta.len() != d.c {
        return Err(ShapeError::Length {
            name: "gamma/beta",
            found: beta.len(),
            expected: d.c,
        });
    }
    let mut out = vec![0.0f32; x.len()];
    let cg = d.c / spec.groups;
    let len = cg * d.hw;
    if len == 0 {
        return Ok(out);
    }
    let act = spec.act;
    out.par_chunks_mut(len)
        .zip(x.par_chunks(len))
        .enumerate()
        .for_each(|(i, (o, xs))| {
            let c0 = (i % spec.groups) * cg;
            let (mean, r) = stats(xs, spec.eps);
            for j in 0..cg {
                let (g, b) = (gamma[c0 + j], beta[c0 + j]);
                let s = r * g;
                let range = j * d.hw..(j + 1) * d.hw;
                let (oc, xc) = (&mut o[range.clone()], &xs[range]);
                match act {
                    Act::Identity => oc
                        .iter_mut()
                        .zip(xc)
                        .for_each(|(o, &v)| *o = (v - mean) * s + b),
                    Act::Relu => oc
                        .iter_mut()
                        .zip(xc)
                        .for_each(|(o, &v)| *o = ((v - mean) * s + b).max(0.0)),
                    _ => oc
                        .iter_mut()
                        .zip(xc)
                        .for_each(|(o, &v)| *o = act.apply((v - mean) * s + b)),
                }
            }
        });
    Ok(out)
}

/// Gradients `(dx, dgamma, dbeta)` of [`forward`] for the output gradient `dout`.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    dout: &[f32],
    d: Dims,
    spec: GroupNormSpec,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), ShapeError> {
    d.check(
        spec.groups,
        &[("x", x.len()), ("grad", dout.len())],
        gamma.len(),
    )?;
    if beta.len() != d.c {
        return Err(ShapeError::Length {
            name: "gamma/beta",
            found: beta.len(),
            expected: d.c,
        });
    }
    let mut dx = vec![0.0f32; x.len()];
    let cg = d.c / spec.groups;
    let len = cg * d.hw;
    let (mut dgamma, mut dbeta) = (vec![0.0f64; d.c], vec![0.0f64; d.c]);
    if len == 0 {
        return Ok((dx, vec![0.0; d.c], vec![0.0; d.c]));
    }
    let act = spec.act;
    let m = len as f64;
    // per group: (first channel, per-channel sum dy xh, per-channel sum dy)
    let partials: Vec<(usize, Vec<f64>, Vec<f64>)> = dx
        .par_chunks_mut(len)
        .zip(x.par_chunks(len).zip(dout.par_chunks(len)))
        .enumerate()
        .map(|(i, (dxs, (xs, gs)))| {
            let c0 = (i % spec.groups) * cg;
            let (mean, r) = stats(xs, spec.eps);
            let (mut s_dyxh, mut s_dy) = (vec![0.0f64; cg], vec![0.0f64; cg]);
            let (mut a, mut b) = (0.0f64, 0.0f64);
            // pass 1: dy into dx, channel sums
            for j in 0..cg {
                let (g, be) = (gamma[c0 + j], beta[c0 + j]);
                let range = j * d.hw..(j + 1) * d.hw;
                let (dxc, xc, gc) = (&mut dxs[range.clone()], &xs[range.clone()], &gs[range]);
                let (mut sdy, mut sdyxh) = (0.0f64, 0.0f64);
                for ((o, &v), &go) in dxc.iter_mut().zip(xc).zip(gc) {
                    let xh = (v - mean) * r;
                    let dy = go * act.derivative(xh * g + be);
                    *o = dy;
                    sdy += dy as f64;
                    sdyxh += (dy * xh) as f64;
                }
                s_dy[j] = sdy;
                s_dyxh[j] = sdyxh;
                a += g as f64 * sdy;
                b += g as f64 * sdyxh;
            }
            let (a, b) = ((a / m) as f32, (b / m) as f32);
            // pass 2: dx = r (gamma dy - a - xh b)
            for j in 0..cg {
                let g = gamma[c0 + j];
                let range = j * d.hw..(j + 1) * d.hw;
                let (dxc, xc) = (&mut dxs[range.clone()], &xs[range]);
                for (o, &v) in dxc.iter_mut().zip(xc) {
                    let xh = (v - mean) * r;
                    *o = r * (g * *o - a - xh * b);
                }
            }
            (c0, s_dyxh, s_dy)
        })
        .collect();
    for (c0, s_dyxh, s_dy) in partials {
        for j in 0..cg {
            dgamma[c0 + j] += s_dyxh[j];
            dbeta[c0 + j] += s_dy[j];
        }
    }
    let to32 = |v: Vec<f64>| v.into_iter().map(|e| e as f32).collect::<Vec<f32>>();
    Ok((dx, to32(dgamma), to32(dbeta)))
}
