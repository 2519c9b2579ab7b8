"""End-to-end fixtures: trained models, model-service and both app variants as real processes
started through the `phishline` CLI on 127.0.0.1, and headless Chromium driven by Playwright.

Module-scoped: the processes and the browser end with the module. Playwright keeps an event
loop current in the main thread while it runs, which later asyncio tests would trip over.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[3]
PHISHLINE = Path(sys.executable).with_name("phishline")
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Screenshots for people to look at; the folder is ignored by git.
SCREENSHOTS = REPO / "test-output" / "app-e2e"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """This machine's environment without PHISHLINE_* settings: the flags say everything."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PHISHLINE_")}


@dataclass
class Service:
    """A `phishline serve ...` process on 127.0.0.1 that can be stopped, killed and restarted."""

    name: str
    arguments: list[str]
    ready_path: str
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> "Service":
        command = [
            str(PHISHLINE), "serve", *self.arguments, "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_environment(),
                cwd=self.log_dir,
            )
        return self

    def wait_ready(self, timeout: float = 120) -> "Service":
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"{self.name} did not become ready:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        return self

    def start(self) -> "Service":
        return self.spawn().wait_ready()

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + self.ready_path, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int:
        """SIGTERM, as an orchestrator sends it; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture(scope="module")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def trained_models(e2e_dir: Path) -> Path:
    """Small but real artifacts of every family, trained on 4000 Ebbu2017 URLs."""
    from model_training.config import MIRROR_ENV, load_params
    from model_training.sources import read_labelled
    from model_training.train import Split, build_models

    mirror = Path(os.environ.get(MIRROR_ENV) or REPO.parent / "shared" / "data") / "ebbu2017"
    if not mirror.is_dir():
        pytest.skip(f"the Ebbu2017 mirror is not at {mirror} (set {MIRROR_ENV})")
    examples = read_labelled(mirror / "data_legitimate_36400.json", "ebbu") + read_labelled(
        mirror / "data_phishing_37175.json", "ebbu"
    )
    random.Random(0).shuffle(examples)
    examples = examples[:4000]
    params = load_params(REPO)["train"]
    params["linear"]["hash_bits"] = 16
    params["gbm"]["num_threads"] = 1  # few rows: OpenMP spin-up costs more than it saves
    models = e2e_dir / "models"
    build_models(
        Split.from_examples(examples[:3000]), Split.from_examples(examples[3000:]), params, models
    )
    return models


@pytest.fixture(scope="module")
def feedback_db(e2e_dir: Path) -> Path:
    return e2e_dir / "feedback.db"


def app_service(
    variant: str,
    model_service: "Service",
    database: Path,
    log_dir: Path,
    log_level: str = "warning",
) -> Service:
    arguments = [
        "app", "--variant", variant, "--model-service-url", model_service.url,
        "--database-url", f"sqlite:///{database}", "--log-level", log_level,
    ]  # fmt: skip
    return Service(f"app-{variant}-{database.parent.name}", arguments, "/health/live", log_dir)


@pytest.fixture(scope="module")
def services(
    trained_models: Path, feedback_db: Path, e2e_dir: Path
) -> Iterator[dict[str, Service]]:
    """model-service, and v1 and v2 sharing one SQLite file as `phishline up` runs them.

    All three start at once: an app needs model-service only to answer, not to start.
    """
    model_service = Service(
        "model-service", ["model", "--model-dir", str(trained_models)], "/health/ready", e2e_dir
    )
    running = {
        "model": model_service,
        "v1": app_service("v1", model_service, feedback_db, e2e_dir),
        "v2": app_service("v2", model_service, feedback_db, e2e_dir),
    }
    try:
        for service in running.values():
            service.spawn()
        for service in running.values():
            service.wait_ready()
        yield running
    finally:
        for service in running.values():
            service.kill()


@pytest.fixture(scope="module")
def model_service(services: dict[str, Service]) -> Service:
    return services["model"]


@pytest.fixture(scope="module")
def apps(services: dict[str, Service]) -> dict[str, Service]:
    return {variant: services[variant] for variant in ("v1", "v2")}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (no `chromium` on PATH; `make system` adds it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies) per test: a new user each time."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def launch_app(model_service: Service, e2e_dir: Path) -> Iterator[Callable[..., Service]]:
    """Start an extra app process for one test (killed at its end if still running)."""
    launched: list[Service] = []

    def launch(variant: str, database: Path, log_level: str = "warning") -> Service:
        launched.append(app_service(variant, model_service, database, e2e_dir, log_level).start())
        return launched[-1]

    yield launch
    for service in launched:
        service.kill()
