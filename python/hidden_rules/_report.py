"""The evaluator's report (Sec. 3.2): per-image verdicts and the summary of Table 1, Figs 3-5
and Eq. 4, equal to the ``results.json`` the ``eval`` command writes."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _native


class Report:
    """An evaluation of a set of images for one task.

    ``to_dict()`` is the ``results.json`` of ``empirical-rules eval`` (``task``, ``config``,
    ``per_image``, ``summary``); ``to_json()`` is that file's text. ``columns`` holds the columns
    of ``per_image.csv`` as numpy arrays (NaN where the CSV is empty).
    """

    def __init__(self, native: _native.NativeReport, notes: List[str]) -> None:
        self._native = native
        self._summary: Optional[Dict[str, Any]] = None
        self._columns: Optional[Dict[str, np.ndarray]] = None
        self.notes = list(notes)
        """How the input values were read (float range assumed, values clamped, files read)."""

    # --- the summary -------------------------------------------------------------------
    @property
    def task(self) -> str:
        """The task letter (A-D, App. C)."""
        return self._native.task

    @property
    def summary(self) -> Dict[str, Any]:
        """The summary of ``results.json``: invalid share and reasons, coarse violations
        (Table 1), Eq. 4 under every trimming, ratio statistics (Fig. 5a), nearest
        neighbours (Fig. 5b)."""
        if self._summary is None:
            self._summary = json.loads(self._native.summary_json())
        return self._summary

    @property
    def n(self) -> int:
        """Number of images scored."""
        return int(self.summary["n"])

    @property
    def n_valid(self) -> int:
        """Images whose elements are detected as the task's (Sec. 3.2's validity)."""
        return int(self.summary["n_valid"])

    @property
    def invalid_pct(self) -> float:
        """Share of invalid images, in percent (Table 1)."""
        return float(self.summary["invalid_pct"])

    @property
    def invalid_reasons(self) -> Dict[str, int]:
        """Invalid images per reason (the first failed validity criterion)."""
        return dict(self.summary["invalid_reasons"])

    @property
    def coarse_violations(self) -> int:
        """Valid images that break the coarse rule (Table 1)."""
        return int(self.summary["coarse_violations"])

    @property
    def coarse_violation_pct(self) -> float:
        """Coarse violations as a percentage of the valid images."""
        return float(self.summary["coarse_violation_pct"])

    @property
    def trim(self) -> str:
        """The trimming variant of :attr:`eq4` (``none``, ``per_coordinate`` or ``ratio``)."""
        return str(self.summary["default_trim"])

    @property
    def eq4(self) -> Optional[Dict[str, Any]]:
        """Eq. 4 with the chosen trimming: ``fit`` (``beta1``, ``beta0``, ``r_squared``, ``n``),
        ``bias_part`` = ``|beta1_hat - k| + |beta0_hat|``, ``variance_part`` =
        ``sqrt(Var(y_hat - y))``, ``total``; ``None`` when no line could be fitted."""
        return self.summary["eq4"]

    @property
    def eq4_by_trim(self) -> Dict[str, Optional[Dict[str, Any]]]:
        """Eq. 4 under every trimming variant, by name (``None`` where no fit was possible)."""
        return {t["trim"]: t["eq4"] for t in self.summary["eq4_by_trim"]}

    @property
    def eq4_interval(self) -> Optional[Dict[str, Any]]:
        """95 % percentile-bootstrap intervals of :attr:`eq4`: the valid images' ``(x, y)``
        pairs resampled with replacement (``bootstrap``: ``resamples``, ``level``, ``seed``),
        each resample trimmed and fitted as :attr:`eq4` is; ``error``, ``bias_part``,
        ``variance_part`` and ``r_squared`` each as ``{"lo", "hi"}``. ``None`` when no line
        could be fitted."""
        return self.summary.get("eq4_interval")

    def _interval(self, name: str) -> Optional[Tuple[float, float]]:
        iv = self.eq4_interval
        if iv is None or iv.get(name) is None:
            return None
        return float(iv[name]["lo"]), float(iv[name]["hi"])

    @property
    def error_interval(self) -> Optional[Tuple[float, float]]:
        """``(lo, hi)`` of the bootstrap interval of :attr:`error`."""
        return self._interval("error")

    @property
    def r_squared_interval(self) -> Optional[Tuple[float, float]]:
        """``(lo, hi)`` of the bootstrap interval of :attr:`r_squared`."""
        return self._interval("r_squared")

    def _eq4_field(self, *path: str) -> Optional[float]:
        e: Any = self.eq4
        for p in path:
            if e is None:
                return None
            e = e[p]
        return None if e is None else float(e)

    @property
    def slope(self) -> Optional[float]:
        """Fitted slope ``beta1_hat`` of ``y`` on ``x`` (truth: ``k``)."""
        return self._eq4_field("fit", "beta1")

    @property
    def r_squared(self) -> Optional[float]:
        """R² of the fitted line."""
        return self._eq4_field("fit", "r_squared")

    @property
    def error(self) -> Optional[float]:
        """Eq. 4's Error, bias part + variance part."""
        return self._eq4_field("total")

    @property
    def bias_part(self) -> Optional[float]:
        """Eq. 4's bias part ``|beta1_hat - k| + |beta0_hat|``."""
        return self._eq4_field("bias_part")

    @property
    def variance_part(self) -> Optional[float]:
        """Eq. 4's variance part ``sqrt(Var(y_hat - y))``."""
        return self._eq4_field("variance_part")

    # --- per image ---------------------------------------------------------------------
    @property
    def columns(self) -> Dict[str, np.ndarray]:
        """The columns of ``per_image.csv`` as numpy arrays: ``index``, ``name``, ``valid``,
        ``reason``, ``detected``, ``coarse_ok`` (1.0 / 0.0, NaN when not measured),
        ``coarse_premise_px``, ``x``, ``y``, ``ratio``, the four features, each element's
        ``<element>_r/_g/_b``, ``clutter``, ``nn_4d``, ``nn_full`` (NaN when not measured)."""
        if self._columns is None:
            cols = dict(self._native.columns())
            cols["name"] = np.asarray(cols["name"], dtype=str)
            cols["reason"] = np.asarray(cols["reason"], dtype=object)
            self._columns = cols
        return self._columns

    def __len__(self) -> int:
        return len(self._native)

    # --- export ------------------------------------------------------------------------
    def to_json(self) -> str:
        """The report as the text of ``results.json`` (``eval --out``)."""
        return self._native.to_json()

    def to_dict(self) -> Dict[str, Any]:
        """The report as the ``results.json`` of ``eval``, parsed."""
        return json.loads(self._native.to_json())

    def to_pandas(self) -> Any:
        """The per-image columns as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("Report.to_pandas() needs pandas (pip install pandas)") from e
        return pd.DataFrame(self.columns)

    def table(self) -> str:
        """The summary as a small text table: validity and the coarse rule (Table 1), then Eq. 4
        under every trimming (Table 2's Error with its parts, slope and R² of Figs 3-4); the
        chosen trimming is marked ``*``."""
        s = self.summary
        lines = [
            f"Task {s['task']}: {s['n']} images, {s['n_valid']} valid "
            f"(invalid {s['invalid_pct']:.2f} %), coarse-rule violations {s['coarse_violations']} "
            f"/ {s['n_valid']} ({s['coarse_violation_pct']:.2f} %), truth y = {s['k']:.4f} x",
            "trim            |  kept |   slope |  R^2    | Error (Eq. 4) |   bias  | variance",
            "----------------+-------+---------+---------+---------------+---------+---------",
        ]
        for name, e in self.eq4_by_trim.items():
            mark = "*" if name == self.trim else " "
            if e is None:
                lines.append(f"{name + mark:<15} |     - |       - |       - |             - |       - |       -")
                continue
            f = e["fit"]
            lines.append(
                f"{name + mark:<15} | {e['n_kept']:5d} | {f['beta1']:7.4f} | {f['r_squared']:7.4f} "
                f"| {e['total']:13.4f} | {e['bias_part']:7.4f} | {e['variance_part']:8.4f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        s = self.summary
        fit = ""
        if self.eq4 is not None:
            fit = (
                f", slope {self.slope:.4f} (k {s['k']:.4f}), R2 {self.r_squared:.4f}, "
                f"Error {self.error:.4f} = bias {self.bias_part:.4f} + var "
                f"{self.variance_part:.4f} ({self.trim})"
            )
        return (
            f"<hidden_rules.Report task {s['task']}: {s['n']} images, invalid "
            f"{s['invalid_pct']:.2f} %, coarse violations {s['coarse_violations']} "
            f"({s['coarse_violation_pct']:.2f} % of valid){fit}>"
        )
