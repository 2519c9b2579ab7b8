"""Small pieces: settings, signing, tickets, CSRF tokens, input checks, the result view."""

import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from phishline_app.core import csrf
from phishline_app.core.config import Settings, form_bytes_for
from phishline_app.core.metrics import AppMetrics
from phishline_app.core.signing import BadSignatureError, Signer
from phishline_app.db.store import FeedbackStore
from phishline_app.services.feedback import corrected_label, parse_answer, record_feedback
from phishline_app.services.inputs import InvalidInputError, clean_model, clean_url
from phishline_app.services.model_client import Contribution, Prediction
from phishline_app.services.tickets import InvalidTicketError, PredictionTicket
from phishline_app.views import (
    percent_text,
    percents_beside_threshold,
    result_view,
    top_features,
)


def a_prediction(probability: float, label: str, *weights: float) -> Prediction:
    return Prediction(
        url="http://x.test/",
        label=label,  # type: ignore[arg-type]
        probability=probability,
        model="ensemble",
        model_version="1.0.0",
        explanation=tuple(
            Contribution(feature=f"f{i}", kind="ngram" if i % 2 else "lexical", weight=w)
            for i, w in enumerate(weights)
        ),
    )


# Settings


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PHISHLINE_PORT", "PHISHLINE_VARIANT", "PHISHLINE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.variant, settings.host, settings.port) == ("v1", "127.0.0.1", 8080)
    assert settings.model_service_url == "http://127.0.0.1:8081"
    assert settings.database_url == "sqlite:///feedback.db"
    assert settings.max_url_length == 2048


def test_the_body_limit_must_hold_a_form_with_the_longest_url() -> None:
    assert Settings().max_body_bytes >= form_bytes_for(Settings().max_url_length)
    assert Settings(max_url_length=64, max_body_bytes=2048).max_body_bytes == 2048
    with pytest.raises(ValidationError, match="too small for URLs of up to 2048 characters"):
        Settings(max_body_bytes=16384)
    # Unset, the limit grows with the URL limit (e.g. a chart's maxUrlLength) by itself.
    assert Settings(max_url_length=4096).max_body_bytes == form_bytes_for(4096)


def test_v2_defaults_to_its_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHISHLINE_PORT", raising=False)
    assert Settings(variant="v2").port == 8082
    monkeypatch.setenv("PHISHLINE_VARIANT", "v2")
    assert Settings().port == 8082
    assert Settings(port=9000).port == 9000


