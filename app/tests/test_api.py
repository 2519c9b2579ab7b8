"""The JSON API: predict, feedback, models, and JSON errors for everything that goes wrong."""

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
LEGITIMATE_URL = "https://www.google.com/"


def error_of(response) -> dict[str, str]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    return body["error"]


def test_predict_returns_the_prediction_and_a_feedback_token(client) -> None:
    response = client.post("/api/predict", json={"url": PHISHING_URL})
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == "phishing"
    assert body["probability"] == pytest.approx(0.97)
    assert body["model"] == "ensemble"
    assert body["model_version"] == "1.0.0"
    assert body["variant"] == "v1"
    assert body["explanation"] == [
        {
            "feature": PHISHING_URL[:24], "kind": "ngram", "weight": 2.5,
            "description": f"“{PHISHING_URL[:24]}” in the link",
        },
        {"feature": "num_dots", "kind": "lexical", "weight": -0.5, "description": ""},
        {"feature": "unused", "kind": "lexical", "weight": 0.0, "description": ""},
    ]  # fmt: skip
    assert body["feedback_token"]


def test_predict_with_a_chosen_model(client, fake_service) -> None:
    body = client.post("/api/predict", json={"url": LEGITIMATE_URL, "model": "linear"}).json()
    assert body["model"] == "linear"
    assert body["label"] == "legitimate"
    assert fake_service.requests[-1] == {"url": LEGITIMATE_URL, "model": "linear"}


def test_feedback_is_stored_and_reports_the_corrected_label(client) -> None:
    token = client.post("/api/predict", json={"url": PHISHING_URL}).json()["feedback_token"]
    response = client.post("/api/feedback", json={"feedback_token": token, "answer": "no"})
    assert response.status_code == 201
    body = response.json()
    assert body["answer"] == "no"
    assert body["corrected_label"] == "legitimate"
    assert body["id"] > 0


def test_yes_confirms_the_predicted_label(client) -> None:
    token = client.post("/api/predict", json={"url": LEGITIMATE_URL}).json()["feedback_token"]
    body = client.post("/api/feedback", json={"feedback_token": token, "answer": "yes"}).json()
    assert body["corrected_label"] == "legitimate"


def test_second_feedback_for_one_prediction_conflicts(client) -> None:
    token = client.post("/api/predict", json={"url": PHISHING_URL}).json()["feedback_token"]
    assert client.post("/api/feedback", json={"feedback_token": token, "answer": "yes"}).is_success
    again = client.post("/api/feedback", json={"feedback_token": token, "answer": "no"})
    assert again.status_code == 409
    assert error_of(again)["code"] == "duplicate_feedback"


def test_the_feedback_token_of_the_longest_url_is_taken_back(make_client) -> None:
    client = make_client(max_url_length=4096)
    url = "http://example.test/" + "\u754c" * (4096 - len("http://example.test/"))  # 3 bytes each
    shown = client.post("/api/predict", json={"url": url})
    assert shown.status_code == 200
    token = shown.json()["feedback_token"]
    answered = client.post("/api/feedback", json={"feedback_token": token, "answer": "yes"})
    assert answered.status_code == 201, answered.text


def test_an_answer_reaching_the_variant_that_did_not_show_the_result_is_refused(
    make_client, tmp_path: Path
) -> None:
    # As the Helm chart runs them: both variants sign with one key and share one database.
    database = tmp_path / "ab.db"
    shared = {"secret_key": "k" * 43, "database_url": f"sqlite:///{database}"}
    v1, v2 = make_client(variant="v1", **shared), make_client(variant="v2", **shared)
    shown = v1.post("/api/predict", json={"url": PHISHING_URL}).json()
    assert shown["variant"] == "v1"
    # A client without the variant cookie may be routed to v2 by the mesh.
    answer = {"feedback_token": shown["feedback_token"], "answer": "yes"}
    refused = v2.post("/api/feedback", json=answer)
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "invalid_token"
    assert "the app's v1 showed" in error_of(refused)["message"]
    assert v1.post("/api/feedback", json=answer).status_code == 201
    with closing(sqlite3.connect(database)) as connection:
        variants = [row[0] for row in connection.execute("SELECT variant FROM feedback")]
    assert variants == ["v1"]


