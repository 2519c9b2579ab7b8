"""Request and response bodies; /openapi.json and docs/api.md are generated from them."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from model_service.core.errors import ErrorCode

Label = Literal["legitimate", "phishing"]
MAX_EXPLAIN_TOP_K = 20


# Validation builds an error object for each unknown field and each item of the wrong type,
# which FastAPI then copies: a 4 MB batch of two million numbers took 2.4 GB and held the
# service for 15 s. Past this many, they are one error.
MAX_ITEM_ERRORS = 100


class _Request(BaseModel):
    # A misspelt field ("modle") is an error, not a silently ignored option; a value of the
    # wrong JSON type (`"explain_top_k": true` or `"3"`) is an error, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + MAX_ITEM_ERRORS:
            unknown = sum(name not in cls.model_fields for name in data)
            if unknown > MAX_ITEM_ERRORS:
                raise PydanticCustomError(
                    "extra_forbidden", "{count} fields are not allowed", {"count": unknown}
                )
        return data


class PredictRequest(_Request):
    url: str = Field(
        min_length=1,
        description="The URL to score, with or without a scheme.",
        examples=["http://paypal.com.account-verify.example.ru/webscr?cmd=_login"],
    )
    model: str | None = Field(
        None, description="Name of a loaded model (see GET /v1/models); null for the default."
    )
    explain_top_k: int = Field(
        5, ge=0, le=MAX_EXPLAIN_TOP_K, description="How many top features to explain; 0 for none."
    )


class BatchPredictRequest(_Request):
    urls: list[str] = Field(
        min_length=1,
        description="URLs to score, at most the configured maximum batch size (1000 by default).",
        examples=[["https://www.wikipedia.org/", "http://secure-login.example.tk/verify"]],
    )
    model: str | None = Field(
        None, description="Name of a loaded model (see GET /v1/models); null for the default."
    )
    explain_top_k: int = Field(
        0, ge=0, le=MAX_EXPLAIN_TOP_K, description="How many top features to explain per URL."
    )

    @field_validator("urls", mode="before")
    @classmethod
    def _few_non_strings(cls, urls: Any) -> Any:
        if isinstance(urls, list):
            first = next((i for i, url in enumerate(urls) if not isinstance(url, str)), None)
            if first is not None:
                wrong = sum(not isinstance(url, str) for url in urls[first:])
                if wrong > MAX_ITEM_ERRORS:
                    raise PydanticCustomError(
                        "string_type",
                        "{count} items are not strings, the first is item {first}",
                        {"count": wrong, "first": first},
                    )
        return urls


class Contribution(BaseModel):
    feature: str = Field(
        description="A lexical feature's name, or an n-gram or word named by the view that read "
        "it: `url:` (the whole link), `host:`, `path:` or `words:` (tagged words)."
    )
    kind: str = Field(description='"ngram" or "lexical".')
    weight: float = Field(description="Additive share of the logit; positive means phishing.")
    description: str = Field(
        description="The feature in words, for people: what a lexical feature measures, or "
        "where in the link an n-gram occurs."
    )


class ScoredUrl(BaseModel):
    url: str = Field(description="The URL as sent.")
    label: Label
    probability: float = Field(ge=0.0, le=1.0, description="P(phishing).")
    explanation: list[Contribution] = Field(description="Top features by absolute weight.")


class PredictResponse(ScoredUrl):
    model: str = Field(description="The model that scored the URL.")
    model_version: str = Field(description="Its version.")


class BatchPredictResponse(BaseModel):
    model: str = Field(description="The model that scored the URLs.")
    model_version: str = Field(description="Its version.")
    results: list[ScoredUrl] = Field(description="One result per URL, in request order.")


class ModelSummary(BaseModel):
    name: str = Field(description="What requests name it by.")
    family: str = Field(description='"linear", "gbm" or "ensemble".')
    version: str = Field(description="The model version recorded at training.")
    default: bool = Field(description="Whether requests naming no model use this one.")
    threshold: float = Field(description="P(phishing) at and above which the label is phishing.")
    metrics: dict[str, dict[str, float]] = Field(
        description="Scalar evaluation metrics by split, e.g. validation.f1."
    )
    refit_on_validation: bool | None = Field(
        description="Whether the weights were fitted again on train + val after the model was "
        "chosen on validation; if so, the validation metrics are those of the model chosen "
        "before the refit. Null for artifacts that do not record it."
    )


class ModelsResponse(BaseModel):
    service_version: str = Field(description="The version of model-service itself.")
    default: str | None = Field(description="The default model; null while none is loaded.")
    models: list[ModelSummary]


class LiveResponse(BaseModel):
    status: Literal["alive"]


class ReadyResponse(BaseModel):
    status: Literal["ready"]
    models: int = Field(description="How many models are loaded.")
    default_model: str = Field(description="The model used when a request names none.")


class ReloadResponse(BaseModel):
    models: list[str] = Field(description="The models now loaded.")
    default_model: str | None = Field(description="The model used when a request names none.")


class ErrorDetail(BaseModel):
    code: ErrorCode = Field(description="Machine-readable reason.")
    message: str = Field(description="What went wrong, for people.")


class ErrorResponse(BaseModel):
    error: ErrorDetail = Field(description="Every error response has this one field.")
