"""Shared fixtures: a fake model-service and the app, each served by uvicorn on 127.0.0.1.

The fake honours model-service's HTTP contract (predict, models, openapi, health, JSON
errors) and can be switched to failing modes, so the app is tested over real HTTP, its
startup and shutdown included.
"""

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from phishline_app.core.config import Settings
from phishline_app.server import build_server

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
LEGITIMATE_URL = "https://www.google.com/"
FAKE_SERVICE_VERSION = "9.8.7"
# Each model's decision threshold; the linear one is not 0.5, as real thresholds rarely are.
THRESHOLDS = {"ensemble": 0.5, "linear": 0.4}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class FakeModelService:
    """Scores URLs by keyword: "paypal"/"phish" → 0.97 phishing, anything else → 0.03.

    `mode` switches behaviour: "ok", "error" (503 JSON), "garbage" (200, not JSON), "garbled"
    (200, says gzip and is not: a misconfigured proxy), "redirect" (302 elsewhere),
    "models_error" (503 JSON from the model list alone, predictions answered); `delay`
    makes every answer slow; `probability` overrides the score.
    """

    mode: str = "ok"
    delay: float = 0.0
    probability: float | None = None
    service_version: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of each predict request

    def reset(self) -> None:
        self.mode, self.delay, self.probability, self.service_version = "ok", 0.0, None, None
        self.requests.clear()
        self.headers.clear()

    def score(self, url: str) -> float:
        if self.probability is not None:
            return self.probability
        return 0.97 if "paypal" in url or "phish" in url else 0.03

    def build(self) -> FastAPI:
        app = FastAPI(title="fake model-service", version=FAKE_SERVICE_VERSION)

        @app.middleware("http")
        async def behave(request: Request, call_next: Callable[..., Any]) -> Response:
            if self.delay:
                await asyncio.sleep(self.delay)
            if request.url.path != "/openapi.json":
                if self.mode == "error":
                    return JSONResponse(
                        {"error": {"code": "not_ready", "message": "no model"}}, status_code=503
                    )
                if self.mode == "garbage":
                    return PlainTextResponse("<html>proxy error</html>")
                if self.mode == "garbled":
                    return Response(b"{}", headers={"content-encoding": "gzip"})
                if self.mode == "redirect":
                    return RedirectResponse(f"http://127.0.0.1:9{request.url.path}", 302)
                if self.mode == "models_error" and request.url.path == "/v1/models":
                    return JSONResponse(
                        {"error": {"code": "not_ready", "message": "no model"}}, status_code=503
                    )
            response: Response = await call_next(request)
            return response

        @app.post("/v1/predict")
        async def predict(body: dict[str, Any], request: Request) -> JSONResponse:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            url, model = body["url"], body.get("model") or "ensemble"
            if model not in ("ensemble", "linear"):
                return JSONResponse(
                    {"error": {"code": "unknown_model", "message": f"no model {model}"}}, 422
                )
            if url.startswith("reject:"):
                return JSONResponse(
                    {"error": {"code": "invalid_url", "message": "not a URL we can score"}}, 422
                )
            probability = self.score(url)
            towards = 1.0 if probability >= 0.5 else -1.0
            return JSONResponse(
                {
                    "url": url,
                    "label": "phishing" if probability >= THRESHOLDS[model] else "legitimate",
                    "probability": probability,
                    "model": model,
                    "model_version": "1.0.0",
                    "explanation": [
                        {
                            "feature": url[:24],
                            "kind": "ngram",
                            "weight": 2.5 * towards,
                            "description": f"“{url[:24]}” in the link",
                        },
                        # No description: as model-services before 2026-12 answered.
                        {"feature": "num_dots", "kind": "lexical", "weight": -0.5 * towards},
                        {"feature": "unused", "kind": "lexical", "weight": 0.0},
                    ],
                }
            )

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            listing: dict[str, Any] = {
                "models": [
                    {
                        "name": "ensemble",
                        "family": "ensemble",
                        "version": "1.0.0",
                        "default": True,
                        "threshold": THRESHOLDS["ensemble"],
                    },
                    {
                        "name": "linear",
                        "family": "linear",
                        "version": "1.0.0",
                        "default": False,
                        "threshold": THRESHOLDS["linear"],
                    },
                ],
                "default": "ensemble",
            }
            if self.service_version:
                listing["service_version"] = self.service_version
            if self.mode == "no_thresholds":
                for model in listing["models"]:
                    del model["threshold"]
            return listing

        @app.get("/health/ready")
        async def ready() -> dict[str, str]:
            return {"status": "ready"}

        return app


class ServerThread:
    """A uvicorn server run from a background thread."""

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.run, daemon=True)

    @property
    def port(self) -> int:
        return self.server.config.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def fake_service_session() -> Iterator[tuple[FakeModelService, ServerThread]]:
    fake = FakeModelService()
    config = uvicorn.Config(
        fake.build(), port=free_port(), log_level="warning", lifespan="off", ws="none"
    )
    server = ServerThread(uvicorn.Server(config)).start()
    yield fake, server
    server.stop()


