"""The page: check a URL (a plain form POST, no script needed) and answer Yes/No."""

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phishline_app.api.deps import AppContext, ContextDep, Runtime, RuntimeDep
from phishline_app.core import csrf
from phishline_app.core.identity import current_user
from phishline_app.db.store import DuplicateFeedbackError, StoreUnavailableError
from phishline_app.services.feedback import parse_answer, record_feedback
from phishline_app.services.inputs import (
    UNKNOWN_MODEL,
    InvalidInputError,
    clean_model,
    clean_url,
)
from phishline_app.services.model_client import (
    ModelCatalog,
    ModelServiceRejectedError,
    ModelServiceUnavailableError,
)
from phishline_app.services.tickets import InvalidTicketError, PredictionTicket
from phishline_app.views import ResultView, percents_beside_threshold, result_view

router = APIRouter(include_in_schema=False)

FORM_EXPIRED = "This form has expired. Please submit it again."
# The result an expired answer was about is gone with the page: nothing to submit again.
ANSWER_EXPIRED = (
    "This result has expired (the page was older than the app's current session), so the "
    "answer was not saved. Please check the link again to answer."
)
FEEDBACK_NOT_SAVED = "Your answer could not be saved right now. Please try again in a minute."
FEEDBACK_INVALID = "That answer could not be matched to a result. Please check the URL again."
# Notices after feedback, chosen by a fixed code in the query: never text from the request.
# Each has the words the page's title leads with, as a result's or an error's page does.
NOTICES = {
    "recorded": ("Answer recorded", "Thank you, your answer was recorded."),
    "duplicate": ("Already answered", "This result already had an answer; the first one counts."),
}
FormField = Annotated[str, Form()]


def as_sentence(message: str) -> str:
    """model-service's error message ("the URL has no host") as the page's own messages
    read: a capital first letter and a full stop."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else f"{message}."


@dataclass(frozen=True)
class PageContent:
    """What one rendering shows besides the form itself."""

    url: str = ""
    model: str | None = None
    url_error: str | None = None
    model_error: str | None = None
    form_error: str | None = None
    notice: str | None = None
    notice_title: str | None = None
    unavailable: bool = False
    result: ResultView | None = None
    ticket: str | None = None


def _refusal(entered: PageContent, code: str, message: str) -> PageContent:
    """The message beside the field it is about: the model's select or the URL's input."""
    if code == UNKNOWN_MODEL:
        return replace(entered, model_error=message)
    return replace(entered, url_error=message)


def _threshold(content: PageContent, catalog: ModelCatalog | None) -> float | None:
    """The P(phishing) from which the result's model says phishing, when the service tells."""
    model = catalog.find(content.result.model) if catalog and content.result else None
    return model.threshold if model else None


def _footer_model(content: PageContent, catalog: ModelCatalog | None) -> str:
    if content.result:
        return f"{content.result.model} {content.result.model_version}"
    default = catalog.find(None) if catalog else None
    return f"{default.name} {default.version}" if default else "unavailable"


async def _render(
    request: Request,
    context: AppContext,
    runtime: Runtime,
    content: PageContent,
    status_code: int = 200,
) -> HTMLResponse:
    catalog: ModelCatalog | None = None
    unavailable = content.unavailable
    if not unavailable:  # a failed call just now: do not wait for a second one
        try:
            catalog = await runtime.client.catalog()
        except (ModelServiceUnavailableError, ModelServiceRejectedError):
            # The list only adds the models, versions and threshold: a result it just
            # scored stands, and the page does not say that nothing can be checked.
            unavailable = content.result is None
    selected = content.model or (catalog.default if catalog else None)
    threshold = _threshold(content, catalog)
    threshold_percent: str | None = None
    if threshold is not None and content.result is not None:
        shown, threshold_percent = percents_beside_threshold(content.result.probability, threshold)
        content = replace(content, result=replace(content.result, percent=shown))
    values: dict[str, Any] = {
        "variant": context.settings.variant,
        "csrf_token": csrf.token_for(context.signer, current_user(request).user_id),
        "content": content,
        "unavailable": unavailable,
        "models": catalog.models if catalog else (),
        "selected_model": selected,
        "app_version": context.app_version,
        "lib_version": context.lib_version,
        "service_version": catalog.service_version if catalog else "unavailable",
        "footer_model": _footer_model(content, catalog),
        "threshold": threshold,
        "threshold_percent": threshold_percent,
    }
    return context.templates.TemplateResponse(
        request, "index.html", values, status_code=status_code
    )


