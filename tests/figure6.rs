//! Workspace-level test: theory -> Figure 6 data -> plot files.

use plots::fig6::Figure6;
use plots::theory_data::psi_panels;
use theory::{figure6_grid, Activation, Figure6Config};

#[test]
fn figure6_from_theory_is_written_as_png_and_svg() {
    // A small grid (d = 8, m = 3, two activations, two times) keeps the test quick.
    let cfg = Figure6Config {
        d: 8,
        m: 3,
        ts: vec![0.2, 0.6],
        n_psi: 400,
        activations: vec![Activation::Linear, Activation::Relu],
        ..Figure6Config::default()
    };
    let grid = figure6_grid(&cfg).expect("figure 6 grid");
    assert_eq!(grid.len(), 4);
    for panel in &grid {
        assert_eq!(panel.psi.len(), 400);
        // Def. 4.3: the rule value is alpha_t / beta_t^2.
        let target = panel.alpha_t / (panel.beta_t * panel.beta_t);
        assert!((panel.target - target).abs() < 1e-12);
        // Section 4's claim on trained networks: psi is not constant.
        assert!(panel.rule.variance > 0.0, "{panel:?}");
    }
    let panels = psi_panels(&grid);
    let dir = tempfile::tempdir().unwrap();
    let written = plots::write_figure(&Figure6::new(panels).unwrap(), &dir.path().join("fig6"))
        .expect("figure written");
    let png = std::fs::read(&written.png).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let img = image::load_from_memory(&png).expect("PNG decodes");
    assert!(img.width() > 100 && img.height() > 100);
    let svg = std::fs::read_to_string(&written.svg).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("relu"),
        "SVG has the panel titles"
    );
}
