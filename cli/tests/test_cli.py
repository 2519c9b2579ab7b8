from importlib import metadata

from typer.testing import CliRunner

from phishline import app

runner = CliRunner()


def test_version_names_cli_and_lib_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert metadata.version("phishline") in result.output
    assert metadata.version("phishline-lib-version") in result.output


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "phishing" in result.output


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output
