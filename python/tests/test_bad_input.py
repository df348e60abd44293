"""Bad input raises ValueError (OSError for missing files) with the Rust message, never a crash;
the float range rule is the CLI's .npy rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hidden_rules as hr
from conftest import run_cli

GOOD = hr.generate("A", 4, seed=0).images


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 8, 8, 4), np.uint8), "expected N x H x W x 3"),
        (np.zeros((8, 8), np.uint8), "expected N x H x W x 3"),
        (np.zeros((0, 8, 8, 3), np.uint8), "no images"),
        (np.zeros((2, 8, 8, 3), np.int64), "dtype int64"),
        (np.zeros((2, 8, 8, 3), np.float16), "dtype float16"),
        (np.full((1, 8, 8, 3), 200.0, np.float32), "0-255"),
        (np.full((1, 8, 8, 3), -1.01, np.float32), "outside the accepted ranges"),
        (np.full((1, 8, 8, 3), np.nan, np.float64), "non-finite"),
        ([], "empty"),
        (["a.png", GOOD[0]], "paths only"),
        ({"not": "images"}, "not an image array"),
    ],
)
def test_bad_images_raise_value_error(images: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hr.evaluate(images, "A")


def test_missing_path_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        hr.evaluate(tmp_path / "absent", "A")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "E"}, "valid tasks are A, B, C, D"),
        ({"task": "A", "ranges": "wide"}, "strict or loose"),
        ({"task": "A", "trim": "both"}, "none, per-coordinate or ratio"),
        ({"task": "A", "a_min": 0.0}, "a_min"),
        ({"task": "A", "coarse_min_premise_px": -1.0}, "coarse_min_premise_px"),
        ({"task": "A", "upscale": 5000}, "upscale"),
    ],
)
def test_bad_settings_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hr.evaluate(GOOD, **kwargs)


def test_bad_generate_and_eq4_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        hr.generate("A", 3, kind="noise")
    with pytest.raises(ValueError, match="at least 1"):
        hr.generate("A", 0)
    with pytest.raises(ValueError, match="size"):
        hr.generate("A", 3, size=4)
    with pytest.raises(ValueError, match="delta"):
        hr.generate("C", 3, kind="contrastive", delta=0.9)
    with pytest.raises(ValueError, match="x has 2 values but y has 3"):
        hr.eq4_error([1, 2], [1, 2, 3], 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        hr.eq4_error([1, 2, float("nan")], [1, 2, 3], 1.0, trim="none")
    with pytest.raises(ValueError, match="equal"):
        hr.eq4_error([2, 2, 2], [1, 2, 3], 1.0, trim="none")
    with pytest.raises(ValueError, match="outside"):
        hr.eq4_error([1, 2, 3], [1, 2, 3], 1.0, q=0.7)


@pytest.mark.parametrize("value", [1.0 + 9e-4, 1.0 + 2e-3, 255.0, -1.0 - 9e-4, -1.0 - 2e-3])
def test_float_range_rule_is_the_clis(cli: Path, tmp_path: Path, value: float) -> None:
    """Accepted or refused by both, with the same message; clamped values are counted alike."""
    x = hr.generate("A", 3, seed=1).images.astype(np.float32) / 255.0
    if value < 0:
        x = x * 2.0 - 1.0
    x[0, 0, 0, 0] = value
    np.save(tmp_path / "x.npy", x)
    res = run_cli(cli, "eval", "--task", "A", "--samples", str(tmp_path / "x.npy"), "--out", str(tmp_path / "r.json"))
    try:
        report = hr.evaluate(x, "A")
    except ValueError as e:
        assert res.returncode == 1, res.stdout
        message = str(e).split(": ", 1)[1]
        assert message in res.stderr, (message, res.stderr)
    else:
        assert res.returncode == 0, res.stderr
        assert report.notes and report.notes[0] in res.stdout
        assert "clamped 1 values" in report.notes[0]
