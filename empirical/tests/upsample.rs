//! The U-Net's 2x bilinear upsampling from gathers and lerps (`empirical::ops::upsample`, used where
//! burn's bilinear `interpolate` has no backward) against burn-flex's own bilinear kernel:
//! values and gradients, on the sizes the U-Nets use and on odd ones.
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Tensor, TensorData};
use empirical::backend::{Cpu, CpuAutodiff};
use empirical::ops::upsample::{
    linear_matrix, native_bilinear_ok, upsample2x_bilinear, upsample2x_composite,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data(shape: [usize; 4], seed: u64) -> TensorData {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect();
    TensorData::new(v, shape)
}

fn native<B: burn::tensor::backend::Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    interpolate(
        x,
        [2 * h, 2 * w],
        InterpolateOptions::new(InterpolateMode::Bilinear),
    )
}

fn host<B: burn::tensor::backend::Backend, const D: usize>(x: Tensor<B, D>) -> Vec<f32> {
    x.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const SHAPES: [[usize; 4]; 6] = [
    [2, 3, 4, 4],
    [1, 8, 8, 8],
    [3, 2, 16, 16],
    [1, 1, 1, 1],
    [2, 1, 1, 3],
    [1, 2, 5, 7],
];

#[test]
fn interpolation_matrix_rows_are_convex_weights_with_aligned_corners() {
    for (n_in, n_out) in [(1, 2), (2, 4), (4, 8), (5, 10), (16, 32)] {
        let m = linear_matrix(n_in, n_out);
        for o in 0..n_out {
            let row = &m[o * n_in..(o + 1) * n_in];
            let sum: f32 = row.iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-6,
                "{n_in}->{n_out} row {o}: sum {sum}"
            );
            assert!(row.iter().all(|&v| (0.0..=1.0).contains(&v)));
            assert!(row.iter().filter(|&&v| v != 0.0).count() <= 2);
        }
        // corners map onto corners
        assert_eq!(m[0], 1.0);
        assert_eq!(m[n_out * n_in - 1], 1.0);
    }
}

#[test]
fn gather_upsampling_equals_burn_flex_bilinear() {
    let dev = Default::default();
    for (k, shape) in SHAPES.into_iter().enumerate() {
        let x = Tensor::<Cpu, 4>::from_data(data(shape, k as u64), &dev);
        let a = host(upsample2x_composite(x.clone()));
        let b = host(native(x));
        // |x| < 2 and two rounded products and a sum per pass: a few ulps of 2
        let d = max_abs_diff(&a, &b);
        assert!(d <= 1e-6, "{shape:?}: max |composite - flex| = {d}");
    }
}

#[test]
fn gather_upsampling_gradient_equals_burn_flex_bilinear_backward() {
    let dev = Default::default();
    for (k, shape) in SHAPES.into_iter().enumerate() {
        let [n, c, h, w] = shape;
        let up = data([n, c, 2 * h, 2 * w], 100 + k as u64);
        let grad = |composite: bool| {
            let x = Tensor::<CpuAutodiff, 4>::from_data(data(shape, k as u64), &dev).require_grad();
            let y = if composite {
                upsample2x_composite(x.clone())
            } else {
                native(x.clone())
            };
            let weights = Tensor::<CpuAutodiff, 4>::from_data(up.clone(), &dev);
            let g = (y * weights).sum().backward();
            host(x.grad(&g).expect("gradient of x"))
        };
        let (a, b) = (grad(true), grad(false));
        // each gradient entry sums at most 16 weighted terms of size < 2
        let d = max_abs_diff(&a, &b);
        assert!(d <= 1e-5, "{shape:?}: max |d composite - d flex| = {d}");
    }
}

#[test]
fn flex_keeps_burns_kernel() {
    let dev = Default::default();
    assert!(native_bilinear_ok::<Cpu>(&dev));
    assert!(native_bilinear_ok::<CpuAutodiff>(&dev));
    // on Flex the dispatching entry point is burn's kernel itself, bit for bit
    let x = Tensor::<Cpu, 4>::from_data(data([2, 3, 4, 4], 7), &dev);
    let a: Vec<u32> = host(upsample2x_bilinear(x.clone()))
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let b: Vec<u32> = host(native(x)).iter().map(|v| v.to_bits()).collect();
    assert_eq!(a, b);
}
