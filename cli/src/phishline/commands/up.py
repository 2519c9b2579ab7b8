"""`phishline up`: data → train when stale (DVC) → model-service + app v1 + app v2 on
127.0.0.1, their URLs printed; Ctrl-C stops everything it started."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

console = Console()
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    args: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def venv_environment() -> dict[str, str]:
    """The environment with this interpreter's bin first, so DVC's `python -m` stages and the
    children use the project's venv even when it is not activated."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def reproduce_pipeline(root: Path) -> None:
    """`dvc repro`: runs only the stages whose inputs changed (seconds when nothing did)."""
    console.print("[bold]pipeline[/]: dvc repro (trains only when data, code or params changed)")
    subprocess.run(
        [sys.executable, "-m", "dvc", "repro"], cwd=root, env=venv_environment(), check=True
    )


def services(model_port: int, v1_port: int, v2_port: int, models: Path) -> list[Service]:
    model_url = f"http://127.0.0.1:{model_port}"
    cli = (sys.executable, "-m", "phishline")
    return [
        Service("model-service", model_port, (*cli, "serve", "model", "--host", "127.0.0.1",
                "--port", str(model_port), "--model-dir", str(models))),
        Service("app v1", v1_port, (*cli, "serve", "app", "--variant", "v1", "--host",
                "127.0.0.1", "--port", str(v1_port), "--model-service-url", model_url)),
        Service("app v2", v2_port, (*cli, "serve", "app", "--variant", "v2", "--host",
                "127.0.0.1", "--port", str(v2_port), "--model-service-url", model_url)),
    ]  # fmt: skip


def wait_ready(service: Service, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with code {process.returncode}")
        try:
            if httpx.get(f"{service.url}/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} was not ready on {service.url} within {timeout:.0f} s")


def stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (graceful: in-flight requests finish), then SIGKILL whatever is left."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_stack(stack: Sequence[Service], root: Path) -> list[subprocess.Popen[bytes]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for service in stack:
            process = subprocess.Popen(service.args, cwd=root, env=venv_environment())  # noqa: S603
            started.append(process)
            wait_ready(service, process, READY_TIMEOUT_SECONDS)
            console.print(f"[green]ready[/] {service.name:<14} {service.url}")
    except BaseException:
        stop_all(started)
        raise
    return started


def up(
    model_port: Annotated[int, typer.Option(help="model-service port.")] = 8081,
    v1_port: Annotated[int, typer.Option(help="app v1 port.")] = 8080,
    v2_port: Annotated[int, typer.Option(help="app v2 port.")] = 8082,
    skip_pipeline: Annotated[
        bool, typer.Option(help="Serve the models already there without `dvc repro`.")
    ] = False,
    model_dir: Annotated[
        Path | None, typer.Option(help="Artifacts to serve [default: the pipeline's models/].")
    ] = None,
) -> None:
    """Get data, train when stale, start model-service + app v1 + app v2 on 127.0.0.1."""
    from model_training.config import Paths, project_root

    root = project_root()
    if not skip_pipeline:
        reproduce_pipeline(root)
    stack = services(model_port, v1_port, v2_port, model_dir or Paths(root).models)
    processes = start_stack(stack, root)
    stop = {"requested": False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    console.print("[bold]phishline is up[/] (Ctrl-C stops everything):")
    for service in stack:
        console.print(f"  {service.name:<14} {service.url}")
    try:
        while not stop["requested"]:
            for service, process in zip(stack, processes, strict=True):
                if process.poll() is not None:
                    console.print(f"[red]{service.name} exited[/] (code {process.returncode})")
                    stop["requested"] = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        stop_all(processes)
        console.print("stopped")
