"""POST /v1/predict and /v1/predict/batch.

Scoring runs on the event loop. It holds the GIL most of the time, so a worker thread would
not let other requests run meanwhile, and the hand-off would only add its own cost; concurrent
single requests are micro-batched instead (docs/performance.md).
"""

import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic_core import to_json

from lib_ml import BatchInputError, Predictor, explanation_items
from model_service.api.deps import JsonRoute, service_state
from model_service.api.errors import error_responses
from model_service.api.schemas import (
    BatchPredictRequest,
    BatchPredictResponse,
    PredictRequest,
    PredictResponse,
)
from model_service.core.drift import DriftMonitor
from model_service.core.errors import ErrorCode, ServiceError
from model_service.core.registry import ModelRegistry, NoModelsError, UnknownModelError

router = APIRouter(
    prefix="/v1/predict",
    tags=["predict"],
    route_class=JsonRoute,
    responses=error_responses(400, 413, 415, 422, 503),
)

# Test traffic (a canary's load test, a smoke test) sends this header: it is scored and
# counted like any request, but kept out of the drift window, which stands for the inputs
# of users. Flagger's load test sends one URL many times a second: counted, it would be
# drift the moment a release starts, and after a rollback until users' URLs replace it.
SYNTHETIC_HEADER = "X-Phishline-Synthetic"
# Read from the request, not declared as a parameter, which costs FastAPI more per request
# than a prediction's share of the check; documented in the schema all the same.
_SYNTHETIC_PARAMETER = {
    "parameters": [
        {
            "name": SYNTHETIC_HEADER,
            "in": "header",
            "required": False,
            "description": "Any non-empty value marks test traffic: scored and counted, but "
            "left out of the input-drift window.",
            "schema": {"type": "string"},
        }
    ]
}


def _record_inputs(request: Request, drift: DriftMonitor, model: str, urls: list[str]) -> None:
    """Feed the drift window with the URLs of users, not of test traffic."""
    if not request.headers.get(SYNTHETIC_HEADER):
        drift.record(model, urls)


def _choose(registry: ModelRegistry, name: str | None) -> Predictor:
    try:
        return registry.get(name)
    except UnknownModelError as exc:
        raise ServiceError(422, ErrorCode.UNKNOWN_MODEL, str(exc)) from exc
    except NoModelsError as exc:
        raise ServiceError(503, ErrorCode.NOT_READY, "no model is loaded yet") from exc


def _check_lengths(urls: Sequence[str], max_length: int, single: bool) -> None:
    if max(map(len, urls)) <= max_length:  # the common case, without a Python-level loop
        return
    index, url = next((i, url) for i, url in enumerate(urls) if len(url) > max_length)
    where = "the URL" if single else f"item {index}"
    raise ServiceError(
        422, ErrorCode.URL_TOO_LONG,
        f"{where} is {len(url)} characters long; the maximum is {max_length}",
    )  # fmt: skip


def _json(payload: dict[str, Any]) -> Response:
    return Response(to_json(payload), media_type="application/json")


@router.post(
    "",
    summary="Score one URL",
    response_model=PredictResponse,
    openapi_extra=_SYNTHETIC_PARAMETER,
)
async def predict(body: PredictRequest, request: Request) -> Response:
    """P(phishing), label and the top features of one URL."""
    service = service_state(request.app)
    _check_lengths([body.url], service.settings.max_url_length, single=True)
    predictor = _choose(service.store.current, body.model)
    try:
        scored = await service.batcher.predict(predictor, body.url, body.explain_top_k)
    except BatchInputError as exc:
        raise ServiceError(422, ErrorCode.INVALID_URL, exc.reason) from exc
    prediction = scored.prediction
    service.metrics.record_predictions(
        predictor.name, scored.seconds, [body.url], [prediction.label]
    )
    _record_inputs(request, service.drift, predictor.name, [body.url])
    # Serialized directly, as for batches: FastAPI's validation of our own answer would cost
    # a sizeable share of a single prediction; the schemathesis test checks the schema.
    return _json(
        {
            "url": prediction.url,
            "label": prediction.label,
            "probability": prediction.probability,
            "explanation": explanation_items(prediction.explanation),
            "model": predictor.name,
            "model_version": predictor.version,
        }
    )


def _batch_results(
    predictor: Predictor, urls: list[str], explain_top_k: int
) -> list[dict[str, Any]]:
    """Results as plain dicts: for 1,000 URLs, building and validating pydantic objects costs
    about half as much again as scoring them. Without explanations the probabilities come
    straight from numpy, skipping lib-ml's per-URL Prediction objects."""
    if explain_top_k:
        return [
            {
                "url": p.url,
                "label": p.label,
                "probability": p.probability,
                "explanation": explanation_items(p.explanation),
            }
            for p in predictor.predict(urls, explain_top_k=explain_top_k)
        ]
    probabilities: list[float] = predictor.predict_proba(urls).tolist()
    return [
        {"url": url, "label": predictor.label_of(p), "probability": p, "explanation": []}
        for url, p in zip(urls, probabilities, strict=True)
    ]


@router.post(
    "/batch",
    summary="Score many URLs",
    response_model=BatchPredictResponse,
    openapi_extra=_SYNTHETIC_PARAMETER,
)
async def predict_batch(body: BatchPredictRequest, request: Request) -> Response:
    """One result per URL, in request order; any invalid URL rejects the whole batch."""
    service = service_state(request.app)
    max_batch = service.settings.max_batch
    if len(body.urls) > max_batch:
        raise ServiceError(
            413, ErrorCode.BATCH_TOO_LARGE,
            f"the batch holds {len(body.urls)} URLs; the maximum is {max_batch}",
        )  # fmt: skip
    _check_lengths(body.urls, service.settings.max_url_length, single=False)
    predictor = _choose(service.store.current, body.model)
    started = time.perf_counter()
    try:
        results = _batch_results(predictor, body.urls, body.explain_top_k)
    except BatchInputError as exc:
        raise ServiceError(422, ErrorCode.INVALID_URL, str(exc)) from exc
    service.metrics.record_predictions(
        predictor.name, time.perf_counter() - started, body.urls, [r["label"] for r in results]
    )
    _record_inputs(request, service.drift, predictor.name, body.urls)
    # Serialized here, skipping FastAPI's response validation (the cost above); the schemathesis
    # test checks that this body conforms to BatchPredictResponse.
    return _json({"model": predictor.name, "model_version": predictor.version, "results": results})
