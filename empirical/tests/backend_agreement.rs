//! The wgpu backend (burn-wgpu) against the CPU backend (burn-flex): one U-Net forward on fixed
//! inputs with and without autodiff (and the ops it is built from), then
//! [`empirical::agreement::compare`] (20 training steps from the same weights with the same
//! batches and noise, DDPM, DDIM and guided sampling, the evaluator on the wgpu samples; its
//! module documentation derives the tolerances).
//!
//! Built only with `--features wgpu`. Without a usable wgpu adapter (no Vulkan driver: see
//! `scripts/vulkan/up.sh` for Mesa's software device, lavapipe) it prints why and passes, unless
//! `HIDDEN_RULES_REQUIRE_WGPU` is set (as `.ci/run` does), when it fails.
#![cfg(feature = "wgpu")]

use burn::tensor::{Device, Tensor};
use empirical::config::Preset;
use empirical_rules::Task;
use rand_chacha::ChaCha8Rng;

use empirical::agreement::{host, max_abs_diff, weights};
use empirical::backend::{probe_wgpu, Cpu, CpuAutodiff, Wgpu, WgpuAutodiff};
use empirical::config::RunConfig;
use empirical::model::UNet;
use empirical::ops::upsample::upsample2x_bilinear;
use empirical::params;
use empirical::train;

/// Largest difference of one forward pass's outputs (values of order 1).
const TOL_FORWARD: f32 = 1e-4;

/// Whether the tests can run: a wgpu adapter, or a clear skip (a failure when one is required).
fn wgpu_present() -> bool {
    match probe_wgpu() {
        Ok(()) => true,
        Err(e) => {
            assert!(
                std::env::var_os("HIDDEN_RULES_REQUIRE_WGPU").is_none(),
                "HIDDEN_RULES_REQUIRE_WGPU is set but wgpu cannot run: {e}"
            );
            println!("backend_agreement: skipped, no usable wgpu device: {e}");
            false
        }
    }
}

