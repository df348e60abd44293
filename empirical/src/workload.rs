//! Fixed timing workloads on the CPU backend: one training step, one sampling (denoising) step
//! and one classifier-guided step of a given model config, on seeded random inputs. The
//! `empirical bench` command, the criterion benches (`benches/empirical.rs`) and the profiler
//! (`examples/profile.rs`) time the same workloads. Build the state once with [`TrainBench::new`]
//! / [`SampleBench::new`], then time [`TrainBench::step`] / [`SampleBench::step`].
use burn::module::AutodiffModule;
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::backend::{Cpu, CpuAutodiff};
use crate::config::{Preset, RunConfig};
use crate::diffusion::normal_tensor;
use crate::model::UNet;
use crate::schedule::Schedule;
use crate::train::Trainer;
use empirical_rules::Task;

/// Config of preset `preset` for Task A with the given batch size.
pub fn bench_config(preset: Preset, batch: usize) -> RunConfig {
    let mut cfg = RunConfig::preset(preset, Task::A).expect("valid preset");
    cfg.train.batch_size = batch;
    cfg
}

/// One training step of a model on random images.
pub struct TrainBench {
    pub trainer: Trainer<CpuAutodiff>,
    pub x0: Tensor<CpuAutodiff, 4>,
}

impl TrainBench {
    pub fn new(cfg: &RunConfig) -> Self {
        let device = Default::default();
        let trainer = Trainer::<CpuAutodiff>::new(cfg, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = cfg.image_size;
        let x0 = normal_tensor::<CpuAutodiff>(&mut rng, [cfg.train.batch_size, 3, s, s], &device)
            .clamp(-1.0, 1.0);
        TrainBench { trainer, x0 }
    }
    /// One optimiser step; returns the loss.
    pub fn step(&mut self) -> f32 {
        let lr = self.trainer.cfg.train.lr;
        self.trainer
            .train_step(self.x0.clone(), lr)
            .expect("finite loss")
    }
    /// Parameter count.
    pub fn num_params(&self) -> usize {
        self.trainer.num_params()
    }
}

/// One denoising step (one U-Net forward + update) on a batch.
pub struct SampleBench {
    pub model: UNet<Cpu>,
    pub sched: Schedule,
    pub x: Tensor<Cpu, 4>,
    pub rng: ChaCha8Rng,
}

impl SampleBench {
    pub fn new(cfg: &RunConfig, batch: usize) -> Self {
        let device = Default::default();
        let t = Trainer::<CpuAutodiff>::new(cfg, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let s = cfg.image_size;
        let x = normal_tensor::<Cpu>(&mut rng, [batch, 3, s, s], &device);
        SampleBench {
            model: t.model.valid(),
            sched: Schedule::from_config(&cfg.diffusion),
            x,
            rng,
        }
    }
    /// One ancestral step at t = T/2; returns the new x (so that the work is not optimised away).
    pub fn step(&mut self) -> Tensor<Cpu, 4> {
        let t = self.sched.len() / 2;
        crate::sampler::ddpm_step(&self.model, &self.sched, self.x.clone(), t, &mut self.rng)
    }
}

/// One classifier-guided ancestral step (Sec. 5; [`crate::guidance::ClassifierGuidance`]): a U-Net
/// forward plus the noise-aware U-Net-encoder classifier's input gradient, scale 7, toward class 1.
pub struct GuidedSampleBench {
    pub base: SampleBench,
    pub classifier: crate::classifier::nets::Classifier<CpuAutodiff>,
}

impl GuidedSampleBench {
    /// The DDPM of `cfg` and a noisy `unet` classifier of `classifier_preset`.
    pub fn new(cfg: &RunConfig, classifier_preset: Preset, batch: usize) -> Self {
        let device = Default::default();
        let ccfg = crate::classifier::config::ClassifierConfig::preset(
            classifier_preset,
            Task::A,
            crate::classifier::config::Arch::Unet,
            true,
        )
        .expect("valid classifier preset");
        let classifier = crate::classifier::nets::Classifier::<CpuAutodiff>::new(
            &ccfg,
            &mut ChaCha8Rng::seed_from_u64(3),
            &device,
        );
        GuidedSampleBench {
            base: SampleBench::new(cfg, batch),
            classifier,
        }
    }
    /// One guided step at t = T/2.
    pub fn step(&mut self) -> Tensor<Cpu, 4> {
        let b = &mut self.base;
        let t = b.sched.len() / 2;
        let opts = crate::sampler::SamplerOptions::ancestral();
        let pos = crate::sampler::StepPos::single(t);
        let guidance = crate::guidance::GuidanceOptions {
            scale: 7.0,
            schedule: crate::guidance::GuidanceSchedule::Constant,
            class: 1,
        };
        let mut hook =
            crate::guidance::ClassifierGuidance::<CpuAutodiff, _>::new(&self.classifier, guidance);
        crate::sampler::p_sample(
            &b.model,
            &b.sched,
            &opts,
            b.x.clone(),
            pos,
            &mut hook,
            &mut b.rng,
        )
    }
}
