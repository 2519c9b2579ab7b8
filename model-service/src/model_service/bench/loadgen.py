"""A small HTTP/1.1 load generator: keep-alive connections sending pre-encoded requests.

It does little per request (no client library, no JSON) so that on a small machine it can
push a single-process server to saturation from one core.
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadResult:
    requests: int  # answered, failures included
    failures: int
    seconds: float
    latencies: list[float]  # seconds, of the successful requests

    @property
    def throughput(self) -> float:
        """Successful requests per second: an error answer is no request served."""
        return (self.requests - self.failures) / self.seconds

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1e3) if self.latencies else float("nan")


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += "Content-Type: application/json\r\n"
    return head.encode("ascii") + b"\r\n" + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response with a Content-Length body; returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


@dataclass
class _Tally:
    requests: int = 0
    failures: int = 0


async def _connection(
    host: str,
    port: int,
    requests: Sequence[bytes],
    offset: int,
    schedule: tuple[float, float] | None,
    deadline: float,
    latencies: list[float],
    tally: _Tally,
) -> None:
    """One keep-alive connection; `schedule` is (first send time, interval) in open loop."""
    reader, writer = await asyncio.open_connection(host, port)
    sent = 0
    try:
        while True:
            # Open loop: latency counts from the planned send time, so a slow server cannot
            # hide its queueing by delaying the next request (coordinated omission).
            planned = time.perf_counter() if schedule is None else schedule[0] + sent * schedule[1]
            if planned >= deadline:
                return
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            writer.write(requests[(offset + sent) % len(requests)])
            status = await _read_response(reader)
            sent += 1
            tally.requests += 1
            if status == 200:
                latencies.append(time.perf_counter() - planned)
            else:
                tally.failures += 1
    finally:
        writer.close()


async def generate_load(
    host: str,
    port: int,
    requests: Sequence[bytes],
    connections: int,
    seconds: float,
    rate: float | None = None,
) -> LoadResult:
    """As fast as the server answers on `connections` connections (closed loop), or at a
    fixed total `rate` per second spread over them (open loop)."""
    latencies: list[float] = []
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds

    def schedule(index: int) -> tuple[float, float] | None:
        if rate is None:
            return None
        interval = connections / rate
        # Staggered starts spread the connections' sends evenly over each interval.
        return started + interval * index / connections, interval

    await asyncio.gather(
        *(
            _connection(host, port, requests, index, schedule(index), deadline, latencies, tally)
            for index in range(connections)
        )
    )
    return LoadResult(tally.requests, tally.failures, time.perf_counter() - started, latencies)
