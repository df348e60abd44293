#!/usr/bin/env bash
# The Python bindings' check: install the package into a fresh virtual environment exactly as
# README says (`pip install ./python`, which builds it with maturin from PyPI), build the
# `empirical-rules` CLI the tests compare with, and run the tests from outside the source tree,
# so that the installed package is the one imported. Needs the Rust toolchain, CPython >= 3.9
# with pip, and access to PyPI. `cargo test --workspace` does not need any of this.
#
#   python/ci.sh                 # fresh venv in a temporary folder, removed afterwards
#   HIDDEN_RULES_VENV=DIR python/ci.sh   # use (and keep) DIR instead
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-python3}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
VENV="${HIDDEN_RULES_VENV:-$WORK/venv}"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet pytest numpy pillow
# the one-command install of README (maturin comes from PyPI as the build backend)
# (the extension's own target folder, python/target, whatever CARGO_TARGET_DIR says for the CLI)
CARGO_TARGET_DIR="$ROOT/python/target" "$VENV/bin/python" -m pip install --quiet "$ROOT/python"

# the CLI the parity tests compare with (burn-free, builds in seconds after the first time)
cargo build --release -p empirical-rules
CLI_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$CLI_TARGET" in /*) ;; *) CLI_TARGET="$ROOT/$CLI_TARGET" ;; esac
export HIDDEN_RULES_CLI="$CLI_TARGET/release/empirical-rules"
test -x "$HIDDEN_RULES_CLI"

# run from an empty folder: neither python/ nor the repository root is on sys.path
cd "$WORK"
"$VENV/bin/python" -c 'import hidden_rules, sys; print("hidden_rules from", hidden_rules.__file__)'
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/python/tests"
