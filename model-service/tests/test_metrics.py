"""/metrics exports exactly the documented names, types and labels, and they move."""

import gc
import re
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from lib_ml import Predictor, normalize_url
from lib_ml.drift import drift_report
from model_service.api.routes.predict import SYNTHETIC_HEADER
from model_service.core.config import Settings
from model_service.core.drift import MIN_DRIFT_SAMPLES, DriftMonitor
from model_service.core.metrics import URL_LENGTH_BUCKETS, BulkHistogram
from model_service.core.registry import ModelRegistry

from .conftest import ADMIN, ADMIN_TOKEN

REPO = Path(__file__).resolve().parents[2]
MetricValue = Callable[..., float | None]


def documented() -> dict[str, tuple[str, set[str]]]:
    """name -> (type, labels) from the model-service table of docs/metrics.md."""
    text = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    section = text.split("## model-service", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0].startswith("`phishline_"):
            kind = cells[1].split()[0].lower()  # "Gauge (=1)" is a gauge
            table[cells[0].strip("`")] = (kind, set(re.findall(r"`(\w+)`", cells[2])))
    return table


def exported(text: str) -> dict[str, tuple[str, set[str]]]:
    families = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {
            key
            for sample in family.samples
            for key in sample.labels
            if key not in ("le", "quantile")
        }
        families[name] = (family.type, labels)
    return families


# What busy_client sends the linear model: one shape of URL, unlike the training data.
BUSY_URLS = [f"http://host{i}.example.com/page{i}" for i in range(MIN_DRIFT_SAMPLES)]


@pytest.fixture
def busy_client(client: TestClient) -> TestClient:
    """A client whose service has scored enough URLs for every series to exist."""
    assert (
        client.post("/v1/predict/batch", json={"urls": BUSY_URLS, "model": "linear"}).status_code
        == 200
    )
    assert client.post("/v1/predict", json={"url": "https://www.google.com/"}).status_code == 200
    assert client.post("/v1/predict", json={"url": ""}).status_code == 422
    return client


def test_every_documented_metric_is_exported_with_its_type_and_labels(
    busy_client: TestClient,
) -> None:
    expected = documented()
    assert len(expected) == 11
    actual = exported(busy_client.get("/metrics").text)
    for name, (kind, labels) in expected.items():
        assert name in actual, f"{name} is documented but not exported"
        assert actual[name] == (kind, labels), name
    ours = {
        name for name in actual if name.startswith("phishline_") and not name.endswith("_created")
    }
    assert ours == set(expected), "exported metrics missing from docs/metrics.md"
    assert {kind for kind, _ in actual.values()} >= {"counter", "gauge", "histogram", "summary"}


def test_metrics_count_what_happened(busy_client: TestClient, metric_value: MetricValue) -> None:
    text = busy_client.get("/metrics").text
    assert (
        metric_value(
            text, "phishline_model_predictions_total", model="ensemble", label="legitimate"
        )
        == 1
    )
    linear = sum(
        metric_value(text, "phishline_model_predictions_total", model="linear", label=label) or 0
        for label in ("legitimate", "phishing")
    )
    assert linear == MIN_DRIFT_SAMPLES
    assert metric_value(text, "phishline_model_errors_total", reason="validation") == 1
    assert metric_value(text, "phishline_model_errors_total", reason="internal") == 0
    assert (
        metric_value(
            text,
            "phishline_model_http_requests_total",
            method="POST",
            route="/v1/predict",
            status="422",
        )
        == 1
    )
    assert metric_value(text, "phishline_model_loaded_models") == 3
    assert (
        metric_value(
            text, "phishline_model_info", model="ensemble", family="ensemble", default="true"
        )
        == 1
    )
    assert metric_value(text, "phishline_model_info", model="gbm", default="false") == 1
    assert (
        metric_value(text, "phishline_model_inference_duration_seconds_count", model="linear") == 1
    )
    assert (
        metric_value(text, "phishline_model_url_length_characters_count") == MIN_DRIFT_SAMPLES + 1
    )
    assert metric_value(text, "phishline_model_in_flight_requests") == 1  # this scrape
    assert (
        metric_value(text, "phishline_model_request_duration_seconds_count", route="/v1/predict")
        == 2
    )


