"""The real server: uvicorn on 127.0.0.1, signals, graceful shutdown, start-up refusal, logs."""

import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from model_service.bench.service import RunningService, free_port, running_service
from model_service.core.config import Settings
from model_service.server import run

pytestmark = pytest.mark.slow
PHISHING_URL = "http://paypal.com.account-verify.secure-login.example.ru/webscr?cmd=_login-submit"


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def scrape(service: RunningService, name: str, **labels: str) -> float:
    text = httpx.get(f"{service.base_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + "{" if labels else name + " ") and all(
            f'{k}="{v}"' in line for k, v in labels.items()
        ):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{labels} is not exported")


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head[9:12]), body


def half_sent_request(service: RunningService, body: bytes) -> socket.socket:
    """A request whose head and half its body have been sent: the server is serving it."""
    sock = socket.create_connection((service.host, service.port), timeout=20)
    head = (
        f"POST /v1/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) // 2])
    return sock


@pytest.fixture
def service(artifact_root: Path) -> Iterator[RunningService]:
    with running_service(artifact_root) as running:
        yield running


def test_real_server_predicts_on_loopback(service: RunningService) -> None:
    response = httpx.post(f"{service.base_url}/v1/predict", json={"url": PHISHING_URL}, timeout=10)
    assert response.status_code == 200
    assert response.json()["label"] == "phishing"
    assert response.headers["x-request-id"]
    assert service.memory_kib()["VmRSS"] > 0


def test_sigterm_finishes_in_flight_requests_and_stops_accepting(service: RunningService) -> None:
    body = json.dumps({"url": PHISHING_URL}).encode()
    in_flight = [half_sent_request(service, body) for _ in range(4)]
    # The scrape itself is in flight too.
    wait_for(lambda: scrape(service, "phishline_model_in_flight_requests") >= 5)
    service.process.send_signal(signal.SIGTERM)

    def refuses_connections() -> bool:
        try:
            socket.create_connection((service.host, service.port), timeout=1).close()
        except OSError:
            return True
        return False

    wait_for(refuses_connections)
    for sock in in_flight:
        sock.sendall(body[len(body) // 2 :])
    responses = [read_response(sock) for sock in in_flight]
    for sock in in_flight:
        sock.close()
    assert [status for status, _ in responses] == [200] * 4
    assert all(json.loads(payload)["label"] == "phishing" for _, payload in responses)
    # uvicorn (pinned) drains, then ends the process with the signal it received.
    assert service.process.wait(timeout=20) == -signal.SIGTERM


def test_sigterm_waits_a_bounded_time_then_answers_stalled_requests_with_a_json_503(
    artifact_root: Path,
) -> None:
    with running_service(artifact_root, extra_env={"PHISHLINE_SHUTDOWN_TIMEOUT": "1"}) as service:
        stalled = half_sent_request(service, json.dumps({"url": PHISHING_URL}).encode())
        wait_for(lambda: scrape(service, "phishline_model_in_flight_requests") >= 2)
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        status, body = read_response(stalled)
        service.process.wait(timeout=20)
        assert time.monotonic() - started < 8
        stalled.close()
    assert status == 503
    assert json.loads(body)["error"]["code"] == "shutting_down"


def test_sighup_keeps_serving_the_old_models_when_the_new_are_tampered(
    models_copy: Path, tamper: Callable[[Path], Path]
) -> None:
    with running_service(models_copy) as service:
        tamper(models_copy / "ensemble")
        service.process.send_signal(signal.SIGHUP)
        wait_for(lambda: scrape(service, "phishline_model_reloads_total", result="failure") == 1)
        response = httpx.post(
            f"{service.base_url}/v1/predict", json={"url": PHISHING_URL}, timeout=10
        )
        assert response.status_code == 200
        assert response.json()["model"] == "ensemble"
        assert scrape(service, "phishline_model_loaded_models") == 3


# The first load sends the process a SIGHUP halfway, as an operator who replaced the models
# while the service was starting would.
_HUP_WHILE_LOADING = """
import os, signal
from model_service import main
from model_service.core.config import Settings
from model_service.server import run
load = main.load_registry
sent = []
def load_after_a_hup(settings):
    if not sent:
        sent.append(signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGHUP)
    return load(settings)
main.load_registry = load_after_a_hup
run(Settings())
"""


def test_a_sighup_while_the_models_load_is_a_reload_once_serving(models_copy: Path) -> None:
    """Left to its default, the signal ended the process before it ever served."""
    port = free_port()
    env = {**os.environ, "PHISHLINE_PORT": str(port), "PHISHLINE_MODEL_DIR": str(models_copy),
           "PHISHLINE_LOG_LEVEL": "warning"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-c", _HUP_WHILE_LOADING], env=env, stderr=subprocess.DEVNULL
    )
    service = RunningService(process, "127.0.0.1", port)
    try:
        wait_for(
            lambda: process.poll() is not None or _answers(f"{service.base_url}/health/ready"), 60
        )
        assert process.poll() is None, f"model-service ended with {process.returncode}"
        wait_for(
            lambda: scrape(service, "phishline_model_reloads_total", result="success") == 1, 60
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_start_up_refuses_tampered_artifacts_clearly(
    models_copy: Path, tamper: Callable[[Path], Path], restore_logging: None
) -> None:
    tamper(models_copy / "gbm")
    with pytest.raises(SystemExit, match=r"model-service cannot start: .*gbm.*sha256"):
        run(Settings(model_dir=models_copy, port=free_port()))


def test_run_in_process_reloads_on_sighup_and_stops_on_sigterm(
    models_copy: Path, tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same life cycle as above, inside this process (so coverage sees server.run)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    seen: dict[str, Any] = {}

    def drive() -> None:
        try:
            wait_for(lambda: _answers(f"{base}/health/ready"))
            seen["frozen"] = gc.get_freeze_count()
            seen["predict"] = httpx.post(
                f"{base}/v1/predict",
                json={"url": PHISHING_URL},
                headers={"x-request-id": "drive-1"},
            ).json()
            shutil.rmtree(models_copy / "gbm")
            os.kill(os.getpid(), signal.SIGHUP)
            wait_for(lambda: len(httpx.get(f"{base}/v1/models").json()["models"]) == 2)
            seen["models"] = [m["name"] for m in httpx.get(f"{base}/v1/models").json()["models"]]
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    # uvicorn re-raises the signal once it has shut down; here it must not end pytest.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    driver = threading.Thread(target=drive)
    driver.start()
    frozen_before = gc.get_freeze_count()
    try:
        run(Settings(model_dir=models_copy, port=port, model_cache_dir=tmp_path / "cache"))
    finally:
        driver.join()
        signal.signal(signal.SIGTERM, previous)
        gc.unfreeze()  # for the tests after this one; a real server's process ends here
    # Start-up's objects are out of the collector's full passes while serving.
    assert seen["frozen"] > frozen_before
    assert seen["predict"]["label"] == "phishing"
    assert seen["models"] == ["ensemble", "linear"]
    logs = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [log for log in logs if log["logger"] == "model_service.access"]
    assert any(log.get("request_id") == "drive-1" and log["status"] == 200 for log in access)
    assert any(log["message"] == "models reloaded" for log in logs)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
