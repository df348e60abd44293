//! The fused GroupNorm + affine + activation (`empirical::ops`) against the composite tensor
//! program it replaces: values and gradients with respect to x, gamma and beta; and the
//! closed-form backward on plain tensor ops (the fused kernel's fallback for layouts it does
//! not take) against autodiff of the composite forward.
mod common;

use burn::tensor::{Tensor, TensorData};
use common::{max_rel, upstream, value_and_grads};
use empirical::backend::Cpu;
use empirical::ops::{composite, group_norm_act, Act, GroupNormSpec};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Forward of the composite ops and [`composite::group_norm_act_backward`] for the upstream
/// gradient [`upstream`], without autodiff.
fn closed_form(
    x: &TensorData,
    g: &TensorData,
    b: &TensorData,
    spec: GroupNormSpec,
) -> [Vec<f32>; 4] {
    let dev = Default::default();
    let x = Tensor::<Cpu, 4>::from_data(x.clone(), &dev);
    let g = Tensor::<Cpu, 1>::from_data(g.clone(), &dev);
    let b = Tensor::<Cpu, 1>::from_data(b.clone(), &dev);
    let dims = x.dims();
    let grad =
        Tensor::<Cpu, 4>::from_data(TensorData::new(upstream(dims.iter().product()), dims), &dev);
    let y = composite::group_norm_act(x.clone(), g.clone(), b.clone(), spec);
    let (dx, dg, db) = composite::group_norm_act_backward(x, g, b, grad, spec);
    let v = |t: TensorData| t.to_vec::<f32>().unwrap();
    [
        v(y.into_data()),
        v(dx.into_data()),
        v(dg.into_data()),
        v(db.into_data()),
    ]
}

/// `[y, dx, dgamma, dbeta]` of `sum(group_norm_act(x, ., .) * upstream)` with fusion on or off.
fn run(
    fused: bool,
    x: &TensorData,
    p: &TensorData,
    b: &TensorData,
    spec: GroupNormSpec,
) -> [Vec<f32>; 4] {
    value_and_grads(fused, x, p, b, |x, p, b| group_norm_act(x, p, b, spec))
}

fn case(n: usize, groups: usize, per_group: usize, h: usize, w: usize, act: Act, seed: u64) {
    // drawn on the host from the case's own stream: the backend's RNG is one per process, and
    // the tests of this file run in parallel
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.3f32, 1.5).unwrap();
    let c = groups * per_group;
    let mut rnd = |shape: Vec<usize>| {
        let n = shape.iter().product::<usize>();
        let v: Vec<f32> = (0..n).map(|_| normal.sample(&mut rng)).collect();
        TensorData::new(v, shape)
    };
    let x = rnd(vec![n, c, h, w]);
    let x = TensorData::new(x.to_vec::<f32>().unwrap(), [n, c, h, w]);
    let g = rnd(vec![c]);
    let b = rnd(vec![c]);
    let spec = GroupNormSpec {
        groups,
        eps: 1e-5,
        act,
    };
    let fused = run(true, &x, &g, &b, spec);
    let plain = run(false, &x, &g, &b, spec);
    // dx = r (gamma dy - mean(gamma dy) - xh mean(gamma dy xh)) cancels to ~0 when a group has
    // few entries (two entries: xh = +-1 whatever x, so dx = 0 exactly); its terms are of size
    // r max|gamma| max|dy| (|dy| <= 1.13: the sin weights times the activation's slope).
    let xv = x.to_vec::<f32>().unwrap();
    let per = per_group * h * w;
    // per group (n, g): mean and r = 1 / sqrt(var + eps), f64
    let stats: Vec<(f64, f64)> = xv
        .chunks(per)
        .map(|grp| {
            let m = grp.len() as f64;
            let mu = grp.iter().map(|&v| v as f64).sum::<f64>() / m;
            let var = grp.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / m;
            (mu, 1.0 / (var + 1e-5).sqrt())
        })
        .collect();
    let r_max = stats.iter().fold(0.0f64, |m, s| m.max(s.1));
    let g_max = g
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let dx_terms = (r_max as f32) * g_max * 1.13;
    // dbeta_c = sum dy act', dgamma_c = sum dy act' xh over n h w: sums of signed terms whose
    // rounding (f32 in the composite path) is relative to the sum of their sizes, not to the
    // result: per channel sum |w| 1.13 and sum |w xh| 1.13, from the data.
    let weights = upstream(xv.len());
    let (mut beta_sizes, mut gamma_sizes) = (vec![0.0f64; c], vec![0.0f64; c]);
    for (i, &v) in xv.iter().enumerate() {
        let ch = (i / (h * w)) % c;
        let (mu, r) = stats[i / per];
        let wi = (weights[i] as f64).abs() * 1.13;
        beta_sizes[ch] += wi;
        gamma_sizes[ch] += wi * ((v as f64 - mu) * r).abs();
    }
    let largest = |v: &[f64]| v.iter().fold(0.0f64, |m, &s| m.max(s)) as f32;
    let (dbeta_terms, dgamma_terms) = (largest(&beta_sizes), largest(&gamma_sizes));
    let closed = closed_form(&x, &g, &b, spec);
    for (path, got) in [("fused", &fused), ("closed-form", &closed)] {
        for (k, name) in ["value", "dx", "dgamma", "dbeta"].iter().enumerate() {
            let floor = [0.0, dx_terms, dgamma_terms, dbeta_terms][k];
            let r = max_rel(&got[k], &plain[k], floor);
            assert!(
                r < 1e-5,
                "{path} {name}: relative difference {r:e} (n {n}, groups {groups}, c {c}, {h}x{w}, {act:?})"
            );
        }
    }
}

#[test]
fn fused_matches_composite_on_the_unet_shapes() {
    for act in [Act::Identity, Act::Relu, Act::Gelu, Act::Silu] {
        case(2, 8, 4, 8, 8, act, 1);
    }
    case(1, 1, 3, 5, 7, Act::Silu, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn fused_matches_composite(
        n in 1usize..4, groups in 1usize..5, per_group in 1usize..5,
        h in 1usize..9, w in 1usize..9, act in 0usize..4, seed in 0u64..1000,
    ) {
        let act = [Act::Identity, Act::Relu, Act::Gelu, Act::Silu][act];
        case(n, groups, per_group, h, w, act, seed);
    }
}
