"""Time `hidden_rules.evaluate` on a numpy batch against the `empirical-rules eval` CLI on the
same images (docs/python.md, "Speed").

    python python/bench_speed.py [--cli PATH] [--n 2000] [--size 32] [--repeats 7] [--tasks ABCD]

The images are generated once per task (`hidden_rules.generate`, seed 0) and saved as the
`.npy` the CLI reads. Each repeat times, interleaved so that load on a shared machine hits both
alike: the CLI process end to end (`eval --task T --samples x.npy --out DIR/results.json`:
start, read, evaluate, write results.json and per_image.csv), `hidden_rules.evaluate(array, T)`
(conversion from the array and evaluation), and the same plus `Report.to_json()`. Prints the
median of each and the ratio Python / CLI per repeat (median, min, max). Set
`RAYON_NUM_THREADS` to fix the thread count of both (the CLI inherits the environment).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# the installed package, not the source folder next to this script (which has no extension)
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]
import hidden_rules as hr  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def default_cli() -> Path:
    if os.environ.get("HIDDEN_RULES_CLI"):
        return Path(os.environ["HIDDEN_RULES_CLI"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return (target if target.is_absolute() else REPO / target) / "release" / "empirical-rules"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", type=Path, default=default_cli(), help="the empirical-rules binary")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tasks", default="ABCD")
    args = ap.parse_args()
    if not args.cli.is_file():
        sys.exit(f"no CLI at {args.cli}: `cargo build --release -p empirical-rules` or --cli PATH")

    print(f"n {args.n}, {args.size} px, {args.repeats} repeats, RAYON_NUM_THREADS="
          f"{os.environ.get('RAYON_NUM_THREADS', 'unset')}, CLI {args.cli}")
    print("task | CLI eval (s) | evaluate (s) | + to_json (s) | ratio evaluate/CLI median [min, max]")
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            images = hr.generate(task, args.n, size=args.size, seed=0).images
            npy = Path(tmp) / f"{task}.npy"
            np.save(npy, images)
            out = Path(tmp) / f"{task}-eval"
            cmd = [str(args.cli), "eval", "--task", task, "--samples", str(npy), "--out", str(out / "results.json")]
            # warm-up: page cache, the rayon pool, the allocator
            subprocess.run(cmd, check=True, capture_output=True)
            hr.evaluate(images, task)
            cli_t, py_t, json_t = [], [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                cli_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                report = hr.evaluate(images, task)
                py_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                hr.evaluate(images, task).to_json()
                json_t.append(time.perf_counter() - t0)
            assert report.n == args.n
            ratios = [p / c for p, c in zip(py_t, cli_t)]
            med = statistics.median
            print(f"  {task}  | {med(cli_t):12.3f} | {med(py_t):12.3f} | {med(json_t):13.3f} | "
                  f"{med(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
