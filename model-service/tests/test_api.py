"""Every route through the FastAPI test client, and every kind of bad input."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from lib_ml import Predictor, describe_feature
from model_service.api.schemas import BatchPredictResponse
from model_service.core.config import Settings
from model_service.core.registry import ModelRegistry
from model_service.main import create_app

PHISHING_URL = "http://paypal.com.account-verify.secure-login.example.ru/webscr?cmd=_login-submit"
LEGITIMATE_URL = "https://www.google.com/"


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize(
    ("url", "label"), [(PHISHING_URL, "phishing"), (LEGITIMATE_URL, "legitimate")]
)
@pytest.mark.parametrize("model", ["linear", "gbm", "ensemble"])
def test_clear_cases_get_the_obvious_label(
    client: TestClient, url: str, label: str, model: str
) -> None:
    response = client.post("/v1/predict", json={"url": url, "model": model})
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == label
    assert body["url"] == url
    assert body["model"] == model
    assert body["model_version"]
    assert (body["probability"] >= 0.5) == (label == "phishing")


def test_predict_uses_the_default_model_and_explains(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"url": PHISHING_URL}).json()
    assert body["model"] == "ensemble"
    assert len(body["explanation"]) == 5
    weights = [abs(item["weight"]) for item in body["explanation"]]
    assert weights == sorted(weights, reverse=True)
    assert {item["kind"] for item in body["explanation"]} <= {"ngram", "lexical"}
    for item in body["explanation"]:  # in words for the app's readers
        assert item["description"] == describe_feature(item["feature"], item["kind"])


def test_predict_without_explanation(client: TestClient) -> None:
    body = client.post("/v1/predict", json={"url": PHISHING_URL, "explain_top_k": 0}).json()
    assert body["explanation"] == []


def test_batch_keeps_order_and_matches_single_predictions(client: TestClient) -> None:
    urls = [LEGITIMATE_URL, PHISHING_URL, "example.org/about", PHISHING_URL]
    response = client.post("/v1/predict/batch", json={"urls": urls, "model": "linear"})
    assert response.status_code == 200
    body = response.json()
    BatchPredictResponse.model_validate(body)  # serialized by hand, so checked here
    assert body["model"] == "linear"
    assert [item["url"] for item in body["results"]] == urls
    assert [item["label"] for item in body["results"]][:2] == ["legitimate", "phishing"]
    assert all(item["explanation"] == [] for item in body["results"])
    single = client.post("/v1/predict", json={"url": urls[2], "model": "linear"}).json()
    assert body["results"][2]["probability"] == pytest.approx(single["probability"])


def test_batch_can_explain(client: TestClient) -> None:
    body = client.post(
        "/v1/predict/batch", json={"urls": [PHISHING_URL], "explain_top_k": 3}
    ).json()
    assert len(body["results"][0]["explanation"]) == 3


def test_models_lists_every_model_with_the_default(client: TestClient) -> None:
    body = client.get("/v1/models").json()
    assert body["default"] == "ensemble"
    assert body["service_version"]
    assert [m["name"] for m in body["models"]] == ["ensemble", "gbm", "linear"]
    for summary in body["models"]:
        assert summary["default"] == (summary["name"] == "ensemble")
        assert summary["family"] == summary["name"]
        assert 0.0 < summary["threshold"] < 1.0
        assert 0.5 < summary["metrics"]["validation"]["f1"] <= 1.0
        assert "confusion_matrix" not in summary["metrics"]["validation"]
        assert summary["refit_on_validation"] is True  # params.yaml's train.refit


def test_health(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "alive"}
    assert client.get("/health/ready").json() == {
        "status": "ready",
        "models": 3,
        "default_model": "ensemble",
    }


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/predict/batch", "/v1/models", "/health/live"} <= set(
        schema["paths"]
    )
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({}, 422, "validation"),  # missing URL
        ({"url": ""}, 422, "validation"),  # empty URL
        ({"url": "   "}, 422, "invalid_url"),  # blank after stripping
        ({"url": "http://exa mple.com:99999/"}, 422, "invalid_url"),
        ({"url": "javascript:alert(1)"}, 422, "invalid_url"),  # not a web address
        ({"url": "hello world"}, 422, "invalid_url"),  # no host can hold a space
        ({"url": "x" * 2049}, 422, "url_too_long"),
        ({"url": 42}, 422, "validation"),  # non-string
        ({"url": ["a.com"]}, 422, "validation"),
        ({"url": None}, 422, "validation"),
        ({"url": LEGITIMATE_URL, "model": "nope"}, 422, "unknown_model"),
        ({"url": LEGITIMATE_URL, "explain_top_k": 99}, 422, "validation"),
        ({"url": LEGITIMATE_URL, "explain_top_k": True}, 422, "validation"),  # not coerced
        ({"url": LEGITIMATE_URL, "explain_top_k": "3"}, 422, "validation"),
        ({"url": LEGITIMATE_URL, "explain_top_k": 2.0}, 422, "validation"),
        ({"url": LEGITIMATE_URL, "modle": "linear"}, 422, "validation"),  # misspelt field
        ([LEGITIMATE_URL], 422, "validation"),  # not an object
    ],
)
def test_bad_single_input_is_a_4xx_json_error(
    client: TestClient, payload: Any, status: int, code: str
) -> None:
    response = client.post("/v1/predict", json=payload)
    assert response.status_code == status
    assert error_of(response)["code"] == code


@pytest.mark.parametrize(
    ("payload", "status", "code", "message_part"),
    [
        ({"urls": []}, 422, "validation", "urls"),
        ({"urls": "a.com"}, 422, "validation", "urls"),
        ({"urls": ["a.com", 7]}, 422, "validation", "urls.1"),
        ({"urls": ["a.com", ""]}, 422, "invalid_url", "item 1"),
        ({"urls": ["a.com", "y" * 2049]}, 422, "url_too_long", "item 1"),
        ({"urls": ["a.com"] * 1001}, 413, "batch_too_large", "1000"),
        ({"urls": ["a.com"], "model": "nope"}, 422, "unknown_model", "nope"),
        ({"urls": ["a.com"], "explain_top_k": False}, 422, "validation", "explain_top_k"),
    ],
)
def test_bad_batch_input_is_a_4xx_json_error(
    client: TestClient, payload: Any, status: int, code: str, message_part: str
) -> None:
    response = client.post("/v1/predict/batch", json=payload)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    assert message_part in error["message"]


def test_many_validation_problems_are_summarised(client: TestClient) -> None:
    response = client.post("/v1/predict/batch", json={"urls": [1, 2, 3, 4, 5]})
    assert "(and 2 more)" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/v1/predict/batch",
            b'{"urls": [' + b",".join([b"1"] * 200_000) + b"]}",
            "urls: 200000 items are not strings, the first is item 0",
        ),
        (
            "/v1/predict",
            b'{"url": "a.com", ' + b", ".join(b'"k%d": 1' % i for i in range(200_000)) + b"}",
            "200000 fields are not allowed",
        ),
    ],
    ids=["non-string items", "unknown fields"],
)
def test_input_with_many_problems_is_refused_with_one_error_not_one_per_item(
    settings: Settings, registry: ModelRegistry, path: str, body: bytes, message: str
) -> None:
    # An error object per problem cost 2.4 GB and 15 s for a 4 MB batch of two million.
    app = create_app(settings, registry)
    answer = app.exception_handlers[RequestValidationError]
    built: list[int] = []

    async def counting(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        built.append(len(exc.errors()))
        return await answer(request, exc)  # type: ignore[no-any-return]

    app.exception_handlers[RequestValidationError] = counting
    response = TestClient(app).post(
        path, content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation"
    assert message in error["message"]
    assert built == [1]


def test_a_batch_with_a_hundred_non_strings_names_them_one_by_one(client: TestClient) -> None:
    response = client.post("/v1/predict/batch", json={"urls": ["a.com"] + [7] * 100})
    assert error_of(response)["message"].startswith("body.urls.1: Input should be a valid string;")
    assert "(and 97 more)" in error_of(response)["message"]


@pytest.mark.parametrize(
    "payload",
    [{"url": "a.com", "model": "m" * 100_000}, {"url": "a.com", "k" * 100_000: 1}],
    ids=["model name", "field name"],
)
def test_error_messages_quote_client_input_clipped(client: TestClient, payload: dict) -> None:
    response = client.post("/v1/predict", json=payload)
    assert response.status_code == 422
    message = error_of(response)["message"]
    assert len(message) < 300
    assert "m" * 64 + "…" in message or "k" * 64 + "…" in message


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/predict/batch"])
def test_malformed_json_is_400(client: TestClient, path: str) -> None:
    response = client.post(path, content=b'{"url": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_a_body_that_is_not_utf8_is_400_saying_so(client: TestClient) -> None:
    latin1 = '{"url": "café.com"}'.encode("latin-1")
    response = client.post(
        "/v1/predict", content=latin1, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "malformed_json",
        "message": "the body is not valid JSON: JSON must be UTF-8, and byte 0xe9 at offset 12 "
        "is not",
    }


def test_json_nested_beyond_the_parser_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/predict", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "malformed_json",
        "message": "the body is not readable JSON: its arrays or objects nest too deeply",
    }


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/predict/batch"])
def test_an_empty_body_is_422_saying_so(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "validation",
        "message": "the body is empty; send a JSON object",
    }


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/predict", content=b'{"url": "a.com"}', headers=headers)
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_json_suffix_media_types_are_json(client: TestClient) -> None:
    response = client.post(
        "/v1/predict",
        content=b'{"url": "a.com"}',
        headers={"content-type": "application/vnd.phishline+json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_oversized_body_is_413(
    settings: Settings, registry: ModelRegistry, make_client: Callable[..., TestClient]
) -> None:
    small = make_client(settings.model_copy(update={"max_body_bytes": 100}), registry)
    declared = small.post("/v1/predict", json={"url": "a.com/" + "p" * 200})
    assert declared.status_code == 413
    assert error_of(declared)["code"] == "body_too_large"

    def chunks() -> Any:  # no Content-Length: the limit counts the bytes received
        yield b'{"url": "a.com/'
        yield b"p" * 200 + b'"}'

    streamed = small.post(
        "/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert small.post("/v1/predict", json={"url": "a.com"}).status_code == 200


def test_limits_come_from_the_settings(
    settings: Settings, registry: ModelRegistry, make_client: Callable[..., TestClient]
) -> None:
    strict = make_client(
        settings.model_copy(update={"max_url_length": 10, "max_batch": 2}), registry
    )
    too_long = strict.post("/v1/predict", json={"url": "a.com/12345"})
    assert too_long.status_code == 422
    assert error_of(too_long)["code"] == "url_too_long"
    # The limit is the longest length accepted, alone and in a batch.
    assert strict.post("/v1/predict", json={"url": "a.com/1234"}).status_code == 200
    assert strict.post("/v1/predict/batch", json={"urls": ["a.com/1234"]}).status_code == 200
    assert strict.post("/v1/predict/batch", json={"urls": ["a.com"] * 3}).status_code == 413
    assert strict.post("/v1/predict/batch", json={"urls": ["a.com"] * 2}).status_code == 200


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    missing = client.get("/v2/predict")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    wrong = client.get("/v1/predict")
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"


def test_without_models_the_service_is_live_but_not_ready(
    settings: Settings,
    make_client: Callable[..., TestClient],
    metric_value: Callable[..., float | None],
) -> None:
    empty = make_client(settings, ModelRegistry())
    assert empty.get("/health/live").status_code == 200
    for _ in range(3):  # the orchestrator probes while models load
        ready = empty.get("/health/ready")
        assert ready.status_code == 503
        assert error_of(ready)["code"] == "not_ready"

    def refused() -> float | None:
        text = empty.get("/metrics").text
        return metric_value(text, "phishline_model_errors_total", reason="not_ready")

    assert refused() == 0  # a probe is no refused request
    predict = empty.post("/v1/predict", json={"url": "a.com"})
    assert predict.status_code == 503
    assert error_of(predict)["code"] == "not_ready"
    assert refused() == 1
    assert empty.get("/v1/models").json()["models"] == []


def test_a_bug_is_a_json_500_with_the_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Predictor, "predict", broken)
    monkeypatch.setattr(Predictor, "predict_proba", broken)
    response = client.post(
        "/v1/predict/batch", json={"urls": ["a.com"]}, headers={"x-request-id": "req-1"}
    )
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal"
    assert response.headers["x-request-id"] == "req-1"
    single = client.post("/v1/predict", json={"url": "a.com"})
    assert single.status_code == 500


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("abc-123", "abc-123"), ("has space", None), ("x" * 129, None), (None, None)],
)
def test_request_id_is_honoured_when_safe_and_always_echoed(
    client: TestClient, sent: str | None, echoed: str | None
) -> None:
    headers = {"x-request-id": sent} if sent is not None else {}
    returned = client.get("/health/live", headers=headers).headers["x-request-id"]
    if echoed is not None:
        assert returned == echoed
    else:
        assert returned != sent
        assert len(returned) == 32


def test_a_client_that_hangs_up_mid_body_is_not_counted_as_malformed_json(
    settings: Settings, registry: ModelRegistry, metric_value: Callable[..., float | None]
) -> None:
    app = create_app(settings, registry)
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "POST", "scheme": "http", "path": "/v1/predict", "raw_path": b"/v1/predict",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8081),
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"30")],
    }  # fmt: skip
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"url": "http', "more_body": True}
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 499
    text = TestClient(app).get("/metrics").text
    assert metric_value(text, "phishline_model_errors_total", reason="malformed_json") == 0
    assert (
        metric_value(
            text,
            "phishline_model_http_requests_total",
            method="POST",
            route="/v1/predict",
            status="499",
        )
        == 1
    )
