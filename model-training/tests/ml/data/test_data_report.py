"""`phishline report data`: PNG plots of the URL properties per split and the check verdicts;
a broken split turns the report red."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from model_training.data_report import CHECKS_FILE, data_report
from model_training.prepare import SPLITS
from model_training.sources import Example, write_dl

PNG = b"\x89PNG\r\n\x1a\n"


def project(root: Path, examples: dict[str, list[Example]], params: dict[str, Any]) -> Path:
    for name in SPLITS:
        write_dl(root / "data" / "prepared" / f"{name}.txt", examples[name])
    (root / "params.yaml").write_text(yaml.safe_dump({"tests": params["tests"]}))
    return root


def test_report_plots_every_property_and_passes(
    examples: dict[str, list[Example]], params: dict[str, Any], tmp_path: Path
) -> None:
    report = data_report(project(tmp_path, examples, params))
    assert report.passed
    names = sorted(p.name for p in report.plots)
    assert names == [
        "digit_ratio.png", "letter_ratio.png", "scheme_share.png", "special_ratio.png",
        "tld_share.png", "url_length.png",
    ]  # fmt: skip
    for plot in report.plots:
        assert plot.parent == tmp_path / "reports" / "data"
        assert plot.read_bytes().startswith(PNG)
        assert plot.stat().st_size > 5_000  # a drawn chart, not an empty canvas
    checks = json.loads((tmp_path / "reports" / "data" / CHECKS_FILE).read_text())
    assert checks["schema"] == checks["labels"] == checks["leakage"] == []
    assert len(checks["distributions"]) == 12
    assert all(c["passed"] for c in checks["distributions"])


@pytest.mark.parametrize("breakage", ["leak", "invalid"])
def test_a_broken_split_fails_the_report(
    examples: dict[str, list[Example]], params: dict[str, Any], tmp_path: Path, breakage: str
) -> None:
    broken = {name: list(split) for name, split in examples.items()}
    if breakage == "leak":
        broken["test"] += broken["train"][:5]
    else:
        broken["val"].append(Example("http://exa mple.com:99999/", 1))
    out = tmp_path / "out"
    report = data_report(project(tmp_path, broken, params), out_dir=out)
    assert not report.passed
    checks = json.loads((out / CHECKS_FILE).read_text())
    if breakage == "leak":
        assert len(checks["leakage"]) >= 5
        assert len(report.plots) == 6
    else:
        assert checks == {"schema": [checks["schema"][0]]}
        assert "cannot be parsed" in checks["schema"][0]
        assert report.plots == []
