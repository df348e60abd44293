"""Shared fixtures: the `empirical-rules` binary of the workspace build, to compare with."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

try:
    import hidden_rules._native  # noqa: F401
except ImportError as e:  # e.g. pytest run with python/ itself on sys.path
    raise ImportError(
        "hidden_rules is not installed, or the source folder python/ shadows the installed "
        "package: `pip install ./python`, then run pytest from outside python/ (python/ci.sh)"
    ) from e

REPO = Path(__file__).resolve().parents[2]
CLI_ENV = "HIDDEN_RULES_CLI"


def _cli_candidates() -> List[Path]:
    """Where `cargo build --release -p empirical-rules` puts the binary: `$CARGO_TARGET_DIR`,
    the workspace's `target/`, and `target/rules/` (rules/README.md's build)."""
    targets = []
    if os.environ.get("CARGO_TARGET_DIR"):
        t = Path(os.environ["CARGO_TARGET_DIR"])
        targets.append(t if t.is_absolute() else REPO / t)
    targets += [REPO / "target", REPO / "target" / "rules"]
    exe = "empirical-rules.exe" if os.name == "nt" else "empirical-rules"
    return [t / "release" / exe for t in targets]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `empirical-rules` binary: `$HIDDEN_RULES_CLI` (set by `python/ci.sh`, which builds
    it; the tests fail when it is set to a missing file), else the first release build found
    (`_cli_candidates`); the CLI tests skip when there is none."""
    given = os.environ.get(CLI_ENV)
    if given:
        path = Path(given)
        if not path.is_file():
            pytest.fail(f"{CLI_ENV}={path} does not exist")
        return path
    for path in _cli_candidates():
        if path.is_file():
            return path
    pytest.skip(f"no CLI: set {CLI_ENV} or run `cargo build --release -p empirical-rules`")


def run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI; the result carries its exit code, stdout and stderr."""
    return subprocess.run([str(cli), *args], capture_output=True, text=True, check=False)


def cli_eval(cli: Path, samples: Path, task: str, out: Path, *extra: str) -> Dict[str, Any]:
    """`eval` on `samples`; returns the parsed results.json (fails the test on a CLI error)."""
    out.mkdir(parents=True, exist_ok=True)
    res = run_cli(
        cli, "eval", "--task", task, "--samples", str(samples), "--out", str(out / "results.json"), *extra
    )
    assert res.returncode == 0, res.stderr
    with open(out / "results.json", encoding="utf-8") as f:
        loaded: Dict[str, Any] = json.load(f)
    return loaded


def cli_data(cli: Path, task: str, n: int, out: Path, *extra: str) -> Path:
    """`data`; returns the output folder."""
    res = run_cli(cli, "data", "--task", task, "--n", str(n), "--out", str(out), *extra)
    assert res.returncode == 0, res.stderr
    return out


def first_difference(a: Any, b: Any, path: str = "") -> List[str]:
    """Where two JSON values differ (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: List[str] = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in one")
            else:
                out += first_difference(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        out = []
        for i, (u, v) in enumerate(zip(a, b)):
            out += first_difference(u, v, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]
