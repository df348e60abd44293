//! Bad input to `data` and `eval`: lying or truncated `.npy` headers, stale and foreign files in
//! folders, preview grids beside samples, floats outside the model's range, empty sets and
//! temporaries left by an interrupted run. Every case is a clear error or an exact answer,
//! never an abort, a panic or a silently wrong count.
use empirical_rules::cli::{run_data, DataArgs, KindArg};
use empirical_rules::io::write_npy_u8;
use empirical_rules::*;
use image::{Rgb, RgbImage};
use ndarray::{Array3, Array4, ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_empirical-rules");

fn data_args(task: Task, n: usize, out: &Path) -> DataArgs {
    DataArgs {
        task,
        n,
        size: 32,
        seed: 3,
        out: out.to_path_buf(),
        kind: KindArg::Train,
        delta: 0.1,
    }
}

fn images(task: Task, n: usize) -> Vec<RgbImage> {
    generate(&GenConfig {
        task,
        n,
        size: 32,
        seed: 11,
        kind: Kind::Train,
    })
    .unwrap()
    .images
}

/// A `.npy` header (format 1.0) for `descr` and `shape`, padded to a multiple of 64 bytes.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Run `empirical-rules eval --task T --samples S --out DIR/results.json`.
fn eval_cli(task: &str, samples: &Path, dir: &Path) -> Output {
    Command::new(BIN)
        .args(["eval", "--task", task, "--samples"])
        .arg(samples)
        .arg("--out")
        .arg(dir.join("results.json"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Image lists are compared without printing their pixels.
fn same(a: &[RgbImage], b: &[RgbImage]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn write_f32_npy(path: &Path, shape: &[usize], values: Vec<f32>) {
    let a = ArrayD::from_shape_vec(IxDyn(shape), values).unwrap();
    a.write_npy(std::fs::File::create(path).unwrap()).unwrap();
}

/// `images` as f32 in [-1, 1] (`v / 127.5 - 1`), N x H x W x 3.
fn as_model_floats(imgs: &[RgbImage]) -> (Vec<usize>, Vec<f32>) {
    let (w, h) = imgs[0].dimensions();
    let v = imgs
        .iter()
        .flat_map(|i| i.as_raw().iter().map(|&u| u as f32 / 127.5 - 1.0))
        .collect();
    (vec![imgs.len(), h as usize, w as usize, 3], v)
}

// ---- .npy headers and sizes -------------------------------------------------------------

#[test]
fn npy_header_claiming_terabytes_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.npy");
    let mut bytes = npy_header("|u1", &[100_000_000, 1024, 1024, 3]);
    bytes.extend_from_slice(&[0u8; 65]);
    std::fs::write(&p, &bytes).unwrap();
    let o = eval_cli("A", &p, dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "killed or wrong code: {o:?}");
    assert!(
        err.contains("huge.npy") && err.contains("truncated"),
        "{err}"
    );
    assert!(!dir.path().join("results.json").exists());
}

#[test]
fn truncated_npy_reports_its_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.npy");
    write_npy_u8(&p, &images(Task::C, 2)).unwrap();
    let full = std::fs::read(&p).unwrap();
    std::fs::write(&p, &full[..full.len() - 100]).unwrap();
    let e = load_images(&p).unwrap_err().to_string();
    let msg = format!(
        "file truncated: expected {} bytes, found {}",
        full.len(),
        full.len() - 100
    );
    assert!(e.contains(&msg), "{e}");
    // the same for a float file
    let (shape, v) = as_model_floats(&images(Task::C, 2));
    write_f32_npy(&p, &shape, v);
    let full = std::fs::read(&p).unwrap();
    std::fs::write(&p, &full[..full.len() - 7]).unwrap();
    let e = load_images(&p).unwrap_err().to_string();
    assert!(e.contains("file truncated: expected"), "{e}");
    assert!(!e.contains("dtype"), "{e}");
}

#[test]
fn empty_npy_is_an_error_like_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.npy");
    Array4::<u8>::zeros((0, 32, 32, 3))
        .write_npy(std::fs::File::create(&p).unwrap())
        .unwrap();
    let e = load_images(&p).unwrap_err().to_string();
    assert!(e.contains("no images"), "{e}");
    let o = eval_cli("A", &p, dir.path());
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let empty = dir.path().join("empty_dir");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(eval_cli("A", &empty, dir.path()).status.code(), Some(1));
}

// ---- float ranges -----------------------------------------------------------------------

#[test]
fn floats_in_0_255_are_an_error_not_missing_suns() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f255.npy");
    let imgs = images(Task::A, 3);
    let (shape, _) = as_model_floats(&imgs);
    let v: Vec<f32> = imgs
        .iter()
        .flat_map(|i| i.as_raw().iter().map(|&u| u as f32))
        .collect();
    write_f32_npy(&p, &shape, v);
    let e = load_images(&p).unwrap_err().to_string();
    assert!(e.contains("[-1, 1]") && e.contains("255"), "{e}");
    let o = eval_cli("A", &p, dir.path());
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(!dir.path().join("results.json").exists());
}

#[test]
fn model_floats_give_the_u8_images_and_the_range_is_stated() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = images(Task::A, 4);
    let (shape, v) = as_model_floats(&imgs);
    let p = dir.path().join("model.npy");
    write_f32_npy(&p, &shape, v.clone());
    assert!(same(&load_images(&p).unwrap(), &imgs));
    let o = eval_cli("A", &p, dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("[-1, 1]"), "{out}");
    // a sampler's tiny overshoot is clamped, and said so
    let mut v2 = v;
    v2[0] = 1.0004;
    v2[1] = -1.0007;
    let p2 = dir.path().join("overshoot.npy");
    write_f32_npy(&p2, &shape, v2);
    assert_eq!(load_images(&p2).unwrap()[0].get_pixel(0, 0)[0], 255);
    let o = eval_cli("A", &p2, dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("clamped 2 values"), "{out}");
    // beyond the tolerance: an error naming the range found
    let mut v3 = as_model_floats(&imgs).1;
    v3[5] = 1.2;
    write_f32_npy(&p2, &shape, v3);
    let e = load_images(&p2).unwrap_err().to_string();
    assert!(e.contains("1.2"), "{e}");
}

