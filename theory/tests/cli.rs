//! The CLI: bad values give a clear error naming the flag and exit code 2; good runs succeed.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_theory"))
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_values_exit_2_and_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["stationary", "--d", "0"], "--d"),
        (&["stationary", "--width", "0"], "--width"),
        (&["stationary", "--t", "0"], "--t"),
        (&["stationary", "--t", "-1"], "--t"),
        (&["stationary", "--zeta", "uniform:0.8:0.2"], "--zeta"),
        (&["stationary", "--zeta", "uniform:0.5:0.5"], "--zeta"),
        (&["psi", "--activation", "tanh"], "--activation"),
        (&["psi", "--convention", "foo"], "--convention"),
        (&["stationary", "--lr", "0"], "--lr"),
        (&["stationary", "--iters", "0"], "--iters"),
        (&["stationary", "--d", "abc"], "--d"),
        (&["stationary", "--t", "1e-300"], "--t"),
        (&["psi", "--n-psi", "18446744073709551615"], "--n-psi"),
        (&["psi", "--n-psi", "0"], "--n-psi"),
        (&["psi", "--width", "100000", "--d", "100000"], "--width"),
        (
            &["psi", "--estimator", "crn", "--crn-eps", "0"],
            "--crn-eps",
        ),
        (&["floor", "--n-train", "0"], "--n-train"),
        (&["floor", "--n-eval", "1"], "--n-eval"),
        (&["floor", "--ts", "0.2,1e-300"], "--ts"),
    ];
    for (args, flag) in cases {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: exit {code}, stderr {err}");
        assert!(
            err.contains(flag),
            "{args:?}: stderr does not name {flag}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        // one readable line, not a float printed in full positional notation
        assert!(
            err.len() < 400,
            "{args:?}: {} bytes of stderr: {err}",
            err.len()
        );
    }
}

#[test]
fn stationary_json_linear_m1_matches_closed_form() {
    let (code, out, err) = run(&[
        "stationary",
        "--activation",
        "linear",
        "--width",
        "1",
        "--d",
        "10",
        "--t",
        "0.4",
        "--n-psi",
        "200",
        "--grad-tol",
        "1e-10",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cf = &v["closed_form_thm45"];
    let n1 = cf["patch1"]["w_norm_sq"].as_f64().unwrap();
    let gd = v["neurons"][0]["w_norm_sq"].as_f64().unwrap();
    assert!((n1 - gd).abs() < 1e-8 * n1, "closed {n1} vs GD {gd}");
    assert!(v["grad_norm"].as_f64().unwrap() <= 1e-10);
}

#[test]
fn psi_prints_samples() {
    let (code, out, err) = run(&[
        "psi",
        "--activation",
        "quadratic",
        "--width",
        "2",
        "--d",
        "5",
        "--n-psi",
        "10",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 10);
    assert!(out.lines().all(|l| l.parse::<f64>().is_ok()));
}
