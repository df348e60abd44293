//! `proofs-check` CLI: runs the claims, prints a table, writes `proofs-report.md` and
//! `proofs-report.json` into `--out DIR`. Exit 0 when every check ran (a `fails` verdict is a
//! finding), 1 when a check could not run, 2 on usage errors.

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
    /// Directory for proofs-report.md and proofs-report.json.
    #[arg(long, default_value = ".")]
    out: PathBuf,
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
    /// Also write the findings section to this path (e.g. proofs-check/FINDINGS.md).
    #[arg(long, value_name = "PATH")]
    findings: Option<PathBuf>,
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
    let ctx = Ctx {
        quick: cli.quick,
        seed: cli.seed,
    };
    let rep = report::run_claims(&selected, &ctx);
    let _ = write!(std::io::stdout(), "{}", report::table(&rep));
    let json = match serde_json::to_string_pretty(&rep) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: cannot serialise the report: {e}");
            return ExitCode::from(1);
        }
    };
    let writes = [
        (cli.out.join("proofs-report.md"), report::to_markdown(&rep)),
        (cli.out.join("proofs-report.json"), json),
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
    if let Some(p) = &cli.findings {
        if let Err(e) = report::write_atomic(p, &report::findings_markdown(&rep)) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(1);
        }
        out!("wrote {}", p.display());
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
