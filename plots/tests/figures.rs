//! Each figure writes a non-empty PNG and SVG for small inputs, and errors
//! clearly on empty input.

use empirical_rules::Task;
use plots::fig5::{ConformingCount, Figure5a, Figure5b, NnDistances};
use plots::fig6::{Figure6, PsiPanel};
use plots::grid::{AnnotatedImage, KeyPoint, SampleGrid};
use plots::scatter::{ScatterFigure, ScatterPanel};
use plots::sweep::{SweepFigure, SweepPoint};
use plots::{write_figure, Figure, PlotError};

/// Checks the written PNG and SVG; returns the SVG text.
fn check_written<F: Figure>(fig: &F, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let w = write_figure(fig, &dir.path().join(name)).unwrap();
    // Set PLOTS_TEST_OUT=DIR to keep a copy of each test figure for viewing.
    if let Some(keep) = std::env::var_os("PLOTS_TEST_OUT") {
        let keep = std::path::Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::copy(&w.png, keep.join(format!("{name}.png"))).unwrap();
    }
    let png = std::fs::read(&w.png).unwrap();
    assert!(png.len() > 1000, "PNG too small: {}", png.len());
    assert_eq!(&png[1..4], b"PNG");
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), fig.size());
    // Not a blank canvas: some pixels are not white.
    let rgb = img.to_rgb8();
    assert!(rgb.pixels().filter(|p| p.0 != [255, 255, 255]).count() > 100);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
    assert!(svg.contains("<text"), "SVG has no text");
    svg
}

fn psi_panel(act: &str, t: f64) -> PsiPanel {
    let psi: Vec<f64> = (0..200).map(|i| 3.0 + (i as f64 * 0.37).sin()).collect();
    PsiPanel {
        activation: act.into(),
        t,
        convention: theory::Convention::Paper,
        alpha_t: (-t as f64).exp(),
        beta_t: (1.0 - (-2.0 * t as f64).exp()).sqrt(),
        target: 2.5,
        psi,
    }
}

#[test]
fn fig6_writes_png_and_svg() {
    let panels = vec![
        psi_panel("relu", 0.2),
        psi_panel("relu", 0.4),
        psi_panel("linear", 0.2),
        psi_panel("linear", 0.4),
    ];
    check_written(&Figure6::new(panels).unwrap(), "fig6");
}

#[test]
fn fig6_rejects_empty_and_non_finite() {
    assert!(matches!(Figure6::new(vec![]), Err(PlotError::Empty { .. })));
    let mut p = psi_panel("relu", 0.2);
    p.psi.clear();
    assert!(matches!(
        Figure6::new(vec![p]),
        Err(PlotError::Empty { .. })
    ));
    let mut p = psi_panel("relu", 0.2);
    p.psi[3] = f64::NAN;
    let e = Figure6::new(vec![p]).unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
}

fn scatter_panel(k: f64) -> ScatterPanel {
    let x: Vec<f64> = (0..60).map(|i| 0.05 + i as f64 * 0.003).collect();
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, a)| 0.9 * k * a + 0.01 + 0.004 * ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    ScatterPanel {
        title: format!("k = {k}"),
        x_label: "x (fraction of image)".into(),
        y_label: "y (fraction of image)".into(),
        x,
        y,
        k,
        trim: bridge::Trim::PAPER_PER_COORDINATE,
    }
}

#[test]
fn scatter_writes_png_and_svg_and_uses_eq4() {
    let fig = ScatterFigure::new("Fig 4", vec![scatter_panel(1.0), scatter_panel(1.5)]).unwrap();
    // The panel fit is exactly bridge's Eq. 4 on the same data.
    let p = scatter_panel(1.5);
    let e = bridge::eq4_error(&p.x, &p.y, 1.5, p.trim, bridge::Ddof::Population).unwrap();
    assert_eq!(fig.fits()[1], &e);
    check_written(&fig, "fig4");
}

#[test]
fn scatter_rejects_empty() {
    assert!(matches!(
        ScatterFigure::new("x", vec![]),
        Err(PlotError::Empty { .. })
    ));
    let mut p = scatter_panel(1.0);
    p.x.clear();
    p.y.clear();
    assert!(ScatterFigure::new("x", vec![p]).is_err());
}

