//! Section 5's study end to end at a tiny size (CPU): DDPM samples from the shipped Task A
//! checkpoint, a tiny noisy and clean classifier, guided and filtered samples, Table 2.
use empirical::backend::CpuAutodiff;
use empirical::config::RunConfig;
use empirical::guidance::{GuidanceOptions, GuidanceSchedule};
use empirical::mitigation::{run_mitigation, MitigationOptions, SamplerSource};
use empirical::pipeline::shipped_checkpoint_dir;
use empirical_rules::Task;
use std::path::Path;

fn options(root: &Path, overlay: &Path, scale: f64) -> MitigationOptions {
    MitigationOptions {
        task: Task::A,
        seed: 3,
        root: root.to_path_buf(),
        ddpm_checkpoint: shipped_checkpoint_dir().join("A.ckpt"),
        sampler: SamplerSource::Preset,
        n: 6,
        batch: 3,
        classifier_preset: empirical::config::Preset::Cpu,
        classifier_config: Some(overlay.to_path_buf()),
        guidance_arch: empirical::classifier::config::Arch::Mlp,
        filter_arch: empirical::classifier::config::Arch::Mlp,
        guidance_classifier: None,
        filter_classifier: None,
        guidance: GuidanceOptions {
            scale,
            schedule: GuidanceSchedule::Constant,
            class: 1,
        },
        quiet: true,
    }
}

fn summary(path: &Path) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["summary"].clone()
}

#[test]
fn study_writes_every_stage_resumes_and_scale_zero_equals_ddpm() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = tmp.path().join("clf.toml");
    std::fs::write(&overlay, "n_per_class = 8\nmax_steps = 3\nbatch_size = 8\n").unwrap();
    let root = tmp.path().join("runs/A-s3");
    let o = options(&root, &overlay, 0.0);
    let device = Default::default();
    let s = run_mitigation::<CpuAutodiff>(&o, &device).unwrap();
    for f in [
        "eval/results.json",
        "samples/samples.npy",
        "classifier-guidance/eval.json",
        "guided/eval/results.json",
        "classifier-filter-mlp/eval.json",
        "filtered/filter.json",
        "filtered/eval/results.json",
        "mitigation.json",
    ] {
        assert!(root.join(f).is_file(), "missing {f}");
    }
    assert_eq!(s.seconds.len(), 5);
    // the default sampler is the main job's: the checkpoint preset's current `[sample]`
    let text = std::fs::read_to_string(root.join("config.toml")).unwrap();
    let used = RunConfig::from_resolved_toml(&text, "config.toml").unwrap();
    let main_job = RunConfig::preset(used.preset, Task::A).unwrap().sample;
    assert_eq!(
        (
            used.sample.method,
            used.sample.ddim_steps,
            used.sample.ddim_eta
        ),
        (main_job.method, main_job.ddim_steps, main_job.ddim_eta)
    );
    // scale 0: guided sampling is the unguided sampler with the same seed
    let (d, g) = (
        summary(&root.join("eval/results.json")),
        summary(&root.join("guided/eval/results.json")),
    );
    assert_eq!(d, g);
    assert_eq!(d["n"], 6);
    // the filtered set is the DDPM samples predicted as class 1
    let f: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("filtered/filter.json")).unwrap()).unwrap();
    let kept = f["n_kept"].as_u64().unwrap();
    assert_eq!(f["n_in"], 6);
    assert_eq!(f["class_counts"][1].as_u64().unwrap(), kept);
    assert_eq!(summary(&root.join("filtered/eval/results.json"))["n"], kept);
    // a second call finds every stage done and changes nothing
    let before = std::fs::read(root.join("guided/eval/results.json")).unwrap();
    run_mitigation::<CpuAutodiff>(&o, &device).unwrap();
    assert_eq!(
        before,
        std::fs::read(root.join("guided/eval/results.json")).unwrap()
    );
    // Table 2 over the runs folder: three samplers for Task A
    let t = empirical::table2::collect(&tmp.path().join("runs")).unwrap();
    assert!(t
        .get(Task::A, empirical_rules::results::Method::Ddpm)
        .is_some());
    assert!(t
        .get(Task::A, empirical_rules::results::Method::Guidance)
        .is_some());
}

#[test]
fn study_rejects_a_checkpoint_of_another_task() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = tmp.path().join("clf.toml");
    std::fs::write(&overlay, "n_per_class = 8\nmax_steps = 3\n").unwrap();
    let mut o = options(&tmp.path().join("B-s0"), &overlay, 1.0);
    o.task = Task::B;
    let e = run_mitigation::<CpuAutodiff>(&o, &Default::default()).unwrap_err();
    assert!(e.to_string().contains("is for task A"), "{e}");
}
