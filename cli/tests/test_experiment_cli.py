"""`phishline experiment plan|analyze` end to end: feedback database in, report and decision
out; and the report's content for each kind of result."""

import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from typer.testing import CliRunner

from phishline import app
from phishline.cli import main
from phishline.experiment import sources
from phishline.experiment.analyze import Analysis, VariantData, analyze
from phishline.experiment.report import (
    NOT_ENOUGH_DATA,
    PER_ANSWER_CAVEAT,
    ReportFiles,
    markdown,
    plot,
    share_interval,
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

    def answering(url: str, window: str = "30d", namespace: str | None = None) -> ExperimentData:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        return real(url, window, namespace, client=client)

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


def test_analyze_from_the_feedback_db_counts_users_who_answered_not_assigned(
    tmp_path: Path,
) -> None:
    """The database knows only the users who answered: the report called them the users
    assigned (beside units of the same number, as if every user had answered) and blamed a
    mismatch on the assignment alone, when a variant that changes whether users answer makes
    one too."""
    url = write_feedback_db(tmp_path / "feedback.db", (90, 10), (30, 10))
    out = tmp_path / "report"
    result = runner.invoke(app, ["experiment", "analyze", "--feedback-db", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "invalid: SRM"
    assert "assigned" not in result.output
    assert "answered" in result.output  # the table's column
    report = (out / "experiment.md").read_text(encoding="utf-8")
    assert "assigned" not in report.replace("the assignment", "")
    assert "| variant | users who answered | units | answers |" in report
    assert "Users who answered v1 : v2 = 100 : 40, planned 50.0 % to v1" in report
    assert (
        "**Mismatch** (p < 0.001): the assignment or its logging is broken, or a variant "
        "changes whether its users answer; the comparison below cannot be trusted."
    ) in report


def test_analyze_from_the_feedback_db_decides_the_restarted_experiment_alone(
    tmp_path: Path,
) -> None:
    """After an SRM the protocol restarts the experiment, and the broken run's answers stay
    in the table: `--since` leaves them out, or the restarted run is invalid: SRM forever."""
    path = tmp_path / "feedback.db"
    url = write_feedback_db(path, (90, 10), (60, 40))  # the restarted run
    broken_run = users_answering("v1", 200, 0)
    for record in broken_run:
        record.user_id = f"first-run-{record.user_id}"
        record.shown_at = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=60)
    store = FeedbackStore.open(url)
    with store.session() as session:
        session.add_all(broken_run)
        session.commit()
    store.close()
    analyze_db = ["experiment", "analyze", "--feedback-db", url, "--out", str(tmp_path)]
    assert runner.invoke(app, analyze_db).output.splitlines()[-1] == "invalid: SRM"
    result = runner.invoke(app, [*analyze_db, "--since", "2025-12-31T12:00-05:00"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "reject H0: users prefer v1"
    assert "| v1 | 100 | 100 | 200 | 180 | 90.0 % |" in (tmp_path / "experiment.md").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (["--feedback-db", "sqlite:///x.db", "--since", "last week"], "Invalid isoformat"),
        (["--prometheus", "http://p.test", "--since", "2026-03-10"], "go with --feedback-db"),
        (["--feedback-db", "sqlite:///x.db", "--namespace", "phishline"], "goes with --prometheus"),
        (["--prometheus", "http://p.test", "--namespace", "Prod"], "not a Kubernetes namespace"),
    ],
    ids=["not a time", "with Prometheus", "namespace of a database", "not a namespace"],
)
def test_analyze_refuses_bounds_it_cannot_apply(options: list[str], refusal: str) -> None:
    result = runner.invoke(app, ["experiment", "analyze", *options])
    assert result.exit_code == 2
    assert refusal in said(result.output.replace("│", " "))


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
    assert (
        "**Mismatch** (p < 0.001): the assignment or its logging is broken; "
        "the comparison below cannot be trusted."
    ) in text
    assert "Unit: the answer. Generated 2026-01-02 03:04 UTC." in text
    # Standard error sqrt(0.9 * 0.1 / 999 + 0.7 * 0.3 / 999) = 1.733 points around -20.
    assert "- 95 % confidence interval: -23.40 to -16.60 points" in text
    assert f"\n\n{PER_ANSWER_CAVEAT}\n\n![yes share" in text


# Users' yes shares with standard errors of 3 and 4 points: the difference's is 5 points.
Z95, Z90 = 1.959964, 1.644854  # the normal quantiles of 97.5 % and 95 %
SPREAD_V1 = VariantData("v1", 110, 100, 0.5, 0.09, 250, 125)
SPREAD_V2 = VariantData("v2", 90, 100, 0.6, 0.16, 200, 120)


def test_report_of_a_decided_experiment_in_full() -> None:
    # Shares: 50 +- 1.96 * 3 and 60 +- 1.96 * 4 points. Assigned 110 : 90 against 100 each:
    # chi-squared 2 * 10^2 / 100 = 2, exact binomial p = 0.179. Difference 10 points, z = 2,
    # p = 0.0455, interval 10 +- 1.96 * 5 = 0.20 to 19.80 points.
    assert report_for(SPREAD_V1, SPREAD_V2) == (
        "# A/B experiment: v1 (verdict) against v2 (probability)\n"
        "\n"
        "**Decision: reject H0: users prefer v2**\n"
        "\n"
        "Source: test data. Unit: the user who answered. Generated 2026-01-02 03:04 UTC.\n"
        "\n"
        "| variant | users who answered | units | answers | yes | yes share | 95 % interval |\n"
        "|---|---|---|---|---|---|---|\n"
        "| v1 | 110 | 100 | 250 | 125 | 50.0 % | 44.1 % to 55.9 % |\n"
        "| v2 | 90 | 100 | 200 | 120 | 60.0 % | 52.2 % to 67.8 % |\n"
        "\n"
        "## Sample ratio\n"
        "\n"
        "Users who answered v1 : v2 = 110 : 90, planned 50.0 % to v1: chi-squared = 2.000, "
        "exact binomial p = 0.179. No mismatch (p >= 0.001).\n"
        "\n"
        "## Difference of the yes share (v2 - v1)\n"
        "\n"
        "Method: z-test (fixed horizon), two-sided, alpha = 0.05.\n"
        "\n"
        "- difference: +10.00 points (standard error 5.00)\n"
        "- p-value: 0.0455\n"
        "- 95 % confidence interval: +0.20 to +19.80 points\n"
        "\n"
        "![yes share per variant and the difference](experiment.png)\n"
    )


@pytest.mark.parametrize(
    ("variant", "bounds"),
    [
        (VariantData.from_users("v1", 1, [(1, 2)]), None),  # one unit: no variance
        (VariantData.from_users("v1", 2, [(1, 1), (0, 1)]), (0.0, 1.0)),  # 50 +- 98: clipped
        (VariantData.from_users("v1", 3, [(1, 1)] * 3), None),  # all alike
        (SPREAD_V1, (0.5 - Z95 * 0.03, 0.5 + Z95 * 0.03)),
    ],
    ids=["one unit", "two units", "all alike", "50 +- 1.96 * 3 points"],
)
def test_a_variants_share_interval(
    variant: VariantData, bounds: tuple[float, float] | None
) -> None:
    assert share_interval(variant, alpha=0.05) == (
        None if bounds is None else pytest.approx(bounds)
    )


def drawn(analysis: Analysis, path: Path, monkeypatch: pytest.MonkeyPatch) -> Figure:
    """The figure `plot` saves to `path`."""
    saved: list[Figure] = []
    save = Figure.savefig

    def keep(figure: Figure, *args: Any, **kwargs: Any) -> None:
        saved.append(figure)
        save(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    plot(analysis, path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    return saved[0]


def estimates(axes: Axes) -> list[tuple[list[float], object]]:
    """Every point drawn with an error bar on `axes`: where it is and its marker."""
    return [
        (np.asarray(container.lines[0].get_xydata()).tolist()[0], container.lines[0].get_marker())
        for container in axes.containers
        if isinstance(container, ErrorbarContainer)
    ]


def bars(axes: Axes) -> list[list[list[float]]]:
    """The ends of every error bar drawn on `axes`, as [[x, y], [x, y]]."""
    return [
        segment.tolist()
        for container in axes.containers
        if isinstance(container, ErrorbarContainer)
        for collection in container.lines[2]
        for segment in collection.get_segments()
    ]


def test_the_plot_shows_the_shares_and_the_difference_with_their_intervals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    analysis = analyze(SPREAD_V1, SPREAD_V2)
    shares, difference = drawn(analysis, tmp_path / "experiment.png", monkeypatch).axes
    assert estimates(shares) == [([0, 0.5], "o"), ([1, 0.6], "o")]
    assert bars(shares) == [
        [[0, pytest.approx(0.5 - Z95 * 0.03)], [0, pytest.approx(0.5 + Z95 * 0.03)]],
        [[1, pytest.approx(0.6 - Z95 * 0.04)], [1, pytest.approx(0.6 + Z95 * 0.04)]],
    ]
    assert list(shares.get_xticks()) == [0, 1]
    assert [label.get_text() for label in shares.get_xticklabels()] == ["v1", "v2"]
    assert shares.get_ylim() == (0, 1)
    assert (shares.get_title(), shares.get_ylabel()) == ("yes share per variant", "yes share")
    assert estimates(difference) == [([pytest.approx(10), 0], "o")]
    assert bars(difference) == [  # in points
        [[pytest.approx(10 - Z95 * 5), 0], [pytest.approx(10 + Z95 * 5), 0]]
    ]
    assert np.asarray(difference.lines[0].get_xdata()).tolist() == [
        0,
        0,
    ]  # the line of no difference
    assert difference.get_xlabel() == "v2 - v1 in points, 95 % interval"
    assert difference.get_title() == "reject H0: users prefer v2"


def test_the_plot_says_when_there_is_not_enough_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alike = VariantData.from_users("v1", 90, [(1, 1)] * 30)
    analysis = analyze(alike, SPREAD_V2, alpha=0.1)
    shares, difference = drawn(analysis, tmp_path / "experiment.png", monkeypatch).axes
    assert bars(shares) == [  # no interval for v1: a bar of no length at its share
        [[0, 1.0], [0, 1.0]],
        [[1, pytest.approx(0.6 - Z90 * 0.04)], [1, pytest.approx(0.6 + Z90 * 0.04)]],
    ]
    assert bars(difference) == []
    (said,) = difference.texts  # in the middle of the panel
    assert (said.get_text(), said.get_position(), said.get_horizontalalignment()) == (
        "not enough data",
        (0.5, 0.5),
        "center",
    )
    assert said.get_transform() is difference.transAxes
    assert difference.get_xlabel() == "v2 - v1 in points, 90 % interval"
    assert difference.get_title() == "no detectable preference"


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


def test_write_report_makes_its_directories_and_stamps_utc(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a machine 5 h 45 min ahead of UTC the report still gives the time in UTC."""
    data = ExperimentData("test data", "user", SPREAD_V1, SPREAD_V2)
    monkeypatch.setenv("TZ", "NPT-5:45")
    time.tzset()
    try:
        before = datetime.now(UTC)
        files = write_report(analyze(SPREAD_V1, SPREAD_V2), data, tmp_path / "out" / "report")
        after = datetime.now(UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert files == ReportFiles(
        tmp_path / "out" / "report" / "experiment.md",
        tmp_path / "out" / "report" / "experiment.png",
    )
    text = files.markdown.read_text(encoding="utf-8")
    assert any(f"Generated {t:%Y-%m-%d %H:%M} UTC." in text for t in (before, after))
    assert files.plot.read_bytes().startswith(PNG_SIGNATURE)