#[test]
fn unit_floats_are_read_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = images(Task::D, 3);
    let (shape, _) = as_model_floats(&imgs);
    let v: Vec<f32> = imgs
        .iter()
        .flat_map(|i| i.as_raw().iter().map(|&u| u as f32 / 255.0))
        .collect();
    let p = dir.path().join("unit.npy");
    write_f32_npy(&p, &shape, v);
    assert!(same(&load_images(&p).unwrap(), &imgs));
    let o = eval_cli("D", &p, dir.path());
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("[0, 1]"), "{out}");
}

// ---- folders ----------------------------------------------------------------------------

#[test]
fn data_into_a_previous_data_folder_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    run_data(&data_args(Task::A, 20, &r)).unwrap();
    run_data(&data_args(Task::B, 5, &r)).unwrap();
    let loaded = load_images_lenient(&r).unwrap();
    assert_eq!(loaded.len(), 5, "stale images mixed in");
    let mut want: Vec<String> = (0..5).map(|i| format!("{i:06}.png")).collect();
    want.push("images.npy".into());
    want.push("manifest.csv".into());
    want.sort();
    assert_eq!(entries(&r), want);
    // no temporaries left beside it
    assert_eq!(entries(dir.path()), vec!["r".to_string()]);
}

#[test]
fn data_refuses_a_folder_with_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("mine");
    std::fs::create_dir(&r).unwrap();
    std::fs::write(r.join("notes.txt"), b"keep me").unwrap();
    let e = run_data(&data_args(Task::A, 4, &r))
        .unwrap_err()
        .to_string();
    assert!(e.contains("mine") && e.contains("not empty"), "{e}");
    assert_eq!(entries(&r), vec!["notes.txt".to_string()]);
    // a folder of PNGs without a manifest (an interrupted run, or someone's samples)
    let s = dir.path().join("partial");
    std::fs::create_dir(&s).unwrap();
    for (i, img) in images(Task::A, 30).iter().enumerate() {
        img.save(s.join(format!("{i:06}.png"))).unwrap();
    }
    match run_data(&data_args(Task::A, 10, &s)) {
        Err(e) => assert!(e.to_string().contains("partial"), "{e}"),
        Ok(()) => assert_eq!(load_images_lenient(&s).unwrap().len(), 10),
    }
    // the CLI exits non-zero with the message
    let o = Command::new(BIN)
        .args(["data", "--task", "A", "--n", "3", "--out"])
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("not empty"));
}

