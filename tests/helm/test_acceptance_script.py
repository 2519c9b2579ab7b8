"""The acceptance test the chart runs (`helm test`, Flagger's pre-rollout webhook): the
script itself, against a stand-in model-service on 127.0.0.1, and how the chart ships it."""

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from model_service.api.routes.predict import SYNTHETIC_HEADER

Manifest = dict[str, Any]
SCRIPT = (
    Path(__file__).resolve().parents[2]
    / "operation"
    / "helm"
    / "phishline"
    / "files"
    / "acceptance"
    / "check_predictions.py"
)
CASES = [
    {"url": "https://www.wikipedia.org/", "label": "legitimate"},
    {"url": "http://paypal.com.account-verify.example.tk/login", "label": "phishing"},
]


class StandIn(BaseHTTPRequestHandler):
    """Answers POST /v1/predict with the label the server's `answers` give the URL."""

    answers: ClassVar[dict[str, str]] = {}
    quit_calls: ClassVar[list[str]] = []
    synthetic_marks: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        self.synthetic_marks.append(self.headers.get(SYNTHETIC_HEADER))
        if self.path == "/quitquitquit":
            self.quit_calls.append(self.path)
            self.send_response(200)
            self.end_headers()
            return
        url = json.loads(body)["url"]
        if url not in self.answers:  # a pod going away mid-request: no answer at all
            self.close_connection = True
            return
        payload = json.dumps({"url": url, "label": self.answers[url], "probability": 0.5}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the script's output, not the server's."""


@pytest.fixture
def stand_in() -> Iterator[tuple[str, type[StandIn]]]:
    handler = type("Handler", (StandIn,), {"answers": {}, "quit_calls": [], "synthetic_marks": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def run(base_url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(CASES), encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            f"--base-url={base_url}",
            f"--cases={cases}",
            "--timeout=5",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_right_answers_pass(stand_in: tuple[str, type[StandIn]], tmp_path: Path) -> None:
    base_url, handler = stand_in
    handler.answers.update({c["url"]: c["label"] for c in CASES})
    result = run(base_url, tmp_path, f"--sidecar-quit-url={base_url}/quitquitquit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 cases" in result.stdout
    assert handler.quit_calls == ["/quitquitquit"]
    # Marked as test traffic, so that model-service leaves it out of its drift window.
    assert handler.synthetic_marks[: len(CASES)] == ["acceptance-test"] * len(CASES)


def test_a_wrong_label_fails(stand_in: tuple[str, type[StandIn]], tmp_path: Path) -> None:
    base_url, handler = stand_in
    handler.answers.update({c["url"]: "legitimate" for c in CASES})
    result = run(base_url, tmp_path)
    assert result.returncode == 1
    assert "got 'legitimate', expected 'phishing'" in result.stdout


def test_no_answer_fails(tmp_path: Path) -> None:
    result = run("http://127.0.0.1:9", tmp_path)  # the discard port: nothing listens
    assert result.returncode == 1
    assert result.stdout.count("no answer") == len(CASES)


def test_a_dropped_connection_fails_its_case_and_still_releases_the_sidecar(
    stand_in: tuple[str, type[StandIn]], tmp_path: Path
) -> None:
    """http.client's errors on a connection closed without an answer are not URLErrors: the
    script used to stop on the traceback, report no case and leave the sidecar running, so
    the test pod never completed and the Job failed only at its deadline."""
    base_url, handler = stand_in
    handler.answers.update({CASES[1]["url"]: CASES[1]["label"]})
    result = run(base_url, tmp_path, f"--sidecar-quit-url={base_url}/quitquitquit")
    assert result.returncode == 1
    assert f"FAIL {CASES[0]['url']}: no answer" in result.stdout, result.stderr
    assert "1 of 2 cases" in result.stdout
    assert handler.quit_calls == ["/quitquitquit"]


def test_the_chart_ships_the_script_and_the_cases(
    defaults: list[Manifest], one_object: Callable[..., Manifest], chart_values: dict[str, Any]
) -> None:
    config = one_object(defaults, "ConfigMap", "phishline-acceptance-test")["data"]
    assert config["check_predictions.py"] == SCRIPT.read_text(encoding="utf-8")
    assert json.loads(config["cases.json"]) == chart_values["acceptance"]["cases"]
    assert {c["label"] for c in chart_values["acceptance"]["cases"]} == {"legitimate", "phishing"}
