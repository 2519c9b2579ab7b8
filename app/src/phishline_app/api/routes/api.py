"""JSON API under /api/: predict, feedback, and the list of models."""

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from phishline_app.api.deps import ContextDep, RuntimeDep
from phishline_app.api.errors import ApiError, documented_errors
from phishline_app.core.identity import current_user
from phishline_app.db.store import DuplicateFeedbackError
from phishline_app.services.feedback import corrected_label, record_feedback
from phishline_app.services.inputs import InvalidInputError, clean_model, clean_url
from phishline_app.services.model_client import Contribution, ModelInfo
from phishline_app.services.tickets import InvalidTicketError, PredictionTicket


def require_json(request: Request) -> None:
    """JSON only: browsers cannot send it cross-site without CORS, which the API never grants."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")


router = APIRouter(prefix="/api", tags=["api"])
json_router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require_json)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Strict):
    url: str = Field(max_length=65536, description="The URL to check.")
    model: str | None = Field(default=None, max_length=128, description="Default when absent.")


class PredictResponse(_Strict):
    url: str
    label: Literal["phishing", "legitimate"]
    probability: float = Field(description="P(phishing)")
    model: str
    model_version: str
    explanation: list[Contribution]
    variant: str
    feedback_token: str = Field(description="Send it back with the answer to /api/feedback.")


class FeedbackRequest(_Strict):
    # No length of its own: the body limit bounds it, and grows with max_url_length, whose
    # tokens a fixed cap refused (a 4,096-character URL in CJK script needs over 16,384).
    feedback_token: str
    answer: Literal["yes", "no"]


class FeedbackResponse(_Strict):
    id: int
    prediction_id: str
    answer: Literal["yes", "no"]
    corrected_label: Literal["phishing", "legitimate"]


class ModelsResponse(_Strict):
    models: list[ModelInfo]
    default: str | None
    service_version: str


@json_router.post("/predict", responses=documented_errors(400, 413, 415, 422, 503))
async def predict(
    body: PredictRequest, context: ContextDep, runtime: RuntimeDep
) -> PredictResponse:
    try:
        url = clean_url(body.url, context.settings.max_url_length)
        model = clean_model(body.model)
    except InvalidInputError as invalid:
        raise ApiError(422, invalid.code, invalid.message) from invalid
    prediction = await runtime.client.predict(url, model)
    context.metrics.prediction_shown(prediction.model, prediction.label)
    ticket = PredictionTicket.issue(url, prediction, context.settings.variant)
    return PredictResponse(
        url=url,
        label=prediction.label,
        probability=prediction.probability,
        model=prediction.model,
        model_version=prediction.model_version,
        explanation=list(prediction.explanation),
        variant=context.settings.variant,
        feedback_token=ticket.seal(context.signer),
    )


@json_router.post(
    "/feedback", status_code=201, responses=documented_errors(400, 409, 413, 415, 422, 503)
)
def feedback(
    body: FeedbackRequest, request: Request, context: ContextDep, runtime: RuntimeDep
) -> FeedbackResponse:
    try:
        ticket = PredictionTicket.unseal(
            context.signer, body.feedback_token, context.settings.variant
        )
    except InvalidTicketError as invalid:
        raise ApiError(400, "invalid_token", str(invalid)) from invalid
    try:
        record = record_feedback(
            runtime.store, context.metrics, ticket, body.answer, current_user(request).user_id
        )
    except DuplicateFeedbackError as duplicate:
        raise ApiError(
            409, "duplicate_feedback", "this prediction was already answered"
        ) from duplicate
    return FeedbackResponse(
        id=record.id,
        prediction_id=record.prediction_id,
        answer=body.answer,
        corrected_label=corrected_label(ticket.label, body.answer),
    )


@router.get("/models", responses=documented_errors(503))
async def models(runtime: RuntimeDep) -> ModelsResponse:
    catalog = await runtime.client.catalog()
    return ModelsResponse(
        models=list(catalog.models),
        default=catalog.default,
        service_version=catalog.service_version,
    )
