"""A bounded async HTTP load generator (httpx) that records the outcome of every request.

Closed loop: `concurrency` clients, each sending its next request when the previous one is
answered (finds the maximum throughput). Open loop: requests planned at a fixed `rate`, at most
`concurrency` in flight; latency counts from the planned send time, so a slow server cannot
hide its queueing by delaying the next request (coordinated omission). Either way the run is
bounded by `seconds`, by the request source running out, or by `stop()`.

`BackgroundLoad` runs the same generator in a thread, so that a test can kill or signal a
process while the load goes on, pause new requests, and see which are outstanding and whether
each has been written to its connection yet (httpcore's trace): a request waiting in the
client for a connection is not in any server's hands.
"""

import asyncio
import contextlib
import itertools
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

# Long enough never to cut off a request the servers are still working on (their own
# timeouts are shorter): a timeout here would hide what the server answered.
CLIENT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    path: str
    body: dict[str, Any]


# The index-th request of a run, or None when the source has no more.
RequestSource = Callable[[int], Request | None]


# httpcore's trace event once a request's last byte is written to its connection.
WRITTEN_EVENT = "http11.send_request_body.complete"


@dataclass(frozen=True)
class Outcome:
    index: int
    sent: float  # time.perf_counter() of the (planned) send
    written: float | None  # when its last byte was written; None if it never was
    answered: float
    status: int | None  # None: no HTTP answer (connection refused or reset, timeout)
    code: str  # "" on success, the JSON error code, or the httpx exception's name
    message: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def latency(self) -> float:
        return self.answered - self.sent


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """The project's error body `{"error": {"code", "message"}}`, else the HTTP reason."""
    if response.is_success:
        return "", ""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}", response.text[:200]


