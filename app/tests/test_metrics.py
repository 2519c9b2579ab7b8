"""/metrics exports exactly the app metrics of docs/metrics.md, and they move as users act."""

import asyncio
import re
from pathlib import Path
from typing import get_args

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Receive, Scope, Send

from phishline_app.core.metrics import AppMetrics, RequestMetricsMiddleware
from phishline_app.services.model_client import FailureReason

PHISHING_URL = "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login"
METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
TYPES = {"Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary"}


def documented_app_metrics() -> dict[str, tuple[str, set[str]]]:
    """name -> (type, labels) from the app table of docs/metrics.md."""
    app_section = METRICS_DOC.read_text(encoding="utf-8").split("## app", 1)[1]
    rows = re.findall(r"^\| `(phishline_app_\w+)` \| (\w+)[^|]*\| ([^|]*) \|", app_section, re.M)
    return {
        # Label values are listed in parentheses after their label: `answer` (`yes`/`no`).
        name: (TYPES[kind], set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", labels))))
        for name, kind, labels in rows
    }


def scrape(client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """sample name -> {sorted labels: value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_the_doc_lists_ten_app_metrics() -> None:
    assert len(documented_app_metrics()) == 10


def test_every_documented_metric_is_exported_with_its_type_and_labels(user, fake_service) -> None:
    # Touch every metric: a result, an answer, and a failed call to model-service.
    user.answer(user.check(PHISHING_URL).text, "yes")
    fake_service.mode = "error"
    user.client.get("/")
    families = {
        family.name: family
        for family in text_string_to_metric_families(user.client.get("/metrics").text)
    }
    for name, (kind, labels) in documented_app_metrics().items():
        family_name = name.removesuffix("_total") if kind == "counter" else name
        assert family_name in families, name
        family = families[family_name]
        assert family.type == kind, name
        label_sets = {frozenset(s.labels) - {"le", "quantile"} for s in family.samples}
        assert label_sets == {frozenset(labels)}, name


def test_only_phishline_metrics_and_all_carry_the_variant(make_client) -> None:
    client = make_client(variant="v2")
    client.get("/")
    for family in text_string_to_metric_families(client.get("/metrics").text):
        assert family.name.startswith("phishline_app_")
        for sample in family.samples:
            assert sample.labels["variant"] == "v2"


def test_info_names_the_app_version(client) -> None:
    from lib_version import VersionUtil

    samples = scrape(client)
    version = VersionUtil.version_of("phishline-app")
    assert value(samples, "phishline_app_info", variant="v1", version=version) == 1.0


def test_a_shown_result_and_its_feedback_are_counted(user) -> None:
    before = scrape(user.client)
    result = user.check(PHISHING_URL).text
    user.answer(result, "no")
    after = scrape(user.client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    shown = {"variant": "v1", "model": "ensemble", "label": "phishing"}
    assert grew("phishline_app_predictions_shown_total", **shown) == 1
    assert grew("phishline_app_feedback_total", variant="v1", answer="no") == 1
    assert grew("phishline_app_feedback_total", variant="v1", answer="yes") == 0
    assert grew("phishline_app_feedback_delay_seconds_count", variant="v1") == 1
    assert grew("phishline_app_model_service_duration_seconds_count", variant="v1") >= 3
    assert grew("phishline_app_new_users_total", variant="v1") == 1  # the first page visit
    page = {"variant": "v1", "route": "/", "status": "200"}
    assert grew("phishline_app_http_requests_total", **page) >= 2
    assert grew("phishline_app_request_duration_seconds_count", variant="v1", route="/") >= 2
    feedback_route = {"variant": "v1", "route": "/feedback", "status": "303"}
    assert grew("phishline_app_http_requests_total", **feedback_route) == 1


def test_new_users_are_counted_once(make_client) -> None:
    first, second = make_client(), make_client()
    before = value(scrape(first), "phishline_app_new_users_total", variant="v1")
    first.get("/")
    first.get("/")
    second.get("/api/models")
    after = value(scrape(first), "phishline_app_new_users_total", variant="v1")
    assert after - before == 2


@pytest.mark.parametrize(
    ("mode", "reason"), [("error", "unavailable"), ("garbage", "bad_response")]
)
def test_model_service_failures_are_counted_by_reason(client, fake_service, mode, reason) -> None:
    labels = {"variant": "v1", "reason": reason}
    before = value(scrape(client), "phishline_app_model_service_errors_total", **labels)
    fake_service.mode = mode
    client.post("/api/predict", json={"url": PHISHING_URL})
    fake_service.mode = "ok"
    after = value(scrape(client), "phishline_app_model_service_errors_total", **labels)
    assert after - before == 1


def test_every_model_service_failure_reason_is_exported_at_zero_from_the_start() -> None:
    # A counter series that appears at its first failure starts Prometheus' rate() and
    # increase() from that value: the failures before the first scrape of it are never seen,
    # and a short outage not at all (PhishlineModelServiceUnreachable, the error share panel).
    metrics = AppMetrics(variant="v2", version="0")
    for reason in get_args(FailureReason):
        labels = {"variant": "v2", "reason": reason}
        sample = metrics.registry.get_sample_value(
            "phishline_app_model_service_errors_total", labels
        )
        assert sample == 0.0, reason


def test_unmatched_paths_share_one_route_label(client) -> None:
    client.get("/wp-admin/setup.php")
    client.get("/.env")
    samples = scrape(client)
    routes = {dict(labels)["route"] for labels in samples["phishline_app_http_requests_total"]}
    assert "unmatched" in routes
    assert not any(route.startswith(("/wp-admin", "/.env")) for route in routes)


def test_nothing_is_in_flight_between_requests(client) -> None:
    samples = scrape(client)
    # The scrape itself is the one request in flight while the page is rendered.
    assert value(samples, "phishline_app_in_flight_requests", variant="v1") == 1


def test_static_files_are_counted_under_their_mount_not_as_unmatched(client) -> None:
    assert client.get("/static/style.css").status_code == 200
    samples = scrape(client)
    answered = {
        (dict(labels)["route"], dict(labels)["status"])
        for labels in samples["phishline_app_http_requests_total"]
    }
    assert ("/static/{path}", "200") in answered
    assert ("unmatched", "200") not in answered


def test_static_files_and_the_schema_are_counted_under_their_routes(client) -> None:
    # The app servers are shared by the session: compare counts before and after.
    def answered() -> dict[str, float]:
        counts: dict[str, float] = {}
        for labels, count in scrape(client)["phishline_app_http_requests_total"].items():
            route = dict(labels)["route"]
            counts[route] = counts.get(route, 0.0) + count
        return counts

    before = answered()
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/api/openapi.json").status_code == 200
    after = answered()
    for route in ("/static/{path}", "/api/openapi.json"):
        assert after[route] - before.get(route, 0.0) == 1
    assert after.get("unmatched", 0.0) == before.get("unmatched", 0.0)


def test_a_request_is_counted_before_the_end_of_its_answer_is_sent() -> None:
    # A client holding the whole answer that scrapes at once must find it counted, also when
    # the route works on after its last byte (a file response closing its file).
    metrics = AppMetrics(variant="v1", version="0")
    counted_when_sent: list[float | None] = []

    async def route(_scope: Scope, _receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        await send({"type": "http.response.body", "body": b"end"})
        await asyncio.sleep(0.01)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            counted_when_sent.append(
                metrics.registry.get_sample_value(
                    "phishline_app_http_requests_total",
                    {"variant": "v1", "route": "unmatched", "status": "200"},
                )
            )

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    asyncio.run(RequestMetricsMiddleware(route, metrics=metrics)(scope, receive, send))
    assert counted_when_sent == [None, 1.0]
    samples = metrics.registry.get_sample_value(
        "phishline_app_request_duration_seconds_count", {"variant": "v1", "route": "unmatched"}
    )
    assert samples == 1.0
    assert (
        metrics.registry.get_sample_value("phishline_app_in_flight_requests", {"variant": "v1"})
        == 0
    )