def test_drift_is_exported_once_enough_urls_were_seen(
    busy_client: TestClient, metric_value: MetricValue, registry: ModelRegistry
) -> None:
    text = busy_client.get("/metrics").text
    # The PSI of exactly the URLs the linear model scored, against its own reference.
    reference = registry.models["linear"].manifest["feature_distributions"]
    expected = drift_report(reference, [normalize_url(url).text for url in BUSY_URLS])
    for feature in ("url_length", "digit_ratio", "letter_ratio", "special_ratio"):
        psi = metric_value(text, "phishline_model_input_drift_psi", model="linear", feature=feature)
        assert psi is not None
        assert psi == pytest.approx(expected[feature])
        assert psi > 0.1, feature  # these URLs are far from the training mix
    # The ensemble has seen one URL: too few for a meaningful PSI.
    assert (
        metric_value(
            text, "phishline_model_input_drift_psi", model="ensemble", feature="url_length"
        )
        is None
    )


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/predict/batch"])
def test_test_traffic_is_scored_and_counted_but_kept_out_of_the_drift_window(
    busy_client: TestClient, metric_value: MetricValue, registry: ModelRegistry, path: str
) -> None:
    """What a canary's load test sends: one URL, over and over, marked as test traffic."""
    before = busy_client.get("/metrics").text
    repeated = "https://www.wikipedia.org/"
    for _ in range(MIN_DRIFT_SAMPLES):
        payload = {"url": repeated} if path == "/v1/predict" else {"urls": [repeated]}
        answer = busy_client.post(
            path, json={**payload, "model": "linear"}, headers={SYNTHETIC_HEADER: "load-test"}
        )
        assert answer.status_code == 200
    after = busy_client.get("/metrics").text
    legitimate = ("phishline_model_predictions_total", {"model": "linear", "label": "legitimate"})
    assert (metric_value(after, legitimate[0], **legitimate[1]) or 0) - (
        metric_value(before, legitimate[0], **legitimate[1]) or 0
    ) == MIN_DRIFT_SAMPLES
    reference = registry.models["linear"].manifest["feature_distributions"]

    def exported_psi(text: str) -> dict[str, float | None]:
        return {
            feature: metric_value(
                text, "phishline_model_input_drift_psi", model="linear", feature=feature
            )
            for feature in reference
        }

    def expected_psi(urls: list[str]) -> dict[str, float]:
        return pytest.approx(drift_report(reference, [normalize_url(u).text for u in urls]))

    assert exported_psi(after) == expected_psi(BUSY_URLS)
    # Unmarked, the same requests fill the window.
    for _ in range(MIN_DRIFT_SAMPLES):
        busy_client.post("/v1/predict/batch", json={"urls": [repeated], "model": "linear"})
    flooded = exported_psi(busy_client.get("/metrics").text)
    assert flooded == expected_psi(BUSY_URLS + [repeated] * MIN_DRIFT_SAMPLES)
    assert flooded != expected_psi(BUSY_URLS)


def test_unrouted_requests_share_one_route_label(
    client: TestClient, metric_value: MetricValue
) -> None:
    for path in ("/a", "/b", "/c"):
        client.get(path)
    client.request("BREW", "/v1/models")
    text = client.get("/metrics").text
    assert (
        metric_value(text, "phishline_model_http_requests_total", route="unmatched", status="404")
        == 3
    )
    assert (
        metric_value(text, "phishline_model_http_requests_total", method="OTHER", status="405") == 1
    )


def test_the_schema_and_its_docs_page_are_counted_under_their_own_routes(
    client: TestClient, metric_value: MetricValue
) -> None:
    for path in ("/openapi.json", "/docs"):
        assert client.get(path).status_code == 200
    text = client.get("/metrics").text
    for route in ("/openapi.json", "/docs"):
        assert metric_value(text, "phishline_model_http_requests_total", route=route) == 1
    assert metric_value(text, "phishline_model_http_requests_total", route="unmatched") is None


def test_reload_updates_the_model_series(
    models_copy: Path,
    registry: ModelRegistry,
    make_client: Callable[..., TestClient],
    metric_value: MetricValue,
) -> None:
    client = make_client(Settings(model_dir=models_copy, admin_token=ADMIN_TOKEN), registry)
    urls = [f"http://host{i}.example.com/" for i in range(MIN_DRIFT_SAMPLES)]
    client.post("/v1/predict/batch", json={"urls": urls, "model": "gbm"})
    assert (
        metric_value(
            client.get("/metrics").text,
            "phishline_model_input_drift_psi",
            model="gbm",
            feature="url_length",
        )
        is not None
    )
    for artifact in ("gbm", "ensemble"):
        shutil.rmtree(models_copy / artifact)
    assert client.post("/admin/reload", headers=ADMIN).status_code == 200
    text = client.get("/metrics").text
    assert metric_value(text, "phishline_model_loaded_models") == 1
    assert metric_value(text, "phishline_model_info", model="gbm") is None
    assert metric_value(text, "phishline_model_info", model="linear", default="true") == 1
    assert (
        metric_value(text, "phishline_model_input_drift_psi", model="gbm", feature="url_length")
        is None
    )
    assert metric_value(text, "phishline_model_reloads_total", result="success") == 1