@pytest.fixture
def fake_service(
    fake_service_session: tuple[FakeModelService, ServerThread],
) -> Iterator[FakeModelService]:
    """The shared fake, behaving normally at the start and again after the test."""
    fake, _server = fake_service_session
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The feedback store of the shared apps (tests needing an empty one pass their own)."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'feedback.db'}"


AppFactory = Callable[..., httpx.Client]


@pytest.fixture(scope="session")
def app_servers(
    fake_service_session: tuple[FakeModelService, ServerThread], database_url: str
) -> Iterator[Callable[..., ServerThread]]:
    """Apps served by uvicorn, one per distinct set of settings, shared by the whole session."""
    running: dict[tuple[tuple[str, Any], ...], ServerThread] = {}

    def serve(**overrides: Any) -> ServerThread:
        key = tuple(sorted(overrides.items()))
        if key not in running:
            values: dict[str, Any] = {
                "model_service_url": fake_service_session[1].url,
                "database_url": database_url,
                "model_service_timeout": 2.0,
                "log_level": "warning",
                **overrides,
                "port": free_port(),
            }
            running[key] = ServerThread(build_server(Settings(**values))).start()
        return running[key]

    yield serve
    for server in running.values():
        server.stop()


@pytest.fixture
def make_client(
    app_servers: Callable[..., ServerThread], fake_service: FakeModelService
) -> Iterator[AppFactory]:
    """A fresh HTTP client (own cookie jar, so a new user) of an app with these settings."""
    opened: list[httpx.Client] = []

    def make(**overrides: Any) -> httpx.Client:
        client = httpx.Client(base_url=app_servers(**overrides).url, timeout=10)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def client(make_client: AppFactory) -> httpx.Client:
    return make_client()


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name} in the page"
    return match.group(1)


@dataclass
class PageUser:
    """Drives the page like a browser without JavaScript: GET, then form POSTs."""

    client: httpx.Client

    def open(self) -> str:
        response = self.client.get("/")
        assert response.status_code == 200
        return response.text

    def check(self, url: str, model: str = "") -> Any:
        token = hidden_value(self.open(), "csrf_token")
        return self.client.post("/", data={"url": url, "model": model, "csrf_token": token})

    def answer(self, result_page: str, answer: str) -> Any:
        return self.client.post(
            "/feedback",
            data={
                "ticket": hidden_value(result_page, "ticket"),
                "answer": answer,
                "csrf_token": hidden_value(result_page, "csrf_token"),
            },
            follow_redirects=False,
        )


@pytest.fixture
def user(client: httpx.Client) -> PageUser:
    return PageUser(client)


@pytest.fixture
def make_user(make_client: AppFactory) -> Callable[..., PageUser]:
    def make(**overrides: Any) -> PageUser:
        return PageUser(make_client(**overrides))

    return make


def postgres_bin() -> Path | None:
    """Where initdb and postgres are: on PATH, or Debian's versioned directory (newest)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name)
    )
    return versions[-1] if versions else None


POSTGRES_BIN = postgres_bin()


def _postgres_user() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: run it as `nobody` when the tests are root."""
    return {"user": "nobody", "group": "nogroup"} if os.geteuid() == 0 else {}


@dataclass
class PostgresServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        command = [
            str(POSTGRES_BIN / "postgres"), "-D", str(self.directory / "data"),
            "-p", str(self.port), "-k", str(self.directory), "-c", "listen_addresses=127.0.0.1",
        ]  # fmt: skip
        log_path = self.directory / "postgres.log"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, **_postgres_user()
            )
        deadline = time.monotonic() + 30
        while not self._accepts_connections():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                pytest.fail(f"PostgreSQL did not start: {log_path.read_text()}")
            time.sleep(0.1)

    def _accepts_connections(self) -> bool:
        try:
            psycopg.connect(
                f"host=127.0.0.1 port={self.port} user=postgres", connect_timeout=2
            ).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            # Fast shutdown: ends open sessions (the apps' pooled ones) and stays consistent.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL 15 in a temporary directory (skipped when it is not installed)."""
    if POSTGRES_BIN is None:
        pytest.skip("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql)")
    # Not under pytest's tmp_path: its parent is private to root, and `nobody` must write here.
    directory = Path(tempfile.mkdtemp(prefix="phishline-pg-"))
    try:
        if os.geteuid() == 0:
            os.chown(directory, pwd.getpwnam("nobody").pw_uid, -1)
        initdb = [
            str(POSTGRES_BIN / "initdb"), "-D", str(directory / "data"), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        ]  # fmt: skip
        subprocess.run(initdb, check=True, capture_output=True, timeout=120, **_postgres_user())
        server = PostgresServer(directory, free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers (a hung server)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        yield silent.getsockname()[1]


@pytest.fixture
def serve_asgi() -> Iterator[Callable[[Any], ServerThread]]:
    """Serve any ASGI app (lifespan included) until the test ends."""
    started: list[ServerThread] = []

    def serve(app: Any) -> ServerThread:
        config = uvicorn.Config(app, port=free_port(), log_level="critical", ws="none")
        started.append(ServerThread(uvicorn.Server(config)).start())
        return started[-1]

    yield serve
    for server in started:
        server.stop()
