"""model-service and the app as `phishline serve` processes on 127.0.0.1, each on a free port.

Every process can be killed, stopped (SIGTERM) and started again on its port, which is what
the reliability tests do to them. Resident memory and CPU time come from /proc (Linux).
"""

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from model_service.bench.service import free_port

HOST = "127.0.0.1"
# Python imports plus artifact verification take seconds; a busy shared machine doubles it.
READY_TIMEOUT_SECONDS = 120.0
# Longer than both servers' graceful-shutdown timeouts (10 s each).
STOP_TIMEOUT_SECONDS = 30.0


class ServiceFailedError(RuntimeError):
    """A service exited, or never became ready; the message ends with its log."""


def rss_bytes(pid: int) -> int:
    """Resident set size of a process now."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ServiceFailedError(f"process {pid} reports no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    # The fields after the parenthesised command name; utime and stime are the 12th and 13th.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ServiceProcess:
    """One `phishline serve ...` process; `arguments` follow `serve` (host and port added)."""

    name: str
    arguments: tuple[str, ...]
    work_dir: Path
    environment: Mapping[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.work_dir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServiceFailedError(f"{self.name} is not running")
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def launch(self) -> None:
        """Start the process (on the same port every time) without waiting for it."""
        command = [sys.executable, "-m", "phishline", "serve", *self.arguments,
                   "--host", HOST, "--port", str(self.port)]  # fmt: skip
        # A file, not a pipe: nobody reads the log while the load runs, and a full pipe would
        # stall the server. Appending keeps the log of every run of this service.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                command, stdout=log, stderr=subprocess.STDOUT, env=dict(self.environment),
                cwd=self.work_dir,
            )  # fmt: skip

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> float:
        """Wait until GET /health/ready answers 200; returns that moment (perf_counter)."""
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.perf_counter() < deadline:
                if not self.running():
                    raise ServiceFailedError(f"{self.name} exited during start-up:\n{self.log()}")
                try:
                    if client.get(f"{self.url}/health/ready").status_code == 200:
                        return time.perf_counter()
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise ServiceFailedError(f"{self.name} was not ready within {timeout} s:\n{self.log()}")

    def send_signal(self, signum: int) -> None:
        if self.process is None:
            raise ServiceFailedError(f"{self.name} is not running")
        self.process.send_signal(signum)  # a no-op once the process has been reaped

    def wait(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """Wait for the process to exit; returns its exit status (-N: ended by signal N)."""
        if self.process is None:
            raise ServiceFailedError(f"{self.name} is not running")
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def stop(self) -> int:
        """SIGTERM, as an orchestrator sends it; SIGKILL when it outlasts STOP_TIMEOUT_SECONDS."""
        self.send_signal(signal.SIGTERM)
        try:
            return self.wait()
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash."""
        self.send_signal(signal.SIGKILL)
        self.wait()

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


@dataclass
class Stack:
    """model-service and one app variant in front of it, sharing a working directory."""

    model_service: ServiceProcess
    app: ServiceProcess
    database_path: Path
    # Signs the app's feedback tokens: fixed, so that a restarted app accepts earlier ones.
    secret_key: str

    @classmethod
    def configure(
        cls, model_dir: Path, work_dir: Path, variant: str = "v1", log_level: str = "warning"
    ) -> "Stack":
        secret_key = secrets.token_urlsafe(32)
        # The flags say everything; PHISHLINE_* settings of the calling shell must not leak in.
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PHISHLINE_")},
            "PHISHLINE_SECRET_KEY": secret_key,
        }
        model_service = ServiceProcess(
            "model-service",
            ("model", "--model-dir", str(Path(model_dir).resolve()), "--log-level", log_level),
            work_dir,
            environment,
        )
        database_path = work_dir / "feedback.db"
        app = ServiceProcess(
            "app",
            ("app", "--variant", variant, "--model-service-url", model_service.url,
             "--database-url", f"sqlite:///{database_path}", "--log-level", log_level),
            work_dir,
            environment,
        )  # fmt: skip
        return cls(model_service, app, database_path, secret_key)

    @property
    def services(self) -> tuple[ServiceProcess, ServiceProcess]:
        return self.model_service, self.app

    def start(self) -> None:
        """Start whichever service is not running (together: the app does not need model-service
        to start) and wait until both are ready."""
        stopped = [service for service in self.services if not service.running()]
        for service in stopped:
            service.launch()
        for service in stopped:
            service.wait_ready()

    def stop(self) -> None:
        """Stop the app, then model-service; a service that outlasted its stop (killed) is
        reported once the other one is stopped too, not left running on its port."""
        outlasted: list[subprocess.TimeoutExpired] = []
        for service in reversed(self.services):
            if service.running():
                try:
                    service.stop()
                except subprocess.TimeoutExpired as exc:
                    outlasted.append(exc)
        if outlasted:
            raise outlasted[0]


@contextmanager
def running_stack(
    model_dir: Path, variant: str = "v1", log_level: str = "warning"
) -> Iterator[Stack]:
    """A started stack in a temporary working directory (logs, feedback database)."""
    with tempfile.TemporaryDirectory(prefix="phishline-bench-") as work_dir:
        stack = Stack.configure(model_dir, Path(work_dir), variant, log_level)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()
