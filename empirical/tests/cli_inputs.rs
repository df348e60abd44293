//! Bad and awkward inputs to the `empirical` binary (tiny preset, a few seconds each): the
//! sample folder's layout as `eval` reads it, failed `train` starts, `--max-steps`, command-line
//! flags against a config file, checkpoint kinds, and file modes under the umask.
use empirical::config::Preset;
use empirical_rules::Task;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use empirical::checkpoint::{Checkpoint, Header, RngState};
use empirical::config::RunConfig;

const BIN: &str = env!("CARGO_BIN_EXE_empirical");

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the empirical binary starts")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run and require success; returns (stdout, stderr).
fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let o = run_in(dir, args);
    let (out, err) = text(&o);
    assert!(
        o.status.success(),
        "{args:?} failed ({:?}):\n{out}\n{err}",
        o.status
    );
    (out, err)
}

/// Run and require failure without a panic; returns (exit code, stderr).
fn fails(dir: &Path, args: &[&str]) -> (i32, String) {
    let o = run_in(dir, args);
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{args:?} succeeded:\n{out}\n{err}");
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    (o.status.code().unwrap_or(-1), err)
}

/// A tiny Task A run of `steps` steps in `dir/name`; returns its newest checkpoint.
fn tiny_run(dir: &Path, name: &str, steps: u64) -> PathBuf {
    let steps = steps.to_string();
    ok(
        dir,
        &[
            "train",
            "--preset",
            "tiny",
            "--max-steps",
            &steps,
            "--out",
            name,
            "-q",
        ],
    );
    let run = empirical::rundir::RunDir::open(&dir.join(name)).unwrap();
    run.latest_checkpoint().expect("a checkpoint").1
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn eval_n(dir: &Path, samples: &str, out: &str) -> u64 {
    ok(
        dir,
        &["eval", "--task", "A", "--samples", samples, "--out", out],
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(out)).unwrap()).unwrap();
    v["summary"]["n"].as_u64().expect("summary.n")
}

#[test]
fn sample_folder_holds_only_the_samples_and_eval_scores_exactly_them() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    tiny_run(dir, "run", 2);
    let (out, _) = ok(
        dir,
        &["sample", "--run", "run", "--n", "16", "--out", "S", "-q"],
    );
    let mut want: Vec<String> = (0..16).map(|i| format!("{i:06}.png")).collect();
    want.push("samples.npy".into());
    assert_eq!(
        names(&dir.join("S")),
        want,
        "the sample folder holds extras"
    );
    // the preview lies beside the folder, and the command says where
    assert!(dir.join("S_grid.png").is_file(), "no preview S_grid.png");
    assert!(out.contains("S_grid.png"), "{out}");
    assert_eq!(eval_n(dir, "S", "e1/results.json"), 16);
    assert_eq!(eval_n(dir, "S/samples.npy", "e2/results.json"), 16);
    // the default output folder of a run: RUN/samples, preview RUN/samples_grid.png
    ok(dir, &["sample", "--run", "run", "--n", "3", "-q"]);
    assert_eq!(
        names(&dir.join("run/samples")),
        ["000000.png", "000001.png", "000002.png", "samples.npy"]
    );
    assert!(dir.join("run/samples_grid.png").is_file());
    assert_eq!(eval_n(dir, "run/samples", "e3/results.json"), 3);
}

