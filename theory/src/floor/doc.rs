//! The floor study's tables as a Markdown document (`floor.md`), rendered from a [`FloorTable`]
//! and nothing else, so that the document written by `theory floor` can be rendered again from
//! the `floor.json` stored beside it (`theory floor --out DIR --render-only`) and checked
//! against it by a test.
//!
//! Numbers are printed like C's `%.Ng` ([`fmt_g`]) and `%.Ne` ([`fmt_e`]).
use crate::floor::table::{FloorRow, FloorTable};
use crate::loss::Convention;

/// File name of the document inside the output folder.
pub const DOC_FILE: &str = "floor.md";

/// Row order of the per-setting grids: per patch before joint, tied before untied.
const DISPLAY_ORDER: [&str; 8] = [
    "per_patch",
    "per_patch_untied",
    "per_patch_mlp",
    "joint",
    "joint_untied",
    "joint_mlp",
    "structured_free",
    "structured_sum1",
];

/// Widths shown in the detailed corner table (those the run has; all widths if none).
const CORNER_WIDTHS: [usize; 3] = [4, 16, 64];

/// `x` with `sig` significant digits, as C's `printf("%.{sig}g", x)`.
pub fn fmt_g(x: f64, sig: usize) -> String {
    let sig = sig.max(1);
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    let sci = format!("{:.*e}", sig - 1, x);
    let (mant, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    if exp < -4 || exp >= sig as i32 {
        format!("{}e{}{:02}", strip_zeros(mant), sign(exp), exp.abs())
    } else {
        let decimals = (sig as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

/// `x` with `decimals` digits after the point in scientific notation, as C's
/// `printf("%.{decimals}e", x)` (two-digit exponent).
pub fn fmt_e(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let sci = format!("{x:.decimals$e}");
    let (mant, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    format!("{mant}e{}{:02}", sign(exp), exp.abs())
}

fn sign(exp: i32) -> char {
    if exp < 0 {
        '-'
    } else {
        '+'
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// t as written in the tables: one decimal when that is exact (0.2, 1.0), else in full.
fn fmt_t(t: f64) -> String {
    let one = format!("{t:.1}");
    if one.parse::<f64>().ok() == Some(t) {
        one
    } else {
        format!("{t}")
    }
}

fn star(r: &FloorRow) -> &'static str {
    if r.converged {
        ""
    } else {
        "*"
    }
}

/// One (convention, t) of the run, in the order of the settings.
struct Setting {
    conv: Convention,
    t: f64,
}

impl Setting {
    fn has(&self, r: &FloorRow) -> bool {
        r.convention == self.conv && r.t == self.t
    }
    fn label(&self) -> String {
        format!("{}, t = {}", self.conv, fmt_t(self.t))
    }
}

fn settings(table: &FloorTable) -> Vec<Setting> {
    let mut v = Vec::new();
    for c in &table.config.conventions {
        for &t in &table.config.ts {
            v.push(Setting { conv: *c, t });
        }
    }
    v
}

fn find<'a>(rows: &'a [FloorRow], s: &Setting, arch: &str, width: usize) -> Option<&'a FloorRow> {
    rows.iter()
        .find(|r| s.has(r) && r.architecture == arch && r.width == width)
}

fn ordered_architectures(table: &FloorTable) -> Vec<&str> {
    let mut v: Vec<&str> = table
        .config
        .architectures
        .iter()
        .map(String::as_str)
        .collect();
    v.sort_by_key(|a| {
        DISPLAY_ORDER
            .iter()
            .position(|d| d == a)
            .unwrap_or(DISPLAY_ORDER.len())
    });
    v
}

fn widths_of<'a>(table: &'a FloorTable, arch: &str) -> &'a [usize] {
    if arch.starts_with("structured") {
        &table.config.nodes
    } else {
        &table.config.widths
    }
}

fn header(cells: &[String]) -> String {
    let mut s = format!("| {} |\n|", cells.join(" | "));
    s.push_str(&"---|".repeat(cells.len()));
    s.push('\n');
    s
}

fn references(table: &FloorTable, s: &mut String) {
    s.push_str("## References\n\n");
    s.push_str(
        "Quadrature; MC: the same predictor on the held-out sample, ± SE. \
         K = (α/β²)² (score), (α/β)² (paper).\n\n",
    );
    s.push_str(&header(&[
        "setting".into(),
        "α/β²".into(),
        "L* (quadrature)".into(),
        "L* (held-out MC, Rao-Blackwellised)".into(),
        "trivial loss 2K Var ζ".into(),
        "per-patch limit: DSM excess".into(),
        "per-patch limit: rule error".into(),
        "trivial: DSM excess / rule error".into(),
        "Bayes rule error".into(),
    ]));
    let dash = || "–".to_string();
    for st in settings(table) {
        let any = table.rows.iter().find(|r| st.has(r));
        let pp = find(&table.rows, &st, "per_patch_bayes", 0);
        let triv = find(&table.rows, &st, "trivial", 0);
        let quad_mc = |q: Option<f64>, mc: f64, se: f64| {
            format!(
                "{} (MC {} ± {})",
                q.map_or_else(dash, |q| fmt_g(q, 4)),
                fmt_g(mc, 3),
                fmt_g(se, 1)
            )
        };
        let cells = match any {
            None => vec![dash(); 8],
            Some(a) => vec![
                format!("{:.4}", a.target),
                format!("{:.6}", a.bayes_dsm_loss),
                format!(
                    "{:.6} ± {}",
                    a.bayes_dsm_loss_mc,
                    fmt_e(a.bayes_dsm_loss_mc_se, 1)
                ),
                format!("{:.6}", a.trivial_dsm_loss),
                pp.map_or_else(dash, |r| {
                    quad_mc(r.quad_dsm_excess, r.dsm_excess, r.dsm_excess_se)
                }),
                pp.map_or_else(dash, |r| {
                    quad_mc(r.quad_rule_error, r.rule_error, r.rule_error_se)
                }),
                triv.map_or_else(dash, |r| {
                    format!(
                        "{} / {}",
                        r.quad_dsm_excess.map_or_else(dash, |q| fmt_g(q, 4)),
                        r.quad_rule_error.map_or_else(dash, |q| fmt_g(q, 4))
                    )
                }),
                fmt_g(a.bayes_rule_error, 4),
            ],
        };
        s.push_str(&format!("| {} | {} |\n", st.label(), cells.join(" | ")));
    }
    s.push('\n');
}

fn grids(table: &FloorTable, s: &mut String) {
    let cfg = &table.config;
    let mut cols: Vec<usize> = cfg.widths.iter().chain(&cfg.nodes).copied().collect();
    cols.sort_unstable();
    cols.dedup();
    s.push_str("## DSM excess / rule error by architecture and width\n\n");
    s.push_str(&format!(
        "Cells: DSM excess / rule error (held out); `*`: not converged (‖∇J‖ > {} after {} \
         iterations); –: not run. m: units per patch (per_patch*), hidden units (joint*), \
         softmax nodes K (structured*).\n\n",
        fmt_g(cfg.gd.grad_tol, 3),
        cfg.gd.max_iters
    ));
    for st in settings(table) {
        s.push_str(&format!(
            "### {} convention, t = {}\n\n",
            st.conv,
            fmt_t(st.t)
        ));
        let mut head = vec!["architecture".to_string()];
        head.extend(cols.iter().map(|m| format!("m={m}")));
        s.push_str(&header(&head));
        for arch in ordered_architectures(table) {
            let cells: Vec<String> = cols
                .iter()
                .map(|&m| match find(&table.rows, &st, arch, m) {
                    Some(r) if widths_of(table, arch).contains(&m) => format!(
                        "{} / {}{}",
                        fmt_g(r.dsm_excess, 2),
                        fmt_g(r.rule_error, 2),
                        star(r)
                    ),
                    _ => "–".into(),
                })
                .collect();
            s.push_str(&format!("| {arch} | {} |\n", cells.join(" | ")));
        }
        s.push('\n');
    }
}

fn corners(table: &FloorTable, s: &mut String) {
    let cfg = &table.config;
    let conv = if cfg.conventions.contains(&Convention::Score) {
        Convention::Score
    } else {
        match cfg.conventions.first() {
            Some(c) => *c,
            None => return,
        }
    };
    let mut widths: Vec<usize> = CORNER_WIDTHS
        .iter()
        .copied()
        .filter(|w| cfg.widths.contains(w))
        .collect();
    if widths.is_empty() {
        widths = cfg.widths.clone();
    }
    s.push_str(&format!(
        "## Corners in detail\n\n{conv} convention; held-out ± SE; train: DSM excess on the \
         training sample; `*`: not converged.\n\n"
    ));
    s.push_str(&header(
        &[
            "t",
            "architecture",
            "m",
            "DSM excess",
            "train",
            "rule error",
            "bias",
            "variance",
            "‖∇J‖",
        ]
        .map(String::from),
    ));
    for &t in &cfg.ts {
        let st = Setting { conv, t };
        for arch in ordered_architectures(table) {
            if arch.starts_with("structured") {
                continue;
            }
            for &m in &widths {
                let Some(r) = find(&table.rows, &st, arch, m) else {
                    continue;
                };
                s.push_str(&format!(
                    "| {} | {arch} | {m} | {} ± {} | {} | {} ± {} | {} | {} | {}{} |\n",
                    fmt_t(t),
                    fmt_g(r.dsm_excess, 3),
                    fmt_g(r.dsm_excess_se, 1),
                    fmt_g(r.train_dsm_excess, 3),
                    fmt_g(r.rule_error, 3),
                    fmt_g(r.rule_error_se, 1),
                    fmt_g(r.bias, 2),
                    fmt_g(r.variance, 3),
                    fmt_g(r.grad_norm, 1),
                    star(r)
                ));
            }
        }
    }
    s.push('\n');
}

fn lambda_sweep(table: &FloorTable, s: &mut String) {
    let cfg = &table.config;
    if cfg.lambda_archs.is_empty() || cfg.lambdas.is_empty() {
        return;
    }
    s.push_str(
        "## Rule-aware objective\n\nDSM + λ E[(ψ − α/β²)²]; cells: DSM excess / rule error; \
         `*`: not converged; –: not run.\n\n",
    );
    let mut head = vec!["setting".to_string()];
    head.extend(cfg.lambdas.iter().map(|l| format!("λ={l}")));
    s.push_str(&header(&head));
    for st in settings(table) {
        for (arch, m) in &cfg.lambda_archs {
            let cells: Vec<String> = cfg
                .lambdas
                .iter()
                .map(|&l| {
                    table
                        .lambda_rows
                        .iter()
                        .find(|r| {
                            st.has(r) && &r.architecture == arch && r.width == *m && r.lambda == l
                        })
                        .map_or_else(
                            || "–".to_string(),
                            |r| {
                                format!(
                                    "{} / {}{}",
                                    fmt_g(r.dsm_excess, 2),
                                    fmt_g(r.rule_error, 2),
                                    star(r)
                                )
                            },
                        )
                })
                .collect();
            s.push_str(&format!(
                "| {arch} m={m}, {}, t={} | {} |\n",
                st.conv,
                fmt_t(st.t),
                cells.join(" | ")
            ));
        }
    }
    s.push('\n');
}

/// The document: settings, references, one grid per (convention, t), the corners in detail and
/// the rule-aware sweep.
pub fn render_markdown(table: &FloorTable) -> String {
    let cfg = &table.config;
    let mut s = String::from("# Floor study: the tables\n\n");
    s.push_str(
        "<!-- Generated file: do not edit. `theory floor --out DIR` writes it beside floor.json, \
         floor.csv and floor_lambda.csv; `theory floor --out DIR --render-only` renders it again \
         from DIR/floor.json. -->\n\n",
    );
    let optimiser = if cfg.gd.memory == 0 {
        "gradient descent with Armijo backtracking".to_string()
    } else {
        format!("L-BFGS (memory {}) with Armijo backtracking", cfg.gd.memory)
    };
    let ts: Vec<String> = cfg.ts.iter().map(|&t| fmt_t(t)).collect();
    let convs: Vec<&str> = cfg.conventions.iter().map(|c| c.name()).collect();
    s.push_str(&format!(
        "Written by `theory floor` from the `floor.json` beside it. Settings: d = {}, D_ζ = {}, \
         t ∈ {{{}}}, conventions {}, activation {}; every network trained on a fixed seeded \
         sample of n = {} and evaluated on a held-out sample of n = {}; {} for at most {} \
         iterations, certificate ‖∇J‖ ≤ {}; references by quadrature ({} nodes of D_ζ, {} \
         Gauss–Hermite nodes per noise coordinate); seed {}. DSM excess = E‖g − g*‖² (loss − \
         L*), rule error = E(ψ − α/β²)², both on the held-out sample.\n\n",
        cfg.d,
        cfg.zeta,
        ts.join(", "),
        convs.join(", "),
        cfg.activation,
        cfg.n_train,
        cfg.n_eval,
        optimiser,
        cfg.gd.max_iters,
        fmt_g(cfg.gd.grad_tol, 3),
        cfg.ref_nodes.0,
        cfg.ref_nodes.1,
        cfg.seed
    ));
    references(table, &mut s);
    grids(table, &mut s);
    corners(table, &mut s);
    lambda_sweep(table, &mut s);
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::floor::table::FloorConfig;
    use std::path::PathBuf;

    #[test]
    fn fmt_g_is_c_printf_g() {
        let cases: [(f64, usize, &str); 16] = [
            (1.01, 2, "1"),
            (110.0, 2, "1.1e+02"),
            (3.7e-7, 2, "3.7e-07"),
            (0.00024, 2, "0.00024"),
            (0.0, 2, "0"),
            (5.029e-5, 4, "5.029e-05"),
            (0.000101, 4, "0.000101"),
            (14.41, 4, "14.41"),
            (9.96, 2, "10"),
            (99.6, 2, "1e+02"),
            (1e-5, 1, "1e-05"),
            (0.0009, 1, "0.0009"),
            (2.2e-8, 2, "2.2e-08"),
            (-0.5, 2, "-0.5"),
            (0.0100, 3, "0.01"),
            (1.2e-31, 2, "1.2e-31"),
        ];
        for (x, p, want) in cases {
            assert_eq!(fmt_g(x, p), want, "%.{p}g of {x}");
        }
        assert_eq!(fmt_e(4.3e-4, 1), "4.3e-04");
        assert_eq!(fmt_e(1.3e-6, 1), "1.3e-06");
        assert_eq!(fmt_e(12.0, 1), "1.2e+01");
        assert_eq!(fmt_t(0.2), "0.2");
        assert_eq!(fmt_t(1.0), "1.0");
        assert_eq!(fmt_t(0.25), "0.25");
    }

    fn row(arch: &str, width: usize, conv: Convention, t: f64, lambda: f64, v: f64) -> FloorRow {
        FloorRow {
            architecture: arch.into(),
            width,
            n_params: 0,
            convention: conv,
            t,
            lambda,
            target: 2.48341,
            dsm_excess: v,
            dsm_excess_se: v / 100.0,
            bias: v / 2.0,
            variance: v / 3.0,
            rule_error: 2.0 * v,
            rule_error_se: v / 50.0,
            train_dsm_excess: v / 1.1,
            grad_norm: if width == 2 { 1e-3 } else { 9e-7 },
            iters: 10,
            converged: width != 2,
            quad_dsm_excess: (width == 0).then_some(v),
            quad_rule_error: (width == 0).then_some(2.0 * v),
            bayes_dsm_loss: 0.329712,
            bayes_dsm_loss_mc: 0.329374,
            bayes_dsm_loss_mc_se: 4.3e-4,
            trivial_dsm_loss: 0.37004,
            per_patch_floor: 0.01904,
            bayes_rule_error: 0.0,
        }
    }

    /// A hand-made table (no training): two settings, two architectures, a lambda sweep.
    fn small_table() -> FloorTable {
        let config = FloorConfig {
            ts: vec![0.2],
            conventions: vec![Convention::Score, Convention::Paper],
            architectures: vec!["joint".into(), "per_patch".into(), "structured_sum1".into()],
            widths: vec![1, 2, 4],
            nodes: vec![1],
            lambdas: vec![0.0, 0.1],
            lambda_archs: vec![("per_patch".into(), 4)],
            ..FloorConfig::default()
        };
        let mut rows = Vec::new();
        let mut lambda_rows = Vec::new();
        for conv in [Convention::Score, Convention::Paper] {
            for r in ["bayes", "per_patch_bayes", "trivial"] {
                rows.push(row(r, 0, conv, 0.2, 0.0, 0.019));
            }
            for (arch, v) in [("per_patch", 1.12), ("joint", 1.05)] {
                for m in [1, 2, 4] {
                    rows.push(row(arch, m, conv, 0.2, 0.0, v / m as f64));
                }
            }
            rows.push(row("structured_sum1", 1, conv, 0.2, 0.0, 0.041));
            for l in [0.0, 0.1] {
                lambda_rows.push(row("per_patch", 4, conv, 0.2, l, 0.28 + l));
            }
        }
        FloorTable {
            config,
            rows,
            lambda_rows,
        }
    }

    #[test]
    fn renders_every_section_from_the_table() {
        let t = small_table();
        let md = render_markdown(&t);
        for want in [
            "# Floor study: the tables",
            "| score, t = 0.2 | 2.4834 | 0.329712 | 0.329374 ± 4.3e-04 | 0.370040 | 0.019 (MC 0.019 ± 0.0002) | 0.038 (MC 0.038 ± 0.0004) | 0.019 / 0.038 | 0 |",
            "### score convention, t = 0.2",
            "### paper convention, t = 0.2",
            "| architecture | m=1 | m=2 | m=4 |",
            // per patch first; m = 2 is not converged; structured has only m = 1
            "| per_patch | 1.1 / 2.2 | 0.56 / 1.1* | 0.28 / 0.56 |\n| joint |",
            "| structured_sum1 | 0.041 / 0.082 | – | – |",
            "| 0.2 | per_patch | 4 | 0.28 ± 0.003 | 0.255 | 0.56 ± 0.006 | 0.14 | 0.0933 | 9e-07 |",
            "| per_patch m=4, paper, t=0.2 | 0.28 / 0.56 | 0.38 / 0.76 |",
            "(‖∇J‖ > 1e-06 after 1000 iterations)",
        ] {
            assert!(md.contains(want), "missing `{want}` in\n{md}");
        }
        // corners are for the score convention only, and skip the structured networks
        let corners = &md[md.find("## Corners").unwrap()..md.find("## Rule-aware").unwrap()];
        assert_eq!(corners.matches("| 0.2 |").count(), 2);
        assert!(!md.ends_with("\n\n") && md.ends_with('\n'));
        // the stored JSON renders to the same document
        let back: FloorTable = serde_json::from_slice(&serde_json::to_vec(&t).unwrap()).unwrap();
        assert_eq!(render_markdown(&back), md);
    }

    /// docs/floor/ of the workspace: the committed run of `theory floor --out docs/floor`.
    fn committed_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("docs")
            .join("floor")
    }

    #[test]
    fn committed_floor_document_is_rendered_from_its_json() {
        let dir = committed_dir();
        let json = dir.join("floor.json");
        let md = dir.join(DOC_FILE);
        if !json.exists() {
            // no stored run: then there must be no document either (it is never typed in)
            assert!(
                !md.exists(),
                "{} exists without the floor.json it is rendered from",
                md.display()
            );
            return;
        }
        let table: FloorTable =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("floor.json parses");
        let text = std::fs::read_to_string(&md)
            .unwrap_or_else(|e| panic!("{} missing ({e})", md.display()));
        assert!(
            text == render_markdown(&table),
            "{} differs from what floor.json renders to; re-render with \
             `cargo run -p theory --release -- floor --out docs/floor --render-only`",
            md.display()
        );
    }
}