class Load:
    """The state of one run, safe to observe and control from another thread while it runs."""

    def __init__(self, base_url: str, source: RequestSource) -> None:
        self.base_url = base_url
        self.source = source
        # Guards the fields below; taking a request and pausing are atomic under it.
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._outstanding: dict[int, float] = {}  # index → (planned) send time
        self._written: dict[int, float] = {}  # of the outstanding ones
        self._paused = False
        self._exhausted = False
        self._stopped = threading.Event()
        self.running = threading.Event()  # set when the clients are ready and the clock starts
        self.started = 0.0
        self.finished = 0.0

    # --- control and observation, from any thread -------------------------------------------
    def stop(self) -> None:
        self._stopped.set()

    def pause(self) -> None:
        """Once this returns, no new request starts until resume(); those outstanding go on."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    def outstanding(self) -> dict[int, float | None]:
        """Requests started and not answered yet: index → when the request was written to its
        connection (None: not yet, e.g. waiting in the client for a connection)."""
        with self._lock:
            return {index: self._written.get(index) for index in self._outstanding}

    def outcomes(self) -> list[Outcome]:
        with self._lock:
            return list(self._outcomes)

    # --- the run ------------------------------------------------------------------------------
    async def run(
        self, concurrency: int, seconds: float | None = None, rate: float | None = None
    ) -> list[Outcome]:
        """Closed loop on `concurrency` clients, or open loop at `rate` per second with at most
        `concurrency` in flight; until `seconds` pass, the source runs out, or stop()."""
        # One single-connection client per slot: one shared pool of many connections costs
        # httpx CPU per request that grows with their number (4 ms at 32 on a 2-core machine),
        # and would make the load generator the bottleneck it is meant to measure.
        tls = httpx.create_ssl_context()  # unused on http://, but built per client otherwise
        async with contextlib.AsyncExitStack() as clients:
            idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
            for _ in range(concurrency):
                idle.put_nowait(await clients.enter_async_context(self._client(tls)))
            self.started = time.perf_counter()
            self.running.set()
            deadline = self.started + seconds if seconds is not None else float("inf")
            if rate is None:
                counter = itertools.count()
                await asyncio.gather(
                    *(self._closed_loop(idle.get_nowait(), counter, deadline)
                      for _ in range(concurrency))
                )  # fmt: skip
            else:
                await self._open_loop(idle, rate, deadline)
        self.finished = time.perf_counter()
        return self.outcomes()

    def _client(self, tls: ssl.SSLContext) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=CLIENT_TIMEOUT_SECONDS, limits=limits, verify=tls
        )

    async def _take(self, index: int, sent: float | None, deadline: float) -> Request | None:
        """The index-th request, counted outstanding from `sent` (now when None); waits while
        paused; None when the run is over."""
        while not (self._exhausted or self._stopped.is_set() or time.perf_counter() >= deadline):
            with self._lock:
                if not self._paused:
                    request = self.source(index)
                    if request is None:
                        self._exhausted = True
                        return None
                    self._outstanding[index] = time.perf_counter() if sent is None else sent
                    return request
            await asyncio.sleep(0.005)
        return None

    async def _closed_loop(
        self, client: httpx.AsyncClient, counter: Iterable[int], deadline: float
    ) -> None:
        for index in counter:
            if (request := await self._take(index, None, deadline)) is None:
                return
            await self._send(client, index, request)

    async def _open_loop(
        self, idle: asyncio.Queue[httpx.AsyncClient], rate: float, deadline: float
    ) -> None:
        tasks: set[asyncio.Task[None]] = set()

        async def send_and_release(client: httpx.AsyncClient, index: int, request: Request) -> None:
            try:
                await self._send(client, index, request)
            finally:
                idle.put_nowait(client)

        for index in itertools.count():
            planned = self.started + index / rate
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            client = await idle.get()  # bounded: waits while every client has a request out
            if (request := await self._take(index, planned, deadline)) is None:
                break
            task = asyncio.create_task(send_and_release(client, index, request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    async def _send(self, client: httpx.AsyncClient, index: int, request: Request) -> None:
        async def trace(event: str, _info: dict[str, Any]) -> None:
            if event == WRITTEN_EVENT:
                with self._lock:
                    self._written[index] = time.perf_counter()

        status: int | None
        try:
            response = await client.post(
                request.path, json=request.body, extensions={"trace": trace}
            )
            status = response.status_code
            code, message = _error_of(response)
        except httpx.TransportError as exc:
            status, code, message = None, type(exc).__name__, str(exc)
        answered = time.perf_counter()
        with self._lock:
            sent, written = self._outstanding.pop(index), self._written.pop(index, None)
            self._outcomes.append(Outcome(index, sent, written, answered, status, code, message))


class BackgroundLoad:
    """A Load running in its own thread and event loop, for the duration of a `with` block
    (at most `seconds` when given); the block's end stops it and waits for the answers."""

    def __init__(
        self,
        base_url: str,
        source: RequestSource,
        concurrency: int,
        rate: float | None = None,
        seconds: float | None = None,
    ) -> None:
        self.load = Load(base_url, source)
        self._errors: list[Exception] = []
        self._thread = threading.Thread(
            target=self._run, args=(concurrency, seconds, rate), name="background-load"
        )

    def _run(self, concurrency: int, seconds: float | None, rate: float | None) -> None:
        try:
            asyncio.run(self.load.run(concurrency, seconds, rate))
        except Exception as exc:  # noqa: BLE001  # pylint: disable=broad-exception-caught
            self._errors.append(exc)  # re-raised in the caller's thread by __exit__

    def __enter__(self) -> Load:
        """Start the load; returns once it is sending (or has failed to start)."""
        self._thread.start()
        while not self.load.running.wait(timeout=0.05) and self._thread.is_alive():
            pass
        return self.load

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.load.stop()
        self._thread.join(timeout=CLIENT_TIMEOUT_SECONDS + 10)
        if self._errors and exc is None:
            raise RuntimeError("the background load failed") from self._errors[0]