def test_forged_feedback_token_is_refused(client) -> None:
    response = client.post("/api/feedback", json={"feedback_token": "e30.AAAA", "answer": "yes"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_token"


def test_models_lists_what_model_service_serves(client) -> None:
    body = client.get("/api/models").json()
    assert [model["name"] for model in body["models"]] == ["ensemble", "linear"]
    assert body["default"] == "ensemble"
    assert body["service_version"] == "9.8.7"
    assert body["models"][1] == {
        "name": "linear", "version": "1.0.0", "default": False, "threshold": 0.4,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"url": ""}, 422, "invalid_url"),
        ({"url": "   "}, 422, "invalid_url"),
        ({"url": "http://x.test/\nphishing\tevil"}, 422, "invalid_url"),
        ({"url": "http://x.test/" + "a" * 2048}, 422, "url_too_long"),
        ({"url": LEGITIMATE_URL, "model": "a b"}, 422, "unknown_model"),
        ({"url": LEGITIMATE_URL, "model": "missing"}, 422, "unknown_model"),
        ({"url": "reject:me"}, 422, "invalid_url"),
        ({}, 422, "validation"),
        ({"url": 5}, 422, "validation"),
        ({"url": LEGITIMATE_URL, "extra": 1}, 422, "validation"),
    ],
)
def test_bad_predict_input_is_a_json_4xx(client, body, status: int, code: str) -> None:
    response = client.post("/api/predict", json=body)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_bad_feedback_answer_is_a_validation_error(client) -> None:
    response = client.post("/api/feedback", json={"feedback_token": "x", "answer": "maybe"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation"
    assert error["message"].startswith("body.answer:")


def test_malformed_json_is_400(client) -> None:
    response = client.post(
        "/api/predict", content=b'{"url": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"", 422, "validation", "the request body is empty"),
        ('{"url": "café.test"}'.encode("latin-1"), 400, "malformed_json",
         "the request body is not UTF-8 JSON"),
        (b"[" * 20_000, 400, "malformed_json", "the request body's JSON nests too deeply"),
    ],
)  # fmt: skip
def test_unreadable_bodies_are_named(
    client, body: bytes, status: int, code: str, message: str
) -> None:
    response = client.post(
        "/api/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert error_of(response) == {"code": code, "message": message}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_api_accepts_json_only(client, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/predict", content=b'{"url": "http://x.test/"}', headers=headers)
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_json_with_charset_is_accepted(client) -> None:
    response = client.post(
        "/api/predict",
        content=b'{"url": "http://x.test/"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/api/nothing", "text/html"), ("/nothing", "*/*"), ("/nothing", "application/json")],
)
def test_unknown_paths_are_json_to_the_api_and_to_other_clients_than_browsers(
    client, path: str, accept: str
) -> None:
    missing = client.get(path, headers={"accept": accept})
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "not_found", "message": "Not Found"}


def test_unknown_path_and_wrong_method_are_json(client) -> None:
    missing = client.get("/api/nothing")
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "not_found", "message": "Not Found"}
    wrong = client.get("/api/predict")
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"


def test_model_service_down_is_503_then_recovers(client, fake_service) -> None:
    fake_service.mode = "error"
    for response in (
        client.post("/api/predict", json={"url": PHISHING_URL}),
        client.get("/api/models"),
    ):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        error = error_of(response)
        assert error["code"] == "model_service_unavailable"
        assert "unavailable" in error["message"]
    fake_service.mode = "ok"
    assert client.post("/api/predict", json={"url": PHISHING_URL}).status_code == 200


def test_unreachable_model_service_is_503(make_client) -> None:
    client = make_client(model_service_url="http://127.0.0.1:9")
    response = client.post("/api/predict", json={"url": PHISHING_URL})
    assert response.status_code == 503
    assert "(unavailable)" in error_of(response)["message"]


def test_slow_model_service_is_503_timeout(make_client, fake_service) -> None:
    client = make_client(model_service_timeout=0.2)
    fake_service.delay = 0.5
    response = client.post("/api/predict", json={"url": PHISHING_URL})
    assert response.status_code == 503
    assert "(timeout)" in error_of(response)["message"]


@pytest.mark.parametrize("mode", ["garbage", "garbled", "redirect"])
def test_nonsense_from_model_service_is_503_bad_response(client, fake_service, mode) -> None:
    fake_service.mode = mode
    for response in (
        client.post("/api/predict", json={"url": PHISHING_URL}),
        client.get("/api/models"),
    ):
        assert response.status_code == 503
        assert "(bad_response)" in error_of(response)["message"]


def test_openapi_document_describes_the_api(client) -> None:
    document = client.get("/api/openapi.json").json()
    assert {"/api/predict", "/api/feedback", "/api/models"} <= set(document["paths"])
    assert "/" not in document["paths"]
    assert client.get("/docs").status_code == 404