@router.get("/", response_class=HTMLResponse)
async def index(
    request: Request, context: ContextDep, runtime: RuntimeDep, feedback: str = ""
) -> HTMLResponse:
    notice_title, notice = NOTICES.get(feedback, (None, None))
    content = PageContent(notice=notice, notice_title=notice_title)
    return await _render(request, context, runtime, content)


@router.post("/", response_class=HTMLResponse)
async def check(
    request: Request,
    *,
    context: ContextDep,
    runtime: RuntimeDep,
    url: FormField = "",
    model: FormField = "",
    csrf_token: FormField = "",
) -> HTMLResponse:
    # Every answer keeps what the user entered and chose, so that a retry is one click.
    entered = PageContent(url=url, model=model or None)
    if not csrf.is_valid(context.signer, current_user(request).user_id, csrf_token):
        return await _render(
            request, context, runtime, replace(entered, form_error=FORM_EXPIRED), 403
        )
    try:
        cleaned_url = clean_url(url, context.settings.max_url_length)
        chosen_model = clean_model(model)
    except InvalidInputError as invalid:
        return await _render(
            request, context, runtime, _refusal(entered, invalid.code, invalid.message), 422
        )
    try:
        prediction = await runtime.client.predict(cleaned_url, chosen_model)
    except ModelServiceUnavailableError:
        return await _render(request, context, runtime, replace(entered, unavailable=True), 503)
    except ModelServiceRejectedError as rejected:
        refusal = _refusal(entered, rejected.code, as_sentence(rejected.message))
        return await _render(request, context, runtime, refusal, rejected.status)
    context.metrics.prediction_shown(prediction.model, prediction.label)
    ticket = PredictionTicket.issue(cleaned_url, prediction, context.settings.variant)
    shown = PageContent(
        url=cleaned_url,
        model=prediction.model,
        result=result_view(cleaned_url, prediction),
        ticket=ticket.seal(context.signer),
    )
    return await _render(request, context, runtime, shown)


async def _duplicate_notice(
    runtime: Runtime, ticket: PredictionTicket, answer: str, user_id: str
) -> str:
    """`recorded` when the stored answer is this one from this user: the same form sent twice
    (a double click on Yes), which must not read as an earlier answer; else `duplicate`."""
    try:
        repeated = await run_in_threadpool(
            runtime.store.holds, ticket.prediction_id, answer, user_id
        )
    except StoreUnavailableError:
        repeated = False
    return "recorded" if repeated else "duplicate"


@router.post("/feedback", response_class=HTMLResponse)
async def feedback(
    request: Request,
    *,
    context: ContextDep,
    runtime: RuntimeDep,
    ticket: FormField = "",
    answer: FormField = "",
    csrf_token: FormField = "",
) -> Response:
    user = current_user(request)
    if not csrf.is_valid(context.signer, user.user_id, csrf_token):
        return await _render(request, context, runtime, PageContent(form_error=ANSWER_EXPIRED), 403)
    chosen = parse_answer(answer)
    try:
        shown = PredictionTicket.unseal(context.signer, ticket, context.settings.variant)
    except InvalidTicketError:
        shown = None
    if shown is None or chosen is None:
        return await _render(
            request, context, runtime, PageContent(form_error=FEEDBACK_INVALID), 400
        )
    try:
        await run_in_threadpool(
            record_feedback, runtime.store, context.metrics, shown, chosen, user.user_id
        )
    except DuplicateFeedbackError:
        notice = await _duplicate_notice(runtime, shown, chosen, user.user_id)
        return RedirectResponse(f"/?feedback={notice}", status_code=303)
    except StoreUnavailableError:
        return await _render(
            request, context, runtime, PageContent(form_error=FEEDBACK_NOT_SAVED), 503
        )
    # Post/Redirect/Get: reloading the thank-you page cannot resubmit the answer.
    return RedirectResponse("/?feedback=recorded", status_code=303)
