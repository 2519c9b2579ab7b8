"""`phishline up`: data → train when stale (DVC) → model-service + app v1 + app v2 on
127.0.0.1 (+ Prometheus and Alertmanager with the project's rules when their binaries are
installed), their URLs printed; Ctrl-C stops everything it started."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
import yaml
from rich.console import Console
from rich.markup import escape

from phishline.commands.checks import bind_refusal, current_project, errors

console = Console()
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


# Where mail goes when PHISHLINE_ALERT_* is not configured: a local SMTP sink, if any.
LOCAL_ALERT_ENVIRONMENT = {
    "PHISHLINE_ALERT_SMTP_SMARTHOST": "127.0.0.1:1025",
    "PHISHLINE_ALERT_EMAIL_FROM": "phishline-alerts@localhost",
    "PHISHLINE_ALERT_EMAIL_TO": "operators@localhost",
    "PHISHLINE_ALERT_SMTP_REQUIRE_TLS": "false",
}


class StackError(RuntimeError):
    """The pipeline failed, or a service of the stack could not start or stopped by itself."""


@dataclass(frozen=True)
class Ports:
    model: int
    v1: int
    v2: int
    prometheus: int
    alertmanager: int


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    args: tuple[str, ...]
    ready_path: str = "/health/ready"
    optional: bool = False  # monitoring: the stack runs on without it

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
    try:
        subprocess.run(
            [sys.executable, "-m", "dvc", "repro"], cwd=root, env=venv_environment(), check=True
        )
    except subprocess.CalledProcessError as exc:
        # dvc has printed what failed; a traceback of this call would bury it.
        raise StackError(
            f"the pipeline failed: dvc repro exited with code {exc.returncode} (its error is "
            "above); nothing was started"
        ) from exc


def services(ports: Ports, models: Path) -> list[Service]:
    model_url = f"http://127.0.0.1:{ports.model}"
    cli = (sys.executable, "-m", "phishline")
    return [
        Service("model-service", ports.model, (*cli, "serve", "model", "--host", "127.0.0.1",
                "--port", str(ports.model), "--model-dir", str(models))),
        Service("app v1", ports.v1, (*cli, "serve", "app", "--variant", "v1", "--host",
                "127.0.0.1", "--port", str(ports.v1), "--model-service-url", model_url)),
        Service("app v2", ports.v2, (*cli, "serve", "app", "--variant", "v2", "--host",
                "127.0.0.1", "--port", str(ports.v2), "--model-service-url", model_url)),
    ]  # fmt: skip


def prometheus_config(root: Path, ports: Ports, state: Path) -> Path:
    """operation/prometheus/prometheus.yml with this run's ports (same jobs, same rules)."""
    source = root / "operation" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config["rule_files"] = [str(source.parent / name) for name in config["rule_files"]]
    targets = {
        "prometheus": [ports.prometheus], "model-service": [ports.model],
        "app": [ports.v1, ports.v2], "alertmanager": [ports.alertmanager],
    }  # fmt: skip
    for job in config["scrape_configs"]:
        addresses = [f"127.0.0.1:{port}" for port in targets[job["job_name"]]]
        job["static_configs"] = [{"targets": addresses}]
    config["alerting"]["alertmanagers"] = [
        {"static_configs": [{"targets": [f"127.0.0.1:{ports.alertmanager}"]}]}
    ]
    path = state / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def monitoring(root: Path, ports: Ports, state: Path) -> list[Service]:
    """Prometheus and Alertmanager with the project's configuration, for the binaries found."""
    found: list[Service] = []
    prometheus = shutil.which("prometheus")
    if prometheus:
        found.append(Service("prometheus", ports.prometheus, (
            prometheus, f"--config.file={prometheus_config(root, ports, state)}",
            f"--storage.tsdb.path={state / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{ports.prometheus}",
        ), ready_path="/-/ready", optional=True))  # fmt: skip
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if alertmanager:
        config = state / "alertmanager.yml"
        environment = {**LOCAL_ALERT_ENVIRONMENT, **os.environ}
        rendered = subprocess.run(  # noqa: S603 (this interpreter, the project's script)
            [sys.executable, str(root / "operation/alertmanager/render_config.py"), "--out", str(config)],
            env=environment, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if rendered.returncode != 0:  # a PHISHLINE_ALERT_* value it refuses, named in its error
            console.print(f"[yellow]skipped[/] alertmanager: {escape(rendered.stderr.strip())}")
            return found
        found.append(Service("alertmanager", ports.alertmanager, (
            alertmanager, f"--config.file={config}", f"--storage.path={state / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{ports.alertmanager}", "--cluster.listen-address=",
        ), ready_path="/-/ready", optional=True))  # fmt: skip
    return found


def wait_ready(service: Service, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"{service.name} exited with code {process.returncode}")
        try:
            if httpx.get(f"{service.url}{service.ready_path}", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise StackError(f"{service.name} was not ready on {service.url} within {timeout:.0f} s")


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


def start_stack(
    stack: Sequence[Service], root: Path
) -> list[tuple[Service, subprocess.Popen[bytes]]]:
    """Start each service and wait until it is ready; an optional one that fails is stopped
    and reported, a required one that fails stops everything."""
    busy = {service.name for service in stack if bind_refusal(service.port)}
    for service in stack:
        if service.name in busy and not service.optional:
            raise StackError(f"{service.name} cannot start: port {service.port} is in use (is "
                             "phishline already up? --help lists the port options)")  # fmt: skip
    started: list[tuple[Service, subprocess.Popen[bytes]]] = []
    try:
        for service in stack:
            if service.name in busy:
                console.print(f"[yellow]skipped[/] {service.name}: port {service.port} is in use")
                continue
            process = subprocess.Popen(service.args, cwd=root, env=venv_environment())  # noqa: S603
            # Counted at once: a stop requested while it starts must stop it too.
            started.append((service, process))
            try:
                wait_ready(service, process, READY_TIMEOUT_SECONDS)
            except StackError as exc:
                if not service.optional:
                    raise
                started.pop()
                stop_all([process])
                console.print(f"[yellow]skipped[/] {service.name}: {exc}")
                continue
            console.print(f"[green]ready[/] {service.name:<14} {service.url}")
    except BaseException:
        stop_all([process for _, process in started])
        raise
    return started


def up(
    model_port: Annotated[int, typer.Option(help="model-service port.", min=1, max=65535)] = 8081,
    v1_port: Annotated[int, typer.Option(help="app v1 port.", min=1, max=65535)] = 8080,
    v2_port: Annotated[int, typer.Option(help="app v2 port.", min=1, max=65535)] = 8082,
    prometheus_port: Annotated[int, typer.Option(help="Prometheus port.", min=1, max=65535)] = 9090,
    alertmanager_port: Annotated[
        int, typer.Option(help="Alertmanager port.", min=1, max=65535)
    ] = 9093,
    skip_pipeline: Annotated[
        bool, typer.Option(help="Serve the models already there without `dvc repro`.")
    ] = False,
    model_dir: Annotated[
        Path | None, typer.Option(help="Artifacts to serve \\[default: the pipeline's models/].")
    ] = None,
    with_monitoring: Annotated[
        bool,
        typer.Option(help="Also start Prometheus (:9090) and Alertmanager (:9093) if installed."),
    ] = True,
) -> None:
    """Get data, train when stale, start model-service + app v1 + app v2 on 127.0.0.1."""
    from model_training.config import Paths

    root = current_project()
    try:
        if not skip_pipeline:
            reproduce_pipeline(root)
        with tempfile.TemporaryDirectory(prefix="phishline-up-") as state:
            ports = Ports(model_port, v1_port, v2_port, prometheus_port, alertmanager_port)
            stack = services(ports, model_dir or Paths(root).models)
            if with_monitoring:
                stack += monitoring(root, ports, Path(state))
            stop_on_signals()
            supervise(start_stack(stack, root))
    except StackError as error:
        errors.print(f"[red]Error:[/] {error}")
        raise typer.Exit(1) from error


def stop_on_signals() -> None:
    """SIGTERM (a process manager) and SIGHUP (the terminal closed) stop the stack as Ctrl-C
    does, during start-up too; left to their default, they end this process alone and its
    services run on, holding their ports. Once stopping, they are ignored: the stop is
    bounded by STOP_TIMEOUT_SECONDS anyway."""

    def stop(_signum: int, _frame: object) -> None:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)


def supervise(running: Sequence[tuple[Service, subprocess.Popen[bytes]]]) -> None:
    """Print the URLs, then wait for Ctrl-C / SIGTERM / SIGHUP or a crash, and stop
    everything; raises StackError after a crash, so that the command fails."""
    crashed: list[str] = []
    console.print("[bold]phishline is up[/] (Ctrl-C stops everything):")
    for service, _ in running:
        console.print(f"  {service.name:<14} {service.url}")
    try:
        while not crashed:
            for service, process in running:
                if process.poll() is not None:
                    crashed.append(f"{service.name} exited with code {process.returncode}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        stop_all([process for _, process in running])
        console.print("stopped")
    if crashed:
        raise StackError("; ".join(crashed))