#[test]
fn data_with_zero_images_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("zero");
    let e = run_data(&data_args(Task::A, 0, &r)).unwrap_err();
    assert!(matches!(e, Error::Param { name: "n", .. }), "{e}");
    assert!(!r.exists());
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn temporaries_of_an_interrupted_run_are_removed_or_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r");
    run_data(&data_args(Task::C, 6, &r)).unwrap();
    // what an interrupted write leaves: a temp file inside, and a partial sibling folder
    std::fs::write(r.join(".tmpAbC123"), b"half").unwrap();
    let sib = dir.path().join(".r.partial-99999-1");
    std::fs::create_dir(&sib).unwrap();
    std::fs::write(sib.join("000000.png"), b"half").unwrap();
    // eval ignores the temp file
    assert_eq!(load_images_lenient(&r).unwrap().len(), 6);
    // a rerun removes both
    run_data(&data_args(Task::C, 6, &r)).unwrap();
    assert!(
        !entries(&r).iter().any(|n| n.starts_with('.')),
        "{:?}",
        entries(&r)
    );
    assert_eq!(entries(dir.path()), vec!["r".to_string()]);
}

#[test]
fn preview_grid_beside_samples_is_not_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("S");
    std::fs::create_dir(&s).unwrap();
    let imgs = images(Task::A, 16);
    // what `empirical sample` writes: PNGs, samples.npy, and a preview grid
    for (i, img) in imgs.iter().enumerate() {
        img.save(s.join(format!("{i:06}.png"))).unwrap();
    }
    write_npy_u8(&s.join("samples.npy"), &imgs).unwrap();
    RgbImage::from_pixel(8 * 34 + 2, 2 * 34 + 2, Rgb([255, 255, 255]))
        .save(s.join("grid.png"))
        .unwrap();
    // and a stale PNG of an earlier, larger run
    imgs[0].save(s.join("000016.png")).unwrap();
    let loaded = load_images(&s).unwrap();
    assert_eq!(loaded.len(), 16);
    assert!(same(&loaded, &imgs));
    let o = eval_cli("A", &s, dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("samples.npy") && out.contains("ignored 2 files"),
        "{out}"
    );
    assert!(out.contains("000016.png, grid.png"), "{out}");
    // PNGs only (no list): the grid is skipped by name, and the CLI says so
    let p = dir.path().join("P");
    std::fs::create_dir(&p).unwrap();
    for (i, img) in imgs.iter().enumerate() {
        img.save(p.join(format!("{i:06}.png"))).unwrap();
    }
    for name in ["grid.png", "samples_grid.png"] {
        RgbImage::from_pixel(50, 50, Rgb([255, 255, 255]))
            .save(p.join(name))
            .unwrap();
    }
    assert!(same(&load_images(&p).unwrap(), &imgs));
    let o = eval_cli("A", &p, dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("16 images"), "{out}");
    assert!(out.contains("ignored 2 files"), "{out}");
    let rep: EvalReport =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(rep.summary.n, 16);
}

