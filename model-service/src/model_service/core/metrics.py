"""The Prometheus metrics of docs/metrics.md, in a registry of their own per app."""

import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from lib_ml import LABELS
from model_service.core.errors import COUNTED_REASONS, ErrorCode
from model_service.core.registry import ModelRegistry

# Scoring one URL takes well under a millisecond; a full batch tens of milliseconds.
INFERENCE_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
URL_LENGTH_BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
RELOAD_RESULTS = ("success", "failure")


_FEW = 8


@dataclass
class InFlightRequests:
    """How many HTTP requests the server is handling now: the request middleware counts, the
    in-flight gauge and the prediction batcher read it."""

    count: int = 0


@dataclass(frozen=True)
class _ModelSeries:
    """A model's labelled series, looked up once: `labels()` costs a lock and a validation
    on every call, a noticeable share of a single prediction's bookkeeping."""

    inference_seconds: Histogram
    predictions: dict[str, Counter]


class BulkHistogram(Collector):
    """A label-free histogram that takes a whole batch of observations in one numpy call.

    prometheus_client observes one value per call, under a lock: for the URL lengths of a
    1,000-URL batch that cost more than 5 % of scoring the batch.
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[int]):
        self.name = name
        self.documentation = documentation
        self._edges = np.asarray(buckets)
        self._edges_list = list(buckets)
        self._counts = np.zeros(len(buckets) + 1, dtype=np.int64)  # the last one is +Inf
        self._sum = 0
        self._lock = threading.Lock()

    def observe_many(self, values: Sequence[int]) -> None:
        # Bucket i counts the values v with edges[i-1] < v <= edges[i], as `le` requires.
        if len(values) <= _FEW:  # a single predict: numpy's set-up would cost more than this
            with self._lock:
                for value in values:
                    self._counts[bisect_left(self._edges_list, value)] += 1
                    self._sum += value
            return
        array = np.fromiter(values, dtype=np.int64, count=len(values))
        counts = np.bincount(np.searchsorted(self._edges, array), minlength=self._counts.size)
        with self._lock:
            self._counts += counts
            self._sum += int(array.sum())

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            cumulative = np.cumsum(self._counts).tolist()
            total = self._sum
        bounds = [str(edge) for edge in self._edges.tolist()] + ["+Inf"]
        yield HistogramMetricFamily(
            self.name,
            self.documentation,
            buckets=list(zip(bounds, cumulative, strict=True)),
            sum_value=total,
        )


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.predictions = Counter(
            "phishline_model_predictions_total",
            "URLs scored, by predicted label.",
            ["model", "label"],
            registry=self.registry,
        )
        self.errors = Counter(
            "phishline_model_errors_total",
            "Rejected or failed requests, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "phishline_model_http_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.loaded_models = Gauge(
            "phishline_model_loaded_models",
            "Artifacts loaded and verified.",
            registry=self.registry,
        )
        self.requests_in_flight = InFlightRequests()
        self.in_flight = Gauge(
            "phishline_model_in_flight_requests", "Requests being served.", registry=self.registry
        )
        self.in_flight.set_function(lambda: self.requests_in_flight.count)
        self.info = Gauge(
            "phishline_model_info",
            "One series per loaded model (value 1).",
            ["model", "family", "version", "default"],
            registry=self.registry,
        )
        self.inference_seconds = Histogram(
            "phishline_model_inference_duration_seconds",
            "Time inside the predictor per request (single or batch).",
            ["model"],
            buckets=INFERENCE_BUCKETS,
            registry=self.registry,
        )
        self.url_length = BulkHistogram(
            "phishline_model_url_length_characters",
            "Length of the scored URLs.",
            URL_LENGTH_BUCKETS,
        )
        self.registry.register(self.url_length)
        self.request_seconds = Summary(
            "phishline_model_request_duration_seconds",
            "HTTP request latency.",
            ["route"],
            registry=self.registry,
        )
        self.drift_psi = Gauge(
            "phishline_model_input_drift_psi",
            "PSI of live inputs against the training distribution.",
            ["model", "feature"],
            registry=self.registry,
        )
        self._series: dict[str, _ModelSeries] = {}
        self.reloads = Counter(
            "phishline_model_reloads_total",
            "Model reloads, by result.",
            ["result"],
            registry=self.registry,
        )
        # Series that exist from the start, so dashboards and rate() see zeros, not gaps.
        for reason in COUNTED_REASONS:
            self.errors.labels(reason.value)
        for result in RELOAD_RESULTS:
            self.reloads.labels(result)

    def show_models(self, registry: ModelRegistry) -> None:
        self.loaded_models.set(len(registry.models))
        self.info.clear()
        for name, predictor in registry.models.items():
            self.info.labels(
                name, predictor.family, predictor.version, str(name == registry.default).lower()
            ).set(1)
        for name in registry.models:
            self._series_of(name)

    def _series_of(self, model: str) -> _ModelSeries:
        series = self._series.get(model)
        if series is None:
            series = self._series[model] = _ModelSeries(
                self.inference_seconds.labels(model),
                {label: self.predictions.labels(model, label) for label in LABELS},
            )
        return series

    def count_reload(self, result: str) -> None:
        self.reloads.labels(result).inc()

    def count_error(self, code: ErrorCode) -> None:
        if code in COUNTED_REASONS:
            self.errors.labels(code.value).inc()

    def record_predictions(
        self, model: str, seconds: float, urls: Sequence[str], labels: Sequence[str]
    ) -> None:
        series = self._series_of(model)
        series.inference_seconds.observe(seconds)
        self.url_length.observe_many([len(url) for url in urls])
        for label, counter in series.predictions.items():
            count = labels.count(label)
            if count:
                counter.inc(count)

    def show_drift(self, reports: dict[str, dict[str, float]]) -> None:
        """Replace the drift series: models dropped by a reload lose theirs."""
        self.drift_psi.clear()
        for model, psi in reports.items():
            for feature, value in psi.items():
                self.drift_psi.labels(model, feature).set(value)
