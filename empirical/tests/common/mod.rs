//! Helpers of the fused-op tests: the comparison they assert with, the upstream gradient they
//! take, and one op's value and gradients under autodiff with fusion on or off.
use burn::tensor::{Tensor, TensorData};
use empirical::backend::CpuAutodiff;
use empirical::ops::switch::with_fused;

type B = CpuAutodiff;

/// Largest difference relative to `max(|b|, floor)`: `floor` is the size of the terms that the
/// result is a sum of, below which a difference is rounding, not an error.
pub fn max_rel(a: &[f32], b: &[f32], floor: f32) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(floor.max(1e-3), |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / scale)
        .fold(0.0, f32::max)
}

/// The weights of the weighted sum whose gradient is taken: every output gets a different
/// upstream gradient `dY` (`|dY| <= 1`).
pub fn upstream(len: usize) -> Vec<f32> {
    (0..len).map(|i| (i as f32 * 0.37).sin()).collect()
}

/// `[y, dx, dp, db]` of `sum(op(x, p, b) * upstream)` with fusion on or off: the op's value and
/// its gradients with respect to the input `x`, a parameter `p` (rank `D`) and a bias `b`.
pub fn value_and_grads<const D: usize>(
    fused: bool,
    x: &TensorData,
    p: &TensorData,
    b: &TensorData,
    op: impl Fn(Tensor<B, 4>, Tensor<B, D>, Tensor<B, 1>) -> Tensor<B, 4>,
) -> [Vec<f32>; 4] {
    with_fused(fused, || {
        let dev = Default::default();
        let x = Tensor::<B, 4>::from_data(x.clone(), &dev).require_grad();
        let p = Tensor::<B, D>::from_data(p.clone(), &dev).require_grad();
        let b = Tensor::<B, 1>::from_data(b.clone(), &dev).require_grad();
        let y = op(x.clone(), p.clone(), b.clone());
        let dims = y.dims();
        let up =
            Tensor::<B, 4>::from_data(TensorData::new(upstream(dims.iter().product()), dims), &dev);
        let grads = (y.clone() * up).sum().backward();
        let v = |t: TensorData| t.to_vec::<f32>().unwrap();
        [
            v(y.into_data()),
            v(x.grad(&grads).unwrap().into_data()),
            v(p.grad(&grads).unwrap().into_data()),
            v(b.grad(&grads).unwrap().into_data()),
        ]
    })
}