#[test]
fn data_folder_is_read_through_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("d");
    run_data(&data_args(Task::B, 7, &r)).unwrap();
    let want = generate(&GenConfig {
        task: Task::B,
        n: 7,
        size: 32,
        seed: 3,
        kind: Kind::Train,
    })
    .unwrap()
    .images;
    // evaluating it as another task is allowed, with a warning
    let o = eval_cli("A", &r, dir.path());
    assert!(o.status.success());
    assert!(text(&o).1.contains("records task B"), "{:?}", text(&o));
    // an extra PNG dropped in later is not part of the set
    want[0].save(r.join("zz_extra.png")).unwrap();
    let got = load_images(&r).unwrap();
    assert_eq!(got.len(), 7);
    assert!(same(&got, &want));
    // a manifest naming a missing file is an error naming it
    std::fs::remove_file(r.join("000003.png")).unwrap();
    let e = load_images(&r).unwrap_err().to_string();
    assert!(e.contains("000003.png"), "{e}");
    // a manifest beside images.npy only (how the `empirical` crate records training data)
    let m = dir.path().join("m");
    std::fs::create_dir(&m).unwrap();
    std::fs::copy(r.join("manifest.csv"), m.join("manifest.csv")).unwrap();
    std::fs::copy(r.join("images.npy"), m.join("images.npy")).unwrap();
    let got = load_images(&m).unwrap();
    assert!(same(&got, &want), "{} images", got.len());
}

#[test]
fn fortran_order_and_big_endian_npy_read_like_c_order() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = images(Task::B, 3);
    let (n, h, w) = (3usize, 32usize, 32usize);
    let at = |k: usize, y: usize, x: usize, c: usize| imgs[k].get_pixel(x as u32, y as u32)[c];
    use ndarray::ShapeBuilder;
    let f = Array4::from_shape_fn((n, h, w, 3).f(), |(k, y, x, c)| at(k, y, x, c));
    let p = dir.path().join("f.npy");
    f.write_npy(std::fs::File::create(&p).unwrap()).unwrap();
    let head = std::fs::read(&p).unwrap();
    assert!(String::from_utf8_lossy(&head[..128]).contains("'fortran_order': True"));
    assert!(same(&load_images(&p).unwrap(), &imgs));
    // big-endian float32 in [-1, 1]
    let mut bytes = npy_header(">f4", &[n, h, w, 3]);
    for img in &imgs {
        for &u in img.as_raw() {
            bytes.extend_from_slice(&(u as f32 / 127.5 - 1.0).to_be_bytes());
        }
    }
    let p = dir.path().join("be.npy");
    std::fs::write(&p, &bytes).unwrap();
    assert!(same(&load_images(&p).unwrap(), &imgs));
    // grayscale N x H x W
    let g = Array3::from_shape_fn((2, 8, 8), |(k, y, x)| (k * 100 + y * 8 + x) as u8);
    let p = dir.path().join("g.npy");
    g.write_npy(std::fs::File::create(&p).unwrap()).unwrap();
    let got = load_images(&p).unwrap();
    assert_eq!(got[1].get_pixel(3, 2), &Rgb([119, 119, 119]));
    // unsupported dtype and trailing bytes are errors, not guesses
    let mut bytes = npy_header("<i8", &[1, 2, 2, 3]);
    bytes.extend_from_slice(&[0u8; 96]);
    std::fs::write(&p, &bytes).unwrap();
    assert!(load_images(&p).unwrap_err().to_string().contains("'<i8'"));
    let mut bytes = npy_header("|u1", &[1, 2, 2, 3]);
    bytes.extend_from_slice(&[0u8; 13]);
    std::fs::write(&p, &bytes).unwrap();
    assert!(load_images(&p)
        .unwrap_err()
        .to_string()
        .contains("1 bytes after"));
}
