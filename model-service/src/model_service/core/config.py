"""Settings from flags, environment (`PHISHLINE_*`) and defaults, in that order of precedence."""

import os
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lib_ml.urls import MAX_URL_LENGTH
from model_service.core.drift import MIN_DRIFT_SAMPLES

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


def default_cache_dir() -> Path:
    """Where downloaded model archives are extracted: the user's XDG cache."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "phishline" / "models"


def predict_body_bytes_for(url_length: int) -> int:
    """The largest `POST /v1/predict` body for a URL of `url_length` characters: JSON may
    write a character as 12 bytes (a surrogate pair of `\\uXXXX` escapes), plus the other
    fields."""
    return url_length * 12 + 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHISHLINE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8081, ge=1, le=65535, description="Port.")
    model_dir: Path = Field(Path("models"), description="Directory of model artifact dirs.")
    model_url: AnyHttpUrl | None = Field(
        None, description="URL of a .tar.gz of artifact dirs; replaces model_dir when set."
    )
    model_cache_dir: Path = Field(
        default_factory=default_cache_dir, description="Where model_url archives are extracted."
    )
    default_model: str = Field(
        "ensemble", description="Model used when a request names none (else the first loaded)."
    )
    # lib-ml refuses longer URLs itself: a higher limit would be one in name only.
    max_url_length: int = Field(
        2048, ge=1, le=MAX_URL_LENGTH, description="Longest accepted URL, in characters."
    )
    max_batch: int = Field(1000, ge=1, description="Most URLs in one batch request.")
    # Holds a batch of 1,000 URLs of 2,048 characters unless most characters need escapes;
    # at least one predict request with the longest URL (see _body_holds_the_longest_url).
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1, description="Largest request body.")
    # A smaller window never holds the samples a PSI needs, and the drift metrics stay absent.
    drift_window: int = Field(
        1000, ge=MIN_DRIFT_SAMPLES, description="Recent URLs per model kept for drift."
    )
    shutdown_timeout: int = Field(
        10, ge=1, description="Seconds in-flight requests get to finish on SIGTERM."
    )
    log_level: LogLevel = Field("info", description="Log level.")
    # Off unless configured, as Prometheus's lifecycle API: whoever reaches the port could
    # otherwise make the service read (or download) and hash its models again and again.
    admin_token: SecretStr | None = Field(
        None,
        min_length=16,
        description="Bearer token of the admin routes (POST /admin/reload); unset, they are off.",
    )

    @model_validator(mode="after")
    def _body_holds_the_longest_url(self) -> "Settings":
        needed = predict_body_bytes_for(self.max_url_length)
        if self.max_body_bytes < needed:
            raise ValueError(
                f"max_body_bytes ({self.max_body_bytes}) is too small for URLs of up to "
                f"{self.max_url_length} characters: a predict request can need {needed} bytes"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
