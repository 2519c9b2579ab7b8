"""`phishline up` refuses a busy port and fails when a service of the stack stops."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from phishline import app
from phishline.commands import up
from phishline.commands.checks import bind_refusal

REPO = Path(__file__).resolve().parents[2]
NEVER_RUN = ("/nonexistent/binary",)  # Popen would raise: proves nothing was started


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def test_a_busy_port_is_refused_and_a_closed_one_is_not(busy_port: int) -> None:
    assert bind_refusal(busy_port) == "Address already in use"
    with socket.create_server(("127.0.0.1", 0)) as listener:
        closed = listener.getsockname()[1]
    assert bind_refusal(closed) is None


def test_a_required_service_on_a_busy_port_stops_the_stack_before_it_starts(
    busy_port: int,
) -> None:
    stack = [up.Service("app v1", 1, NEVER_RUN), up.Service("model-service", busy_port, NEVER_RUN)]
    with pytest.raises(up.StackError, match=f"model-service cannot start: port {busy_port} is in"):
        up.start_stack(stack, REPO)


def test_an_optional_service_on_a_busy_port_is_skipped(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        up.start_stack([up.Service("prometheus", busy_port, NEVER_RUN, optional=True)], REPO) == []
    )
    assert f"skipped prometheus: port {busy_port} is in use" in capsys.readouterr().out


def test_a_service_that_stops_by_itself_fails_the_stack() -> None:
    crashing = up.subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(up.StackError, match="model-service exited with code 3"):
        up.supervise([(up.Service("model-service", 1, ()), crashing)])


def test_up_on_a_busy_port_says_so_and_exits_1(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(
        app, ["up", "--skip-pipeline", "--no-with-monitoring", "--model-port", str(busy_port)]
    )
    assert result.exit_code == 1
    assert f"model-service cannot start: port {busy_port} is in use" in " ".join(
        result.output.split()
    )


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_start_up_stops_what_up_started(
    signum: signal.Signals, tmp_path: Path
) -> None:
    """SIGTERM (a process manager) or SIGHUP (the terminal closed) while up waits for a
    service: the services it started must not outlive it. Models absent, model-service
    starts and stays unready, so up is still starting when the signal comes."""
    ports = [str(free_port()) for _ in range(3)]
    process = subprocess.Popen(
        [sys.executable, "-m", "phishline", "up", "--skip-pipeline", "--no-with-monitoring",
         "--model-dir", str(tmp_path), "--model-port", ports[0], "--v1-port", ports[1],
         "--v2-port", ports[2]],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline and process.poll() is None:
            children = psutil.Process(process.pid).children(recursive=True)
            time.sleep(0.1)
        assert children, "up started no service"
        process.send_signal(signum)
        process.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"left running: {[child.cmdline() for child in alive]}"
    finally:
        for child in children:
            if child.is_running():
                child.kill()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_failing_pipeline_is_one_error_line(tmp_path: Path) -> None:
    """dvc repro prints its own error; up adds one line (no traceback) and exits 1."""
    (tmp_path / "params.yaml").write_text("{}\n", encoding="utf-8")  # a project, not DVC's
    result = subprocess.run(
        [sys.executable, "-m", "phishline", "up", "--no-with-monitoring"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "Error: the pipeline failed: dvc repro exited with code" in " ".join(
        result.stderr.split()
    )


def test_alertmanager_is_skipped_when_its_configuration_cannot_be_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PHISHLINE_ALERT_* value the template refuses: monitoring is optional, so the stack
    starts without Alertmanager and says why (it ended up in a traceback)."""
    monkeypatch.setattr(up.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setenv("PHISHLINE_ALERT_SMTP_REQUIRE_TLS", "yes")
    found = up.monitoring(REPO, up.Ports(1, 2, 3, 4, 5), tmp_path)
    assert [service.name for service in found] == ["prometheus"]
    assert (
        "skipped alertmanager: render_config: PHISHLINE_ALERT_SMTP_REQUIRE_TLS must be true or "
        "false, not 'yes'"
    ) in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("option", ["--model-port", "--v1-port", "--alertmanager-port"])
def test_a_port_out_of_range_is_a_usage_error(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, ["up", "--skip-pipeline", option, "70000"])
    assert result.exit_code == 2, result.exception
    said = " ".join(result.output.replace("│", " ").split())
    assert f"Invalid value for '{option}': Input should be less than or equal to 65535" in said
