//! The one-pass AdamW update on burn-flex (`empirical::ops::adamw`) against the composite tensor
//! program it replaces, over random lengths (one thread and the chunked threaded path),
//! hyper-parameters and steps, the moments carried over several steps.
use burn::tensor::{Tensor, TensorData};
use empirical::backend::Cpu;
use empirical::ops::adamw::{update, update_composite};
use empirical::ops::switch::with_fused;
use empirical::params::AdamW;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn host(t: &Tensor<Cpu, 1>) -> Vec<f32> {
    t.clone().into_data().to_vec::<f32>().unwrap()
}

fn tensor(v: &[f32]) -> Tensor<Cpu, 1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
}

/// Largest |a - b| / (|b| + floor).
fn rel(a: &[f32], b: &[f32], floor: f32) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (y.abs() + floor))
        .fold(0.0, f32::max)
}

/// p before the last of `grads`' steps (composite).
fn previous_p(
    p0: &[f32],
    grads: &[Vec<f32>],
    m0: &[f32],
    v0: &[f32],
    hp: AdamW,
    first: u64,
) -> Vec<f32> {
    let (mut p, mut m, mut v) = (tensor(p0), tensor(m0), tensor(v0));
    for (k, g) in grads[..grads.len() - 1].iter().enumerate() {
        [p, m, v] = update_composite(p, tensor(g), m, v, hp, first + k as u64);
    }
    host(&p)
}

fn case(n: usize, hp: AdamW, first_step: u64, steps: u64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, 1.0).unwrap();
    let mut draw =
        |scale: f32| -> Vec<f32> { (0..n).map(|_| normal.sample(&mut rng) * scale).collect() };
    let p0 = draw(0.5);
    // moments as a run leaves them: m of the gradients' size, v of their square's
    let m0 = draw(0.1);
    let v0: Vec<f32> = draw(0.1).iter().map(|x| x * x).collect();
    let grads: Vec<Vec<f32>> = (0..steps).map(|_| draw(0.3)).collect();
    let run = |fused: bool| {
        with_fused(fused, || {
            let (mut p, mut m, mut v) = (tensor(&p0), tensor(&m0), tensor(&v0));
            for (k, g) in grads.iter().enumerate() {
                [p, m, v] = update(p, tensor(g), m, v, hp, first_step + k as u64);
            }
            (host(&p), host(&m), host(&v))
        })
    };
    let (pf, mf, vf) = run(true);
    let (pc, mc, vc) = run(false);
    // the same f32 operations in the same order: equal up to rounding. m and v within 1e-5
    // relative; p' = p (1 - lr wd) - lr u is rounded at the size of p, so its difference may be
    // two ulps of |p| plus 1e-5 of the update lr |u| itself (the last step's u from the
    // composite run)
    assert!(rel(&mf, &mc, 1e-30) <= 1e-5, "m: {}", rel(&mf, &mc, 1e-30));
    assert!(rel(&vf, &vc, 1e-30) <= 1e-5, "v: {}", rel(&vf, &vc, 1e-30));
    let decay = (1.0 - hp.lr * hp.weight_decay) as f32;
    let before = previous_p(&p0, &grads, &m0, &v0, hp, first_step);
    for i in 0..n {
        let step = (before[i] * decay - pc[i]).abs();
        let tol = 2.0 * f32::EPSILON * pc[i].abs() + 1e-5 * step;
        assert!(
            (pf[i] - pc[i]).abs() <= tol,
            "p[{i}]: {} vs {} (update {step})",
            pf[i],
            pc[i]
        );
    }
}

#[test]
fn one_pass_matches_composite_on_the_unet_sizes() {
    let hp = AdamW {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    for (n, seed) in [(1, 0), (16, 1), (2304, 2), (147_456, 3), (589_824, 4)] {
        case(n, hp, 1, 3, seed);
    }
}

#[test]
fn the_switch_selects_the_composite_and_both_take_the_same_inputs() {
    let hp = AdamW {
        lr: 3e-4,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    let t = |v: &[f32]| tensor(v);
    let (p, g, m, v) = ([0.5f32, -1.0], [0.2f32, -0.1], [0.0f32; 2], [0.0f32; 2]);
    let off = with_fused(false, || update(t(&p), t(&g), t(&m), t(&v), hp, 1));
    let comp = update_composite(t(&p), t(&g), t(&m), t(&v), hp, 1);
    for (a, b) in off.iter().zip(&comp) {
        assert_eq!(host(a), host(b));
    }
    // first step from zero moments: p' = p (1 - lr wd) - lr g / (|g| + eps)
    let on = with_fused(true, || update(t(&p), t(&g), t(&m), t(&v), hp, 1));
    let pn = host(&on[0]);
    for i in 0..2 {
        let expect =
            p[i] as f64 * (1.0 - 3e-4 * 0.01) - 3e-4 * g[i] as f64 / ((g[i] as f64).abs() + 1e-8);
        assert!(
            (pn[i] as f64 - expect).abs() < 1e-7,
            "{} vs {expect}",
            pn[i]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn one_pass_matches_composite(
        n in prop_oneof![1usize..300, 30_000usize..70_000],
        lr in 1e-5f64..1e-2,
        beta1 in 0.5f64..0.99,
        beta2 in 0.9f64..0.9999,
        wd in 0.0f64..0.1,
        first_step in 1u64..2000,
        seed in 0u64..1000,
    ) {
        let hp = AdamW { lr, beta1, beta2, eps: 1e-8, weight_decay: wd };
        case(n, hp, first_step, 2, seed);
    }
}
