"""One request id and trace context across the app and model-service, and in the logs."""

import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from phishline_app.core.tracing import NO_REQUEST, RequestIdLogFilter
from phishline_app.server import configure_logging

from .conftest import PHISHING_URL, FakeModelService

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_each_answer_names_its_request(client: httpx.Client) -> None:
    ids = [client.get("/health/live").headers["x-request-id"] for _ in range(2)]
    assert all(GENERATED_ID.fullmatch(request_id) for request_id in ids)
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("edge-7f3a:1.2_3", True),
        ("two words", False),
        ("x" * 129, False),
        ("<script>", False),
        ("", False),
    ],
)
def test_a_plain_request_id_from_the_caller_is_kept_and_any_other_replaced(
    client: httpx.Client, sent: str, kept: bool
) -> None:
    answered = client.get("/health/live", headers={"x-request-id": sent}).headers["x-request-id"]
    if kept:
        assert answered == sent
    else:
        assert GENERATED_ID.fullmatch(answered)


def test_model_service_calls_carry_the_request_id_and_trace_context(
    client: httpx.Client, fake_service: FakeModelService
) -> None:
    sent = {
        "x-request-id": "istio-0042",
        "traceparent": TRACEPARENT,
        "tracestate": "vendor=opaque",
        "x-b3-traceid": "4bf92f3577b34da6a3ce929d0e0e4736",
        "x-b3-sampled": "1",
        "authorization": "Bearer not-for-model-service",
    }
    not_ascii = {"x-b3-spanid": "bad\u00e9value".encode("latin-1")}  # dropped
    response = client.post(
        "/api/predict", json={"url": PHISHING_URL}, headers={**sent, **not_ascii}
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "istio-0042"
    received = fake_service.headers[-1]
    for name in ("x-request-id", "traceparent", "tracestate", "x-b3-traceid", "x-b3-sampled"):
        assert received[name] == sent[name]
    assert "authorization" not in received
    assert "x-b3-spanid" not in received


def test_a_request_without_an_id_shares_the_one_it_is_given(
    client: httpx.Client, fake_service: FakeModelService
) -> None:
    response = client.post("/api/predict", json={"url": PHISHING_URL})
    assert response.status_code == 200
    assert fake_service.headers[-1]["x-request-id"] == response.headers["x-request-id"]
    assert "traceparent" not in fake_service.headers[-1]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back afterwards."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = [
        (logger, logger.handlers[:], logger.level, logger.propagate)
        for logger in map(logging.getLogger, names)
    ]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.mark.usefixtures("restored_logging")
def test_log_lines_name_the_request(
    client: httpx.Client, fake_service: FakeModelService, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning")
    fake_service.mode = "error"
    response = client.post(
        "/api/predict", json={"url": PHISHING_URL}, headers={"x-request-id": "find-me-9"}
    )
    assert response.status_code == 503
    logged = capsys.readouterr().err
    assert re.search(r"WARNING phishline_app\.api\.errors \[find-me-9\] model-service call", logged)


def test_log_lines_outside_a_request_say_so() -> None:
    record = logging.makeLogRecord({"msg": "starting"})
    assert RequestIdLogFilter().filter(record)
    assert record.request_id == NO_REQUEST
