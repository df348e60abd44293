//! Small CPU tests of the DDPM crate (tiny U-Net, 16x16 images).
use burn::module::AutodiffModule;
use burn::prelude::ElementConversion;
use burn::tensor::{Tensor, TensorData};
use empirical::backend::{Cpu, CpuAutodiff};
use empirical::checkpoint::Checkpoint;
use empirical::config::Preset;
use empirical::config::{RunConfig, SampleMethod};
use empirical::diffusion;
use empirical::params;
use empirical::pipeline;
use empirical::rundir::RunDir;
use empirical::sampler::{self, SamplerOptions};
use empirical::schedule::Schedule;
use empirical::train::{self, TrainOptions, Trainer};
use empirical::Error;
use empirical_rules::Task;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn tiny(task: Task) -> RunConfig {
    RunConfig::preset(Preset::Tiny, task).unwrap()
}

fn task_a_data(cfg: &RunConfig) -> (Vec<f32>, usize) {
    let imgs = empirical::data::training_images(cfg, None).unwrap();
    (empirical::data::to_tensor_data(&imgs), imgs.len())
}

/// Loss on a fixed batch with fixed t and eps (so that it is comparable across training).
fn fixed_loss(t: &Trainer<CpuAutodiff>, data: &[f32], n: usize) -> f32 {
    let cfg = &t.cfg;
    let s = cfg.image_size;
    let idx: Vec<usize> = (0..n.min(32)).collect();
    let x0 = train::gather::<Cpu>(data, &idx, [3, s, s], &Default::default());
    let model = t.model.valid();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut total = 0.0;
    for _ in 0..4 {
        let tt = diffusion::uniform_steps(&mut rng, idx.len(), t.sched.len());
        let eps = diffusion::normal_tensor::<Cpu>(&mut rng, x0.dims(), &Default::default());
        let l = diffusion::loss(&model, &t.sched, x0.clone(), &tt, eps);
        total += l.into_scalar().elem::<f32>();
    }
    total / 4.0
}

