//! README's speed table against PyTorch is generated: `bench-track anchor` measures a sitting,
//! stores it in `benches/results/anchor.json` and writes its table into README. Rendering the
//! stored sitting again must give README's table exactly, so the two cannot drift apart.
use hidden_rules::anchor::{self, Preset, Sitting};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn readme_has_the_stored_sittings_table() {
    let sitting = Sitting::load(&root().join(anchor::DEFAULT_SITTING)).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = anchor::MARKERS
        .block(&readme)
        .expect("README has the anchor table's markers");
    assert_eq!(
        block,
        anchor::render(&sitting),
        "README's table is not the stored sitting's: run `bench-track anchor-table`"
    );
}

#[test]
fn the_stored_sitting_is_interleaved_and_complete() {
    let sitting = Sitting::load(&root().join(anchor::DEFAULT_SITTING)).unwrap();
    let presets: Vec<Preset> = sitting.presets.iter().map(|p| p.preset).collect();
    assert_eq!(presets, Preset::ALL);
    for p in &sitting.presets {
        // an anchor run before and after each of ours
        assert!(!p.ours.is_empty());
        assert_eq!(p.anchor.len(), p.ours.len() + 1, "{:?}", p.preset);
        for (r, ours) in p.ours.iter().enumerate() {
            for &step in p.preset.steps() {
                assert!(
                    ours.get(&step).is_some_and(|&v| v > 0.0),
                    "{:?} {step:?}",
                    p.preset
                );
                let (lo, hi) = anchor::ratio_range(p, step, r).unwrap();
                assert!(lo > 0.0 && lo <= hi);
            }
        }
    }
}
