"""Settings: defaults, PHISHLINE_* environment, flags over environment."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from model_service.core.config import Settings, default_cache_dir, predict_body_bytes_for


def test_defaults() -> None:
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8081)
    assert settings.model_dir == Path("models")
    assert settings.model_url is None
    assert settings.default_model == "ensemble"
    assert (settings.max_url_length, settings.max_batch) == (2048, 1000)
    assert settings.log_level == "info"


def test_environment_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHISHLINE_PORT", "9000")
    monkeypatch.setenv("PHISHLINE_MAX_BATCH", "10")
    monkeypatch.setenv("PHISHLINE_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("PHISHLINE_MODEL_URL", "https://example.com/models.tar.gz")
    monkeypatch.setenv("PHISHLINE_VARIANT", "v2")  # another component's setting: ignored
    settings = Settings(port=9100)
    assert settings.port == 9100
    assert settings.max_batch == 10
    assert settings.log_level == "debug"
    assert str(settings.model_url) == "https://example.com/models.tar.gz"


@pytest.mark.parametrize(
    "bad",
    [
        {"port": 0},
        {"max_batch": 0},
        {"max_url_length": 8193},  # longer than lib-ml reads
        {"log_level": "loud"},
        {"model_url": "ftp://x/y"},
        {"shutdown_timeout": 0},
        {"max_body_bytes": 1000},  # less than one predict request with a 2,048-character URL
        {"drift_window": 99},  # never holds the 100 samples a PSI needs
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_the_body_limit_holds_one_request_with_the_longest_url() -> None:
    url = "\U0001f600" * 100  # each character escaped as 12 bytes, as json.dumps does
    body = json.dumps({"url": url, "model": "m" * 64, "explain_top_k": 100})
    assert len(body) <= predict_body_bytes_for(len(url))
    assert Settings(max_url_length=100, max_body_bytes=predict_body_bytes_for(100))
    with pytest.raises(ValidationError, match=r"too small for URLs of up to 100 characters"):
        Settings(max_url_length=100, max_body_bytes=predict_body_bytes_for(100) - 1)


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "phishline" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "phishline" / "models"
