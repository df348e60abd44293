"""The Python examples of README.md ("Scoring your own model's samples") and docs/python.md
("Example: score a sampler's batches") run as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO


def _python_block(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    blocks = re.findall(r"```python\n(.*?)```", text[start : end if end >= 0 else None], re.S)
    assert len(blocks) == 1, (path, heading, len(blocks))
    return blocks[0]


@pytest.mark.parametrize(
    "doc, heading",
    [
        ("README.md", "## Scoring your own model's samples"),
        ("docs/python.md", "## Example: score a sampler's batches"),
    ],
)
def test_example_runs(doc: str, heading: str, capsys: pytest.CaptureFixture) -> None:
    code = _python_block(REPO / doc, heading)
    scope: dict = {"__name__": "__example__"}
    exec(compile(code, f"{doc} {heading}", "exec"), scope)
    report = scope["report"]
    assert report.n > 0 and report.error is not None
    assert "Error (Eq. 4)" in capsys.readouterr().out
