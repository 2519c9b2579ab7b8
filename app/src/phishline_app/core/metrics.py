"""The app's Prometheus metrics (names fixed by docs/metrics.md), one registry per app.

A registry of its own keeps two apps in one process (tests, both variants) apart and makes
`/metrics` export only `phishline_` series. Every series carries the app's variant.
"""

import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# End-to-end latency of a page or API call, model-service round trip included.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From a shown result to its Yes/No: seconds (a quick click) to an hour (a returning tab).
FEEDBACK_DELAY_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
# Route label of requests no route matched: one series instead of one per scanned path.
UNMATCHED_ROUTE = "unmatched"
# Why a call to model-service failed (the model client's FailureReason).
MODEL_SERVICE_FAILURE_REASONS = ("unavailable", "timeout", "bad_response")


@dataclass
class AppMetrics:
    """The collectors of one app, already bound to its variant where the label is fixed."""

    variant: str
    version: str
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        registry = self.registry
        self.http_requests = Counter(
            "phishline_app_http_requests_total", "HTTP requests answered.",
            ["variant", "route", "status"], registry=registry,
        )  # fmt: skip
        self.predictions_shown = Counter(
            "phishline_app_predictions_shown_total", "Results shown to users.",
            ["variant", "model", "label"], registry=registry,
        )  # fmt: skip
        self.feedback = Counter(
            "phishline_app_feedback_total", "Answers to 'Is this prediction accurate?'.",
            ["variant", "answer"], registry=registry,
        )  # fmt: skip
        self.new_users = Counter(
            "phishline_app_new_users_total", "Users assigned to the variant (new user cookie).",
            ["variant"], registry=registry,
        )  # fmt: skip
        self.in_flight = Gauge(
            "phishline_app_in_flight_requests", "Requests being served.",
            ["variant"], registry=registry,
        )  # fmt: skip
        self.request_duration = Histogram(
            "phishline_app_request_duration_seconds", "End-to-end request latency.",
            ["variant", "route"], buckets=REQUEST_BUCKETS, registry=registry,
        )  # fmt: skip
        self.feedback_delay = Histogram(
            "phishline_app_feedback_delay_seconds", "Time from a shown result to its feedback.",
            ["variant"], buckets=FEEDBACK_DELAY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.model_service_duration = Summary(
            "phishline_app_model_service_duration_seconds", "Latency of calls to model-service.",
            ["variant"], registry=registry,
        )  # fmt: skip
        self.model_service_errors = Counter(
            "phishline_app_model_service_errors_total", "Failed calls to model-service.",
            ["variant", "reason"], registry=registry,
        )  # fmt: skip
        info = Gauge(
            "phishline_app_info", "App build info (always 1).",
            ["variant", "version"], registry=registry,
        )  # fmt: skip
        info.labels(variant=self.variant, version=self.version).set(1)
        # Series that dashboards divide by exist from the start, at zero; so do the failed
        # calls, whose first ones rate() would not see in a series born at its first failure.
        for answer in ("yes", "no"):
            self.feedback.labels(variant=self.variant, answer=answer)
        for reason in MODEL_SERVICE_FAILURE_REASONS:
            self.model_service_errors.labels(variant=self.variant, reason=reason)
        self.new_users.labels(variant=self.variant)
        self.in_flight.labels(variant=self.variant)
        self.feedback_delay.labels(variant=self.variant)
        self.model_service_duration.labels(variant=self.variant)

    def request_answered(self, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(variant=self.variant, route=route, status=str(status)).inc()
        self.request_duration.labels(variant=self.variant, route=route).observe(seconds)

    def prediction_shown(self, model: str, label: str) -> None:
        self.predictions_shown.labels(variant=self.variant, model=model, label=label).inc()

    def feedback_recorded(self, answer: str, delay_seconds: float) -> None:
        self.feedback.labels(variant=self.variant, answer=answer).inc()
        self.feedback_delay.labels(variant=self.variant).observe(max(delay_seconds, 0.0))

    def user_assigned(self) -> None:
        self.new_users.labels(variant=self.variant).inc()

    def model_service_called(self, seconds: float) -> None:
        self.model_service_duration.labels(variant=self.variant).observe(seconds)

    def model_service_failed(self, reason: str) -> None:
        self.model_service_errors.labels(variant=self.variant, reason=reason).inc()


def route_label(scope: Scope) -> str:
    """The matched route's template (`/api/predict`, `/static/{path}`), never the raw path."""
    template = getattr(scope.get("route") or _starlette_route(scope), "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def _starlette_route(scope: Scope) -> object:
    """FastAPI's routes name themselves in the scope; Starlette's (the OpenAPI schema, the
    static files' mount) leave only their endpoint, so the router's routes are searched."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return None
    for route in getattr(scope.get("router"), "routes", ()):
        if endpoint in (getattr(route, "endpoint", None), getattr(route, "app", None)):
            return route
    return None


class RequestMetricsMiddleware:
    """Counts, times and tracks in flight every HTTP request, errors included."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering
        answered = False
        in_flight = self.metrics.in_flight.labels(variant=self.metrics.variant)

        def record() -> None:
            nonlocal answered
            if not answered:
                answered = True
                seconds = time.perf_counter() - started
                self.metrics.request_answered(route_label(scope), status, seconds)

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the last byte leaves: a client that has the whole answer
                # and scrapes at once finds it, though the route may still be closing up.
                record()
            await send(message)

        started = time.perf_counter()
        in_flight.inc()
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            in_flight.dec()
            record()
