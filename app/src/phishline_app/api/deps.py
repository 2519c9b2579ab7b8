"""What routes get from the app: fixed context (from settings) and runtime resources."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from phishline_app.core.config import Settings
from phishline_app.core.metrics import AppMetrics
from phishline_app.core.signing import Signer
from phishline_app.db.store import FeedbackStore
from phishline_app.services.model_client import ModelClient


@dataclass(frozen=True)
class AppContext:
    """Built once by create_app from the settings."""

    settings: Settings
    metrics: AppMetrics
    signer: Signer
    templates: Jinja2Templates
    app_version: str
    lib_version: str


@dataclass(frozen=True)
class Runtime:
    """Opened at startup and closed at shutdown (the app's lifespan)."""

    client: ModelClient
    store: FeedbackStore


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


ContextDep = Annotated[AppContext, Depends(get_context)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
