//! The committed findings document (`docs/findings.md`) is what `proofs-check` renders from the
//! report stored beside it (`docs/findings.json`), and that report belongs to the current claims.
//! Nothing is recomputed here: the report is the data of a full-size run.

use proofs_check::report::{
    findings_markdown, findings_path, findings_report_path, read_report, snapshot_path, Snapshot,
    FINDINGS_COMMAND, FINDINGS_RENDER_COMMAND,
};

fn committed() -> (String, proofs_check::report::Report) {
    let md = findings_path();
    let text = std::fs::read_to_string(&md).unwrap_or_else(|e| {
        panic!(
            "{} must exist ({e}); write it with `{FINDINGS_COMMAND}`",
            md.display()
        )
    });
    let data = findings_report_path(&md);
    let rep = read_report(&data).unwrap_or_else(|e| {
        panic!(
            "{} must hold the report ({e}); write it with `{FINDINGS_COMMAND}`",
            data.display()
        )
    });
    (text, rep)
}

#[test]
fn findings_document_is_rendered_from_its_stored_report() {
    let (text, rep) = committed();
    let rendered = findings_markdown(&rep);
    if text != rendered {
        let line = text
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the lengths".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "docs/findings.md differs from what its report renders to (first at {line}); \
             do not edit it by hand: re-render with `{FINDINGS_RENDER_COMMAND}`, \
             or rerun the claims with `{FINDINGS_COMMAND}`"
        );
    }
}

#[test]
fn stored_report_is_a_complete_full_size_run_of_the_current_claims() {
    let (_, rep) = committed();
    assert!(
        !rep.quick,
        "the findings report must come from full sizes (no --quick)"
    );
    assert!(
        rep.errors.is_empty(),
        "claims that could not run: {:?}",
        rep.errors
    );
    let reg = proofs_check::registry();
    let ids: Vec<&str> = rep.claims.iter().map(|c| c.id.as_str()).collect();
    let want: Vec<&str> = reg.iter().map(|c| c.id).collect();
    assert_eq!(
        ids, want,
        "claims added, removed or reordered: rerun `{FINDINGS_COMMAND}`"
    );
    for (c, r) in reg.iter().zip(&rep.claims) {
        let same = r.paper_location == c.paper_location
            && r.statement == c.statement
            && r.method == c.method
            && r.paper_label == c.paper_label
            && r.computed_label == c.computed_label;
        assert!(
            same,
            "claim `{}` was edited since the report: rerun `{FINDINGS_COMMAND}`",
            c.id
        );
    }
}

#[test]
fn full_size_verdicts_agree_with_the_quick_snapshot() {
    let (_, rep) = committed();
    let snap: Snapshot =
        serde_json::from_str(&std::fs::read_to_string(snapshot_path()).unwrap()).unwrap();
    assert_eq!(rep.seed, snap.seed);
    assert_eq!(
        rep.verdicts(),
        snap.verdicts,
        "the findings (full sizes) and the snapshot (quick sizes) disagree on a verdict"
    );
}

#[test]
fn from_report_renders_without_running_and_writes_only_what_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let stored = findings_report_path(&findings_path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofs-check"))
        .current_dir(dir.path())
        .arg("--from-report")
        .arg(&stored)
        .args(["--findings", "f.md"])
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (text, rep) = committed();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.md")).unwrap(),
        text
    );
    let again = read_report(&dir.path().join("f.json")).unwrap();
    assert_eq!(again.verdicts(), rep.verdicts());
    // no --out: no proofs-report.* in the working folder
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["f.json", "f.md"]);
    // a findings path ending in .json would be its own report
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_proofs-check"))
        .current_dir(dir.path())
        .arg("--from-report")
        .arg(&stored)
        .args(["--findings", "f.json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
