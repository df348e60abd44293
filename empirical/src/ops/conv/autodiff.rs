//! [`FusedConv`] for `Autodiff<B>`: the convolution is one node of the autodiff graph whose
//! backward calls the inner backend's [`FusedConv::conv_bias_backward`] for the gradients
//! that its parents need.
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::FloatTensor;

use super::kernel::Wanted;
use super::{Conv2dSpec, FusedConv};

/// Backward node of the convolution with bias; keeps the input and the weight.
#[derive(Debug)]
struct Conv2dBiasBackward;

impl<B: FusedConv> Backward<B, 3> for Conv2dBiasBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, Conv2dSpec);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, w, spec) = ops.state;
        let wanted = Wanted {
            x: node_x.is_some(),
            weight: node_w.is_some(),
            bias: node_b.is_some(),
        };
        let [dx, dw, db] = B::conv_bias_backward(x, w, grad, spec, wanted);
        for (node, g) in [(node_x, dx), (node_w, dw), (node_b, db)] {
            if let (Some(node), Some(g)) = (node, g) {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: FusedConv, C: CheckpointStrategy> FusedConv for Autodiff<B, C> {
    fn conv_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        spec: Conv2dSpec,
    ) -> FloatTensor<Self> {
        match Conv2dBiasBackward
            .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::conv_bias(
                    x.primitive.clone(),
                    weight.primitive.clone(),
                    bias.primitive,
                    spec,
                );
                prep.finish((x.primitive, weight.primitive, spec), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv_bias(
                x.primitive,
                weight.primitive,
                bias.primitive,
                spec,
            )),
        }
    }

    /// Not differentiable again: computed on the inner backend, returned untracked.
    fn conv_bias_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: Conv2dSpec,
        wanted: Wanted,
    ) -> [Option<FloatTensor<Self>>; 3] {
        B::conv_bias_backward(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(grad),
            spec,
            wanted,
        )
        .map(|g| g.map(Self::from_inner))
    }
}
