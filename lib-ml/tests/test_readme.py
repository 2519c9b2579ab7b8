"""The README's example is what a user of the PyPI package runs first: it must work."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_example_runs_as_written(
    artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ensemble").symlink_to(artifacts / "ensemble")
    monkeypatch.chdir(tmp_path)
    [example] = python_blocks(README.read_text(encoding="utf-8"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(README), "exec"), {})  # noqa: S102  (our own README)
    lines = printed.getvalue().splitlines()
    label, probability = lines[0].split()
    assert label in {"phishing", "legitimate"}
    assert 0.0 <= float(probability) <= 1.0
    assert len(lines) == 1 + 5 + 1  # the default explanation has five features
    assert lines[-1] == "xn--bcher-kva.example"  # what the comment beside it says