#[test]
fn failed_train_starts_leave_no_run_folder_and_the_retry_works() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let other = tiny_run(dir, "other", 2);
    let other = other.to_str().unwrap();
    // a warm start from a checkpoint of another model (32 px instead of 16)
    std::fs::write(dir.join("32px.toml"), "image_size = 32\n").unwrap();
    let (_, err) = fails(
        dir,
        &[
            "train",
            "--preset",
            "tiny",
            "--config",
            "32px.toml",
            "--init",
            other,
            "--out",
            "r1",
            "-q",
        ],
    );
    assert!(err.contains("init_from"), "{err}");
    assert!(!dir.join("r1").exists(), "a failed start left r1 behind");
    // a warm start from a file that is not a checkpoint
    std::fs::write(dir.join("junk.ckpt"), b"not a checkpoint").unwrap();
    fails(
        dir,
        &[
            "train",
            "--preset",
            "tiny",
            "--init",
            "junk.ckpt",
            "--out",
            "r1",
            "-q",
        ],
    );
    assert!(!dir.join("r1").exists());
    // an image size far beyond the bounds: a config error (exit 2) naming the key
    std::fs::write(dir.join("big.toml"), "image_size = 100000\n").unwrap();
    let (code, err) = fails(
        dir,
        &[
            "train", "--preset", "tiny", "--config", "big.toml", "--out", "r1", "-q",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("image_size") && err.contains("100000"),
        "{err}"
    );
    assert!(!dir.join("r1").exists(), "a failed start left r1 behind");
    // a start that fails while training, before its first checkpoint (loss NaN at step 2)
    std::fs::write(
        dir.join("nan.toml"),
        "[train]\nlr = 1e30\n[model]\nactivation = \"silu\"\n",
    )
    .unwrap();
    let (_, err) = fails(
        dir,
        &[
            "train", "--preset", "tiny", "--config", "nan.toml", "--out", "r1", "-q",
        ],
    );
    assert!(err.contains("NaN") || err.contains("inf"), "{err}");
    assert!(!dir.join("r1").exists(), "a failed start left r1 behind");
    // a folder that existed before keeps what it held
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "keep").unwrap();
    fails(
        dir,
        &[
            "train", "--preset", "tiny", "--config", "nan.toml", "--out", "mine", "-q",
        ],
    );
    assert_eq!(names(&dir.join("mine")), ["notes.txt"]);
    // the retry of the same folder works
    ok(
        dir,
        &[
            "train",
            "--preset",
            "tiny",
            "--max-steps",
            "2",
            "--out",
            "r1",
            "-q",
        ],
    );
    assert!(dir.join("r1/checkpoints/step-000000002.ckpt").is_file());
}

#[test]
fn sizes_are_bounded_with_the_key_named() {
    for (text, key) in [
        ("image_size = 100000\n", "image_size"),
        ("image_size = 4\n", "image_size"),
        ("[data]\nn_train = 100000000\n", "data.n_train"),
        (
            "image_size = 512\n[data]\nn_train = 100000\n",
            "data.n_train",
        ),
        ("[sample]\nn = 100000000\n", "sample.n"),
        ("[sample]\nbatch_size = 10000000\n", "sample.batch_size"),
        ("[train]\nbatch_size = 10000000\n", "train.batch_size"),
        (
            "[train]\nmax_steps = 10000000000000000\n",
            "train.max_steps",
        ),
        ("[model]\nbase_channels = 100000\n", "model.base_channels"),
        ("[model]\nin_channels = 1\n", "model.in_channels"),
        (
            "[model]\nchannel_mults = [1, 2, 4, 8, 16, 32, 64, 128, 256]\n",
            "model.channel_mults",
        ),
        (
            "[model]\nattention_resolutions = [128]\n",
            "attention_resolutions",
        ),
        ("[diffusion]\ntimesteps = 10000000\n", "diffusion.timesteps"),
    ] {
        let err = RunConfig::from_overlay(Preset::Tiny, Task::A, text, "t.toml").unwrap_err();
        assert!(
            err.to_string().contains(key),
            "{text:?}: `{err}` does not name {key}"
        );
    }
}

