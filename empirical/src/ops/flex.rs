//! Native [`FusedOps`] for burn-flex: the slice kernels of [`super::group_norm`] on contiguous
//! `f32` buffers. Other dtypes, and shapes that the kernels refuse, take the composite ops.
use burn::tensor::{Shape, TensorData, TensorMetadata};
use burn_flex::{Flex, FlexTensor};

use super::group_norm::{self, Dims, GroupNormSpec};
use super::FusedOps;

/// A contiguous `f32` copy (or view) of `t`, or `None` for other dtypes.
pub(super) fn contiguous_f32(t: &FlexTensor) -> Option<FlexTensor> {
    let c = t.to_contiguous();
    c.as_slice::<f32>()?;
    Some(c)
}

/// The `f32` values of a contiguous tensor (empty for other dtypes).
pub(super) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().unwrap_or(&[])
}

/// A flex tensor of `shape` holding `v`.
pub(super) fn tensor(v: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// `[n, c, h * w]` of an NCHW shape.
fn dims(shape: &Shape) -> Option<Dims> {
    let s = shape.as_slice();
    (s.len() == 4).then(|| Dims {
        n: s[0],
        c: s[1],
        hw: s[2] * s[3],
    })
}

/// The forward kernel on flex tensors, `None` where it does not apply.
fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    spec: GroupNormSpec,
) -> Option<FlexTensor> {
    let shape = x.shape();
    let d = dims(&shape)?;
    let (x, gamma, beta) = (
        contiguous_f32(x)?,
        contiguous_f32(gamma)?,
        contiguous_f32(beta)?,
    );
    let out = group_norm::forward(slice(&x), slice(&gamma), slice(&beta), d, spec).ok()?;
    Some(tensor(out, shape))
}

/// The backward kernel on flex tensors, `None` where it does not apply.
fn backward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    grad: &FlexTensor,
    spec: GroupNormSpec,
) -> Option<[FlexTensor; 3]> {
    let shape = x.shape();
    let d = dims(&shape)?;
    let (x, gamma_c, beta_c, grad) = (
        contiguous_f32(x)?,
        contiguous_f32(gamma)?,
        contiguous_f32(beta)?,
        contiguous_f32(grad)?,
    );
    let (dx, dg, db) = group_norm::backward(
        slice(&x),
        slice(&gamma_c),
        slice(&beta_c),
        slice(&grad),
        d,
        spec,
    )
    .ok()?;
    Some([
        tensor(dx, shape),
        tensor(dg, gamma.shape()),
        tensor(db, beta.shape()),
    ])
}

impl FusedOps for Flex {
    fn group_norm_act(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        spec: GroupNormSpec,
    ) -> FlexTensor {
        match forward(&x, &gamma, &beta, spec) {
            Some(out) => out,
            None => super::composite_forward::<Flex>(x, gamma, beta, spec),
        }
    }

    fn group_norm_act_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        grad: FlexTensor,
        spec: GroupNormSpec,
    ) -> [FlexTensor; 3] {
        match backward(&x, &gamma, &beta, &grad, spec) {
            Some(g) => g,
            None => super::composite_backward::<Flex>(x, gamma, beta, grad, spec),
        }
    }
}
