"""Type stubs of hidden_rules: the rule evaluator of Sec. 3.2, the Task A-D generators of
App. C and the Eq. 4 Error of "Can Diffusion Models Learn Hidden Inter-Feature Rules Behind
Images?"."""

from os import PathLike
from typing import Any, Dict, List, Literal, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__all__ = ["evaluate", "generate", "eq4_error", "load_images", "Report", "Generated", "TASKS"]

TASKS: Tuple[str, str, str, str]

Task = Literal["A", "B", "C", "D", "a", "b", "c", "d"]
Ranges = Literal["strict", "loose"]
TrimName = Literal["per-coordinate", "per_coordinate", "none", "ratio"]
Kind = Literal["train", "contrastive", "coarse-violating", "immature"]
PathType = Union[str, PathLike[str]]
ImagesLike = Union[
    npt.ArrayLike,
    PathType,
    Sequence[PathType],
    Sequence[Any],  # PIL images or uint8 H x W x 3 arrays
    "_Images",
]

class _Images:
    """Images in the evaluator's layout (8-bit RGB), as :func:`load_images` returns them."""

    @property
    def notes(self) -> List[str]: ...
    @property
    def names(self) -> List[str]: ...
    def __len__(self) -> int: ...

class Report:
    """An evaluation (Sec. 3.2): ``to_dict()`` equals the ``results.json`` of ``eval``."""

    notes: List[str]
    @property
    def task(self) -> str: ...
    @property
    def summary(self) -> Dict[str, Any]: ...
    @property
    def n(self) -> int: ...
    @property
    def n_valid(self) -> int: ...
    @property
    def invalid_pct(self) -> float: ...
    @property
    def invalid_reasons(self) -> Dict[str, int]: ...
    @property
    def coarse_violations(self) -> int: ...
    @property
    def coarse_violation_pct(self) -> float: ...
    @property
    def trim(self) -> str: ...
    @property
    def eq4(self) -> Optional[Dict[str, Any]]:
        """Eq. 4 with the chosen trimming (fit, bias part, variance part, total)."""
    @property
    def eq4_by_trim(self) -> Dict[str, Optional[Dict[str, Any]]]: ...
    @property
    def eq4_interval(self) -> Optional[Dict[str, Any]]:
        """95 % bootstrap intervals of :attr:`eq4` (``error``, ``bias_part``, ``variance_part``,
        ``r_squared``, each ``{"lo", "hi"}``)."""
    @property
    def error_interval(self) -> Optional[Tuple[float, float]]: ...
    @property
    def r_squared_interval(self) -> Optional[Tuple[float, float]]: ...
    @property
    def slope(self) -> Optional[float]: ...
    @property
    def r_squared(self) -> Optional[float]: ...
    @property
    def error(self) -> Optional[float]: ...
    @property
    def bias_part(self) -> Optional[float]: ...
    @property
    def variance_part(self) -> Optional[float]: ...
    @property
    def columns(self) -> Dict[str, np.ndarray]: ...
    def __len__(self) -> int: ...
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_pandas(self) -> Any: ...
    def table(self) -> str:
        """The summary as a text table (Table 1's columns, Eq. 4 under every trimming)."""

class Generated(NamedTuple):
    """Generated images (N x H x W x 3 uint8) and their ground truth (App. C)."""

    images: npt.NDArray[np.uint8]
    truth: Dict[str, Any]

def load_images(images: ImagesLike) -> _Images: ...
def evaluate(
    images: ImagesLike,
    task: Task,
    *,
    ranges: Ranges = "strict",
    trim: TrimName = "per-coordinate",
    train: Optional[ImagesLike] = None,
    upscale: int = 0,
    a_min: float = 0.1,
    strict_count: bool = False,
    coarse_min_premise_px: float = 1.0,
) -> Report:
    """Score images against the rules of a task with the evaluator of Sec. 3.2."""

def generate(
    task: Task,
    n: int,
    *,
    size: int = 32,
    seed: int = 0,
    kind: Kind = "train",
    delta: float = 0.1,
) -> Generated:
    """Generate images of a task with the generators of App. C."""

def eq4_error(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    k: float,
    *,
    trim: TrimName = "per-coordinate",
    q: float = 0.025,
    ddof: Literal["population", "sample"] = "population",
) -> Dict[str, Any]:
    """Eq. 4 (Section 5.1) of pairs (x, y) against the truth line y = k x."""
