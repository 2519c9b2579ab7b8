"""checkov (its own venv, .venv-checkov: its pins conflict with the project's) finds no
failed check on the rendered chart except those listed with a reason in checkov-skips.yaml."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Manifest = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
SKIPS: dict[str, str] = yaml.safe_load(
    (Path(__file__).parent / "checkov-skips.yaml").read_text(encoding="utf-8")
)
# A pod any scanner must flag: privileged, root, no limits.
BAD_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "bad", "namespace": "phishline"},
    "spec": {
        "containers": [
            {"name": "bad", "image": "busybox:latest", "securityContext": {"privileged": True}}
        ]
    },
}


def failed_checks(report: Any) -> dict[str, set[str]]:
    """Failed check ids per scanned file."""
    failed: dict[str, set[str]] = {}
    for result in report if isinstance(report, list) else [report]:
        for check in result["results"]["failed_checks"]:
            failed.setdefault(Path(check["file_path"]).name, set()).add(check["check_id"])
    return failed


@pytest.fixture(scope="module")
def checkov_report(
    tmp_path_factory: pytest.TempPathFactory,
    rendered: Callable[[dict[str, Any]], list[Manifest]],
    scenarios: dict[str, dict[str, Any]],
) -> dict[str, set[str]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: `make .venv-checkov/.installed` builds its venv")
    directory = tmp_path_factory.mktemp("checkov")
    # Each distinct object of every scenario once: the scan stays short.
    unique = {
        json.dumps(m, sort_keys=True): m for values in scenarios.values() for m in rendered(values)
    }
    (directory / "chart.yaml").write_text(yaml.safe_dump_all(unique.values()), encoding="utf-8")
    (directory / "bad.yaml").write_text(yaml.safe_dump(BAD_POD), encoding="utf-8")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return failed_checks(json.loads(result.stdout))


@pytest.mark.slow
def test_the_chart_fails_no_unlisted_check(checkov_report: dict[str, set[str]]) -> None:
    assert checkov_report.get("chart.yaml", set()) <= set(SKIPS)


@pytest.mark.slow
def test_every_listed_skip_is_still_needed(checkov_report: dict[str, set[str]]) -> None:
    assert set(SKIPS) <= checkov_report.get("chart.yaml", set())
    assert all(reason.strip() for reason in SKIPS.values())


@pytest.mark.slow
def test_checkov_flags_a_bad_pod(checkov_report: dict[str, set[str]]) -> None:
    assert {"CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_14"} <= checkov_report["bad.yaml"]
