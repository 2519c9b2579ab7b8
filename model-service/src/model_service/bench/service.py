"""The service under test: a real uvicorn process on 127.0.0.1 and a free port."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

_START = "from model_service.core.config import Settings; from model_service.server import run; run(Settings())"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningService:
    process: subprocess.Popen[bytes]
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time the service process has used (user + system), from /proc/<pid>/stat."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="utf-8")
        # Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kib(self) -> dict[str, int]:
        """Resident set size now (VmRSS) and at its peak (VmHWM), in KiB."""
        fields = {}
        for line in (
            Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8").splitlines()
        ):
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields


@contextmanager
def running_service(
    model_dir: Path,
    log_level: str = "warning",
    startup_seconds: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[RunningService]:
    """Start the service in a subprocess and wait until it is ready; stop it on exit.
    `extra_env` adds PHISHLINE_* settings."""
    port = free_port()
    env = {
        **os.environ,
        "PHISHLINE_HOST": "127.0.0.1",
        "PHISHLINE_PORT": str(port),
        "PHISHLINE_MODEL_DIR": str(model_dir),
        "PHISHLINE_LOG_LEVEL": log_level,
        **(extra_env or {}),
    }
    # A file, not a pipe: nobody reads the logs while the load runs, and a full pipe would
    # stall the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own code
            [sys.executable, "-c", _START], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        service = RunningService(process, "127.0.0.1", port)
        try:
            _wait_ready(service, startup_seconds, log)
            yield service
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(service: RunningService, seconds: float, log: IO[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"model-service exited during start-up:\n{log.read().decode()}")
        try:
            if httpx.get(f"{service.base_url}/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"model-service was not ready within {seconds} s")