#[test]
fn max_steps_beyond_the_epochs_runs_that_many_steps() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // the tiny preset's epochs end at 16 steps
    let (out, err) = ok(
        dir,
        &[
            "train",
            "--preset",
            "tiny",
            "--max-steps",
            "40",
            "--out",
            "r",
            "-q",
        ],
    );
    assert!(out.contains("40 / 40"), "{out}");
    assert!(err.contains("train.epochs raised"), "{err}");
    assert!(dir.join("r/checkpoints/step-000000040.ckpt").is_file());
    // a finished run resumed: no new steps, the last logged loss, no NaN
    let (out, _) = ok(dir, &["train", "--resume", "r", "-q"]);
    assert!(out.contains("no new steps"), "{out}");
    assert!(out.contains("last logged loss"), "{out}");
    assert!(!out.to_lowercase().contains("nan"), "{out}");
    // and continued to more steps
    let (out, _) = ok(dir, &["train", "--resume", "r", "--max-steps", "44", "-q"]);
    assert!(out.contains("trained 4 steps to 44 / 44"), "{out}");
    // the library: epochs raised only when they would stop the run sooner
    let mut cfg = RunConfig::preset(Preset::Tiny, Task::A).unwrap();
    assert_eq!(empirical::train::set_max_steps(&mut cfg, 40), Some(2));
    assert_eq!(empirical::train::total_steps(&cfg, cfg.data.n_train), 40);
    assert_eq!(empirical::train::set_max_steps(&mut cfg, 8), None);
    assert_eq!(empirical::train::total_steps(&cfg, cfg.data.n_train), 8);
}

#[test]
fn command_line_task_and_preset_win_over_the_config_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("f.toml"), "task = \"B\"\npreset = \"cpu\"\n").unwrap();
    let cfg_of = |args: &[&str]| -> RunConfig {
        let mut a = vec!["train", "--print-config"];
        a.extend_from_slice(args);
        let (out, _) = ok(dir, &a);
        RunConfig::from_resolved_toml(&out, "printed").unwrap()
    };
    let c = cfg_of(&["--task", "C", "--preset", "tiny", "--config", "f.toml"]);
    assert_eq!((c.task, c.preset), (Task::C, Preset::Tiny));
    assert_eq!(c.image_size, 16, "the tiny preset's values");
    let c = cfg_of(&["--task", "d", "--config", "f.toml"]);
    assert_eq!((c.task, c.preset), (Task::D, Preset::Cpu));
    // not given on the command line: the file's values, else the defaults
    let c = cfg_of(&["--config", "f.toml"]);
    assert_eq!((c.task, c.preset), (Task::B, Preset::Cpu));
    let c = cfg_of(&[]);
    assert_eq!((c.task, c.preset), (Task::A, Preset::Cpu));
    // the file's values must still be valid
    std::fs::write(dir.join("bad.toml"), "task = \"E\"\n").unwrap();
    let (code, err) = fails(
        dir,
        &[
            "train",
            "--print-config",
            "--task",
            "A",
            "--config",
            "bad.toml",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("task"), "{err}");
    // the library agrees, and the help says so
    let c = RunConfig::from_overlay(
        Preset::Tiny,
        Task::C,
        "task = \"B\"\npreset = \"cpu\"\n",
        "t",
    )
    .unwrap();
    assert_eq!((c.task, c.preset), (Task::C, Preset::Tiny));
    let (help, _) = ok(dir, &["train", "--help"]);
    assert!(help.contains("wins over the config file"), "{help}");
}

/// A classifier checkpoint as `empirical classifier train` writes one (header only matters).
fn classifier_checkpoint(path: &Path) {
    let cfg = empirical::classifier::config::ClassifierConfig::preset(
        Preset::Tiny,
        Task::A,
        empirical::classifier::config::Arch::Mlp,
        true,
    )
    .unwrap();
    Checkpoint {
        header: Header {
            format: 1,
            step: 0,
            config: cfg.to_toml().unwrap(),
            rng: RngState {
                seed: 0,
                scheme: "test".into(),
                next_step: 0,
            },
            shapes: vec![vec![2]],
            groups: vec!["params".into()],
            checksum: 0,
            train_seconds: 0.0,
        },
        data: vec![vec![vec![0.0, 0.0]]],
    }
    .save(path)
    .unwrap();
}

