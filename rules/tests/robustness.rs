//! Bad input never panics: arbitrary pixel buffers, blank, noise, wrong size, grayscale,
//! 16-bit and corrupt files; I/O round trips; determinism; the CLI end to end.
use empirical_rules::cli::{run_data, run_eval, DataArgs, EvalArgs, KindArg};
use empirical_rules::eval::evaluate_image;
use empirical_rules::*;
use image::{ImageBuffer, Luma, Rgb, RgbImage};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, rng_seed: proptest::test_runner::RngSeed::Fixed(4), ..ProptestConfig::default() })]
    #[test]
    fn arbitrary_pixels_never_panic(w in 1u32..40, h in 1u32..40, seed in any::<u64>(), task in 0usize..4, loose in any::<bool>()) {
        let mut state = seed | 1;
        let img = RgbImage::from_fn(w, h, |_, _| {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        });
        let cfg = EvalConfig { ranges: if loose { color::RangeSet::Loose } else { color::RangeSet::Strict }, ..EvalConfig::default() };
        let r = evaluate_image(Task::ALL[task], &img, &cfg, 0, None);
        prop_assert!(r.valid || r.reason.as_deref().is_some_and(|s| !s.trim().is_empty()));
        prop_assert!(r.valid || r.failures.first().is_some_and(|f| !f.label().is_empty()));
        if r.valid { prop_assert!(r.x.unwrap().is_finite() && r.y.unwrap().is_finite()); }
    }

    #[test]
    fn noisy_training_images_never_panic(i in 0usize..50, amp in 0u8..80, task in 0usize..4) {
        let task = Task::ALL[task];
        let ds = generate(&GenConfig { task, n: 50, size: 32, seed: 9, kind: Kind::Train }).unwrap();
        let mut img = ds.images[i].clone();
        let mut s = (i as u64 + 1).wrapping_mul(0x9E3779B97F4A7C15);
        for p in img.pixels_mut() { for c in 0..3 {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            let d = (s % (2 * amp as u64 + 1)) as i32 - amp as i32;
            p[c] = (p[c] as i32 + d).clamp(0, 255) as u8;
        } }
        let r = evaluate_image(task, &img, &EvalConfig { ranges: color::RangeSet::Loose, strict_count: i % 2 == 0, ..EvalConfig::default() }, 0, None);
        prop_assert!(r.valid || r.reason.as_deref().is_some_and(|s| !s.trim().is_empty()));
    }
}

#[test]
fn blank_wrong_size_and_tiny_images_are_invalid_with_reasons() {
    let cfg = EvalConfig::default();
    let blank = RgbImage::from_pixel(32, 32, Rgb([255, 255, 255]));
    let r = evaluate_image(Task::A, &blank, &cfg, 0, None);
    assert!(
        !r.valid && r.reason.as_deref().unwrap().starts_with("missing"),
        "{:?}",
        r.reason
    );
    let r = evaluate_image(Task::B, &RgbImage::new(31, 32), &cfg, 0, None);
    assert!(r.reason.unwrap().contains("non-square"));
    let r = evaluate_image(Task::C, &RgbImage::new(4, 4), &cfg, 0, None);
    assert!(r.reason.unwrap().contains("too small"));
    let empty = evaluate(Task::D, &[], &cfg).unwrap();
    assert_eq!(empty.summary.n, 0);
    assert!(empty.summary.eq4.is_none());
}

#[test]
fn other_sizes_are_evaluated() {
    for size in [16u32, 64] {
        let ds = generate(&GenConfig {
            task: Task::D,
            n: 30,
            size,
            seed: 1,
            kind: Kind::Train,
        })
        .unwrap();
        let s = evaluate(Task::D, &ds.images, &EvalConfig::default())
            .unwrap()
            .summary;
        assert_eq!(s.n_valid, 30, "size {size}");
        assert!((s.eq4_by_trim[0].eq4.unwrap().fit.beta1 - 1.5).abs() < 0.01);
    }
}

#[test]
fn generation_is_deterministic_and_files_round_trip() {
    let cfg = GenConfig {
        task: Task::A,
        n: 12,
        size: 32,
        seed: 5,
        kind: Kind::Train,
    };
    let a = generate(&cfg).unwrap();
    let b = generate(&cfg).unwrap();
    assert_eq!(a.images, b.images);
    assert_eq!(a.records, b.records);
    let c = generate(&GenConfig { seed: 6, ..cfg }).unwrap();
    assert_ne!(a.images, c.images);
    let dir = tempfile::tempdir().unwrap();
    a.write_dir(dir.path()).unwrap();
    assert_eq!(load_images(dir.path()).unwrap(), a.images);
    assert_eq!(
        load_images(&dir.path().join("images.npy")).unwrap(),
        a.images
    );
    let manifest = std::fs::read_to_string(dir.path().join("manifest.csv")).unwrap();
    assert!(manifest
        .starts_with("file,index,task,kind,class,size,l1,l2,h1,h2,x,y,ratio,coarse_ok,sun_r"));
    assert_eq!(manifest.lines().count(), 13);
}

