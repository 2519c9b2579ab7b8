"""The stack under test: model-service and the app (v1) as `phishline serve` processes on
127.0.0.1, on the small trained models. One stack serves every reliability test; a test that
kills or stops a process leaves it so, and the next test's `stack` fixture starts it again."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phishline.bench_e2e.load import Load
from phishline.bench_e2e.measure import measure_level
from phishline.bench_e2e.stack import ServiceProcess, Stack


@pytest.fixture(scope="session")
def reliability_stack(
    trained_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = Stack.configure(trained_models, tmp_path_factory.mktemp("reliability"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(reliability_stack: Stack) -> Stack:
    """The stack with both services running and ready."""
    reliability_stack.start()
    return reliability_stack


@pytest.fixture
def capacity(stack: Stack) -> float:
    """The app's maximum throughput here and now (closed loop, 8 clients, 2 s), in req/s:
    measured right before the test that uses it, as other work on the machine comes and goes."""
    return float(measure_level(stack, "app", 8, 2.0)["requests_per_s"])


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.01)


def unread_by_server(port: int) -> int:
    """Bytes sent to 127.0.0.1:port that its server has not read yet, plus connections it has
    not accepted yet: the receive queues of its sockets in /proc/net/tcp (a listening socket's
    is its accept queue)."""
    unread = 0
    for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            unread += int(fields[4].split(":")[1], 16)
    return unread


def hold_until_taken_in(load: Load, service: ServiceProcess, seconds: float = 20.0) -> set[int]:
    """Pause new requests, wait until the server has taken in every outstanding one, and return
    their indices.

    A request is in the server's hands once the client has written it (its trace says so) and
    the server has read it: uvicorn then serves it to the end after SIGTERM, while it closes
    connections whose next request it has not read. Every outstanding request written before
    the check, with nothing waiting in the server's sockets at the check, was read. Requests
    started but not yet written go out meanwhile. When the server has answered them all before
    a check (a fast moment of a busy machine), new requests are let out and the checks go on,
    so that it holds some at the end.
    """
    load.pause()
    taken_in: set[int] = set()

    def all_taken_in() -> bool:
        outstanding = load.outstanding()  # before reading the sockets: see above
        if not outstanding:
            load.resume()
            time.sleep(0.005)
            load.pause()
            return False
        if None in outstanding.values() or unread_by_server(service.port):
            return False
        taken_in.update(outstanding)
        return True

    wait_for(all_taken_in, seconds, f"{service.name} holding every outstanding request")
    return taken_in