#[test]
fn checkpoint_kinds_are_named_when_swapped() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let ddpm = tiny_run(dir, "run", 2);
    let ddpm = ddpm.to_str().unwrap();
    classifier_checkpoint(&dir.join("clf.ckpt"));
    // a DDPM checkpoint (or run directory) as the guidance classifier
    for g in [ddpm, "run"] {
        let (_, err) = fails(
            dir,
            &[
                "sample",
                "--run",
                "run",
                "--guidance",
                g,
                "--n",
                "2",
                "--out",
                "s",
                "-q",
            ],
        );
        assert!(
            err.contains("DDPM") && err.contains("not a classifier"),
            "{g}: {err}"
        );
        assert!(!err.contains("parse"), "{err}");
    }
    // ... and as the filtering classifier
    let (_, err) = fails(
        dir,
        &[
            "filter",
            "--classifier",
            ddpm,
            "--samples",
            "run",
            "--out",
            "f",
        ],
    );
    assert!(
        err.contains("DDPM") && err.contains("not a classifier"),
        "filter: {err}"
    );
    assert!(!dir.join("f").exists());
    // a classifier checkpoint as the DDPM
    for args in [
        &[
            "sample",
            "--checkpoint",
            "clf.ckpt",
            "--n",
            "2",
            "--out",
            "s",
            "-q",
        ][..],
        &["diagnose", "--checkpoint", "clf.ckpt"][..],
        &[
            "train", "--preset", "tiny", "--init", "clf.ckpt", "--out", "w", "-q",
        ][..],
    ] {
        let (_, err) = fails(dir, args);
        assert!(
            err.contains("classifier checkpoint") && err.contains("not a DDPM"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("parse"), "{err}");
    }
    // a classifier run directory as the DDPM run
    std::fs::create_dir(dir.join("clfrun")).unwrap();
    let ccfg = empirical::classifier::config::ClassifierConfig::preset(
        Preset::Tiny,
        Task::A,
        empirical::classifier::config::Arch::Mlp,
        true,
    )
    .unwrap();
    std::fs::write(dir.join("clfrun/config.toml"), ccfg.to_toml().unwrap()).unwrap();
    let (_, err) = fails(dir, &["sample", "--run", "clfrun", "--n", "2", "-q"]);
    assert!(err.contains("classifier run directory"), "{err}");
    assert_eq!(names(&dir.join("clfrun")), ["config.toml"]);
    assert!(!dir.join("s").exists() && !dir.join("w").exists());
    // the library says so too
    let device = Default::default();
    let e = match empirical::pipeline::model_from_checkpoint::<empirical::backend::Cpu>(
        &dir.join("clf.ckpt"),
        false,
        &device,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a classifier checkpoint loaded as a DDPM"),
    };
    assert!(e.contains("classifier checkpoint"), "{e}");
}

#[cfg(unix)]
#[test]
fn written_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for (umask, mode) in [("077", 0o600), ("022", 0o644)] {
        let script = format!(
            "umask {umask} && \"$0\" train --preset tiny --max-steps 2 --out r{umask} -q && \
             \"$0\" sample --run r{umask} --n 2 -q && \
             \"$0\" export --from r{umask} --out r{umask}/export.ckpt"
        );
        let o = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(BIN)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut all = Vec::new();
        files(&dir.join(format!("r{umask}")), &mut all);
        // config, run.json, metrics, checkpoint, data, samples, npy, preview, export
        assert!(all.len() >= 10, "{all:?}");
        for p in &all {
            let m = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{} is {m:o} under umask {umask}", p.display());
        }
    }
}

#[test]
fn task_lists_parse_all_and_comma_lists_and_name_unknown_tasks() {
    use empirical::config::TaskList;
    assert_eq!("all".parse::<TaskList>().unwrap().0, Task::ALL.to_vec());
    assert_eq!(
        " a, C".parse::<TaskList>().unwrap().0,
        vec![Task::A, Task::C]
    );
    let e = "A,E".parse::<TaskList>().unwrap_err();
    assert!(e.contains("`E`"), "{e}");
    assert!("".parse::<TaskList>().is_err());
}