#[test]
fn loss_falls_on_tiny_task_a() {
    let mut cfg = tiny(Task::A);
    cfg.train.lr = 2e-3;
    cfg.train.max_steps = 150;
    cfg.train.epochs = 100;
    let (data, n) = task_a_data(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let mut t = Trainer::<CpuAutodiff>::new(&cfg, &Default::default());
    let before = fixed_loss(&t, &data, n);
    let opts = TrainOptions {
        quiet: true,
        stop_at: None,
    };
    train::train(&mut t, &run, &data, n, &opts).unwrap();
    let after = fixed_loss(&t, &data, n);
    assert_eq!(t.step(), 150);
    assert!(
        after < 0.5 * before,
        "loss did not fall clearly: {before} -> {after}"
    );
    // metrics.csv has a header and one row per log_every steps
    let m = std::fs::read_to_string(run.metrics_path()).unwrap();
    assert!(m.starts_with("step,loss,lr,images_per_s"));
    assert_eq!(m.lines().count(), 1 + 150 / cfg.train.log_every as usize);
}

#[test]
fn checkpoint_round_trip_is_exact() {
    let cfg = tiny(Task::A);
    let (data, n) = task_a_data(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let mut t = Trainer::<CpuAutodiff>::new(&cfg, &Default::default());
    let opts = TrainOptions {
        quiet: true,
        stop_at: Some(6),
    };
    train::train(&mut t, &run, &data, n, &opts).unwrap();
    let c1 = t.checkpoint();
    let path = dir.path().join("x.ckpt");
    c1.save(&path).unwrap();
    let c2 = Checkpoint::load(&path).unwrap();
    assert_eq!(c2.header.step, 6);
    assert_eq!(c1.data, c2.data);
    let t2 = Trainer::<CpuAutodiff>::from_checkpoint(&c2, &path, &Default::default()).unwrap();
    let c3 = t2.checkpoint();
    assert_eq!(c3.data, c1.data);
    assert_eq!(c3.header.step, c1.header.step);
    // corrupting one payload byte is detected
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x55;
    let err = Checkpoint::from_bytes(&bytes, &path).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(Checkpoint::from_bytes(b"garbage", &path).is_err());
}

/// A run of `cfg` straight through, and the same run killed after `kill_at` steps and resumed
/// from its newest checkpoint on disk.
struct KillResume {
    straight: Trainer<CpuAutodiff>,
    straight_run: RunDir,
    resumed: Trainer<CpuAutodiff>,
    resumed_run: RunDir,
    /// Step of the newest checkpoint when the run was killed.
    resumed_from: u64,
    _dirs: [tempfile::TempDir; 2],
}

fn kill_and_resume(cfg: &RunConfig, kill_at: u64) -> KillResume {
    let (data, n) = task_a_data(cfg);
    let quiet = |stop_at| TrainOptions {
        quiet: true,
        stop_at,
    };
    let d1 = tempfile::tempdir().unwrap();
    let r1 = RunDir::create(d1.path()).unwrap();
    let mut t1 = Trainer::<CpuAutodiff>::new(cfg, &Default::default());
    train::train(&mut t1, &r1, &data, n, &quiet(None)).unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let r2 = RunDir::create(d2.path()).unwrap();
    let mut t2 = Trainer::<CpuAutodiff>::new(cfg, &Default::default());
    train::train(&mut t2, &r2, &data, n, &quiet(Some(kill_at))).unwrap();
    drop(t2);
    let (step, p) = r2.latest_checkpoint().unwrap();
    let ck = Checkpoint::load(&p).unwrap();
    let mut t3 = Trainer::<CpuAutodiff>::from_checkpoint(&ck, &p, &Default::default()).unwrap();
    train::train(&mut t3, &r2, &data, n, &quiet(None)).unwrap();
    KillResume {
        straight: t1,
        straight_run: r1,
        resumed: t3,
        resumed_run: r2,
        resumed_from: step,
        _dirs: [d1, d2],
    }
}

#[test]
fn kill_and_resume_equals_uninterrupted() {
    let mut cfg = tiny(Task::A);
    cfg.train.max_steps = 14;
    cfg.train.epochs = 10;
    cfg.train.checkpoint_every = 4;
    // killed after step 7 (newest checkpoint: step 4), then resumed from disk
    let kr = kill_and_resume(&cfg, 7);
    assert_eq!(kr.resumed_from, 4);
    assert_eq!(kr.resumed.step(), 14);
    let (a, b) = (kr.straight.checkpoint(), kr.resumed.checkpoint());
    assert_eq!(
        a.data, b.data,
        "resumed run differs from the uninterrupted one"
    );
    // metrics of the resumed run were truncated at the checkpoint and continued
    let m1 = std::fs::read_to_string(kr.straight_run.metrics_path()).unwrap();
    let m2 = std::fs::read_to_string(kr.resumed_run.metrics_path()).unwrap();
    let steps = |m: &str| -> Vec<String> {
        m.lines()
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(steps(&m1), steps(&m2));
}

#[test]
fn nan_loss_stops_with_step_named_and_keeps_checkpoint() {
    let mut cfg = tiny(Task::A);
    cfg.train.checkpoint_every = 4;
    // (flex's ReLU maps NaN to 0, which would hide the poisoned inputs below)
    cfg.model.activation = empirical::config::Activation::Silu;
    let (mut data, n) = task_a_data(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let mut t = Trainer::<CpuAutodiff>::new(&cfg, &Default::default());
    let opts = TrainOptions {
        quiet: true,
        stop_at: Some(4),
    };
    train::train(&mut t, &run, &data, n, &opts).unwrap();
    data.iter_mut().for_each(|x| *x = f32::NAN);
    let err = train::train(
        &mut t,
        &run,
        &data,
        n,
        &TrainOptions {
            quiet: true,
            stop_at: None,
        },
    )
    .unwrap_err();
    match &err {
        Error::NonFiniteLoss {
            step, last_good, ..
        } => {
            assert_eq!(*step, 5);
            assert!(last_good.ends_with("step-000000004.ckpt"), "{last_good}");
        }
        e => panic!("unexpected error {e}"),
    }
    assert!(err.to_string().contains("step 5"));
    assert_eq!(t.step(), 4, "state must not advance on a NaN loss");
    assert_eq!(run.latest_checkpoint().unwrap().0, 4);
}

fn sample_opts(method: SampleMethod) -> SamplerOptions {
    SamplerOptions {
        method,
        ddim_steps: 10,
        ddim_eta: 0.0,
        clip_x0: true,
    }
}

#[test]
fn sampling_is_reproducible_with_shapes_and_ranges() {
    let cfg = tiny(Task::A);
    let device = Default::default();
    let t = Trainer::<CpuAutodiff>::new(&cfg, &device);
    let model = t.ema_model();
    let sched = Schedule::from_config(&cfg.diffusion);
    for method in [SampleMethod::Ddpm, SampleMethod::Ddim] {
        let o = sample_opts(method);
        let run = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let x = sampler::sample(&model, &sched, 3, 3, 16, &o, &mut rng, &device, &mut || {});
            assert_eq!(x.dims(), [3, 3, 16, 16]);
            x.into_data().to_vec::<f32>().unwrap()
        };
        let (a, b, c) = (run(1), run(1), run(2));
        assert_eq!(a, b, "{method:?}: same seed, different samples");
        assert_ne!(a, c, "{method:?}: different seeds, same samples");
        assert!(a.iter().all(|v| v.is_finite()));
    }
    // images written by the pipeline: right count and size, values are u8 from clamp(x)
    let imgs = pipeline::sample_images(
        &model,
        &cfg,
        5,
        2,
        &sample_opts(SampleMethod::Ddim),
        7,
        true,
        &device,
    );
    assert_eq!(imgs.len(), 5);
    assert!(imgs.iter().all(|i| i.dimensions() == (16, 16)));
    let imgs2 = pipeline::sample_images(
        &model,
        &cfg,
        5,
        2,
        &sample_opts(SampleMethod::Ddim),
        7,
        true,
        &device,
    );
    assert_eq!(imgs, imgs2);
    let dir = tempfile::tempdir().unwrap();
    pipeline::write_samples(&imgs, dir.path()).unwrap();
    let back = empirical_rules::load_images(&dir.path().join("samples.npy")).unwrap();
    assert_eq!(back, imgs);
}

#[test]
fn ddim_with_all_steps_and_eta_one_matches_ddpm_variance() {
    // DDIM's sigma with eta = 1 and consecutive steps is sqrt(beta_tilde_t) <= sqrt(beta_t): check
    // the step sequences and that the final DDIM step is deterministic.
    let o = sample_opts(SampleMethod::Ddim);
    let seq = sampler::step_sequence(&o, 100);
    assert_eq!(seq.len(), 10);
    assert_eq!(seq[0], 99);
    assert_eq!(*seq.last().unwrap(), 0);
    assert!(seq.windows(2).all(|w| w[0] > w[1]));
    let d = sampler::step_sequence(&sample_opts(SampleMethod::Ddpm), 100);
    assert_eq!(d, (0..100).rev().collect::<Vec<_>>());
}

#[test]
fn q_sample_matches_closed_form() {
    let sched = Schedule::linear(1000, 1e-4, 2e-2);
    let device = Default::default();
    let x0 = Tensor::<Cpu, 4>::from_data(TensorData::new(vec![0.5f32; 4], [1, 1, 2, 2]), &device);
    let eps = Tensor::<Cpu, 4>::from_data(
        TensorData::new(vec![1.0f32, -1.0, 2.0, 0.0], [1, 1, 2, 2]),
        &device,
    );
    let xt = diffusion::q_sample(&sched, x0, &[500], eps)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let ab: f64 = (0..=500).map(|i| 1.0 - sched.beta[i]).product();
    for (v, e) in xt.iter().zip([1.0, -1.0, 2.0, 0.0]) {
        let want = ab.sqrt() * 0.5 + (1.0 - ab).sqrt() * e;
        assert!((*v as f64 - want).abs() < 1e-5, "{v} vs {want}");
    }
}

#[test]
fn adamw_first_steps_match_scalar_reference() {
    use burn::module::{Module, Param};
    #[derive(Module, Debug)]
    struct One<B: burn::tensor::backend::Backend> {
        w: Param<Tensor<B, 1>>,
    }
    let device = Default::default();
    let mut m = One::<CpuAutodiff> {
        w: Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, -2.0], [2]),
            &device,
        )),
    };
    let (_, shapes) = params::collect(&m.valid());
    let mut st = params::AdamState::<Cpu>::zeros(&shapes, &device);
    let hp = params::AdamW {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    // loss = sum(w^3) -> grad 3 w^2; scalar reference in f64
    let (mut w, mut mm, mut vv) = ([1.0f64, -2.0], [0.0f64; 2], [0.0f64; 2]);
    for k in 1..=3u64 {
        let loss = m.w.val().powi_scalar(3).sum();
        let g = loss.backward();
        m = params::adamw_step(m, &g, &mut st, hp, k);
        for i in 0..2 {
            let gi = 3.0 * w[i] * w[i];
            mm[i] = 0.9 * mm[i] + 0.1 * gi;
            vv[i] = 0.999 * vv[i] + 0.001 * gi * gi;
            let mh = mm[i] / (1.0 - 0.9f64.powi(k as i32));
            let vh = vv[i] / (1.0 - 0.999f64.powi(k as i32));
            w[i] = w[i] * (1.0 - 0.1 * 0.01) - 0.1 * mh / (vh.sqrt() + 1e-8);
        }
        let got = m.w.val().into_data().to_vec::<f32>().unwrap();
        for i in 0..2 {
            assert!(
                (got[i] as f64 - w[i]).abs() < 1e-5,
                "step {k}: {} vs {}",
                got[i],
                w[i]
            );
        }
    }
}

