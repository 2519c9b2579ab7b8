"""ModelClient against scripted transports: retries, timeouts, refusals, nonsense."""

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from phishline_app.core.metrics import AppMetrics
from phishline_app.services.model_client import (
    ModelClient,
    ModelServiceRejectedError,
    ModelServiceUnavailableError,
)

BASE = "http://model-service.test"
PREDICTION = {
    "url": "http://x.test/",
    "label": "phishing",
    "probability": 0.97,
    "model": "ensemble",
    "model_version": "1.0.0",
    "explanation": [{"feature": "x.te", "kind": "ngram", "weight": 1.5}],
    "added_later": "ignored",
}
MODELS = {
    "models": [
        {"name": "ensemble", "family": "ensemble", "version": "1.0.0", "default": True,
         "metrics": {"validation": {"f1": 0.9}}},
        {"name": "linear", "family": "linear", "version": "0.9.0", "default": False},
    ],
    "default": "ensemble",
}  # fmt: skip
OPENAPI = {"openapi": "3.1.0", "info": {"title": "model-service", "version": "3.2.1"}}

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests from a list of steps: a response, or an exception to raise."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def in_own_loop(coroutine: Any) -> Any:
    """asyncio.run in a thread: the main thread may already have a current loop (Playwright)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def call(
    script: Script, operation: str, *args: Any, metrics: AppMetrics | None = None
) -> tuple[Any, AppMetrics]:
    metrics = metrics or AppMetrics(variant="v1", version="test")

    async def run() -> Any:
        client = ModelClient(BASE, 1.0, metrics, transport=httpx.MockTransport(script))
        try:
            return await getattr(client, operation)(*args)
        finally:
            await client.aclose()

    return in_own_loop(run()), metrics


def errors(metrics: AppMetrics, reason: str) -> float:
    return (
        metrics.registry.get_sample_value(
            "phishline_app_model_service_errors_total", {"variant": "v1", "reason": reason}
        )
        or 0.0
    )


def calls(metrics: AppMetrics) -> float:
    return (
        metrics.registry.get_sample_value(
            "phishline_app_model_service_duration_seconds_count", {"variant": "v1"}
        )
        or 0.0
    )


def test_predict_sends_url_and_model_and_parses_the_answer() -> None:
    script = Script(httpx.Response(200, json=PREDICTION))
    prediction, metrics = call(script, "predict", "http://x.test/", "linear")
    assert json.loads(script.requests[0].content) == {"url": "http://x.test/", "model": "linear"}
    assert script.requests[0].url == f"{BASE}/v1/predict"
    assert prediction.label == "phishing"
    assert prediction.probability == 0.97
    assert prediction.explanation[0].feature == "x.te"
    assert calls(metrics) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("server closed the kept-alive connection"),
        httpx.ReadError("reset"),
    ],
)
def test_one_connection_failure_is_retried(failure: Exception) -> None:
    script = Script(failure, httpx.Response(200, json=PREDICTION))
    prediction, metrics = call(script, "predict", "http://x.test/", None)
    assert prediction.model == "ensemble"
    assert len(script.requests) == 2
    assert errors(metrics, "unavailable") == 0


def test_two_connection_failures_make_it_unavailable() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    metrics = AppMetrics(variant="v1", version="test")
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(script, "predict", "http://x.test/", None, metrics=metrics)
    assert raised.value.reason == "unavailable"
    assert len(script.requests) == 2
    assert errors(metrics, "unavailable") == 1
    assert calls(metrics) == 1


def test_timeouts_are_not_retried() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json=PREDICTION))
    metrics = AppMetrics(variant="v1", version="test")
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(script, "predict", "http://x.test/", None, metrics=metrics)
    assert raised.value.reason == "timeout"
    assert len(script.requests) == 1
    assert errors(metrics, "timeout") == 1


def test_other_transport_errors_are_unavailable_without_retry() -> None:
    script = Script(httpx.UnsupportedProtocol("no such scheme"))
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(script, "predict", "http://x.test/", None)
    assert raised.value.reason == "unavailable"
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_unavailable(status: int) -> None:
    body = {"error": {"code": "not_ready", "message": "loading"}}
    metrics = AppMetrics(variant="v1", version="test")
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(Script(httpx.Response(status, json=body)), "predict", "x", None, metrics=metrics)
    assert raised.value.reason == "unavailable"
    assert f"HTTP {status}" in str(raised.value)
    assert errors(metrics, "unavailable") == 1


def test_refusals_carry_the_service_error() -> None:
    body = {"error": {"code": "url_too_long", "message": "the URL is too long"}}
    with pytest.raises(ModelServiceRejectedError) as raised:
        call(Script(httpx.Response(422, json=body)), "predict", "http://x.test/", None)
    assert (raised.value.status, raised.value.code) == (422, "url_too_long")
    assert raised.value.message == "the URL is too long"


def test_refusals_without_an_error_body_are_still_refusals() -> None:
    with pytest.raises(ModelServiceRejectedError) as raised:
        call(Script(httpx.Response(404, text="Not Found")), "predict", "http://x.test/", None)
    assert (raised.value.status, raised.value.code) == (404, "rejected")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={**PREDICTION, "label": "maybe"}),
        httpx.Response(200, json={**PREDICTION, "probability": 1.5}),
        httpx.Response(200, json={"url": "http://x.test/"}),
    ],
)
def test_unusable_answers_are_bad_responses(answer: httpx.Response) -> None:
    metrics = AppMetrics(variant="v1", version="test")
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(Script(answer), "predict", "http://x.test/", None, metrics=metrics)
    assert raised.value.reason == "bad_response"
    assert errors(metrics, "bad_response") == 1


def test_an_answer_not_in_its_stated_encoding_is_a_bad_response() -> None:
    # Says gzip, is not (a misconfigured proxy): httpx fails while decoding the body.
    garbled = httpx.Response(
        200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b'{"url": "x"}')
    )
    metrics = AppMetrics(variant="v1", version="test")
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(Script(garbled), "predict", "http://x.test/", None, metrics=metrics)
    assert raised.value.reason == "bad_response"
    assert errors(metrics, "bad_response") == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_bad_response_not_a_refusal(status: int) -> None:
    moved = httpx.Response(status, headers={"location": "http://elsewhere.test/v1/predict"})
    metrics = AppMetrics(variant="v1", version="test")
    with pytest.raises(ModelServiceUnavailableError) as raised:
        call(Script(moved), "predict", "http://x.test/", None, metrics=metrics)
    assert raised.value.reason == "bad_response"
    assert f"HTTP {status}" in str(raised.value)
    assert errors(metrics, "bad_response") == 1


class Trickle(httpx.AsyncByteStream):
    """A correct answer sent one blank at a time: no single read waits long, the whole does."""

    def __init__(self, body: dict[str, Any], pauses: int, seconds: float) -> None:
        self.body, self.pauses, self.seconds = body, pauses, seconds

    async def __aiter__(self) -> Any:
        for _ in range(self.pauses):
            await asyncio.sleep(self.seconds)
            yield b" "
        yield json.dumps(self.body).encode()


def trickling_call(
    body: dict[str, Any], timeout_seconds: float, operation: str, *args: Any
) -> tuple[Any, float, AppMetrics]:
    """The operation's outcome (its result or its failure) and how long it took, against a
    model-service whose answer takes 1 s in 20 reads of 50 ms."""
    metrics = AppMetrics(variant="v1", version="test")

    def trickling(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Trickle(body, pauses=20, seconds=0.05))

    async def run() -> tuple[Any, float]:
        client = ModelClient(
            BASE, timeout_seconds, metrics, transport=httpx.MockTransport(trickling)
        )
        started = time.monotonic()
        try:
            outcome = await getattr(client, operation)(*args)
        except ModelServiceUnavailableError as failure:
            outcome = failure
        finally:
            await client.aclose()
        return outcome, time.monotonic() - started

    outcome, elapsed = in_own_loop(run())
    return outcome, elapsed, metrics


def test_the_timeout_bounds_the_whole_answer_not_each_read() -> None:
    outcome, elapsed, metrics = trickling_call(PREDICTION, 0.2, "predict", "http://x.test/", None)
    assert isinstance(outcome, ModelServiceUnavailableError)
    assert outcome.reason == "timeout"
    assert elapsed < 0.8
    assert errors(metrics, "timeout") == 1


def test_the_readiness_check_gives_up_on_a_trickling_answer() -> None:
    ready, elapsed, _metrics = trickling_call({"status": "ready"}, 5.0, "ready")
    assert ready is False
    assert elapsed < 0.9  # its own 0.5 s, not the client's 5 s


def test_catalog_reads_the_models_and_the_openapi_version() -> None:
    script = Script(httpx.Response(200, json=MODELS), httpx.Response(200, json=OPENAPI))
    catalog, _metrics = call(script, "catalog")
    assert [m.name for m in catalog.models] == ["ensemble", "linear"]
    assert catalog.default == "ensemble"
    assert catalog.service_version == "3.2.1"
    assert catalog.find(None).version == "1.0.0"
    assert catalog.find("linear").version == "0.9.0"
    assert catalog.find("missing") is None


def test_catalog_prefers_the_service_version_in_the_models_list() -> None:
    script = Script(httpx.Response(200, json={**MODELS, "service_version": "4.0.0"}))
    catalog, _metrics = call(script, "catalog")
    assert catalog.service_version == "4.0.0"
    assert len(script.requests) == 1


def test_openapi_version_is_cached() -> None:
    script = Script(
        httpx.Response(200, json=MODELS),
        httpx.Response(200, json=OPENAPI),
        httpx.Response(200, json=MODELS),
    )
    metrics = AppMetrics(variant="v1", version="test")

    async def twice() -> list[str]:
        client = ModelClient(BASE, 1.0, metrics, transport=httpx.MockTransport(script))
        try:
            return [(await client.catalog()).service_version for _ in range(2)]
        finally:
            await client.aclose()

    assert in_own_loop(twice()) == ["3.2.1", "3.2.1"]
    assert [r.url.path for r in script.requests] == ["/v1/models", "/openapi.json", "/v1/models"]


def test_unreadable_openapi_gives_an_unknown_version() -> None:
    script = Script(httpx.Response(200, json=MODELS), httpx.Response(404, text="no"))
    catalog, _metrics = call(script, "catalog")
    assert catalog.service_version == "unknown"


def test_ready_reflects_the_service_probe() -> None:
    up, _metrics = call(Script(httpx.Response(200, json={"status": "ready"})), "ready")
    down, _metrics = call(Script(httpx.Response(503, json={})), "ready")
    assert (up, down) == (True, False)