def test_environment_fills_and_flags_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHISHLINE_PORT", "9100")
    monkeypatch.setenv("PHISHLINE_MODEL_SERVICE_URL", "http://ms.test:81/")
    monkeypatch.setenv("PHISHLINE_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("PHISHLINE_MODEL_DIR", "/elsewhere")  # model-service's, ignored here
    settings = Settings(port=9200)
    assert settings.port == 9200
    assert settings.model_service_url == "http://ms.test:81"
    assert settings.log_level == "debug"


@pytest.mark.parametrize(
    "bad",
    [
        {"variant": "v3"},
        {"model_service_url": "ftp://x"},
        {"port": 0},
        {"log_level": "loud"},
        {"unknown_flag": 1},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_each_process_gets_its_own_random_secret_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().secret_key != Settings().secret_key
    monkeypatch.setenv("PHISHLINE_SECRET_KEY", "s" * 32)
    assert Settings().secret_key.get_secret_value() == "s" * 32
    assert "s" * 32 not in repr(Settings())


# Signing, tickets, CSRF


def test_signed_payloads_round_trip_and_resist_tampering() -> None:
    signer = Signer("secret")
    token = signer.sign("a", b"payload")
    assert signer.unsign("a", token) == b"payload"
    for forged in (token + "x", "x" + token, token.replace(".", ""), "a.abc", "é.abc", "e30.é"):
        with pytest.raises(BadSignatureError):
            signer.unsign("a", forged)
    with pytest.raises(BadSignatureError):
        signer.unsign("b", token)  # bound to its purpose
    with pytest.raises(BadSignatureError):
        Signer("other").unsign("a", token)


@given(st.binary(max_size=256), st.text(min_size=1, max_size=16))
def test_any_payload_round_trips(payload: bytes, purpose: str) -> None:
    signer = Signer("k")
    purpose = purpose.encode("ascii", "ignore").decode() or "p"
    assert signer.unsign(purpose, signer.sign(purpose, payload)) == payload


def test_tickets_carry_the_shown_prediction() -> None:
    signer = Signer("secret")
    before = time.time()
    ticket = PredictionTicket.issue("http://typed.test/", a_prediction(0.97, "phishing"), "v1")
    assert before <= ticket.shown_at <= time.time()
    opened = PredictionTicket.unseal(signer, ticket.seal(signer), "v1")
    assert opened == ticket
    with pytest.raises(ValidationError):
        opened.label = "legitimate"  # type: ignore[misc]
    assert opened.url == "http://typed.test/"
    assert (opened.label, opened.probability, opened.model) == ("phishing", 0.97, "ensemble")
    other = PredictionTicket.issue("http://typed.test/", a_prediction(0.97, "phishing"), "v1")
    assert other.prediction_id != ticket.prediction_id


def test_tickets_signed_for_another_purpose_or_malformed_are_refused() -> None:
    signer = Signer("secret")
    with pytest.raises(InvalidTicketError):
        PredictionTicket.unseal(signer, signer.sign("csrf", b"{}"), "v1")
    with pytest.raises(InvalidTicketError):
        PredictionTicket.unseal(signer, signer.sign("prediction-ticket", b'{"url": 1}'), "v1")


def test_a_ticket_is_refused_by_the_variant_that_did_not_show_the_result() -> None:
    # Both variants may sign with one key: the answer must not count for the other one.
    signer = Signer("secret")
    sealed = PredictionTicket.issue(
        "http://typed.test/", a_prediction(0.97, "phishing"), "v1"
    ).seal(signer)
    assert PredictionTicket.unseal(signer, sealed, "v1").variant == "v1"
    with pytest.raises(InvalidTicketError, match="result the app's v1 showed, and this is v2"):
        PredictionTicket.unseal(signer, sealed, "v2")


def a_sealed_ticket(signer: Signer, **changes: object) -> str:
    fields = PredictionTicket.issue("http://typed.test/", a_prediction(0.97, "phishing"), "v1")
    return signer.sign("prediction-ticket", json.dumps(fields.model_dump() | changes).encode())


@pytest.mark.parametrize("prediction_id", ["p", "p" * 64])
def test_tickets_with_ids_of_1_to_64_characters_are_accepted(prediction_id: str) -> None:
    signer = Signer("secret")
    ticket = PredictionTicket.unseal(
        signer, a_sealed_ticket(signer, prediction_id=prediction_id), "v1"
    )
    assert ticket.prediction_id == prediction_id


@pytest.mark.parametrize("changes", [{"prediction_id": ""}, {"prediction_id": "p" * 65}, {"x": 1}])
def test_tickets_with_a_bad_id_or_an_unknown_field_are_refused(changes: dict[str, object]) -> None:
    signer = Signer("secret")
    with pytest.raises(InvalidTicketError):
        PredictionTicket.unseal(signer, a_sealed_ticket(signer, **changes), "v1")


def test_csrf_tokens_are_per_user() -> None:
    signer = Signer("secret")
    token = csrf.token_for(signer, "user-a" * 4)
    assert csrf.is_valid(signer, "user-a" * 4, token)
    assert not csrf.is_valid(signer, "user-b" * 4, token)
    assert not csrf.is_valid(signer, "user-a" * 4, "")
    assert not csrf.is_valid(signer, "user-a" * 4, "é" * 43)
    assert not csrf.is_valid(signer, "user-a" * 4, "\ud800")


# Inputs and answers


def test_clean_url_trims_and_accepts_ordinary_urls() -> None:
    assert clean_url("  http://x.test/a b  ", 100) == "http://x.test/a b"


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "invalid_url"), ("\t ", "invalid_url"), ("http://x\x00y", "invalid_url"),
     ("http://x\x7fy", "invalid_url"), ("http://x\x85y", "invalid_url"),
     ("http://x\u2028y", "invalid_url"), ("http://x\u2029y", "invalid_url"),
     ("http://x.test/" + "a" * 90, "url_too_long")],
)  # fmt: skip
def test_clean_url_refuses(raw: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        clean_url(raw, 100)
    assert raised.value.code == code


@given(st.text(max_size=60))
def test_accepted_urls_are_a_single_line_to_every_reader(raw: str) -> None:
    try:
        url = clean_url(raw, 100)
    except InvalidInputError:
        return
    assert url.splitlines() == [url]
    assert "\t" not in url


def test_clean_model() -> None:
    assert clean_model(None) is None
    assert clean_model("  ") is None
    assert clean_model("ensemble-2.1_a") == "ensemble-2.1_a"
    assert clean_model("x" * 128) == "x" * 128
    for bad in ("../x", "a b", "-x", "x" * 129):
        with pytest.raises(InvalidInputError):
            clean_model(bad)


def test_answers_and_corrected_labels() -> None:
    assert (parse_answer("yes"), parse_answer("no"), parse_answer("Yes")) == ("yes", "no", None)
    assert corrected_label("phishing", "yes") == "phishing"
    assert corrected_label("phishing", "no") == "legitimate"
    assert corrected_label("legitimate", "yes") == "legitimate"
    assert corrected_label("legitimate", "no") == "phishing"


def test_recorded_feedback_keeps_the_ticket_and_counts_the_delay_since_it_was_shown() -> None:
    an_hour_ago = time.time() - 3600
    ticket = PredictionTicket(
        prediction_id="p-1", url="http://typed.test/", label="legitimate", probability=0.12,
        model="linear", model_version="2.0.0", variant="v2", shown_at=an_hour_ago,
    )  # fmt: skip
    store = FeedbackStore.open("sqlite://")
    metrics = AppMetrics(variant="v2", version="test")
    try:
        record = record_feedback(store, metrics, ticket, "no", "u" * 24)
    finally:
        store.close()
    assert (
        record.prediction_id, record.url, record.predicted_label, record.probability,
        record.model, record.model_version, record.variant, record.answer, record.user_id,
    ) == (
        "p-1", "http://typed.test/", "legitimate", 0.12, "linear", "2.0.0", "v2", "no", "u" * 24,
    )  # fmt: skip
    assert record.shown_at == datetime.fromtimestamp(an_hour_ago, UTC)
    labels = {"variant": "v2"}
    assert (
        metrics.registry.get_sample_value("phishline_app_feedback_delay_seconds_count", labels) == 1
    )
    delay = metrics.registry.get_sample_value("phishline_app_feedback_delay_seconds_sum", labels)
    assert delay is not None
    assert 3600 <= delay < 7200


# The result view


@pytest.mark.parametrize(
    ("probability", "text"),
    [(0.97, "97 %"), (0.03, "3 %"), (0.5, "50 %"), (0.996, "> 99 %"), (1.0, "100 %"),
     (0.004, "< 1 %"), (0.0, "0 %"), (0.125, "12 %")],
)  # fmt: skip
def test_percent_text(probability: float, text: str) -> None:
    assert percent_text(probability) == text


@given(st.floats(min_value=0.0, max_value=1.0))
def test_percent_never_claims_certainty_it_does_not_have(probability: float) -> None:
    text = percent_text(probability)
    assert (text == "100 %") == (probability == 1.0)
    assert (text == "0 %") == (probability == 0.0)


@pytest.mark.parametrize(
    ("probability", "threshold", "texts"),
    [(0.97, 0.5, ("97 %", "50 %")), (0.496, 0.5, ("49.6 %", "50.0 %")),
     (0.503, 0.5, ("50 %", "50 %")), (0.5, 0.5, ("50 %", "50 %")),
     (0.4099, 0.4107, ("41.0 %", "41.1 %")), (0.004, 0.005, ("0.4 %", "0.5 %"))],
)  # fmt: skip
def test_percents_beside_threshold(probability: float, threshold: float, texts) -> None:
    assert percents_beside_threshold(probability, threshold) == texts


@given(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.01, max_value=0.99))
def test_a_probability_below_the_threshold_never_reads_as_reaching_it(
    probability: float, threshold: float
) -> None:
    shown, cut = percents_beside_threshold(probability, threshold)
    if threshold - probability >= 2e-6:  # 4 decimals of a percentage tell these apart
        assert shown != cut


