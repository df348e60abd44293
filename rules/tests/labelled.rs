//! The validity verdict against real DDPM samples labelled by eye (`rules/labelled/`).
use empirical_rules::eval::labelled::{self, read_labels, Label};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("labelled")
}

/// `scores.md` is what the `labelled` example writes from the committed sets.
#[test]
fn scores_document_is_in_sync() {
    let scores = labelled::score_dir(&dir()).unwrap();
    let md = labelled::render_markdown(&scores);
    let committed = std::fs::read_to_string(dir().join("scores.md")).unwrap();
    assert_eq!(
        committed, md,
        "rules/labelled/scores.md is stale: run \
         `cargo run --release -p empirical-rules --example labelled -- score`"
    );
}

/// On every labelled set, of the images the verdict keeps, a larger share is valid by eye than
/// of the images the authors' detector keeps (the detector accepts every colour cloud with a
/// component per colour); and the verdict never keeps what the detector rejects.
#[test]
fn verdict_is_more_precise_than_the_detector() {
    for t in labelled::score_dir(&dir()).unwrap() {
        let (v, d) = (&t.verdict, &t.detector);
        assert!(v.fp <= d.fp, "{}: verdict {v:?} detector {d:?}", t.set);
        if d.fp > 0 {
            let vp = v.precision().unwrap_or(1.0);
            let dp = d.precision().unwrap();
            assert!(vp > dp, "{}: precision verdict {vp} detector {dp}", t.set);
        }
    }
}

/// Every set has one label per image, both classes are spelled as the README says, and each
/// source of the README's table is present.
#[test]
fn labelled_sets_are_complete() {
    for t in labelled::score_dir(&dir()).unwrap() {
        let labels = read_labels(&dir().join(format!("{}.labels.csv", t.set))).unwrap();
        assert_eq!(labels.len(), t.verdict.n(), "{}", t.set);
        assert!(
            labels.iter().any(|l| l.label == Label::Invalid),
            "{}",
            t.set
        );
        assert!(labels.iter().all(|l| !l.source.is_empty()), "{}", t.set);
    }
}

#[test]
fn malformed_labels_are_named_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("A.labels.csv");
    for (body, needle) in [
        (
            "index,source,label,note\n0,shipped,maybe,\n",
            "neither `valid` nor `invalid`",
        ),
        ("index,source,label,note\n1,shipped,valid,\n", "expected 0"),
        (
            "index,source,label,note\nx,shipped,valid,\n",
            "is not a number",
        ),
    ] {
        std::fs::write(&p, body).unwrap();
        let e = read_labels(&p).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
    // images and labels of different lengths
    let img = image::RgbImage::new(32, 32);
    std::fs::write(&p, "index,source,label,note\n0,s,valid,\n1,s,valid,\n").unwrap();
    let labels = read_labels(&p).unwrap();
    let e = labelled::score("A", empirical_rules::Task::A, &[img], &labels)
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 images but 2 labels"), "{e}");
    // a folder without sets
    let e = labelled::score_dir(tmp.path().join("none").as_path()).unwrap_err();
    assert!(!e.to_string().is_empty());
}
