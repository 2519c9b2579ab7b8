"""operation/alertmanager: the template renders from the environment and amtool accepts it."""

import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ALERTMANAGER_DIR = Path(__file__).resolve().parents[2] / "operation" / "alertmanager"
TEMPLATE = (ALERTMANAGER_DIR / "alertmanager.yml").read_text(encoding="utf-8")
ENVIRONMENT = {
    "PHISHLINE_ALERT_SMTP_SMARTHOST": "smtp.example.org:587",
    "PHISHLINE_ALERT_EMAIL_FROM": "alertmanager@example.org",
    "PHISHLINE_ALERT_EMAIL_TO": "oncall@example.org",
    "PHISHLINE_ALERT_SMTP_USERNAME": "alertmanager",
    "PHISHLINE_ALERT_SMTP_PASSWORD_FILE": "/etc/alertmanager/secrets/smtp-password",
}


@pytest.fixture(scope="module")
def renderer(operation_module: Callable[[Path], ModuleType]) -> ModuleType:
    return operation_module(ALERTMANAGER_DIR / "render_config.py")


def check_config(amtool: str, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "alertmanager.yml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, check=False
    )


def rendered(renderer: ModuleType, environ: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(renderer.render(TEMPLATE, environ))
    return config


def test_rendered_config_passes_amtool(renderer: ModuleType, amtool: str, tmp_path: Path) -> None:
    result = check_config(amtool, renderer.render(TEMPLATE, ENVIRONMENT), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 inhibit rules" in result.stdout
    assert "1 receivers" in result.stdout


def test_amtool_rejects_a_relay_without_port(
    renderer: ModuleType, amtool: str, tmp_path: Path
) -> None:
    environ = ENVIRONMENT | {"PHISHLINE_ALERT_SMTP_SMARTHOST": "smtp.example.org"}
    result = check_config(amtool, renderer.render(TEMPLATE, environ), tmp_path)
    assert result.returncode != 0
    assert "missing port" in result.stdout + result.stderr


def test_smtp_settings_come_from_the_environment(renderer: ModuleType) -> None:
    config = rendered(renderer, ENVIRONMENT)
    assert config["global"]["smtp_smarthost"] == "smtp.example.org:587"
    assert config["global"]["smtp_from"] == "alertmanager@example.org"
    assert config["global"]["smtp_auth_username"] == "alertmanager"
    assert config["global"]["smtp_require_tls"] is True
    assert config["receivers"][0]["email_configs"][0]["to"] == "oncall@example.org"
    relaxed = rendered(renderer, ENVIRONMENT | {"PHISHLINE_ALERT_SMTP_REQUIRE_TLS": "False"})
    assert relaxed["global"]["smtp_require_tls"] is False


def test_the_password_is_read_by_alertmanager_from_a_file(renderer: ModuleType) -> None:
    text = renderer.render(TEMPLATE, ENVIRONMENT)
    config = yaml.safe_load(text)
    assert (
        config["global"]["smtp_auth_password_file"]
        == ENVIRONMENT["PHISHLINE_ALERT_SMTP_PASSWORD_FILE"]
    )
    assert "smtp_auth_password:" not in text
    assert "smtp_auth_password:" not in TEMPLATE


def test_without_credentials_no_authentication_is_configured(renderer: ModuleType) -> None:
    environ = {
        key: value
        for key, value in ENVIRONMENT.items()
        if key not in {"PHISHLINE_ALERT_SMTP_USERNAME", "PHISHLINE_ALERT_SMTP_PASSWORD_FILE"}
    }
    config = rendered(renderer, environ)
    assert config["global"]["smtp_auth_username"] == ""
    assert config["global"]["smtp_auth_password_file"] == ""


def test_every_missing_setting_is_named(renderer: ModuleType) -> None:
    with pytest.raises(renderer.ConfigTemplateError) as refused:
        renderer.render(TEMPLATE, {"PHISHLINE_ALERT_EMAIL_TO": "oncall@example.org"})
    message = str(refused.value)
    assert "PHISHLINE_ALERT_SMTP_SMARTHOST is not set" in message
    assert "PHISHLINE_ALERT_EMAIL_FROM is not set" in message
    assert "EMAIL_TO" not in message


@pytest.mark.parametrize(
    "name",
    ["PHISHLINE_ALERT_SMTP_SMARTHOST", "PHISHLINE_ALERT_EMAIL_FROM", "PHISHLINE_ALERT_EMAIL_TO"],
)
def test_a_required_setting_left_empty_is_refused(
    renderer: ModuleType, amtool: str, tmp_path: Path, name: str
) -> None:
    """An empty variable (`NAME=` in an env file, or an unset shell variable passed on) is as
    missing as an absent one: rendered, it makes a file amtool and Alertmanager refuse, and
    Alertmanager would fail at start-up after the renderer said it was fine."""
    environ = ENVIRONMENT | {name: " "}
    with pytest.raises(renderer.ConfigTemplateError, match=f"{name} is empty"):
        renderer.render(TEMPLATE, environ)
    # What it rendered before: the value empty, which amtool refuses.
    text = renderer.render(TEMPLATE, ENVIRONMENT)
    assert text.count(ENVIRONMENT[name]) == 1
    assert check_config(amtool, text.replace(ENVIRONMENT[name], '""'), tmp_path).returncode != 0


def test_a_tls_flag_that_is_not_a_boolean_is_refused(renderer: ModuleType) -> None:
    with pytest.raises(renderer.ConfigTemplateError, match="must be true or false"):
        renderer.render(TEMPLATE, ENVIRONMENT | {"PHISHLINE_ALERT_SMTP_REQUIRE_TLS": "yes"})


def test_a_value_cannot_add_configuration(renderer: ModuleType) -> None:
    hostile = "oncall@example.org\nroute: {receiver: elsewhere}"
    config = rendered(renderer, ENVIRONMENT | {"PHISHLINE_ALERT_EMAIL_TO": hostile})
    assert config["receivers"][0]["email_configs"][0]["to"] == hostile
    assert config["route"]["receiver"] == "email"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("to: mail-${PHISHLINE_ALERT_EMAIL_TO}\n", "must be a whole value"),
        ("to: ${PHISHLINE_ALERT_PAGER}\n", "unknown placeholder"),
    ],
)
def test_placeholders_are_whole_known_values(
    renderer: ModuleType, template: str, problem: str
) -> None:
    with pytest.raises(renderer.ConfigTemplateError, match=problem):
        renderer.render(template, ENVIRONMENT)


def test_main_writes_the_file_alertmanager_reads(
    renderer: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "run" / "alertmanager.yml"
    assert renderer.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == renderer.render(TEMPLATE, ENVIRONMENT)


def test_main_explains_a_missing_setting(
    renderer: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "alertmanager.yml"
    assert renderer.main(["--out", str(out)]) == 2
    assert "PHISHLINE_ALERT_SMTP_SMARTHOST is not set" in capsys.readouterr().err
    assert not out.exists()