#[test]
fn ema_copies_then_averages() {
    let device = Default::default();
    let mk = |v: f32| {
        vec![Tensor::<Cpu, 1>::from_data(
            TensorData::new(vec![v], [1]),
            &device,
        )]
    };
    let mut ema = mk(0.0);
    params::ema_update(&mut ema, &mk(1.0), 0.9, 2, 1);
    params::ema_update(&mut ema, &mk(2.0), 0.9, 2, 2);
    assert_eq!(ema[0].clone().into_scalar(), 2.0);
    params::ema_update(&mut ema, &mk(12.0), 0.9, 2, 3);
    assert!((ema[0].clone().into_scalar() - 3.0).abs() < 1e-6);
}

#[test]
fn bad_configs_are_rejected_with_the_key_named() {
    let cases = [
        ("[train]\nfoo = 1\n", "train.foo"),
        ("[model]\nbase_channels = -3\n", "model.base_channels"),
        ("task = \"E\"\n", "task"),
        ("[sample]\nn = 0\n", "sample.n"),
        (
            "[model]\nchannel_mults = [1, 2, 4, 8, 16, 32, 64]\n",
            "image_size",
        ),
        ("bogus = true\n", "bogus"),
        ("[diffusion]\nbeta_end = 1.5\n", "diffusion.beta_end"),
    ];
    for (text, key) in cases {
        let err = RunConfig::from_overlay(Preset::Cpu, Task::A, text, "test.toml").unwrap_err();
        assert!(
            err.to_string().contains(key),
            "{text:?}: error `{err}` does not name `{key}`"
        );
    }
    // type errors come from serde with the file named
    let err = RunConfig::from_overlay(
        Preset::Cpu,
        Task::A,
        "[train]\nlr = \"fast\"\n",
        "test.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("test.toml"), "{err}");
    assert!("huge"
        .parse::<Preset>()
        .unwrap_err()
        .to_string()
        .contains("preset"));
    assert_eq!(empirical::config::parse_task(" b ").unwrap(), Task::B);
    assert!(empirical::config::parse_task("E")
        .unwrap_err()
        .to_string()
        .contains("task"));
    // a valid overlay works and keeps the other preset values
    let ok =
        RunConfig::from_overlay(Preset::Cpu, Task::B, "[train]\nbatch_size = 8\n", "t").unwrap();
    assert_eq!(ok.task, Task::B);
    assert_eq!(ok.train.batch_size, 8);
    assert_eq!(
        ok.model,
        RunConfig::preset(Preset::Cpu, Task::A).unwrap().model
    );
    // the resolved config round-trips through TOML
    let back = RunConfig::from_resolved_toml(&ok.to_toml(), "t").unwrap();
    assert_eq!(back, ok);
}

#[test]
fn model_output_shape_and_param_counts() {
    let cfg = tiny(Task::A);
    let device = Default::default();
    let m = empirical::model::UNet::<Cpu>::new(
        &cfg.model,
        16,
        &mut ChaCha8Rng::seed_from_u64(0),
        &device,
    );
    let x = Tensor::<Cpu, 4>::zeros([2, 3, 16, 16], &device);
    assert_eq!(m.forward(x, &[0, 5]).dims(), [2, 3, 16, 16]);
    // same seed, same weights
    let m2 = empirical::model::UNet::<Cpu>::new(
        &cfg.model,
        16,
        &mut ChaCha8Rng::seed_from_u64(0),
        &device,
    );
    let (a, _) = params::collect(&m);
    let (b, _) = params::collect(&m2);
    assert_eq!(params::to_host(&a), params::to_host(&b));
    let paper = RunConfig::preset(Preset::Paper, Task::A).unwrap();
    let n = empirical::model::param_count(&paper.model, 32);
    assert!(
        (10_000_000..25_000_000).contains(&n),
        "paper U-Net has {n} parameters"
    );
}

#[test]
fn resume_with_more_steps_continues_a_finished_run() {
    let mut cfg = tiny(Task::A);
    cfg.data.n_train = 16;
    cfg.train.epochs = 100;
    cfg.train.checkpoint_every = 3;
    let opts = pipeline::TrainRunOptions {
        quiet: true,
        ..Default::default()
    };
    let device = Default::default();
    // straight to 6 steps
    let d1 = tempfile::tempdir().unwrap();
    cfg.train.max_steps = 6;
    let (t1, _) = pipeline::train_run::<CpuAutodiff>(
        &cfg,
        &RunDir::create(d1.path()).unwrap(),
        &opts,
        &device,
    )
    .unwrap();
    // 3 steps, finished; then the same run directory continued to 6 (`--resume --max-steps 6`)
    let d2 = tempfile::tempdir().unwrap();
    let run = RunDir::create(d2.path()).unwrap();
    cfg.train.max_steps = 3;
    let (t2, _) = pipeline::train_run::<CpuAutodiff>(&cfg, &run, &opts, &device).unwrap();
    assert_eq!(t2.step(), 3);
    cfg.train.max_steps = 6;
    let (t3, _) = pipeline::train_run::<CpuAutodiff>(&cfg, &run, &opts, &device).unwrap();
    assert_eq!(t3.step(), 6);
    assert_eq!(t1.checkpoint().data, t3.checkpoint().data);
    // any other change is refused on resume
    cfg.train.lr *= 2.0;
    let err = match pipeline::train_run::<CpuAutodiff>(&cfg, &run, &opts, &device) {
        Err(e) => e,
        Ok(_) => panic!("a resume with a different lr was accepted"),
    };
    assert!(err.to_string().contains("different config"), "{err}");
}

#[test]
fn diagnose_matches_closed_forms_for_a_zero_noise_predictor() {
    // eps_theta = 0: the eps-MSE is E[eps^2] = 1, and denoising from t is
    // x_0 + sqrt((1 - abar_t)/abar_t) eps + sum_{k=1..t} sqrt(beta_k / abar_{k-1}) z_k,
    // whose MSE to x_0 has mean (1 - abar_t)/abar_t + sum_{k=1..t} beta_k / abar_{k-1}.
    use burn::module::Param;
    let cfg = tiny(Task::A);
    let dev = Default::default();
    let mut model = empirical::model::UNet::<Cpu>::new(
        &cfg.model,
        cfg.image_size,
        &mut ChaCha8Rng::seed_from_u64(0),
        &dev,
    );
    model.out.weight = Param::from_tensor(model.out.weight.val().zeros_like());
    model.out.bias = Param::from_tensor(model.out.bias.val().zeros_like());
    let sched = Schedule::from_config(&cfg.diffusion);
    let rows = empirical::diagnose::diagnose(&model, &cfg, 16, &[3], &[40], 1, &dev).unwrap();
    assert_eq!(rows.len(), 2);
    assert!((rows[0].eps_mse - 1.0).abs() < 0.03, "{rows:?}");
    assert!(rows[0].recon_mse.is_none());
    let t = 40;
    let ab = &sched.alpha_bar;
    let expected = (1.0 - ab[t]) / ab[t] + (1..=t).map(|k| sched.beta[k] / ab[k - 1]).sum::<f64>();
    let got = rows[1].recon_mse.unwrap();
    assert!((got / expected - 1.0).abs() < 0.05, "{got} vs {expected}");
    // a step outside the schedule is rejected by name
    let e =
        empirical::diagnose::diagnose(&model, &cfg, 4, &[sched.len()], &[], 1, &dev).unwrap_err();
    assert!(e.to_string().contains("`t`"), "{e}");
}

#[test]
fn cosine_lr_schedule_warms_up_then_decays_to_lr_min() {
    use empirical::config::LrSchedule;
    let mut tc = tiny(Task::A).train;
    tc.lr = 1e-3;
    // the paper's constant schedule ignores step and horizon
    assert_eq!(tc.lr_schedule, LrSchedule::Constant);
    assert_eq!(tc.lr_at(1, 10), 1e-3);
    assert_eq!(tc.lr_at(10_000, 10), 1e-3);
    tc.lr_schedule = LrSchedule::Cosine;
    tc.warmup_steps = 10;
    tc.lr_min = 1e-5;
    let total = 110;
    // linear warm-up: step k of 10 gets k/10 of lr
    for k in 1..=10u64 {
        let want = 1e-3 * k as f64 / 10.0;
        assert!((tc.lr_at(k, total) - want).abs() < 1e-15, "step {k}");
    }
    // half a cosine: the midpoint of the decay is the mean of lr and lr_min, the end is lr_min
    assert!((tc.lr_at(60, total) - (1e-3 + 1e-5) / 2.0).abs() < 1e-12);
    assert!((tc.lr_at(110, total) - 1e-5).abs() < 1e-15);
    assert!((tc.lr_at(500, total) - 1e-5).abs() < 1e-15);
    // strictly decreasing after the warm-up
    let lrs: Vec<f64> = (10..=110).map(|k| tc.lr_at(k, total)).collect();
    assert!(lrs.windows(2).all(|w| w[1] < w[0]), "{lrs:?}");
    // lr_min above lr is rejected, naming the key
    let mut cfg = tiny(Task::A);
    cfg.train.lr_min = 2.0 * cfg.train.lr;
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("train.lr_min"), "{err}");
}

