"""hidden_rules: score images against the hidden inter-feature rules of "Can Diffusion Models
Learn Hidden Inter-Feature Rules Behind Images?" (ICML 2025).

- :func:`evaluate`: the rule evaluator of Sec. 3.2 (Fig. 2): per image, whether the task's
  elements are detected (validity), the coarse rule's verdict and the fine rule's coordinates
  ``(x, y)`` with truth ``y = k x``; over the set, the invalid share and coarse violations
  (Table 1), the OLS fit and Eq. 4's Error with its bias and variance parts (Figs 3-4).
- :func:`generate`: the Task A-D generators of App. C (training, contrastive sets of Sec. 5,
  coarse-violating and immature negatives) with their ground truth.
- :func:`eq4_error`: Eq. 4 on any pairs ``(x, y)``.

The work is done by the Rust crates of this repository (``empirical-rules``,
``hidden-rules-core``) with the GIL released; the report equals the ``results.json`` of
``empirical-rules eval`` on the same images. Nothing is downloaded at run time.
"""

from __future__ import annotations

import json
from typing import Any, Dict, NamedTuple

import numpy as np

from . import _native
from ._inputs import as_images
from ._report import Report

__all__ = ["evaluate", "generate", "eq4_error", "load_images", "Report", "Generated", "TASKS"]

TASKS = ("A", "B", "C", "D")
"""The four tasks of App. C."""


def load_images(images: Any) -> _native.Images:
    """Convert ``images`` to the evaluator's layout once, e.g. a training set scored against
    several sample sets. Accepts what :func:`evaluate` accepts."""
    return as_images(images)


def evaluate(
    images: Any,
    task: str,
    *,
    ranges: str = "strict",
    trim: str = "per-coordinate",
    train: Any = None,
    upscale: int = 0,
    a_min: float = 0.1,
    strict_count: bool = False,
    coarse_min_premise_px: float = 1.0,
) -> Report:
    """Score ``images`` against the rules of ``task`` with the evaluator of Sec. 3.2.

    ``images``: a numpy array (or anything ``numpy.asarray`` reads, e.g. a CPU tensor)
    ``N x H x W x 3`` (or ``N x H x W`` grayscale) of uint8, or float32/float64 in [-1, 1]
    (the model's range, assumed when any value is negative) or [0, 1]; values up to 1e-3
    beyond are clamped and counted in ``Report.notes``, anything else raises ``ValueError``,
    exactly as ``eval`` reads a ``.npy``. Also a path (PNG, ``.npy`` or folder, read as
    ``eval --samples``), a list of paths, or a list of PIL images / uint8 ``H x W x 3`` arrays.

    ``task``: ``"A"``-``"D"`` (App. C). ``ranges``: mask colour ranges, ``"strict"`` (App. C,
    training data) or ``"loose"`` (generated images). ``trim``: trimming before the fit of
    :attr:`Report.eq4` (Sec. 3.2's [2.5 %, 97.5 %]): ``"per-coordinate"``, ``"none"`` or
    ``"ratio"``; all three are in ``Report.eq4_by_trim``. ``train``: training images (any input
    as above) for the nearest-neighbour distances of Fig. 5b, scored with strict ranges.
    ``upscale``, ``a_min``, ``strict_count``, ``coarse_min_premise_px``: as the flags of
    ``eval`` of the same names.

    Raises ``ValueError`` for bad input (the Rust message), ``OSError`` for unreadable files.
    """
    samples = as_images(images)
    reference = None if train is None else as_images(train, "train")
    native = _native.evaluate(
        samples,
        task,
        ranges=ranges,
        trim=trim,
        train=reference,
        upscale=int(upscale),
        a_min=float(a_min),
        strict_count=bool(strict_count),
        coarse_min_premise_px=float(coarse_min_premise_px),
    )
    notes = list(samples.notes)
    if reference is not None:
        notes += [f"train: {n}" for n in reference.notes]
    return Report(native, notes)


class Generated(NamedTuple):
    """Generated images (``N x H x W x 3`` uint8) and their ground truth: ``features``
    (``N x 4``, named by ``feature_names``, divided by the side), ``x``, ``y`` (the fine rule's
    coordinates, truth ``y = k x``), ``coarse_ok``, ``class`` (contrastive class, -1 where none),
    ``colors`` (``N x elements x 3``, named by ``element_names``), ``kind``."""

    images: np.ndarray
    truth: Dict[str, Any]


def generate(
    task: str,
    n: int,
    *,
    size: int = 32,
    seed: int = 0,
    kind: str = "train",
    delta: float = 0.1,
) -> Generated:
    """Generate ``n`` images of ``task`` with the generators of App. C, deterministic in
    ``seed`` (the images of ``empirical-rules data`` with the same arguments).

    ``kind``: ``"train"`` (both rules hold), ``"contrastive"`` (Sec. 5: classes 0 and 2 scale
    the rule's dependent length by ``1 -+ delta``), ``"coarse-violating"`` (every image breaks
    the coarse rule) or ``"immature"`` (negatives in the look of an immature DDPM that the
    validity verdict must reject; no ground truth). Raises ``ValueError`` for bad arguments.
    """
    images, truth = _native.generate(
        task, int(n), size=int(size), seed=int(seed), kind=kind, delta=float(delta)
    )
    return Generated(images, dict(truth))


def _pairs(v: Any, name: str) -> list:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"invalid parameter `{name}`: expected a 1-D sequence, got shape {a.shape}")
    return a.tolist()


def eq4_error(
    x: Any,
    y: Any,
    k: float,
    *,
    trim: str = "per-coordinate",
    q: float = 0.025,
    ddof: str = "population",
) -> Dict[str, Any]:
    """Eq. 4 (Section 5.1) of pairs ``(x, y)`` against the truth line ``y = k x``:
    ``Error = |beta1_hat - k| + |beta0_hat| + sqrt(Var(y_hat - y))`` of the OLS fit of ``y`` on
    ``x`` after trimming to the ``[q, 1 - q]`` quantiles (``trim``: ``"per-coordinate"``,
    ``"ratio"`` or ``"none"``); ``ddof``: ``"population"`` (NumPy's ``std``) or ``"sample"``.

    Returns ``k``, ``fit`` (``beta1``, ``beta0``, ``r_squared``, ``n``), ``bias_part``,
    ``variance_part``, ``total``, ``r_squared_truth``, ``n_kept``, ``n_given``. Raises
    ``ValueError`` for mismatched lengths, non-finite values, too few points or constant ``x``.
    """
    out = _native.eq4_error(_pairs(x, "x"), _pairs(y, "y"), float(k), trim=trim, q=float(q), ddof=ddof)
    result: Dict[str, Any] = json.loads(out)
    return result

