"""The local stack the way `make run` starts it: `phishline up` on 127.0.0.1."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from .conftest import REPO, free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            lines.append(line)
            if needle in line:
                return lines
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.1)
    raise AssertionError(f"no {needle!r} within {timeout} s; output:\n{''.join(lines)}")


def test_up_serves_all_components_and_stops_cleanly(trained_models: Path, tmp_path: Path) -> None:
    ports = {"model": free_port(), "v1": free_port(), "v2": free_port(),
             "prometheus": free_port(), "alertmanager": free_port()}  # fmt: skip
    env = {**os.environ, "PHISHLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'feedback.db'}",
           "COLUMNS": "200"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "phishline", "up", "--skip-pipeline",
         "--model-dir", str(trained_models), "--model-port", str(ports["model"]),
         "--v1-port", str(ports["v1"]), "--v2-port", str(ports["v2"]),
         "--prometheus-port", str(ports["prometheus"]),
         "--alertmanager-port", str(ports["alertmanager"])],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output = wait_for_line(process, "phishline is up", timeout=90)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 3, output
        for name in ("model", "v1", "v2"):
            ready = httpx.get(f"http://127.0.0.1:{ports[name]}/health/ready", timeout=5)
            assert ready.status_code == 200
        monitoring = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}
        for name, binary in monitoring.items():
            if shutil.which(binary):
                assert f"ready {name}" in "".join(output).replace("  ", " ")
                ready = httpx.get(f"http://127.0.0.1:{ports[name]}/-/ready", timeout=5)
                assert ready.status_code == 200
        for variant in ("v1", "v2"):
            answer = httpx.post(
                f"http://127.0.0.1:{ports[variant]}/api/predict",
                json={"url": "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["label"] == "phishing"
        # Ctrl-C reaches the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        for port in ports.values():
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