#[test]
fn fig5_writes_and_rejects_empty() {
    let a = Figure5a::new(
        vec![
            ConformingCount {
                task: "A".into(),
                count: 10,
                n_valid: 2000,
            },
            ConformingCount {
                task: "B".into(),
                count: 31,
                n_valid: 2100,
            },
        ],
        0.01,
    )
    .unwrap();
    check_written(&a, "fig5a");
    let b = Figure5b::new(vec![
        NnDistances {
            space: "4-D".into(),
            distances: vec![0.1, 0.2, 0.35, 0.4],
            thresholds: vec![0.1, 0.3],
        },
        NnDistances {
            space: "13-D".into(),
            distances: vec![0.5, 0.6, 0.9],
            thresholds: vec![0.3],
        },
    ])
    .unwrap();
    check_written(&b, "fig5b");
    assert!(matches!(
        Figure5a::new(vec![], 0.01),
        Err(PlotError::Empty { .. })
    ));
    assert!(matches!(
        Figure5b::new(vec![]),
        Err(PlotError::Empty { .. })
    ));
}

#[test]
fn fig5_helpers_count_and_measure() {
    let x = [1.0, 1.0, 2.0, 0.0];
    let y = [1.005, 1.02, 2.01, 1.0];
    assert_eq!(plots::fig5::count_within(&x, &y, 1.0, 0.01), 2);
    let d = plots::fig5::nearest_neighbour_distances(
        &[vec![0.0, 0.0], vec![3.0, 4.0]],
        &[vec![0.0, 1.0], vec![3.0, 0.0]],
    );
    assert_eq!(d, vec![1.0, 4.0]);
}

#[test]
fn sweep_writes_and_rejects_empty() {
    let pts = vec![
        SweepPoint {
            value: 200.0,
            r_squared: 0.19,
            error: 0.4,
            r_squared_interval: None,
            error_interval: None,
            run: "e200".into(),
        },
        SweepPoint {
            value: 400.0,
            r_squared: 0.85,
            error: 0.25,
            r_squared_interval: Some((0.8, 0.9)),
            error_interval: Some((0.2, 0.3)),
            run: "e400".into(),
        },
        SweepPoint {
            value: 800.0,
            r_squared: 0.86,
            error: 0.24,
            r_squared_interval: None,
            error_interval: None,
            run: "e800".into(),
        },
    ];
    let svg = check_written(
        &SweepFigure::new("training epochs", Task::A, pts).unwrap(),
        "sweep",
    );
    // settings spanning a factor 4 stay on a linear axis; one point has bars, so the title says so
    assert!(!svg.contains("log scale"), "linear axis expected");
    assert!(svg.contains("bootstrap"), "the bars are not named");
    assert!(matches!(
        SweepFigure::new("epochs", Task::A, vec![]),
        Err(PlotError::Empty { .. })
    ));
}

#[test]
fn grid_writes_and_rejects_empty() {
    let img = image::RgbImage::from_fn(16, 16, |x, y| {
        image::Rgb([(x * 16) as u8, (y * 16) as u8, 90])
    });
    let a = AnnotatedImage {
        image: img,
        points: vec![KeyPoint {
            label: "sun".into(),
            x: 4.0,
            y: 3.0,
        }],
        ratio: Some(1.02),
        caption: "#0".into(),
    };
    check_written(
        &SampleGrid::new("grid", 1.0, vec![a.clone(), a]).unwrap(),
        "grid",
    );
    assert!(matches!(
        SampleGrid::new("g", 1.0, vec![]),
        Err(PlotError::Empty { .. })
    ));
}

#[test]
fn curve_of_several_runs_draws_one_line_per_run() {
    let pt = |value: f64, r_squared: f64, error: f64, run: &str| SweepPoint {
        value,
        r_squared,
        error,
        r_squared_interval: Some((r_squared - 0.05, r_squared + 0.05)),
        error_interval: Some((error - 0.05, error + 0.05)),
        run: run.into(),
    };
    let pts = vec![
        pt(50.0, 0.10, 0.72, "A-s0"),
        pt(100.0, 0.69, 0.19, "A-s0"),
        pt(50.0, 0.20, 0.60, "A-s1"),
        pt(100.0, 0.60, 0.25, "A-s1"),
        pt(400.0, 0.90, 0.05, "A-s1"),
    ];
    let fig = SweepFigure::new("training epochs", Task::A, pts)
        .unwrap()
        .of_runs();
    let svg = check_written(&fig, "curve_runs");
    // The legend names both runs.
    assert!(
        svg.contains("A-s0") && svg.contains("A-s1"),
        "legend lacks a run"
    );
    // milestones spanning a factor 8: a log axis, ticked at powers of two
    assert!(svg.contains("log scale"), "log axis expected");
    let label = |t: &str| svg.lines().any(|l| l.trim() == t);
    assert!(label("128") && label("256"), "power-of-two ticks expected");
}
