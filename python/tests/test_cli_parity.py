"""The Python report equals the CLI's results.json on the same images, number for number."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import hidden_rules as hr
from conftest import cli_data, cli_eval, first_difference


def assert_same(py: hr.Report, cli_json: dict) -> None:
    diff = first_difference(py.to_dict(), cli_json)
    assert not diff, "\n".join(diff[:20])


@pytest.mark.parametrize("task", hr.TASKS)
def test_uint8_batch_equals_cli_npy(cli: Path, tmp_path: Path, task: str) -> None:
    images = hr.generate(task, 300, seed=5).images
    np.save(tmp_path / "x.npy", images)
    expected = cli_eval(cli, tmp_path / "x.npy", task, tmp_path / "e")
    assert_same(hr.evaluate(images, task), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_range_floats_equal_cli(cli: Path, tmp_path: Path, dtype: type) -> None:
    """Float samples in [-1, 1] with a sampler's overshoot, handed over as N x 3 x H x W and
    transposed (a strided view): the same report as `eval` on the same floats in a .npy."""
    u8 = hr.generate("A", 200, seed=2, kind="contrastive").images
    rng = np.random.default_rng(0)
    x = (u8.astype(np.float64) / 127.5 - 1.0) + rng.normal(0, 0.004, u8.shape)
    x = np.clip(x, -1.0009, 1.0009).astype(dtype)
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    np.save(tmp_path / "x.npy", x)
    expected = cli_eval(cli, tmp_path / "x.npy", "A", tmp_path / "e", "--ranges", "loose")
    report = hr.evaluate(nchw.transpose(0, 2, 3, 1), "A", ranges="loose")
    assert_same(report, expected)
    assert any("clamped" in n for n in report.notes), report.notes


def test_unit_range_floats_equal_cli(cli: Path, tmp_path: Path) -> None:
    x = hr.generate("C", 150, seed=3).images.astype(np.float32) / 255.0
    np.save(tmp_path / "x.npy", x)
    expected = cli_eval(cli, tmp_path / "x.npy", "C", tmp_path / "e", "--trim", "ratio")
    assert_same(hr.evaluate(x, "C", trim="ratio"), expected)


def test_folder_and_train_equal_cli(cli: Path, tmp_path: Path) -> None:
    """A `data` folder read through its manifest, with a training set for Fig. 5b."""
    samples = cli_data(cli, "B", 120, tmp_path / "s", "--seed", "4", "--kind", "contrastive")
    train = cli_data(cli, "B", 200, tmp_path / "t", "--seed", "9")
    expected = cli_eval(cli, samples, "B", tmp_path / "e", "--train", str(train), "--ranges", "loose")
    report = hr.evaluate(samples, "B", train=train, ranges="loose")
    assert_same(report, expected)
    assert report.summary["nn"]["n_train"] > 0
    # the same training set handed over as an array gives the same distances
    t_arr = np.load(train / "images.npy")
    by_array = hr.evaluate(samples, "B", train=t_arr, ranges="loose")
    assert by_array.summary["nn"] == report.summary["nn"]


def test_settings_equal_cli_flags(cli: Path, tmp_path: Path) -> None:
    images = hr.generate("D", 100, seed=8, kind="immature").images
    np.save(tmp_path / "x.npy", images)
    flags = ["--strict-count", "--a-min", "0.5", "--coarse-min-premise-px", "2", "--trim", "none"]
    expected = cli_eval(cli, tmp_path / "x.npy", "D", tmp_path / "e", *flags)
    report = hr.evaluate(images, "D", strict_count=True, a_min=0.5, coarse_min_premise_px=2.0, trim="none")
    assert_same(report, expected)


def test_json_text_equals_the_file(cli: Path, tmp_path: Path) -> None:
    images = hr.generate("A", 60, seed=1).images
    np.save(tmp_path / "x.npy", images)
    cli_eval(cli, tmp_path / "x.npy", "A", tmp_path / "e")
    text = (tmp_path / "e" / "results.json").read_text(encoding="utf-8")
    assert hr.evaluate(images, "A").to_json() == text


def test_columns_equal_the_csv(cli: Path, tmp_path: Path) -> None:
    images = hr.generate("A", 80, seed=6, kind="coarse-violating").images
    np.save(tmp_path / "x.npy", images)
    cli_eval(cli, tmp_path / "x.npy", "A", tmp_path / "e")
    with open(tmp_path / "e" / "per_image.csv", newline="", encoding="utf-8") as f:
        head, *rows = list(csv.reader(f))
    cols = hr.evaluate(images, "A").columns
    assert head == [h for h in cols if h != "clutter"]
    for j, name in enumerate(head):
        got = cols[name]
        for i, row in enumerate(rows):
            cell = row[j]
            if name in ("name", "reason"):
                assert (got[i] or "") == cell
            elif name in ("valid", "detected"):
                assert str(bool(got[i])).lower() == cell
            elif name == "coarse_ok":
                assert (cell == "") == np.isnan(got[i])
                if cell:
                    assert (cell == "true") == (got[i] == 1.0)
            elif cell == "":
                assert np.isnan(got[i]), (name, i)
            else:
                assert abs(float(cell) - float(got[i])) <= 5e-9 * max(1.0, abs(float(cell))), (name, i)


def test_generate_equals_cli_data(cli: Path, tmp_path: Path) -> None:
    out = cli_data(cli, "C", 40, tmp_path / "d", "--seed", "11", "--size", "48")
    g = hr.generate("C", 40, seed=11, size=48)
    assert np.array_equal(np.load(out / "images.npy"), g.images)
    with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    xs = [float(r["x"]) for r in rows]
    assert np.allclose(xs, g.truth["x"], rtol=0, atol=1e-6)


def test_report_round_trips_as_json() -> None:
    r = hr.evaluate(hr.generate("B", 30).images, "B")
    assert json.loads(r.to_json()) == r.to_dict()
    assert r.to_dict()["summary"] == r.summary