#[test]
fn configs_written_before_the_lr_schedule_keys_still_load() {
    // checkpoints shipped earlier carry a config without train.lr_schedule / warmup_steps /
    // lr_min / init_from / loss_weighting / min_snr_gamma: they must read as the paper's
    // constant schedule, uniform weighting and no warm start
    let cfg = RunConfig::preset(Preset::Cpu, Task::A).unwrap();
    let mut table: toml::Table = toml::from_str(&cfg.to_toml()).unwrap();
    let train = table.get_mut("train").unwrap().as_table_mut().unwrap();
    for k in [
        "lr_schedule",
        "warmup_steps",
        "lr_min",
        "init_from",
        "loss_weighting",
        "min_snr_gamma",
    ] {
        assert!(train.remove(k).is_some(), "{k} is not written");
    }
    let old = toml::to_string(&table).unwrap();
    let back = RunConfig::from_resolved_toml(&old, "old").unwrap();
    assert_eq!(back, cfg);
    // and every shipped checkpoint's header parses (C and D predate the new keys)
    for task in ["A", "B", "C", "D"] {
        let shipped = pipeline::shipped_checkpoint_dir().join(format!("{task}.ckpt"));
        let header = Checkpoint::load(&shipped).unwrap().header;
        RunConfig::from_resolved_toml(&header.config, task).unwrap();
    }
}

