//! Native [`FusedConv`] for burn-flex: the forward of [`super::shifted`] (where
//! [`super::shifted::preferred`]) and the backward of [`super::kernel`] on contiguous `f32`
//! buffers. Other dtypes and shapes take burn's ops.
use burn::tensor::{Shape, TensorMetadata};
use burn_flex::{Flex, FlexTensor};

use super::super::flex::{contiguous_f32, slice, tensor};
use super::kernel::{self, ConvDims, Wanted};
use super::shifted;
use super::{Conv2dSpec, FusedConv};

/// The sizes of a convolution of `x` with `w`, `None` unless both are 4-D.
fn dims(x: &Shape, w: &Shape, spec: Conv2dSpec) -> Option<ConvDims> {
    let (x, w) = (x.as_slice(), w.as_slice());
    (x.len() == 4 && w.len() == 4 && x[1] == w[1]).then(|| {
        ConvDims::of(
            [x[0], x[1], x[2], x[3]],
            [w[0], w[1], w[2], w[3]],
            spec.padding,
        )
    })
}

/// The forward kernel on flex tensors, `None` where it does not apply.
fn forward_kernel(
    x: &FlexTensor,
    w: &FlexTensor,
    bias: &FlexTensor,
    spec: Conv2dSpec,
) -> Option<FlexTensor> {
    let d = dims(&x.shape(), &w.shape(), spec).filter(shifted::preferred)?;
    let (x, w, bias) = (
        contiguous_f32(x)?,
        contiguous_f32(w)?,
        contiguous_f32(bias)?,
    );
    let y = shifted::forward(slice(&x), slice(&w), slice(&bias), d).ok()?;
    Some(tensor(y, Shape::new([d.n, d.c_out, d.h_out(), d.w_out()])))
}

/// The backward kernel on flex tensors, `None` where it does not apply.
fn backward(
    x: &FlexTensor,
    w: &FlexTensor,
    grad: &FlexTensor,
    spec: Conv2dSpec,
    wanted: Wanted,
) -> Option<[Option<FlexTensor>; 3]> {
    let (x_shape, w_shape) = (x.shape(), w.shape());
    let d = dims(&x_shape, &w_shape, spec)?;
    let (x, w, grad) = (
        contiguous_f32(x)?,
        contiguous_f32(w)?,
        contiguous_f32(grad)?,
    );
    let (dx, dw, db) = kernel::backward(slice(&x), slice(&w), slice(&grad), d, wanted).ok()?;
    Some([
        dx.map(|v| tensor(v, x_shape)),
        dw.map(|v| tensor(v, w_shape)),
        db.map(|v| tensor(v, Shape::new([d.c_out]))),
    ])
}

impl FusedConv for Flex {
    fn conv_bias(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        spec: Conv2dSpec,
    ) -> FlexTensor {
        match forward_kernel(&x, &weight, &bias, spec) {
            Some(y) => y,
            None => <Flex as burn::tensor::ops::ModuleOps<Flex>>::conv2d(
                x,
                weight,
                Some(bias),
                spec.options(),
            ),
        }
    }

    fn conv_bias_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        spec: Conv2dSpec,
        wanted: Wanted,
    ) -> [Option<FlexTensor>; 3] {
        match backward(&x, &weight, &grad, spec, wanted) {
            Some(g) => g,
            None => super::composite_backward::<Flex>(x, weight, grad, spec, wanted),
        }
    }
}