#[test]
fn odd_files_are_decoded_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let ds = generate(&GenConfig {
        task: Task::C,
        n: 1,
        size: 32,
        seed: 2,
        kind: Kind::Train,
    })
    .unwrap();
    // 16-bit copy of a valid image, grayscale image, corrupt file, wrong-size image
    let img16: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(32, 32, |x, y| {
        let q = ds.images[0].get_pixel(x, y);
        Rgb([q[0] as u16 * 257, q[1] as u16 * 257, q[2] as u16 * 257])
    });
    img16.save(p.join("a_16bit.png")).unwrap();
    ImageBuffer::<Luma<u8>, Vec<u8>>::from_pixel(32, 32, Luma([90]))
        .save(p.join("b_gray.png"))
        .unwrap();
    std::fs::write(p.join("c_corrupt.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    RgbImage::new(20, 33)
        .save(p.join("d_wrongsize.png"))
        .unwrap();
    assert!(
        load_images(p).is_err(),
        "strict loading must reject the corrupt file"
    );
    let loaded = load_images_lenient(p).unwrap();
    let rep = eval::evaluate_loaded(Task::C, &loaded, &EvalConfig::default(), None).unwrap();
    let v: Vec<(bool, Option<String>)> = rep
        .per_image
        .iter()
        .map(|r| (r.valid, r.reason.clone()))
        .collect();
    assert!(v[0].0, "16-bit image should evaluate: {:?}", v[0]);
    assert!(!v[1].0 && v[1].1.as_deref().unwrap().starts_with("missing"));
    assert!(v[2].1.as_deref().unwrap().starts_with("decode error"));
    assert!(v[3].1.as_deref().unwrap().contains("non-square"));
    assert_eq!(rep.summary.n, 4);
    // bad npy
    std::fs::write(p.join("bad.npy"), b"garbage").unwrap();
    assert!(load_images(&p.join("bad.npy")).is_err());
    assert!(load_images(&p.join("missing_dir")).is_err());
}

#[test]
fn bad_parameters_are_errors() {
    assert!(generate(&GenConfig {
        task: Task::C,
        n: 3,
        size: 32,
        seed: 0,
        kind: Kind::Contrastive { delta: 0.5 }
    })
    .is_err());
    assert!(generate(&GenConfig {
        task: Task::A,
        n: 3,
        size: 2,
        seed: 0,
        kind: Kind::Train
    })
    .is_err());
    assert!(evaluate(
        Task::A,
        &[],
        &EvalConfig {
            a_min: 0.0,
            ..EvalConfig::default()
        }
    )
    .is_err());
    assert!(try_from_chw_f32(&[0.0; 5], 1, 2).is_err());
}

#[test]
fn cli_data_then_eval_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_data(&DataArgs {
        task: Task::B,
        n: 40,
        size: 32,
        seed: 3,
        out: data.clone(),
        kind: KindArg::Train,
        delta: 0.1,
    })
    .unwrap();
    let out = dir.path().join("eval/results.json");
    let args = EvalArgs {
        task: Task::B,
        samples: data.join("images.npy"),
        train: Some(data.clone()),
        out: out.clone(),
        csv: None,
        ranges: color::RangeSet::Strict,
        upscale: 0,
        a_min: 0.1,
        trim: eval::TrimVariant::PerCoordinate,
        strict_count: false,
        coarse_min_premise_px: 1.0,
    };
    run_eval(&args).unwrap();
    let rep: EvalReport = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(rep.summary.task, "B");
    assert!(rep.summary.eq4.is_some());
    let nn = rep.summary.nn.unwrap();
    // samples == training set: every valid sample is its own nearest neighbour
    assert!(nn.all_4d.unwrap().max < 1e-9);
    let csv = std::fs::read_to_string(dir.path().join("eval/per_image.csv")).unwrap();
    assert_eq!(csv.lines().count(), 41);
    // bad task -> error naming the valid tasks
    assert!("Z"
        .parse::<Task>()
        .unwrap_err()
        .to_string()
        .contains("A, B, C, D"));
}
