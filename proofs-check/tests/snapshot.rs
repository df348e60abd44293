//! Runs every claim at reduced sizes (`--quick`) and asserts that each computed verdict equals
//! the one recorded in `proofs-check/snapshot.json`. A changed verdict is a visible failure that
//! someone must explain; after explaining it, regenerate the snapshot with
//! `cargo run -p proofs-check --release -- --quick --write-snapshot proofs-check/snapshot.json`
//! (from the workspace root).

use proofs_check::claim::{Claim, Ctx};
use proofs_check::report::{run_claims, snapshot_path, Snapshot};

#[test]
fn every_verdict_matches_the_snapshot() {
    let text = std::fs::read_to_string(snapshot_path()).expect("proofs-check/snapshot.json exists");
    let snap: Snapshot = serde_json::from_str(&text).expect("snapshot.json parses");
    assert!(snap.quick, "the snapshot must be generated with --quick");
    let reg = proofs_check::registry();
    let all: Vec<&Claim> = reg.iter().collect();
    let rep = run_claims(
        &all,
        &Ctx {
            quick: true,
            seed: snap.seed,
        },
    );
    assert!(
        rep.errors.is_empty(),
        "checks that could not run: {:#?}",
        rep.errors
    );
    let now = rep.verdicts();
    let mut diffs = Vec::new();
    for (id, v) in &now {
        match snap.verdicts.get(id) {
            Some(s) if s == v => {}
            Some(s) => diffs.push(format!("{id}: snapshot `{s}`, now `{v}`")),
            None => diffs.push(format!("{id}: not in the snapshot (now `{v}`)")),
        }
    }
    for id in snap.verdicts.keys() {
        if !now.contains_key(id) {
            diffs.push(format!("{id}: in the snapshot but no longer a claim"));
        }
    }
    assert!(
        diffs.is_empty(),
        "verdicts changed; explain, then regenerate with `{}`:\n{}",
        snap.regenerate,
        diffs.join("\n")
    );
}
