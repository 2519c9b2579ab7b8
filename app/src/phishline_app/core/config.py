"""Settings of the web app, from keyword arguments (CLI flags) or `PHISHLINE_*` variables."""

import secrets
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Variant = Literal["v1", "v2"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]

# The local port plan of the project: v1 and v2 run side by side around model-service (8081).
DEFAULT_PORTS: dict[str, int] = {"v1": 8080, "v2": 8082}


def form_bytes_for(url_length: int) -> int:
    """The largest form body that posts a URL of `url_length` characters: a character is up
    to 4 bytes of UTF-8, each sent as a 3-character escape (`%F0`), plus the other fields."""
    return url_length * 4 * 3 + 1024


class Settings(BaseSettings):
    """Everything the app needs to run; CLI flags override the environment."""

    model_config = SettingsConfigDict(env_prefix="PHISHLINE_", extra="forbid")

    variant: Variant = "v1"
    host: str = "127.0.0.1"
    # Filled from the variant when neither a flag nor PHISHLINE_PORT gives one.
    port: int = Field(default=DEFAULT_PORTS["v1"], ge=1, le=65535)
    model_service_url: str = "http://127.0.0.1:8081"
    # Relative to the working directory; `phishline up` runs from the repository root.
    database_url: str = "sqlite:///feedback.db"
    model_service_timeout: float = Field(default=5.0, gt=0, le=60)
    max_url_length: int = Field(default=2048, ge=16, le=65536)
    # Bounds every request body; it must hold the page's form with a URL of max_url_length
    # (see _body_holds_the_longest_url).
    max_body_bytes: int = Field(default=32768, ge=1024)
    log_level: LogLevel = "info"
    # Signs CSRF tokens and prediction tickets. A random key per process is safe but makes
    # pages rendered before a restart (or by another replica) fail their CSRF check once.
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    # Set behind TLS so that browsers send the cookies over HTTPS only.
    secure_cookies: bool = False

    @model_validator(mode="before")
    @classmethod
    def _port_follows_variant(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("port") is None:
            variant = data.get("variant") or "v1"
            return {**data, "port": DEFAULT_PORTS.get(str(variant), DEFAULT_PORTS["v1"])}
        return data

    @model_validator(mode="after")
    def _body_holds_the_longest_url(self) -> "Settings":
        needed = form_bytes_for(self.max_url_length)
        if self.max_body_bytes >= needed:
            return self
        if "max_body_bytes" in self.model_fields_set:
            raise ValueError(
                f"max_body_bytes ({self.max_body_bytes}) is too small for URLs of up to "
                f"{self.max_url_length} characters: the page's form can need {needed} bytes"
            )
        self.max_body_bytes = needed  # the default grows with a longer URL limit
        return self

    @field_validator("model_service_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("model_service_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value