def test_verdicts_follow_the_service_label() -> None:
    phishing = result_view("http://typed.test/", a_prediction(0.97, "phishing"))
    legitimate = result_view("http://typed.test/", a_prediction(0.03, "legitimate"))
    assert (phishing.verdict, phishing.percent, phishing.is_phishing) == ("Phishing", "97 %", True)
    assert (legitimate.verdict, legitimate.percent, legitimate.is_phishing) == (
        "Looks legitimate", "3 %", False,
    )  # fmt: skip
    assert phishing.url == "http://typed.test/"


def test_top_features_are_the_strongest_five_with_their_direction() -> None:
    weights = (0.1, -3.0, 2.0, 0.0, 0.5, -0.2, 1.0)
    features = top_features(a_prediction(0.9, "phishing", *weights).explanation)
    assert [f.feature for f in features] == ["f1", "f2", "f6", "f4", "f5"]
    assert [f.towards_phishing for f in features] == [False, True, True, True, False]
    assert [f.kind for f in features][:2] == ["text fragment", "URL property"]


def test_a_feature_reads_as_its_description_or_else_its_name() -> None:
    described = Contribution(feature="host:^pay", kind="ngram", weight=1.0, description="words")
    named = Contribution(feature="num_dots", kind="lexical", weight=-0.5)
    features = top_features((described, named))
    assert [(f.feature, f.description) for f in features] == [
        ("host:^pay", "words"),
        ("num_dots", "num_dots"),
    ]


def test_features_without_weight_explain_nothing() -> None:
    features = top_features(a_prediction(0.9, "phishing", 1.0, 0.0).explanation)
    assert [f.feature for f in features] == ["f0"]