#[test]
fn cosine_min_snr_run_killed_and_resumed_equals_uninterrupted() {
    let mut cfg = tiny(Task::A);
    cfg.data.n_train = 16;
    cfg.train.epochs = 100;
    cfg.train.max_steps = 9;
    cfg.train.checkpoint_every = 3;
    cfg.train.lr_schedule = empirical::config::LrSchedule::Cosine;
    cfg.train.warmup_steps = 2;
    cfg.train.lr_min = 1e-6;
    cfg.train.loss_weighting = empirical::config::LossWeighting::MinSnr;
    let kr = kill_and_resume(&cfg, 5);
    assert_eq!(kr.resumed_from, 3);
    assert_eq!(kr.straight.checkpoint().data, kr.resumed.checkpoint().data);
    // the metrics log records the scheduled lr of each logged step
    let m = std::fs::read_to_string(kr.straight_run.metrics_path()).unwrap();
    assert!(m.lines().count() > 3, "{m}");
    for line in m.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let step: u64 = f[0].parse().unwrap();
        let lr: f64 = f[2].parse().unwrap();
        assert!((lr - cfg.train.lr_at(step, 9)).abs() < 1e-15, "{line}");
    }
}

#[test]
fn warm_start_copies_weights_and_refuses_another_model() {
    let mut cfg = tiny(Task::A);
    cfg.data.n_train = 16;
    cfg.train.max_steps = 3;
    let (data, n) = task_a_data(&cfg);
    let opts = TrainOptions {
        quiet: true,
        stop_at: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(&dir.path().join("src")).unwrap();
    let mut src = Trainer::<CpuAutodiff>::new(&cfg, &Default::default());
    train::train(&mut src, &run, &data, n, &opts).unwrap();
    let full = src.checkpoint();
    let full_path = dir.path().join("full.ckpt");
    full.save(&full_path).unwrap();
    let shipped = full.weights_only("ema").unwrap();
    let shipped_path = dir.path().join("ema.ckpt");
    shipped.save(&shipped_path).unwrap();
    // a full training checkpoint gives its raw weights, an exported one its EMA weights
    let mut other = cfg.clone();
    other.seed = 7;
    for (ck, path, group) in [
        (&full, &full_path, "params"),
        (&shipped, &shipped_path, "ema"),
    ] {
        let mut t = Trainer::<CpuAutodiff>::new(&other, &Default::default());
        t.warm_start(ck, path).unwrap();
        let (w, _) = params::collect(&t.model.valid());
        assert_eq!(&params::to_host(&w), ck.group(group).unwrap());
        assert_eq!(&params::to_host(&t.ema), ck.group(group).unwrap());
        assert_eq!(t.step(), 0);
    }
    // through the pipeline: `train.init_from` seeds a fresh run, and training goes on from it
    other.train.init_from = shipped_path.display().to_string();
    let fresh = dir.path().join("warm");
    let (t, _) = pipeline::train_run::<CpuAutodiff>(
        &other,
        &RunDir::create(&fresh).unwrap(),
        &pipeline::TrainRunOptions {
            quiet: true,
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap();
    assert_eq!(t.step(), 3);
    // another model config is refused with the file named
    let mut wide = cfg.clone();
    wide.model.base_channels *= 2;
    let mut t = Trainer::<CpuAutodiff>::new(&wide, &Default::default());
    let err = t
        .warm_start(&shipped, &shipped_path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ema.ckpt") && err.contains("init_from"),
        "{err}"
    );
}

#[test]
fn min_snr_weights_follow_the_closed_form_and_uniform_weighting_is_the_plain_loss() {
    use empirical::config::LossWeighting;
    let cfg = RunConfig::preset(Preset::Cpu, Task::A).unwrap();
    let sched = Schedule::from_config(&cfg.diffusion);
    let t: Vec<usize> = vec![0, 50, 100, 150, 300, 999];
    let w = diffusion::loss_weights(&sched, &t, LossWeighting::MinSnr, 5.0);
    for (&i, &wi) in t.iter().zip(&w) {
        // SNR_t from the product of alphas, independently of Schedule::alpha_bar
        let ab: f64 = (0..=i).map(|k| 1.0 - sched.beta[k]).product();
        let snr = ab / (1.0 - ab);
        let want = if snr > 5.0 { 5.0 / snr } else { 1.0 };
        assert!((wi as f64 - want).abs() < 1e-6, "t={i}: {wi} vs {want}");
    }
    // nearly clean steps are weighed down, noisy ones keep weight 1
    assert!(w[0] < 1e-3 && w[4] == 1.0 && w[5] == 1.0, "{w:?}");
    assert!(
        diffusion::loss_weights(&sched, &t, LossWeighting::Uniform, 5.0)
            .iter()
            .all(|&x| x == 1.0)
    );
    // the weighted loss with unit weights is the plain loss; with weights it is the weighted mean
    // of the per-sample MSEs
    let tc = tiny(Task::A);
    let s = Schedule::from_config(&tc.diffusion);
    let dev = Default::default();
    let model = empirical::model::UNet::<Cpu>::new(
        &tc.model,
        tc.image_size,
        &mut ChaCha8Rng::seed_from_u64(3),
        &dev,
    );
    let (data, _) = task_a_data(&tc);
    let x0 = train::gather::<Cpu>(&data, &[0, 1, 2], [3, 16, 16], &dev);
    let steps = [5usize, 40, 90];
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let eps = diffusion::normal_tensor::<Cpu>(&mut rng, x0.dims(), &dev);
    let scalar = |l: Tensor<Cpu, 1>| -> f64 { l.into_scalar().elem::<f32>() as f64 };
    let plain = scalar(diffusion::loss(&model, &s, x0.clone(), &steps, eps.clone()));
    let ones = scalar(diffusion::weighted_loss(
        &model,
        &s,
        x0.clone(),
        &steps,
        eps.clone(),
        &[1.0; 3],
    ));
    assert!((plain - ones).abs() < 1e-6 * plain, "{plain} vs {ones}");
    let per_sample: Vec<f64> = (0..3)
        .map(|i| {
            let one = |x: &Tensor<Cpu, 4>| x.clone().narrow(0, i, 1);
            scalar(diffusion::loss(
                &model,
                &s,
                one(&x0),
                &steps[i..i + 1],
                one(&eps),
            ))
        })
        .collect();
    let wts = [0.2f32, 1.0, 3.0];
    let got = scalar(diffusion::weighted_loss(&model, &s, x0, &steps, eps, &wts));
    let want: f64 = per_sample
        .iter()
        .zip(wts)
        .map(|(m, w)| m * w as f64)
        .sum::<f64>()
        / 3.0;
    assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
}
