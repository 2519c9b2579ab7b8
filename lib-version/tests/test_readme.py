"""The README's example is what a user of the PyPI package runs first: it must work."""

import contextlib
import io
import re
from importlib import metadata
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_example_runs_as_written() -> None:
    [example] = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), flags=re.DOTALL)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(README), "exec"), {})  # noqa: S102  (our own README)
    assert printed.getvalue().splitlines() == [
        metadata.version("phishline-lib-version"),
        metadata.version("phishline-lib-ml"),
    ]
