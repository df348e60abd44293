"""Image inputs of the evaluator: numpy batches, tensors, files and PIL images.

Every input ends as one conversion into the evaluator's 8-bit RGB layout, done in Rust with the
rules of the `.npy` reader of the ``eval`` command (``rules/README.md``, "What data and eval do
with existing files and odd input"): uint8 as is; float32/float64 read as [-1, 1] (the model's
range, ``(v + 1) / 2``) when any value is negative, else as [0, 1]; values up to 1e-3 beyond the
range are clamped and counted, anything else is a ``ValueError``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import _native


def _is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def _is_pil(obj: Any) -> bool:
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "convert")


def _as_u8_image(obj: Any, i: int) -> np.ndarray:
    if _is_pil(obj):
        return np.asarray(obj.convert("RGB"))
    if isinstance(obj, np.ndarray) and obj.dtype == np.uint8 and obj.ndim == 3:
        return obj
    raise ValueError(
        f"invalid parameter `images`: item {i} is {type(obj).__name__}; a list must hold "
        "paths only, or PIL images / uint8 H x W x 3 arrays only"
    )


def as_images(obj: Any, what: str = "images") -> _native.Images:
    """Convert ``obj`` to the evaluator's images (see the module docstring)."""
    if isinstance(obj, _native.Images):
        return obj
    if _is_path(obj):
        return _native.images_from_paths([os.fspath(obj)])
    if isinstance(obj, (list, tuple)):
        if len(obj) == 0:
            raise ValueError(f"invalid parameter `{what}`: an empty list")
        if all(_is_path(p) for p in obj):
            return _native.images_from_paths([os.fspath(p) for p in obj])
        if any(_is_path(p) for p in obj):
            first = next(i for i, p in enumerate(obj) if not _is_path(p))
            raise ValueError(
                f"invalid parameter `{what}`: item {first} is {type(obj[first]).__name__}; a list "
                "must hold paths only, or PIL images / uint8 H x W x 3 arrays only"
            )
        if not any(_is_path(p) for p in obj) and all(
            _is_pil(p) or isinstance(p, np.ndarray) for p in obj
        ):
            return _native.images_from_list([_as_u8_image(p, i) for i, p in enumerate(obj)])
    if _is_pil(obj):
        return _native.images_from_list([_as_u8_image(obj, 0)])
    try:
        array = np.asarray(obj)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(
            f"invalid parameter `{what}`: cannot read {type(obj).__name__} as an array "
            f"(a GPU tensor must be moved to the CPU first): {e}"
        ) from e
    if array.dtype == object:
        raise ValueError(
            f"invalid parameter `{what}`: {type(obj).__name__} is not an image array, a path "
            "or a list of paths / PIL images"
        )
    return _native.images_from_array(array)
