//! `empirical sweep`: specs rejected before any work with the key named, plans with stable ids,
//! a local sweep that skips finished points and resumes interrupted ones to the same numbers,
//! and (where a Slurm cluster answers) a job array whose table equals the local run's.
use empirical_rules::Task;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use empirical::backend::CpuAutodiff;
use empirical::pipeline::{train_run, TrainRunOptions};
use empirical::rundir::RunDir;
use empirical::sweep::slurm::array_ranges;
use empirical::sweep::{plan, SweepLayout, SweepSpec, SweepTable};

const BIN: &str = env!("CARGO_BIN_EXE_empirical");

/// Tiny preset, Tasks A and B x seeds 0 and 1, a few training steps and samples.
const TINY_SPEC: &str = r#"
name = "tiny-grid"
steps = ["train", "sample", "eval"]

[base]
preset = "tiny"
train.max_steps = 6
sample.n = 6
sample.batch_size = 3

[[axis]]
key = "task"
values = ["A", "B"]

[[axis]]
key = "seed"
values = [0, 1]
"#;

fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("spec.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn spec_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_spec(dir.path(), text);
    match SweepSpec::from_file(&path).and_then(|s| plan(&s).map(|_| ())) {
        Ok(()) => panic!("spec accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        // one thread per point in every executor, so that local and Slurm runs compare alike
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("the empirical binary starts")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{args:?} failed:\n{out}\n{err}");
    out
}

fn table(root: &Path) -> SweepTable {
    let text = std::fs::read_to_string(root.join("sweep.json")).expect("sweep.json written");
    serde_json::from_str(&text).unwrap()
}

/// The table without wall-clock times (everything else must match number for number).
fn numbers(mut t: SweepTable) -> SweepTable {
    for p in &mut t.points {
        p.seconds = 0.0;
    }
    t
}

#[test]
fn bad_specs_are_rejected_naming_the_key() {
    let base = "[base]\npreset = \"tiny\"\n";
    let unknown = spec_err(&format!(
        "{base}[[axis]]\nkey = \"train.max_stepz\"\nvalues = [1, 2]\n"
    ));
    assert!(unknown.contains("max_stepz"), "{unknown}");
    let empty = spec_err(&format!("{base}[[axis]]\nkey = \"seed\"\nvalues = []\n"));
    assert!(
        empty.contains("seed") && empty.contains("no values"),
        "{empty}"
    );
    let wrong_type = spec_err(&format!(
        "{base}[[axis]]\nkey = \"train.max_steps\"\nvalues = [4, \"ten\"]\n"
    ));
    assert!(wrong_type.contains("train.max_steps"), "{wrong_type}");
    let bad_task = spec_err(&format!(
        "{base}[[axis]]\nkey = \"task\"\nvalues = [\"E\"]\n"
    ));
    assert!(bad_task.contains("task"), "{bad_task}");
    let zip = spec_err(&format!(
        "combine = \"zip\"\n{base}[[axis]]\nkey = \"seed\"\nvalues = [0, 1]\n\
         [[axis]]\nkey = \"task\"\nvalues = [\"A\"]\n"
    ));
    assert!(zip.contains("equal lengths"), "{zip}");
    let repeated = spec_err(&format!(
        "{base}[[axis]]\nkey = \"seed\"\nvalues = [3, 3]\n"
    ));
    assert!(repeated.contains("same run config"), "{repeated}");
    let unknown_top = spec_err(&format!("jobs = 2\n{base}"));
    assert!(unknown_top.contains("jobs"), "{unknown_top}");
    let steps = spec_err(&format!("steps = [\"eval\"]\n{base}"));
    assert!(steps.contains("steps"), "{steps}");
}

#[test]
fn plan_is_the_product_with_ids_from_the_config_alone() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SweepSpec::from_file(&write_spec(dir.path(), TINY_SPEC)).unwrap();
    let points = plan(&spec).unwrap();
    let got: Vec<(Task, u64)> = points.iter().map(|p| (p.cfg.task, p.cfg.seed)).collect();
    let want = vec![(Task::A, 0), (Task::A, 1), (Task::B, 0), (Task::B, 1)];
    assert_eq!(got, want, "the last axis varies fastest");
    assert!(points.iter().all(|p| p.cfg.train.max_steps == 6));
    // the same configs listed in another order get the same ids
    let swapped = TINY_SPEC.replace("[\"A\", \"B\"]", "[\"B\", \"A\"]");
    let spec2 = SweepSpec::from_toml(&swapped, Path::new("swapped.toml")).unwrap();
    let mut a: Vec<String> = points.iter().map(|p| p.id.clone()).collect();
    let mut b: Vec<String> = plan(&spec2).unwrap().into_iter().map(|p| p.id).collect();
    assert_ne!(a, b, "the order differs");
    a.sort();
    b.sort();
    assert_eq!(a, b);
    a.dedup();
    assert_eq!(a.len(), 4);
    assert_eq!(array_ranges(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
    assert_eq!(array_ranges(&[4]), "4");
}

#[test]
fn local_sweep_skips_finished_points_and_resumes_interrupted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec_path = write_spec(d, TINY_SPEC);
    let spec = SweepSpec::from_file(&spec_path).unwrap();
    let points = plan(&spec).unwrap();

    // straight through, two points at a time
    ok(
        d,
        &[
            "sweep",
            "run",
            "spec.toml",
            "--out",
            "straight",
            "--jobs",
            "2",
        ],
    );
    ok(d, &["sweep", "collect", "spec.toml", "--out", "straight"]);
    let straight = table(&d.join("straight"));
    assert_eq!(straight.points.len(), 4);
    assert!(straight.unfinished.is_empty());
    for p in &straight.points {
        assert_eq!(p.train_steps, 6);
        let e = p.eval.as_ref().expect("evaluated");
        assert_eq!(e.n, 6);
        assert_eq!(p.samples_sha256.as_ref().map(String::len), Some(64));
    }

    // another folder: point 0 finished, point 1 stopped after 5 steps (newest checkpoint: 4)
    let layout = SweepLayout::new(d.join("resumed"));
    ok(
        d,
        &[
            "sweep",
            "run-one",
            "spec.toml",
            "--out",
            "resumed",
            "--index",
            "0",
        ],
    );
    let run1 = RunDir::create(&layout.point(&points[1].id)).unwrap();
    let opts = TrainRunOptions {
        quiet: true,
        stop_at: Some(5),
        ..Default::default()
    };
    train_run::<CpuAutodiff>(&points[1].cfg, &run1, &opts, &Default::default()).unwrap();
    assert_eq!(run1.latest_checkpoint().map(|(s, _)| s), Some(4));
    let status = ok(d, &["sweep", "status", "spec.toml", "--out", "resumed"]);
    assert!(
        status.contains("1 done, 0 failed, 1 started, 2 pending"),
        "{status}"
    );
    let out = ok(d, &["sweep", "run", "spec.toml", "--out", "resumed"]);
    assert!(
        out.contains("3 points ran, 1 already done, 0 failed"),
        "{out}"
    );
    ok(d, &["sweep", "collect", "spec.toml", "--out", "resumed"]);
    assert_eq!(
        numbers(table(&d.join("resumed"))),
        numbers(straight.clone())
    );

    // nothing left: a rerun does nothing, the Slurm script says so
    let out = ok(d, &["sweep", "run", "spec.toml", "--out", "resumed"]);
    assert!(out.contains("0 points ran, 4 already done"), "{out}");
    let out = ok(d, &["sweep", "slurm", "spec.toml", "--out", "resumed"]);
    assert!(out.contains("nothing to submit"), "{out}");

    // one point lost: the script's array lists only it
    std::fs::remove_file(layout.record(&points[2].id)).unwrap();
    let out = ok(
        d,
        &[
            "sweep",
            "slurm",
            "spec.toml",
            "--out",
            "resumed",
            "--cpus",
            "1",
            "--gpus",
            "1",
        ],
    );
    assert!(out.contains("1 of 4 points"), "{out}");
    let script = std::fs::read_to_string(layout.sbatch_script("tiny-grid")).unwrap();
    assert!(script.contains("#SBATCH --array=2\n"), "{script}");
    assert!(script.contains("#SBATCH --gres=gpu:1\n"), "{script}");
    assert!(
        script.contains("--index \"$SLURM_ARRAY_TASK_ID\""),
        "{script}"
    );
}

#[test]
fn a_failed_point_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(
        d,
        "[base]\npreset = \"tiny\"\ntrain.max_steps = 2\nsample.n = 2\nsample.batch_size = 2\n\
         [[axis]]\nkey = \"train.init_from\"\nvalues = [\"\", \"missing.ckpt\"]\n",
    );
    let o = run(d, &["sweep", "run", "spec.toml", "--out", "s"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("1 of 2 points failed"), "{err}");
    assert!(err.contains("missing.ckpt"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let status = ok(d, &["sweep", "status", "spec.toml", "--out", "s"]);
    assert!(status.contains("1 done, 1 failed"), "{status}");
}

fn slurm_answers() -> bool {
    Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn slurm_job_array_equals_the_local_run() {
    if !slurm_answers() {
        assert!(
            std::env::var_os("HIDDEN_RULES_REQUIRE_SLURM").is_none(),
            "HIDDEN_RULES_REQUIRE_SLURM is set but no Slurm cluster answers `sinfo`"
        );
        eprintln!(
            "skipped: no Slurm cluster answers `sinfo` (bring one up with \
             `bash scripts/slurm/up.sh`, as .ci/run does)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(d, TINY_SPEC);
    ok(d, &["sweep", "run", "spec.toml", "--out", "local"]);
    ok(d, &["sweep", "collect", "spec.toml", "--out", "local"]);
    ok(
        d,
        &[
            "sweep",
            "slurm",
            "spec.toml",
            "--out",
            "cluster",
            "--cpus",
            "1",
            "--time",
            "00:10:00",
        ],
    );
    let script = d.join("cluster/slurm/tiny-grid.sbatch");
    let mut child = Command::new("sbatch")
        .arg("--wait")
        .arg(&script)
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sbatch starts");
    // a cluster whose node is down would keep the array pending forever: give it 10 minutes
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = Command::new("scancel")
                .args(["--name", "tiny-grid"])
                .status();
            let _ = child.kill();
            let queue = Command::new("squeue")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default();
            panic!(
                "the job array did not finish within 10 minutes:\n{}",
                String::from_utf8_lossy(&queue)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let o = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "sbatch --wait failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    ok(d, &["sweep", "collect", "spec.toml", "--out", "cluster"]);
    let cluster = table(&d.join("cluster"));
    assert_eq!(
        cluster.points.len(),
        4,
        "every array element finished its point"
    );
    assert_eq!(numbers(cluster), numbers(table(&d.join("local"))));
}

#[test]
fn shipped_specs_plan() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sweeps");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let spec = SweepSpec::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let points = plan(&spec).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(points.len() >= 2, "{}", p.display());
            assert_eq!(
                Some(spec.name.as_str()),
                p.file_stem().and_then(|s| s.to_str()),
                "a shipped spec is named after its file"
            );
            n += 1;
        }
    }
    assert!(n >= 8, "{n} specs in {}", dir.display());
}
