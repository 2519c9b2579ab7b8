"""Structured JSON logs carrying the request id."""

import json
import logging
import sys

import pytest

from model_service.core.logging import REQUEST_ID, JsonFormatter, configure_logging, request_id_from


def record(message: str, **extra: object) -> logging.LogRecord:
    entry = logging.makeLogRecord({"name": "test", "levelname": "INFO", "msg": message, "args": ()})
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_a_line_is_one_json_object_with_the_request_id_and_extras() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        line = JsonFormatter().format(record("scored %s", route="/v1/predict", duration_ms=0.5))
    finally:
        REQUEST_ID.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "scored %s"
    assert entry["request_id"] == "req-42"
    assert entry["route"] == "/v1/predict"
    assert entry["duration_ms"] == 0.5
    assert entry["level"] == "info"
    assert entry["logger"] == "test"
    assert entry["time"].endswith("+00:00")


def test_outside_requests_there_is_no_request_id() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(record("start")))


def _fail() -> None:
    raise ValueError("bad")


def test_exceptions_are_logged_with_their_traceback() -> None:
    try:
        _fail()
    except ValueError:
        entry = record("failed")
        entry.exc_info = sys.exc_info()
    assert "ValueError: bad" in json.loads(JsonFormatter().format(entry))["exception"]


def test_uvicorns_coloured_duplicate_is_dropped() -> None:
    entry = json.loads(JsonFormatter().format(record("Started", color_message="\x1b[36mStarted")))
    assert "color_message" not in entry


def test_values_json_cannot_encode_are_stringified() -> None:
    entry = json.loads(JsonFormatter().format(record("x", models={"a"})))
    assert entry["models"] == "{'a'}"


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("abc", True),
        ("A.b_c:1-2", True),
        ("", False),
        ("a b", False),
        ("é", False),
        ("x" * 200, False),
    ],
)
def test_request_ids_from_clients_are_kept_only_when_plain(header: str, kept: bool) -> None:
    assert (request_id_from(header) == header) is kept
    assert request_id_from(None) != request_id_from(None)


def test_configure_logging_routes_everything_through_json(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning")
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("model_service.x").info("hidden below the level")
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["from uvicorn"]
