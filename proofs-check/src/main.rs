//! `proofs-check` CLI: runs the claims, prints a table, writes `proofs-report.md` and
//! `proofs-report.json` into `--out DIR`, and with `--findings PATH` the findings document and
//! the report it is rendered from (PATH with the extension `json`). `--from-report JSON` renders
//! every output from a stored report instead of running the claims. Exit 0 when every check ran
//! (a `fails` verdict is a finding), 1 when a check could not run, 2 on usage errors.

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use proofs_check::claim::Ctx;
use proofs_check::report::{self, Snapshot};

#[derive(Parser, Debug)]
#[command(
    name = "proofs-check",
    about = "Every equation of Sec. 4 and App. A, E, F as an executable claim with a computed verdict"
)]
struct Cli {
    /// Directory for proofs-report.md and proofs-report.json (default: the working folder;
    /// with --from-report they are written only if this is given).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only this claim (repeatable).
    #[arg(long = "claim", value_name = "ID")]
    claims: Vec<String>,
    /// List the claims and exit.
    #[arg(long)]
    list: bool,
    /// Reduced sample sizes (what `cargo test` runs).
    #[arg(long)]
    quick: bool,
    /// Master seed.
    #[arg(long, default_value_t = report::DEFAULT_SEED)]
    seed: u64,
    /// Also write the verdict snapshot to PATH (the checked-in one is
    /// proofs-check/snapshot.json, relative to the workspace root); use with --quick.
    #[arg(long, value_name = "PATH")]
    write_snapshot: Option<PathBuf>,
    /// Also write the findings document to PATH (the committed one is docs/findings.md,
    /// relative to the workspace root) and the report it is rendered from to PATH with the
    /// extension `json`.
    #[arg(long, value_name = "PATH")]
    findings: Option<PathBuf>,
    /// Render the outputs from this stored report (e.g. docs/findings.json) instead of
    /// running the claims.
    #[arg(
        long,
        value_name = "JSON",
        conflicts_with_all = ["claims", "list", "quick", "write_snapshot"]
    )]
    from_report: Option<PathBuf>,
}

/// Prints to stdout, ignoring a closed pipe (e.g. `| head`).
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let all = proofs_check::registry();
    if cli.list {
        for c in &all {
            out!(
                "{:<34} {}{}",
                c.id,
                c.paper_location,
                if c.convention_dependent {
                    "  [both conventions]"
                } else {
                    ""
                }
            );
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<&proofs_check::Claim> = if cli.claims.is_empty() {
        all.iter().collect()
    } else {
        let mut v = Vec::new();
        for id in &cli.claims {
            match all.iter().find(|c| c.id == id) {
                Some(c) => v.push(c),
                None => {
                    eprintln!("error: unknown claim id `{id}` (see --list)");
                    return ExitCode::from(2);
                }
            }
        }
        v
    };
    if cli.write_snapshot.is_some() && (!cli.claims.is_empty() || !cli.quick) {
        eprintln!(
            "error: --write-snapshot needs --quick and all claims (the test runs quick sizes)"
        );
        return ExitCode::from(2);
    }
    if let Some(p) = &cli.findings {
        if p.extension().is_some_and(|e| e == "json") {
            eprintln!(
                "error: --findings {} would be overwritten by its own report; give a .md path",
                p.display()
            );
            return ExitCode::from(2);
        }
    }
    let rep = match &cli.from_report {
        Some(p) => match report::read_report(p) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot read the report {}: {e}", p.display());
                return ExitCode::from(1);
            }
        },
        None => {
            let ctx = Ctx {
                quick: cli.quick,
                seed: cli.seed,
            };
            report::run_claims(&selected, &ctx)
        }
    };
    let _ = write!(std::io::stdout(), "{}", report::table(&rep));
    let json = match serde_json::to_string_pretty(&rep) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: cannot serialise the report: {e}");
            return ExitCode::from(1);
        }
    };
    let out_dir = match (&cli.out, &cli.from_report) {
        (Some(d), _) => Some(d.clone()),
        (None, None) => Some(PathBuf::from(".")),
        (None, Some(_)) => None,
    };
    if let Some(dir) = out_dir {
        let writes = [
            (dir.join("proofs-report.md"), report::to_markdown(&rep)),
            (dir.join("proofs-report.json"), json.clone()),
        ];
        for (p, s) in &writes {
            if let Err(e) = report::write_atomic(p, s) {
                eprintln!("error: cannot write {}: {e}", p.display());
                return ExitCode::from(1);
            }
        }
        out!(
            "wrote {} and {}",
            writes[0].0.display(),
            writes[1].0.display()
        );
    }
    if let Some(p) = &cli.findings {
        // the report first: a document on disk always has its report beside it
        let data = report::findings_report_path(p);
        let writes = [
            (data, json + "\n"),
            (p.clone(), report::findings_markdown(&rep)),
        ];
        for (path, s) in &writes {
            if let Err(e) = report::write_atomic(path, s) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
        out!(
            "wrote {} and {}",
            writes[1].0.display(),
            writes[0].0.display()
        );
    }
    if let Some(p) = &cli.write_snapshot {
        let snap = Snapshot::of(&rep);
        let s = match serde_json::to_string_pretty(&snap) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: cannot serialise the snapshot: {e}");
                return ExitCode::from(1);
            }
        };
        if let Err(e) = report::write_atomic(p, &s) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(1);
        }
        out!("wrote {}", p.display());
    }
    if rep.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("{} claim(s) could not run", rep.errors.len());
        ExitCode::from(1)
    }
}
