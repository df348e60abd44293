//! [`FusedOps`] for `Autodiff<B>`: each fused op is one node of the autodiff graph whose
//! backward calls the inner backend's fused backward ([`FusedOps::group_norm_act_backward`]).
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::FloatTensor;

use super::group_norm::GroupNormSpec;
use super::FusedOps;

/// Backward node of GroupNorm + affine + activation; keeps the inputs (not the output).
#[derive(Debug)]
struct GroupNormActBackward;

impl<B: FusedOps> Backward<B, 3> for GroupNormActBackward {
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        GroupNormSpec,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma, beta, spec) = ops.state;
        let [dx, dgamma, dbeta] = B::group_norm_act_backward(x, gamma, beta, grad, spec);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_gamma {
            grads.register::<B>(node.id, dgamma);
        }
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, dbeta);
        }
    }
}

impl<B: FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn group_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        spec: GroupNormSpec,
    ) -> FloatTensor<Self> {
        match GroupNormActBackward
            .prepare::<C>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::group_norm_act(
                    x.primitive.clone(),
                    gamma.primitive.clone(),
                    beta.primitive.clone(),
                    spec,
                );
                prep.finish((x.primitive, gamma.primitive, beta.primitive, spec), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::group_norm_act(
                x.primitive,
                gamma.primitive,
                beta.primitive,
                spec,
            )),
        }
    }

    /// Not differentiable again: computed on the inner backend, returned untracked.
    fn group_norm_act_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: GroupNormSpec,
    ) -> [FloatTensor<Self>; 3] {
        B::group_norm_act_backward(
            Self::inner(x),
            Self::inner(gamma),
            Self::inner(beta),
            Self::inner(grad),
            spec,
        )
        .map(Self::from_inner)
    }
}
