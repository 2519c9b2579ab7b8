import inspect
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml
from rich.text import Text
from typer.testing import CliRunner

from phishline import app
from phishline.cli import main

runner = CliRunner()


def test_version_names_cli_and_lib_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert metadata.version("phishline") in result.output
    assert metadata.version("phishline-lib-version") in result.output


def test_help_lists_the_commands(listed_commands: Callable[[str], list[str]]) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = "data train evaluate predict serve up bench report canary experiment feedback"
    assert sorted(listed_commands(result.output)) == sorted(commands.split())


def every_command(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        yield from every_command(sub, (*path, name))
    yield " ".join(path), command


def test_each_command_is_summed_up_in_one_paragraph_line() -> None:
    """In rich markup mode a group's command list keeps the summary's line breaks, which cut
    its rows short mid-sentence; the summary is the docstring's first paragraph."""
    broken = [
        name or "phishline"
        for name, command in every_command(typer.main.get_command(app))
        if "\n" in inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    ]
    assert not broken


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output


# Every command that reads the project's params.yaml or writes into its tree.
PROJECT_COMMANDS = [
    ["data", "get"], ["data", "prepare"], ["train"], ["up"], ["bench", "train"],
    ["report", "data"], ["report", "feature-cost"], ["report", "mutamorphic"],
    ["report", "scheme"], ["report", "baseline"], ["report", "refit"], ["report", "mutation"],
    ["report", "ml-test-score"],
]  # fmt: skip


@pytest.mark.parametrize("command", PROJECT_COMMANDS, ids=" ".join)
def test_a_project_command_outside_a_project_says_so(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    said = " ".join(result.output.split())  # Rich wraps long lines
    assert f"no phishline project here: neither {tmp_path.resolve()} nor a parent" in said


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():  # a group's subcommands
        yield from _commands(sub)


def _help_texts() -> Iterator[tuple[str, str]]:
    for command in _commands(typer.main.get_command(app)):
        yield command.name or "phishline", command.help or ""
        for param in command.params:
            yield f"{command.name} {param.name}", getattr(param, "help", None) or ""


HELP_TEXTS = list(_help_texts())


@pytest.mark.parametrize(("where", "text"), HELP_TEXTS, ids=[where for where, _ in HELP_TEXTS])
def test_help_texts_print_as_written(where: str, text: str) -> None:
    # Help is Rich markup: an unescaped "[env X]" is read as a style tag and vanishes.
    assert Text.from_markup(text).plain == text.replace("\\[", "["), where


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["phishline", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    return stopped.value.code if isinstance(stopped.value.code, int) else 1


def assert_one_error(err: str, said: str) -> None:
    """An `Error:` message saying `said` (Rich may wrap it), and no traceback."""
    assert err.startswith("Error: ")
    assert said in " ".join(err.split())
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["serve", "model", "--port", "99999"], "port: Input should be less than or equal to"),
        (["serve", "app", "--variant", "v3"], "variant: Input should be 'v1' or 'v2' (got 'v3')"),
        (["feedback", "export", "--out", "x.txt", "--database-url", "bogus://x"], "bogus"),
        (["feedback", "export", "--out", "x.txt"], "no feedback database at"),
    ],
)
def test_mistakes_in_input_or_setup_are_one_message_not_a_traceback(
    args: list[str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PHISHLINE_PORT", "PHISHLINE_VARIANT", "PHISHLINE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert run_main(monkeypatch, *args) == 1
    assert_one_error(capsys.readouterr().err, said)


# A stage run in a project whose params.yaml holds a value it refuses (or, for the last, whose
# val split prepare left empty), over prepared splits.
BOTH_LABELS = "phishing\thttp://a.tk/\nlegitimate\thttps://b.org/\n"
PARAMS_MISTAKES = {
    "format": (
        ["data", "get"],
        {"data": {"mirror": ".", "sources": [{"name": "s", "files": [{"path": "a.xml", "format": "xml"}]}]}},
        BOTH_LABELS, "data.sources.0.files.0.format: 'xml' is not one of",
    ),
    "families": (
        ["train"], {"train": {"seed": 1, "model_version": "1", "families": ["linear", "lstm"]}},
        BOTH_LABELS, "train.families.1: 'lstm' is not one of",
    ),
    "fractions": (
        ["data", "prepare"], {"prepare": {"seed": 1, "val_fraction": 0.5, "test_fraction": 0.5}},
        BOTH_LABELS, "prepare: val_fraction (0.5) and test_fraction (0.5) must add up to less",
    ),
    "empty val": (
        ["train"], {"train": {"seed": 1, "model_version": "1", "families": []}},
        "", "val.txt holds 0 URLs, not URLs of both labels",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "params", "val", "said"), PARAMS_MISTAKES.values(), ids=PARAMS_MISTAKES
)
def test_a_value_of_params_the_stages_refuse_is_one_message(
    args: list[str],
    params: dict[str, Any],
    val: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PHISHLINE_DATA_MIRROR", raising=False)
    Path("params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    Path("data/prepared").mkdir(parents=True)
    Path("data/prepared/train.txt").write_text(BOTH_LABELS)
    Path("data/prepared/val.txt").write_text(val)
    assert run_main(monkeypatch, *args) == 1
    assert_one_error(capsys.readouterr().err, said)


def test_a_params_file_that_is_not_yaml_is_one_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text("prepare:\n  seed: 1\n val_fraction: 0.1\n", encoding="utf-8")
    assert run_main(monkeypatch, "data", "prepare") == 1
    err = capsys.readouterr().err
    path = tmp_path.resolve() / "params.yaml"
    assert err.startswith(f"Error: {path} is not valid YAML (line 3, column 2): expected ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "the feedback database sqlite:///store.db has no feedback table"),
        (
            b"not SQLite",
            "cannot read the feedback table of sqlite:///store.db: "
            "(sqlite3.DatabaseError) file is not a database",
        ),
    ],
)
def test_an_export_from_a_database_that_is_no_feedback_store_is_one_message(
    content: bytes,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("store.db").write_bytes(content)
    args = ["feedback", "export", "--out", "x.txt", "--database-url", "sqlite:///store.db"]
    assert run_main(monkeypatch, *args) == 1
    assert capsys.readouterr().err == f"Error: {said}\n"
    assert Path("store.db").read_bytes() == content
    assert not Path("x.txt").exists()


def test_a_check_of_settings_together_is_one_message_without_their_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHISHLINE_MAX_BODY_BYTES", "2000")  # too small for 2,048-char URLs
    assert run_main(monkeypatch, "serve", "app", "--port", "9") == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err == (
        "Error: Value error, max_body_bytes (2000) is too small for URLs of up to 2048 "
        "characters: the page's form can need 25600 bytes"
    )


def test_a_server_that_cannot_listen_stops_before_it_loads_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no models here: model-service would refuse them later
    for name in ("PHISHLINE_HOST", "PHISHLINE_PORT", "PHISHLINE_VARIANT"):
        monkeypatch.delenv(name, raising=False)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        for args, service in (
            (["serve", "model"], "model-service"),
            (["serve", "app", "--variant", "v2"], "app v2"),
        ):
            assert run_main(monkeypatch, *args, "--port", str(port)) == 1
            assert capsys.readouterr().err == (
                f"Error: {service} cannot start: 127.0.0.1:{port}: Address already in use\n"
            )


def test_a_server_that_refuses_to_start_says_why_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = str(closed.getsockname()[1])
    missing = tmp_path / "missing"
    assert run_main(monkeypatch, "serve", "model", "--model-dir", str(missing), "--port", port) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith(f"Error: model-service cannot start: the model directory {missing} ")
    database = f"postgresql://phishline:secret@127.0.0.1:{port}/feedback"  # nothing listens
    assert run_main(monkeypatch, "serve", "app", "--database-url", database, "--port", port) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith(
        f"Error: the app cannot start: the feedback store "
        f"postgresql+psycopg://phishline:***@127.0.0.1:{port}/feedback fails: "
    )
    assert "Traceback" not in err
    assert "secret" not in err


def test_serve_model_with_model_dir_ignores_a_model_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = str(closed.getsockname()[1])
    monkeypatch.setenv("PHISHLINE_MODEL_URL", f"http://127.0.0.1:{port}/models.tar.gz")
    missing = tmp_path / "missing"
    assert run_main(monkeypatch, "serve", "model", "--model-dir", str(missing), "--port", port) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith(f"Error: model-service cannot start: the model directory {missing} ")


def test_a_tampered_artifact_is_one_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = tmp_path / "linear"
    artifact.mkdir()
    (artifact / "model.json").write_text("{}", encoding="utf-8")
    assert run_main(monkeypatch, "predict", "--model-dir", str(artifact), "a.com") == 1
    assert capsys.readouterr().err.startswith("Error: ")


def test_a_bug_still_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(sys, "argv", ["phishline", "broken"])
    app.command("broken")(broken)
    try:
        with pytest.raises(KeyError, match="a bug"):
            main()
    finally:
        app.registered_commands.pop()


@pytest.mark.parametrize("command", [["report", "mutamorphic"], ["report", "feature-cost"]])
@pytest.mark.parametrize("limit", ["0", "-5"])
def test_a_sample_of_no_urls_is_refused(command: list[str], limit: str) -> None:
    result = runner.invoke(app, [*command, "--limit", limit])
    assert result.exit_code == 2
    assert "--limit" in result.output


def test_the_reports_show_what_a_set_of_one_label_cannot_define_as_na(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    undefined = {"roc_auc": None, "recall": 0.5, "false_positive_rate": None}
    scheme = {
        "term": {"https_weight": -3.0, "logit_weight": 1.0, "threshold": 0.5},
        "sets": {
            "feed": {
                shift: {
                    "urls": 2,
                    "https_share": {"legitimate": None, "phishing": 0.5},
                    "model": undefined,
                    "model with scheme": undefined,
                }
                for shift in ("as is", "phishing on https")
            }
        },
    }
    baseline = {
        "scorers": {
            "model ensemble": {
                "threshold": 0.5,
                "sets": {"feed": {"roc_auc": None, "f1": 0.5, "precision": 1.0, "recall": 0.5}},
            }
        }
    }
    monkeypatch.setattr(
        "model_training.scheme_shortcut.scheme_shortcut", lambda *_: (scheme, tmp_path)
    )
    monkeypatch.setattr(
        "model_training.reference_baseline.reference_baseline", lambda *_: (baseline, tmp_path)
    )
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["report", "scheme"])
    assert result.exit_code == 0, result.output
    assert "feed: https in n/a of legitimate and 50.0% of phishing URLs" in result.output
    assert result.output.count("n/a") == 1 + 2 * 2 * 2  # each scorer's ROC AUC and rate
    result = runner.invoke(app, ["report", "baseline"])
    assert result.exit_code == 0, result.output
    assert result.output.count("n/a") == 1
    assert "0.5000" in result.output


# Sends the process a SIGHUP once model-service's modules start loading (about two seconds of
# a start-up of three), then runs the command line.
_HUP_WHILE_IMPORTING = """
import os, signal, sys, threading, time
from phishline.cli import main
def hup_once_model_service_loads():
    while "model_service" not in sys.modules:
        time.sleep(0.001)
    os.kill(os.getpid(), signal.SIGHUP)
threading.Thread(target=hup_once_model_service_loads, daemon=True).start()
sys.argv[0] = "phishline"
main()
"""


@pytest.mark.slow
def test_serve_model_outlives_a_sighup_while_it_starts(tmp_path: Path) -> None:
    """SIGHUP means reload; sent while the service starts (models replaced meanwhile), it
    ended the process before it ever served."""
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = str(closed.getsockname()[1])
    command = [sys.executable, "-c", _HUP_WHILE_IMPORTING, "serve", "model", "--port", port,
               "--model-dir", str(tmp_path)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                live = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, f"model-service ended with {process.returncode}"
        assert live.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
