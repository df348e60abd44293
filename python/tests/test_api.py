"""The Python API: inputs of every accepted kind give one report, Eq. 4 agrees with a plain
NumPy computation, the generators are deterministic, and the GIL is released."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import hidden_rules as hr
from hidden_rules import _native


def test_generate_shapes_and_determinism() -> None:
    g = hr.generate("D", 12, size=40, seed=3, kind="contrastive", delta=0.2)
    assert g.images.shape == (12, 40, 40, 3) and g.images.dtype == np.uint8
    assert g.truth["features"].shape == (12, 4)
    assert g.truth["colors"].shape == (12, len(g.truth["element_names"]), 3)
    assert list(g.truth["class"]) == [i % 3 for i in range(12)]
    assert np.array_equal(g.images, hr.generate("D", 12, size=40, seed=3, kind="contrastive", delta=0.2).images)
    assert not np.array_equal(g.images, hr.generate("D", 12, size=40, seed=4, kind="contrastive", delta=0.2).images)
    images, truth = g  # a named tuple
    assert truth["kind"] == "contrastive"


def test_features_measured_match_ground_truth() -> None:
    g = hr.generate("C", 200, seed=2)
    cols = hr.evaluate(g.images, "C").columns
    ok = cols["valid"]
    assert ok.mean() > 0.99
    assert np.median(np.abs(cols["x"][ok] - g.truth["x"][ok])) < 0.005 / 32 * 10


def test_every_input_kind_gives_the_same_report(tmp_path: Path) -> None:
    images = hr.generate("A", 40, seed=7).images
    base = hr.evaluate(images, "A").to_dict()
    as_list = hr.evaluate(list(images), "A").to_dict()
    assert as_list == base
    np.save(tmp_path / "x.npy", images)
    from_path = hr.evaluate(tmp_path / "x.npy", "A").to_dict()
    assert from_path == base
    f64 = hr.evaluate(images.astype(np.float64) / 255.0, "A").to_dict()
    assert f64["summary"] == base["summary"]
    fortran = hr.evaluate(np.asfortranarray(images), "A").to_dict()
    assert fortran == base
    gray = hr.evaluate(images[..., 0], "A")
    assert len(gray) == 40
    loaded = hr.load_images(images)
    assert len(loaded) == 40 and hr.evaluate(loaded, "A").to_dict() == base


class _TensorLike:
    """A CPU tensor stand-in: anything with __array__ is read through numpy."""

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __array__(self, dtype=None, copy=None):  # noqa: ANN001
        return self._a


def test_sampler_output_nchw_in_model_range() -> None:
    u8 = hr.generate("B", 50, seed=1).images
    nchw = (u8.astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2).copy()
    report = hr.evaluate(_TensorLike(nchw.transpose(0, 2, 3, 1)), "B")
    assert report.to_dict()["summary"] == hr.evaluate(u8, "B").to_dict()["summary"]
    assert "[-1, 1]" in report.notes[0]


def test_pil_images() -> None:
    image = pytest.importorskip("PIL.Image")
    u8 = hr.generate("A", 10, seed=2).images
    pil = [image.fromarray(a) for a in u8]
    assert hr.evaluate(pil, "A").to_dict() == hr.evaluate(u8, "A").to_dict()


def test_to_pandas() -> None:
    pd = pytest.importorskip("pandas")
    r = hr.evaluate(hr.generate("D", 20).images, "D")
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 20 and "l1" in df.columns


def _numpy_eq4(x: np.ndarray, y: np.ndarray, k: float) -> float:
    beta1, beta0 = np.polyfit(x, y, 1)
    return abs(beta1 - k) + abs(beta0) + float(np.std(beta1 * x + beta0 - y))


def test_eq4_agrees_with_numpy() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 1.0, 500)
    y = 1.3 * x + 0.02 + rng.normal(0, 0.05, 500)
    e = hr.eq4_error(x, y, 1.3, trim="none")
    assert e["total"] == pytest.approx(_numpy_eq4(x, y, 1.3), rel=1e-10)
    assert e["bias_part"] + e["variance_part"] == pytest.approx(e["total"], rel=1e-14)
    lo = np.quantile(x, 0.025), np.quantile(x, 0.975)
    ly = np.quantile(y, 0.025), np.quantile(y, 0.975)
    keep = (x >= lo[0]) & (x <= lo[1]) & (y >= ly[0]) & (y <= ly[1])
    t = hr.eq4_error(x, y, 1.3)
    assert t["n_kept"] == int(keep.sum())
    assert t["total"] == pytest.approx(_numpy_eq4(x[keep], y[keep], 1.3), rel=1e-10)
    s = hr.eq4_error(x, y, 1.3, trim="none", ddof="sample")
    assert s["variance_part"] > e["variance_part"]


def test_bootstrap_intervals_of_the_fit() -> None:
    r = hr.evaluate(hr.generate("A", 120, seed=5).images, "A")
    iv = r.summary["eq4_interval"]
    assert r.eq4_interval == iv and iv["n"] == r.n_valid
    assert r.error_interval == (iv["error"]["lo"], iv["error"]["hi"])
    assert r.r_squared_interval == (iv["r_squared"]["lo"], iv["r_squared"]["hi"])
    lo, hi = r.error_interval
    assert 0.0 <= lo <= hi
    lo, hi = r.r_squared_interval
    assert lo <= hi <= 1.0
    # no valid image, no fit: no interval
    blank = hr.evaluate(np.zeros((4, 32, 32, 3), dtype=np.uint8), "A")
    assert blank.eq4 is None and blank.eq4_interval is None and blank.error_interval is None


def test_evaluation_releases_the_gil() -> None:
    images = _native.images_from_array(hr.generate("A", 600, seed=1).images)
    count = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = count[0]
        _native.evaluate(images, "A")
        during = count[0] - before
    finally:
        stop.set()
        t.join()
    assert during > 1000, during
