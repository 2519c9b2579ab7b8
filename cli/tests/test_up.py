"""`phishline up` refuses a busy port and fails when a service of the stack stops."""

import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phishline import app
from phishline.commands import up
from phishline.commands.checks import bind_refusal

REPO = Path(__file__).resolve().parents[2]
NEVER_RUN = ("/nonexistent/binary",)  # Popen would raise: proves nothing was started


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


def test_a_service_that_stops_by_itself_fails_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # leave pytest's handlers alone
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
