//! AdamW's update of one parameter (Loshchilov & Hutter; PyTorch's `torch.optim.AdamW`):
//!
//! m' = beta1 m + (1 - beta1) g,  v' = beta2 v + (1 - beta2) g^2,
//! p' = p (1 - lr wd) - lr (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + eps),
//!
//! as one pass over the four buffers on burn-flex ([`update`], threads over chunks), and as the
//! composite tensor program of a dozen ops on every other backend or with [`super::switch`] off
//! ([`update_composite`]). Both round each step in f32 in the same order (the scalars rounded
//! to f32 once), so they agree to rounding.
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorMetadata, TensorPrimitive};
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::dispatch::cast;
use super::flex::{contiguous_f32, slice, tensor};
use super::switch;
use crate::params::AdamW;

/// Below this many elements one thread updates the whole parameter.
const PARALLEL_LEN: usize = 1 << 15;

/// The f32 constants of one update at 1-based step `step`.
#[derive(Clone, Copy, Debug)]
struct Coefs {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bc1: f32,
    bc2: f32,
    eps: f32,
    lr: f32,
    decay: f32,
}

impl Coefs {
    fn new(hp: AdamW, step: u64) -> Self {
        Coefs {
            beta1: hp.beta1 as f32,
            one_minus_beta1: (1.0 - hp.beta1) as f32,
            beta2: hp.beta2 as f32,
            one_minus_beta2: (1.0 - hp.beta2) as f32,
            bc1: (1.0 - hp.beta1.powi(step as i32)) as f32,
            bc2: (1.0 - hp.beta2.powi(step as i32)) as f32,
            eps: hp.eps as f32,
            lr: hp.lr as f32,
            decay: (1.0 - hp.lr * hp.weight_decay) as f32,
        }
    }
}

/// The update of slices `p`, `g`, `m`, `v` (equal lengths) into `(p', m', v')`.
pub fn update_slices(
    p: &[f32],
    g: &[f32],
    m: &[f32],
    v: &[f32],
    hp: AdamW,
    step: u64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert!(
        g.len() == p.len() && m.len() == p.len() && v.len() == p.len(),
        "adamw: buffers of different lengths"
    );
    let c = Coefs::new(hp, step);
    let n = p.len();
    let (mut p1, mut m1, mut v1) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
    let run = |(i0, (po, (mo, vo))): (usize, (&mut [f32], (&mut [f32], &mut [f32])))| {
        for j in 0..po.len() {
            let i = i0 + j;
            let gi = g[i];
            let mi = m[i] * c.beta1 + gi * c.one_minus_beta1;
            let vi = v[i] * c.beta2 + (gi * gi) * c.one_minus_beta2;
            let denom = (vi / c.bc2).sqrt() + c.eps;
            po[j] = p[i] * c.decay - ((mi / c.bc1) / denom) * c.lr;
            mo[j] = mi;
            vo[j] = vi;
        }
    };
    if n >= PARALLEL_LEN {
        let chunk = n
            .div_ceil(rayon::current_num_threads().max(1) * 4)
            .max(4096);
        p1.par_chunks_mut(chunk)
            .zip(m1.par_chunks_mut(chunk).zip(v1.par_chunks_mut(chunk)))
            .enumerate()
            .for_each(|(k, (po, (mo, vo)))| run((k * chunk, (po, (mo, vo)))));
    } else {
        run((0, (&mut p1[..], (&mut m1[..], &mut v1[..]))));
    }
    (p1, m1, v1)
}

/// The composite update (burn tensor ops; any backend).
pub fn update_composite<B: Backend>(
    p: Tensor<B, 1>,
    g: Tensor<B, 1>,
    m: Tensor<B, 1>,
    v: Tensor<B, 1>,
    hp: AdamW,
    step: u64,
) -> [Tensor<B, 1>; 3] {
    let m = m.mul_scalar(hp.beta1) + g.clone().mul_scalar(1.0 - hp.beta1);
    let v = v.mul_scalar(hp.beta2) + g.powi_scalar(2).mul_scalar(1.0 - hp.beta2);
    let bc1 = 1.0 - hp.beta1.powi(step as i32);
    let bc2 = 1.0 - hp.beta2.powi(step as i32);
    let denom = v.clone().div_scalar(bc2).sqrt().add_scalar(hp.eps);
    let upd = m.clone().div_scalar(bc1) / denom;
    let p = p.mul_scalar(1.0 - hp.lr * hp.weight_decay) - upd.mul_scalar(hp.lr);
    [p, m, v]
}

/// The one-pass update on flex tensors, `None` for other dtypes.
fn update_flex(t: &[FlexTensor; 4], hp: AdamW, step: u64) -> Option<[FlexTensor; 3]> {
    let shape = t[0].shape();
    let [p, g, m, v] = [
        contiguous_f32(&t[0])?,
        contiguous_f32(&t[1])?,
        contiguous_f32(&t[2])?,
        contiguous_f32(&t[3])?,
    ];
    let (p, g, m, v) = (slice(&p), slice(&g), slice(&m), slice(&v));
    if g.len() != p.len() || m.len() != p.len() || v.len() != p.len() {
        return None;
    }
    let (p1, m1, v1) = update_slices(p, g, m, v, hp, step);
    let t = |x: Vec<f32>| tensor(x, shape.clone());
    Some([t(p1), t(m1), t(v1)])
}

/// AdamW's update `[p', m', v']` of the flat parameter `p` with gradient `g` and moments `m`,
/// `v` at 1-based step `step`: one pass on burn-flex (fusion on), the composite elsewhere.
pub fn update<B: Backend>(
    p: Tensor<B, 1>,
    g: Tensor<B, 1>,
    m: Tensor<B, 1>,
    v: Tensor<B, 1>,
    hp: AdamW,
    step: u64,
) -> [Tensor<B, 1>; 3] {
    if !switch::fused_enabled() {
        return update_composite(p, g, m, v, hp, step);
    }
    let prim = |t: Tensor<B, 1>| t.into_primitive().tensor();
    let four = [prim(p), prim(g), prim(m), prim(v)];
    let back = |t| Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(t));
    match cast::<[_; 4], [FlexTensor; 4]>(four) {
        Ok(flex) => {
            let out = update_flex(&flex, hp, step).unwrap_or_else(|| {
                let t =
                    |x: FlexTensor| Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(x));
                let [p, g, m, v] = flex;
                update_composite(t(p), t(g), t(m), t(v), hp, step)
                    .map(|x| x.into_primitive().tensor())
            });
            out.map(|x| match cast::<FlexTensor, _>(x) {
                Ok(t) => back(t),
                Err(_) => unreachable!("B is Flex"),
            })
        }
        Err(four) => {
            let [p, g, m, v] = four.map(back);
            update_composite(p, g, m, v, hp, step)
        }
    }
}
