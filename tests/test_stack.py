"""The local stack the way `make run` starts it: `phishline up` on 127.0.0.1."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path

import httpx
import psutil
import pytest

from phishline.commands.up import Ports, monitoring

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


@contextmanager
def phishline_up(models: Path, state: Path) -> Iterator[tuple[subprocess.Popen[str], Ports, str]]:
    """`phishline up` on free ports, until it printed that it is up: the process, its ports
    and what it printed. Killed, with all it started, if still running at the end."""
    ports = Ports(model=free_port(), v1=free_port(), v2=free_port(),
                  prometheus=free_port(), alertmanager=free_port())  # fmt: skip
    env = {**os.environ, "PHISHLINE_DATABASE_URL": f"sqlite:///{state / 'feedback.db'}",
           "COLUMNS": "200"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "phishline", "up", "--skip-pipeline",
         "--model-dir", str(models), "--model-port", str(ports.model),
         "--v1-port", str(ports.v1), "--v2-port", str(ports.v2),
         "--prometheus-port", str(ports.prometheus),
         "--alertmanager-port", str(ports.alertmanager)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output = wait_for_line(process, "phishline is up", timeout=90)
        yield process, ports, "".join(output).replace("  ", " ")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def test_up_serves_all_components_and_stops_cleanly(trained_models: Path, tmp_path: Path) -> None:
    """model-service and both app variants (Prometheus and Alertmanager: the next test)."""
    with phishline_up(trained_models, tmp_path) as (process, ports, output):
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 3, output
        for port in (ports.model, ports.v1, ports.v2):
            ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
            assert ready.status_code == 200
        for port in (ports.v1, ports.v2):
            answer = httpx.post(
                f"http://127.0.0.1:{port}/api/predict",
                json={"url": "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["label"] == "phishing"
        # Ctrl-C reaches the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        for port in astuple(ports):
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2)


def test_up_serves_prometheus_and_alertmanager_when_installed(
    trained_models: Path, tmp_path: Path
) -> None:
    """Each monitoring service that `phishline up` finds a binary for (its own lookup, so
    every name it accepts counts) must become ready; the ones it finds none for are
    reported as a skip, not passed over in silence."""
    lookup = tmp_path / "lookup"
    lookup.mkdir()
    unused = Ports(0, 0, 0, 0, 0)
    found = {service.name for service in monitoring(REPO, unused, lookup)}
    missing = sorted({"prometheus", "alertmanager"} - found)
    if not found:
        pytest.skip(f"no binary on PATH for {missing}: phishline up starts no monitoring")
    with phishline_up(trained_models, tmp_path) as (process, ports, output):
        for name in sorted(found):
            assert f"ready {name}" in output, output
            port = getattr(ports, name)
            ready = httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=5)
            assert ready.status_code == 200
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
    if missing:
        pytest.skip(f"no binary on PATH for {missing}: only {sorted(found)} checked")
