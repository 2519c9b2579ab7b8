"""`phishline experiment plan|analyze` end to end: feedback database in, report and decision
out; and the report's content for each kind of result."""

import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from typer.testing import CliRunner

from phishline import app
from phishline.cli import main
from phishline.experiment import sources
from phishline.experiment.analyze import VariantData, analyze
from phishline.experiment.report import (
    NOT_ENOUGH_DATA,
    PER_ANSWER_CAVEAT,
    markdown,
    write_report,
)
from phishline.experiment.sources import ExperimentData
from phishline_app.db.models import Feedback
from phishline_app.db.store import FeedbackStore

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ids = count()


def users_answering(variant: str, yes_users: int, no_users: int) -> list[Feedback]:
    """Users who each answer twice: `yes_users` say yes both times, `no_users` no."""
    return [
        Feedback(
            prediction_id=f"p{next(_ids)}",
            url="http://example.com/login",
            predicted_label="phishing",
            probability=0.9,
            model="ensemble",
            model_version="1.0.0",
            variant=variant,
            answer="yes" if index < yes_users else "no",
            user_id=f"{variant}-user-{index}",
            shown_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for index in range(yes_users + no_users)
        for _ in range(2)
    ]


def write_feedback_db(path: Path, v1: tuple[int, int], v2: tuple[int, int]) -> str:
    """A store where (satisfied, dissatisfied) users answered in each variant (one commit:
    the store syncs each); its URL."""
    url = f"sqlite:///{path}"
    store = FeedbackStore.open(url)
    with store.session() as session:
        session.add_all(users_answering("v1", *v1) + users_answering("v2", *v2))
        session.commit()
    store.close()
    return url


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """v1: 90 of 100 users satisfied; v2: 60 of 100."""
    return write_feedback_db(
        tmp_path_factory.mktemp("experiment") / "feedback.db", (90, 10), (60, 40)
    )


def test_experiment_commands_are_listed(listed_commands: Callable[[str], list[str]]) -> None:
    result = runner.invoke(app, ["experiment", "--help"])
    assert result.exit_code == 0
    assert sorted(listed_commands(result.output)) == ["analyze", "plan"]


def test_plan_prints_the_users_needed() -> None:
    result = runner.invoke(
        app, ["experiment", "plan", "--baseline", "0.5", "--mde", "0.1", "--users-per-day", "100"]
    )
    assert result.exit_code == 0, result.output
    assert "users who answer, per variant: 388" in result.output
    assert "days at 100 new users a day: 8" in result.output


PLANNED = ["experiment", "plan", "--answering-share", "0.3", "--users-per-day", "500"]


@pytest.mark.parametrize(
    ("split", "said", "days"),
    [
        # 1094 answering users are 3647 to assign per variant (1094 / 0.3, rounded up).
        ([], "50 % : 50 %", 15),  # 3647 / (500 * 0.5) = 14.6
        (["--expected-v1-share", "0.9"], "90 % : 10 %", 73),  # the chart's weights: 3647 / 50
        (["--expected-v1-share", "0.3"], "30 % : 70 %", 25),  # v1 is the smaller: 3647 / 150
    ],
    ids=["50/50", "90/10", "30/70"],
)
def test_plan_counts_the_days_for_the_variant_with_fewer_new_users(
    split: list[str], said: str, days: int
) -> None:
    result = runner.invoke(app, [*PLANNED, *split])
    assert result.exit_code == 0, result.output
    assert "users to assign, per variant:  3647" in result.output
    assert f"new users to v1 : v2:          {said}" in result.output
    assert f"days at 500 new users a day: {days}" in result.output


@pytest.mark.parametrize("share", ["0", "1", "1.5"])
def test_plan_refuses_an_impossible_split(share: str) -> None:
    result = runner.invoke(app, [*PLANNED, "--expected-v1-share", share])
    assert result.exit_code == 2
    assert "expected v1 share must be in (0, 1)" in result.output


def test_plan_refuses_an_impossible_effect() -> None:
    result = runner.invoke(app, ["experiment", "plan", "--baseline", "0.5", "--mde", "0.7"])
    assert result.exit_code == 2
    assert "minimum detectable effect" in result.output


def test_analyze_decides_from_the_feedback_db_and_writes_the_report(
    feedback_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["experiment", "analyze", "--feedback-db", feedback_db, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "reject H0: users prefer v1"
    report = (out / "experiment.md").read_text(encoding="utf-8")
    assert "**Decision: reject H0: users prefer v1**" in report
    assert "| v1 | 100 | 100 | 200 | 180 | 90.0 % |" in report
    assert "![yes share per variant and the difference](experiment.png)" in report
    assert (out / "experiment.png").read_bytes().startswith(PNG_SIGNATURE)


def test_analyze_sequential_names_its_method(feedback_db: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "experiment",
            "analyze",
            "--feedback-db",
            feedback_db,
            "--sequential",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "mSPRT (sequential, tau = 0.05)" in result.output
    assert result.output.splitlines()[-1] == "reject H0: users prefer v1"


@pytest.mark.parametrize(
    "sources",
    [[], ["--prometheus", "http://127.0.0.1:9090", "--feedback-db", "sqlite:///x.db"]],
    ids=["none", "both"],
)
def test_analyze_needs_exactly_one_source(sources: list[str]) -> None:
    result = runner.invoke(app, ["experiment", "analyze", *sources])
    assert result.exit_code == 2
    assert "exactly one of" in result.output


def test_analyze_refuses_an_impossible_alpha(feedback_db: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "experiment",
            "analyze",
            "--feedback-db",
            feedback_db,
            "--alpha",
            "2",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "alpha and the expected split must be in (0, 1), tau positive" in said(
        result.output.replace("│", " ")  # Rich boxes and wraps the error
    )
    assert not list(tmp_path.iterdir())  # no report for a refused analysis


def prometheus_counting(
    monkeypatch: pytest.MonkeyPatch, answers: dict[tuple[str, str], int]
) -> None:
    """Let `analyze --prometheus` read 1000 assigned users per variant and these answers."""
    real = sources.from_prometheus

    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode())["query"][0]
        if "phishline_app_new_users_total" in query:
            result = [{"metric": {"variant": v}, "value": [0, "1000"]} for v in ("v1", "v2")]
        else:
            result = [
                {"metric": {"variant": v, "answer": a}, "value": [0, str(n)]}
                for (v, a), n in answers.items()
            ]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, json=body)

    def answering(url: str, window: str = "30d") -> ExperimentData:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        return real(url, window, client=client)

    monkeypatch.setattr(sources, "from_prometheus", answering)


def said(output: str) -> str:
    return " ".join(output.split())  # Rich wraps long lines


@pytest.mark.parametrize(
    "answers",
    [
        {("v1", "yes"): 300, ("v1", "no"): 100, ("v2", "yes"): 250, ("v2", "no"): 150},
        {("v1", "yes"): 5, ("v1", "no"): 2},
    ],
    ids=["enough data", "too little data"],
)
def test_analyze_from_prometheus_warns_on_the_console_as_in_the_report(
    answers: dict[tuple[str, str], int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prometheus_counting(monkeypatch, answers)
    result = runner.invoke(
        app,
        [
            "experiment",
            "analyze",
            "--prometheus",
            "http://prometheus.test",
            "--window",
            "14d",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Warning: Counts from Prometheus make every answer a unit" in said(result.output)
    assert f"Warning: {PER_ANSWER_CAVEAT}" in said(result.output)
    assert PER_ANSWER_CAVEAT in (tmp_path / "experiment.md").read_text(encoding="utf-8")


def test_analyze_with_too_little_data_says_why_there_is_no_test(tmp_path: Path) -> None:
    url = write_feedback_db(tmp_path / "feedback.db", (15, 5), (12, 6))
    out = tmp_path / "report"
    result = runner.invoke(app, ["experiment", "analyze", "--feedback-db", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "z-test (fixed horizon): Not enough data: each variant needs at least 30 units" in (
        said(result.output)
    )
    assert f"z-test (fixed horizon): {NOT_ENOUGH_DATA}" in said(result.output)
    assert "Warning" not in result.output  # per user: nothing to warn of
    assert result.output.splitlines()[-1] == "no detectable preference"
    assert NOT_ENOUGH_DATA in (out / "experiment.md").read_text(encoding="utf-8")


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """`phishline ARGS` as the installed command runs it, errors shown by `main()`."""
    monkeypatch.setattr(sys, "argv", ["phishline", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    return stopped.value.code if isinstance(stopped.value.code, int) else 1


def test_analyze_reports_an_unreachable_prometheus_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "report"
    code = run_main(
        monkeypatch,
        "experiment",
        "analyze",
        "--prometheus",
        f"http://127.0.0.1:{port}",
        "--out",
        str(out),
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: Prometheus query failed at http://127.0.0.1:{port} (")
    assert len(err.splitlines()) == 1, err
    assert not out.exists()


def test_analyze_refuses_a_missing_sqlite_file_without_creating_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = run_main(monkeypatch, "experiment", "analyze", "--feedback-db", "sqlite:///typo.db")
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: no feedback database at {tmp_path / 'typo.db'};")
    assert len(err.splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []  # neither the database nor a report


def test_analyze_says_a_database_has_no_feedback_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    other.touch()
    code = run_main(
        monkeypatch,
        "experiment",
        "analyze",
        "--feedback-db",
        f"sqlite:///{other}",
        "--out",
        str(tmp_path / "report"),
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err == f"Error: the feedback database sqlite:///{other} has no feedback table\n"


def report_for(control: VariantData, treatment: VariantData, unit: str = "user") -> str:
    data = ExperimentData("test data", unit, control, treatment)  # type: ignore[arg-type]
    return markdown(analyze(control, treatment), data, datetime(2026, 1, 2, 3, 4, tzinfo=UTC))


def test_report_flags_a_sample_ratio_mismatch() -> None:
    text = report_for(
        VariantData.from_answers("v1", 1200, 900, 1000),
        VariantData.from_answers("v2", 800, 700, 1000),
        unit="answer",
    )
    assert "**Decision: invalid: SRM**" in text
    assert "**Mismatch** (p < 0.001)" in text
    assert "Generated 2026-01-02 03:04 UTC" in text
    assert "every answer a unit" in text


def test_report_gives_no_interval_to_a_variant_whose_users_all_answered_alike() -> None:
    # 30 users who all said yes do not make v1's share exactly 100 % (a 95 % interval of
    # 100.0 % to 100.0 %): the normal approximation has no interval for them.
    text = report_for(
        VariantData.from_users("v1", 30, [(1, 1)] * 30),
        VariantData.from_users("v2", 30, [(1, 1)] * 25 + [(0, 1)] * 5),
    )
    assert "| v1 | 30 | 30 | 30 | 30 | 100.0 % | n/a |" in text
    assert "100.0 % to 100.0 %" not in text
    assert "| v2 | 30 | 30 | 30 | 25 | 83.3 % | 69.8 % to 96.9 % |" in text


def test_report_says_when_there_is_not_enough_data(tmp_path: Path) -> None:
    control = VariantData.from_users("v1", 1, [(1, 1)])
    treatment = VariantData.from_users("v2", 0, [])
    text = report_for(control, treatment)
    assert "**Decision: no detectable preference**" in text
    assert "Not enough data" in text
    assert "| v2 | 0 | 0 | 0 | 0 | n/a | n/a |" in text
    data = ExperimentData("test data", "user", control, treatment)
    files = write_report(analyze(control, treatment), data, tmp_path / "thin")
    assert files.plot.read_bytes().startswith(PNG_SIGNATURE)