def test_drift_reports_are_recomputed_only_when_the_window_changed(registry: ModelRegistry) -> None:
    monitor = DriftMonitor(window=MIN_DRIFT_SAMPLES)
    models = {"linear": registry.models["linear"]}
    monitor.record("linear", ["a.com/x"] * (MIN_DRIFT_SAMPLES - 1))
    assert monitor.stale_windows(models) == {}
    monitor.record("linear", ["a.com/x"])
    stale = monitor.stale_windows(models)
    assert len(stale["linear"].urls) == MIN_DRIFT_SAMPLES
    monitor.update(stale)
    assert monitor.stale_windows(models) == {}
    first = monitor.reports(models)["linear"]["url_length"]
    monitor.record(
        "linear", ["http://a-much-longer-host.example.com/with/a/long/path"] * MIN_DRIFT_SAMPLES
    )
    monitor.update(monitor.stale_windows(models))
    assert monitor.reports(models)["linear"]["url_length"] != first


def test_a_drift_window_holds_only_the_most_recent_urls(registry: ModelRegistry) -> None:
    monitor = DriftMonitor(window=MIN_DRIFT_SAMPLES)
    recent = [f"http://host{i}.example.com/" for i in range(MIN_DRIFT_SAMPLES)]
    monitor.record("linear", ["a.com/x"] * 50)
    monitor.record("linear", recent)
    stale = monitor.stale_windows({"linear": registry.models["linear"]})
    assert stale["linear"].urls == recent


def test_a_stale_window_is_a_copy_that_later_urls_do_not_change(registry: ModelRegistry) -> None:
    monitor = DriftMonitor(window=MIN_DRIFT_SAMPLES)
    monitor.record("linear", ["a.com/x"] * MIN_DRIFT_SAMPLES)
    stale = monitor.stale_windows({"linear": registry.models["linear"]})
    monitor.record("linear", ["b.com/y"])
    assert stale["linear"].urls == ["a.com/x"] * MIN_DRIFT_SAMPLES


def test_a_reloaded_model_gets_a_new_drift_report_for_an_unchanged_window(
    registry: ModelRegistry, artifact_root: Path
) -> None:
    monitor = DriftMonitor(window=MIN_DRIFT_SAMPLES)
    monitor.record("linear", ["a.com/x"] * MIN_DRIFT_SAMPLES)
    monitor.update(monitor.stale_windows({"linear": registry.models["linear"]}))
    reloaded = Predictor.load(artifact_root / "linear")
    stale = monitor.stale_windows({"linear": reloaded})
    assert stale["linear"].predictor is reloaded


def test_a_model_dropped_by_a_reload_leaves_nothing_in_the_drift_monitor(
    registry: ModelRegistry, artifact_root: Path
) -> None:
    """Its report held the old Predictor, weights and all, for as long as the process ran."""
    monitor = DriftMonitor(window=MIN_DRIFT_SAMPLES)
    dropped = Predictor.load(artifact_root / "gbm")
    monitor.record("gbm", ["a.com/x"] * MIN_DRIFT_SAMPLES)
    monitor.update(monitor.stale_windows({"gbm": dropped}))
    gone = weakref.ref(dropped)
    del dropped
    remaining = {"linear": registry.models["linear"]}
    assert monitor.stale_windows(remaining) == {}
    assert monitor.reports(remaining) == {}
    gc.collect()
    assert gone() is None
    # Loaded again later, the model starts from an empty window.
    monitor.record("gbm", ["a.com/x"])
    assert monitor.stale_windows({"gbm": registry.models["gbm"]}) == {}


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_bulk_histogram_buckets_like_prometheus(chunk: int) -> None:
    """Few values (bisect) and many (numpy) land in the same `le` buckets as
    prometheus_client's own Histogram, edges included."""
    values = [0, 1, 16, 17, 32, 100, 8192, 9000] * 5
    bulk = BulkHistogram("bulk", "test", URL_LENGTH_BUCKETS)
    reference_registry = CollectorRegistry()
    reference = Histogram("ref", "test", buckets=URL_LENGTH_BUCKETS, registry=reference_registry)
    for start in range(0, len(values), chunk):
        bulk.observe_many(values[start : start + chunk])
    for value in values:
        reference.observe(value)
    (family,) = bulk.collect()

    def le(sample: Any) -> float | None:
        return float(sample.labels["le"]) if "le" in sample.labels else None

    got = {(s.name, le(s)): s.value for s in family.samples}
    expected = {
        (s.name.replace("ref", "bulk"), le(s)): s.value
        for metric in reference_registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }
    assert got == expected
