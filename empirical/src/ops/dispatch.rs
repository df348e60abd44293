//! Entry points for generic model code: route a call on `B: Backend` to the native
//! [`FusedOps`] implementation when `B` is one of the backends that has one (burn-flex, and
//! autodiff over it), else to the composite ops, so that the model's `B: Backend` bound stays.
use std::any::Any;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

use super::group_norm::GroupNormSpec;
use super::{composite, switch, FusedOps};

/// Move `a` into type `T` when `A` and `T` are the same type; give it back otherwise.
pub(super) fn cast<A: 'static, T: 'static>(a: A) -> Result<T, A> {
    let mut slot = Some(a);
    let taken = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take);
    match (taken, slot) {
        (Some(t), _) => Ok(t),
        (None, Some(a)) => Err(a),
        (None, None) => unreachable!("the slot is emptied only by a successful downcast"),
    }
}

type Prims<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// Run `F::group_norm_act` when `B` is `F`; else hand the inputs back.
fn via<B: Backend, F: FusedOps>(
    p: Prims<B>,
    spec: GroupNormSpec,
) -> Result<Tensor<B, 4>, Prims<B>> {
    let (x, gamma, beta) = cast::<Prims<B>, Prims<F>>(p)?;
    let out = F::group_norm_act(x, gamma, beta, spec);
    match cast::<FloatTensor<F>, FloatTensor<B>>(out) {
        Ok(out) => Ok(Tensor::from_primitive(TensorPrimitive::Float(out))),
        Err(_) => unreachable!("B and F are one type"),
    }
}

/// Whether the fused kernels accept these shapes (else the composite ops run as they are).
fn applies(x: [usize; 4], gamma: [usize; 1], beta: [usize; 1], spec: GroupNormSpec) -> bool {
    spec.groups > 0 && x[1] % spec.groups == 0 && gamma[0] == x[1] && beta[0] == x[1]
}

/// GroupNorm (Wu & He 2018) of `x` `[N, C, H, W]` in `spec.groups` groups (biased variance,
/// `spec.eps`), per-channel affine map `gamma`, `beta` `[C]`, then `spec.act`. Fused on
/// burn-flex (with or without autodiff) unless the switch is off; composite elsewhere.
pub fn group_norm_act<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    spec: GroupNormSpec,
) -> Tensor<B, 4> {
    if !switch::fused_enabled() || !applies(x.dims(), gamma.dims(), beta.dims(), spec) {
        return composite::group_norm_act(x, gamma, beta, spec);
    }
    let p = (
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta.into_primitive().tensor(),
    );
    let p = match via::<B, Flex>(p, spec) {
        Ok(out) => return out,
        Err(p) => p,
    };
    let (x, gamma, beta) = match via::<B, Autodiff<Flex>>(p, spec) {
        Ok(out) => return out,
        Err(p) => p,
    };
    let f = |t| Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(t));
    composite::group_norm_act(
        Tensor::from_primitive(TensorPrimitive::Float(x)),
        f(gamma),
        f(beta),
        spec,
    )
}