#[test]
fn wgpu_forward_agrees_with_flex_with_and_without_autodiff() {
    if !wgpu_present() {
        return;
    }
    use empirical::ops::upsample::upsample2x_composite;
    use rand::SeedableRng;
    let dc: Device<Cpu> = Default::default();
    let dw: Device<Wgpu> = Default::default();
    let cfg = RunConfig::preset(Preset::Tiny, Task::A).unwrap();
    let s = cfg.image_size;
    let model_c = UNet::<Cpu>::new(&cfg.model, s, &mut train::init_rng(3), &dc);
    let w = weights(&model_c);
    let model_ca = params::set(
        UNet::<CpuAutodiff>::new(&cfg.model, s, &mut train::init_rng(3), &dc),
        params::from_host::<CpuAutodiff>(&w, &dc),
    );
    let model_w = params::set(
        UNet::<Wgpu>::new(&cfg.model, s, &mut train::init_rng(3), &dw),
        params::from_host::<Wgpu>(&w, &dw),
    );
    let model_wa = params::set(
        UNet::<WgpuAutodiff>::new(&cfg.model, s, &mut train::init_rng(3), &dw),
        params::from_host::<WgpuAutodiff>(&w, &dw),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let shape = [3, 3, s, s];
    let x = empirical::diffusion::normal_vec(&mut rng, shape.iter().product());
    let xd = burn::tensor::TensorData::new(x, shape);
    let t = [5usize, 50, 99];
    let y_c = host(model_c.forward(Tensor::from_data(xd.clone(), &dc), &t));
    let y_ca = host(model_ca.forward(Tensor::from_data(xd.clone(), &dc), &t));
    let y_w = host(model_w.forward(Tensor::from_data(xd.clone(), &dw), &t));
    let y_wa = host(model_wa.forward(Tensor::from_data(xd.clone(), &dw), &t));
    let range = y_c.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = [
        ("flex autodiff vs flex", max_abs_diff(&y_ca, &y_c)),
        ("wgpu vs flex", max_abs_diff(&y_w, &y_c)),
        ("wgpu autodiff vs flex", max_abs_diff(&y_wa, &y_c)),
    ];
    let up_native = host(upsample2x_bilinear(Tensor::<Wgpu, 4>::from_data(
        xd.clone(),
        &dw,
    )));
    let up_gather = host(upsample2x_composite(Tensor::<Wgpu, 4>::from_data(
        xd.clone(),
        &dw,
    )));
    // the shape of the tiny U-Net's first up block, where a wrong cubecl matmul kernel once hid
    let wide = burn::tensor::TensorData::new(
        empirical::diffusion::normal_vec(&mut rng, 3 * 32 * 8 * 8),
        [3, 32, 8, 8],
    );
    let up_wide_wa = host(upsample2x_bilinear(Tensor::<WgpuAutodiff, 4>::from_data(
        wide.clone(),
        &dw,
    )));
    let up_wide_flex = host(upsample2x_bilinear(Tensor::<Cpu, 4>::from_data(wide, &dc)));
    let up_wa = host(upsample2x_bilinear(Tensor::<WgpuAutodiff, 4>::from_data(
        xd.clone(),
        &dw,
    )));
    let up_flex = host(upsample2x_bilinear(Tensor::<Cpu, 4>::from_data(
        xd.clone(),
        &dc,
    )));
    use empirical::ops::{composite, Act, GroupNormSpec};
    let spec = GroupNormSpec {
        groups: 1,
        eps: 1e-5,
        act: Act::Relu,
    };
    let g = burn::tensor::TensorData::new(vec![1.5f32, 0.5, -1.0], [3]);
    let b = burn::tensor::TensorData::new(vec![0.1f32, -0.2, 0.3], [3]);
    let gn_c = host(composite::group_norm_act(
        Tensor::<Cpu, 4>::from_data(xd.clone(), &dc),
        Tensor::from_data(g.clone(), &dc),
        Tensor::from_data(b.clone(), &dc),
        spec,
    ));
    let gn_wa = host(composite::group_norm_act(
        Tensor::<WgpuAutodiff, 4>::from_data(xd.clone(), &dw),
        Tensor::from_data(g.clone(), &dw),
        Tensor::from_data(b.clone(), &dw),
        spec,
    ));
    let gn_w = host(composite::group_norm_act(
        Tensor::<Wgpu, 4>::from_data(xd.clone(), &dw),
        Tensor::from_data(g, &dw),
        Tensor::from_data(b, &dw),
        spec,
    ));
    let d_up = [
        (
            "upsample wgpu kernel vs flex",
            max_abs_diff(&up_native, &up_flex),
        ),
        (
            "upsample wgpu gathers vs flex",
            max_abs_diff(&up_gather, &up_flex),
        ),
        (
            "upsample wgpu autodiff vs flex",
            max_abs_diff(&up_wa, &up_flex),
        ),
        (
            "upsample [3, 32, 8, 8] wgpu autodiff vs flex",
            max_abs_diff(&up_wide_wa, &up_wide_flex),
        ),
        ("group norm wgpu vs flex", max_abs_diff(&gn_w, &gn_c)),
        (
            "group norm wgpu autodiff vs flex",
            max_abs_diff(&gn_wa, &gn_c),
        ),
    ];
    println!("forward (outputs up to {range:.2}): {d:?}; 2x upsampling: {d_up:?}");
    for (name, v) in d.iter().chain(&d_up) {
        assert!(
            *v <= TOL_FORWARD,
            "{name}: max |difference| {v:.3e} > {TOL_FORWARD:e}"
        );
    }
}

#[test]
fn wgpu_agrees_with_flex_on_training_and_sampling() {
    if !wgpu_present() {
        return;
    }
    let a = empirical::agreement::compare::<WgpuAutodiff>(&Default::default()).unwrap();
    println!("{}", a.to_text());
    for (k, (c, w)) in a.loss_cpu.iter().zip(&a.loss_device).enumerate() {
        println!("  step {:2}: flex {c:.7} wgpu {w:.7}", k + 1);
    }
    assert!(
        a.passed(),
        "wgpu and flex disagree:\n{}",
        a.failures.join("\n")
    );
}
