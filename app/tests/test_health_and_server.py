"""Probes, and the server that `phishline serve app` runs."""

import threading
import time

import httpx
import pytest

from phishline_app import server
from phishline_app.core.config import Settings


def test_live_is_always_ok(client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_ready_reports_the_database_and_model_service(client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready", "variant": "v1", "database": "up", "model_service": "up",
    }  # fmt: skip


def test_model_service_down_does_not_make_the_app_unready(make_client) -> None:
    response = make_client(model_service_url="http://127.0.0.1:9").get("/health/ready")
    assert response.status_code == 200
    assert response.json()["model_service"] == "down"


@pytest.mark.parametrize("mode", ["garbled", "redirect"])
def test_nonsense_from_model_service_does_not_make_the_app_unready(
    client, fake_service, mode
) -> None:
    fake_service.mode = mode
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["model_service"] == "down"


def test_a_hanging_model_service_does_not_hold_up_readiness(make_client, silent_port) -> None:
    app = make_client(model_service_url=f"http://127.0.0.1:{silent_port}", model_service_timeout=5)
    started = time.monotonic()
    response = app.get("/health/ready")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["model_service"] == "down"
    # Well under the 5 s call timeout, and under the 2 s probe timeout of the chart.
    assert elapsed < 1.5


def test_build_server_uses_the_settings() -> None:
    settings = Settings(variant="v2", host="127.0.0.2", log_level="warning")
    config = server.build_server(settings).config
    assert (config.host, config.port, config.log_level) == ("127.0.0.2", 8082, "warning")
    assert config.server_header is False
    assert config.timeout_graceful_shutdown == server.GRACEFUL_SHUTDOWN_SECONDS


def _serve_with_a_request_in_flight(
    monkeypatch, tmp_path, port: int, fake_service_url: str
) -> tuple[threading.Thread, threading.Thread, list[httpx.Response]]:
    """`server.run` in a thread, one `POST /api/predict` waiting on model-service, then what
    SIGTERM does; returns the server's and the request's threads, and the answers."""
    original_build = server.build_server
    built: list = []

    def build_and_keep(settings: Settings):
        built.append(original_build(settings))
        return built[-1]

    monkeypatch.setattr(server, "build_server", build_and_keep)
    settings = Settings(
        port=port,
        database_url=f"sqlite:///{tmp_path / 'feedback.db'}",
        model_service_url=fake_service_url,
        log_level="warning",
    )
    serving = threading.Thread(target=server.run, args=(settings,))
    serving.start()
    deadline = time.monotonic() + 10
    while not (built and built[0].started):
        assert time.monotonic() < deadline
        assert serving.is_alive()
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/health/live").status_code == 200
    answers: list[httpx.Response] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            httpx.post(f"{base}/api/predict", json={"url": "http://x.test/"}, timeout=10)
        )
    )
    waiting.start()
    registry = built[0].config.app.state.context.metrics.registry
    while not registry.get_sample_value("phishline_app_in_flight_requests", {"variant": "v1"}):
        assert time.monotonic() < deadline + 10
        time.sleep(0.01)
    built[0].should_exit = True  # what SIGTERM does, while the request waits on model-service
    return serving, waiting, answers


def test_run_serves_and_finishes_in_flight_requests_on_shutdown(
    monkeypatch, tmp_path, unused_port: int, fake_service, fake_service_session
) -> None:
    fake_service.delay = 0.5
    serving, waiting, answers = _serve_with_a_request_in_flight(
        monkeypatch, tmp_path, unused_port, fake_service_session[1].url
    )
    waiting.join(timeout=10)
    serving.join(timeout=15)
    assert not serving.is_alive()
    assert [response.status_code for response in answers] == [200]


def test_a_request_cut_off_by_the_shutdown_is_answered_with_a_json_503(
    monkeypatch, tmp_path, unused_port: int, fake_service, fake_service_session, caplog
) -> None:
    """uvicorn cancels what still runs when the grace period ends, and answered it with a
    plain-text 500 and a traceback in the log."""
    monkeypatch.setattr(server, "GRACEFUL_SHUTDOWN_SECONDS", 1)
    fake_service.delay = 4.0  # longer than the grace period, shorter than the call timeout
    serving, waiting, answers = _serve_with_a_request_in_flight(
        monkeypatch, tmp_path, unused_port, fake_service_session[1].url
    )
    waiting.join(timeout=10)
    serving.join(timeout=15)
    assert not serving.is_alive()
    assert [response.status_code for response in answers] == [503]
    assert answers[0].json()["error"]["code"] == "shutting_down"
    assert answers[0].headers["x-request-id"]
    assert "Traceback" not in caplog.text
    assert "Exception in ASGI application" not in caplog.text
