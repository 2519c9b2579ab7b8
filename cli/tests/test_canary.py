"""`phishline canary replay`: Flagger's promotion/rollback decision on recorded series."""

import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from phishline import app
from phishline.canary import (
    Analysis,
    Check,
    Decision,
    SeriesError,
    Step,
    analysis_from_values,
    merge_values,
    read_series,
    replay,
)
from phishline.canary.series import Interval

runner = CliRunner()
ERROR_RATE = Check("model-error-rate", maximum=1)
SHARE = Check("phishing-share-delta", minimum=-5, maximum=5)
PROGRESSIVE = Analysis(
    interval="1m", threshold=3, checks=(ERROR_RATE, SHARE), step_weight=20, max_weight=50
)
BLUE_GREEN = Analysis(interval="1m", threshold=2, checks=(ERROR_RATE,), iterations=3)
GOOD = Interval({"model-error-rate": 0.1, "phishing-share-delta": 1.0})
BAD = Interval({"model-error-rate": 4.0, "phishing-share-delta": 1.0})
NO_DATA = Interval({"model-error-rate": None, "phishing-share-delta": 1.0})
VALUES = {
    "canary": {
        "modelService": {
            "analysis": {
                "interval": "1m",
                "threshold": 2,
                "stepWeight": 25,
                "maxWeight": 50,
                "metrics": [
                    {"name": "model-error-rate", "thresholdRange": {"max": 1}, "interval": "1m"},
                    {"name": "feedback-yes-delta", "thresholdRange": {"min": -5}, "interval": "5m"},
                ],
            }
        },
        "app": {
            "analysis": {
                "interval": "30s",
                "threshold": 1,
                "iterations": 2,
                "metrics": [{"name": "app-error-rate", "thresholdRange": {"max": 1}}],
            }
        },
    }
}


def test_checks_pass_within_their_range_only() -> None:
    assert [SHARE.passes(v) for v in (-5.1, -5, 0, 5, 5.1)] == [False, True, True, True, False]
    assert not ERROR_RATE.passes(None)
    assert not ERROR_RATE.passes(math.nan)
    assert SHARE.describe(-7) == "phishing-share-delta -7 < -5"
    assert SHARE.describe(7) == "phishing-share-delta 7 > 5"
    assert ERROR_RATE.describe(None) == "model-error-rate: no value"


def test_a_healthy_canary_is_promoted_once_max_weight_passed_its_checks() -> None:
    # Acceptance -> 20 %, checks -> 40 %, checks -> 60 % (past 50), checks -> promote.
    outcome = replay(PROGRESSIVE, [GOOD] * 10)
    assert outcome.decision is Decision.PROMOTED
    assert outcome.step == 4
    assert [s.weight for s in outcome.steps] == [20, 40, 60, 60]
    assert outcome.steps[0].event == "acceptance test passed, weight 20 %"


def test_failed_checks_add_up_to_a_rollback() -> None:
    # Failures are never reset: the third failure rolls back at the next interval, and the
    # rollback takes the canary's traffic back to 0.
    both_bad = Interval({"model-error-rate": 4.0, "phishing-share-delta": -7.0})
    outcome = replay(PROGRESSIVE, [GOOD, both_bad, GOOD, NO_DATA, BAD, GOOD])
    assert outcome.decision is Decision.ROLLED_BACK
    assert outcome.step == 6
    assert outcome.steps == (
        Step(1, 20, 0, 0, "acceptance test passed, weight 20 %"),
        Step(
            2, 20, 0, 1, "halted (1/3 failed): model-error-rate 4 > 1; phishing-share-delta -7 < -5"
        ),
        Step(3, 40, 0, 1, "checks passed, weight 40 %"),
        Step(4, 40, 0, 2, "halted (2/3 failed): model-error-rate: no value"),
        Step(5, 40, 0, 3, "halted (3/3 failed): model-error-rate 4 > 1"),
        Step(6, 0, 0, 3, "rolled back"),
    )


def test_a_rollback_at_the_end_of_the_series_still_counts() -> None:
    outcome = replay(PROGRESSIVE, [GOOD, BAD, BAD, BAD])
    assert (outcome.decision, outcome.step) == (Decision.ROLLED_BACK, 5)
    assert len(outcome.steps) == 5
    assert outcome.steps[-2:] == (
        Step(4, 20, 0, 3, "halted (3/3 failed): model-error-rate 4 > 1"),
        Step(5, 0, 0, 3, "rolled back"),
    )


@pytest.mark.parametrize(
    ("step_weight", "max_weight", "weights"),
    [
        (25, 50, [25, 50, 50]),  # at max_weight exactly: the next passing interval promotes
        (30, 100, [30, 60, 90, 100, 100]),  # 120 is capped at 100 % of the traffic
    ],
)
def test_the_canary_weight_steps_up_to_max_weight(
    step_weight: int, max_weight: int, weights: list[int]
) -> None:
    analysis = Analysis(
        interval="1m",
        threshold=1,
        checks=(ERROR_RATE,),
        step_weight=step_weight,
        max_weight=max_weight,
    )
    outcome = replay(analysis, [GOOD] * 8)
    assert [s.weight for s in outcome.steps] == weights
    assert (outcome.decision, outcome.step) == (Decision.PROMOTED, len(weights))


def test_a_failing_acceptance_test_holds_the_canary_at_zero() -> None:
    refused = Interval(GOOD.values, acceptance_passed=False)
    outcome = replay(PROGRESSIVE, [refused, refused, GOOD, GOOD])
    assert [s.weight for s in outcome.steps] == [0, 0, 20, 40]
    assert outcome.steps[0].event.endswith("acceptance test failed")
    assert outcome.decision is Decision.UNDECIDED
    assert outcome.step == 5


def test_blue_green_promotes_after_its_iterations() -> None:
    outcome = replay(BLUE_GREEN, [GOOD] * 6)
    assert outcome.decision is Decision.PROMOTED
    assert outcome.step == 4
    assert outcome.steps == (
        Step(1, 0, 1, 0, "acceptance test passed, iteration 1/3"),
        Step(2, 0, 2, 0, "checks passed, iteration 2/3"),
        Step(3, 0, 3, 0, "checks passed, iteration 3/3"),
        Step(4, 0, 3, 0, "checks passed, promoted"),
    )


def test_blue_green_rolls_back_without_shifting_traffic() -> None:
    outcome = replay(BLUE_GREEN, [GOOD, BAD, GOOD, BAD, GOOD])
    assert (outcome.decision, outcome.step) == (Decision.ROLLED_BACK, 5)
    assert outcome.steps == (
        Step(1, 0, 1, 0, "acceptance test passed, iteration 1/3"),
        Step(2, 0, 1, 1, "halted (1/2 failed): model-error-rate 4 > 1"),
        Step(3, 0, 2, 1, "checks passed, iteration 2/3"),
        Step(4, 0, 2, 2, "halted (2/2 failed): model-error-rate 4 > 1"),
        Step(5, 0, 2, 2, "rolled back"),
    )


def test_a_blue_green_rollback_after_the_series_keeps_its_iterations() -> None:
    outcome = replay(BLUE_GREEN, [GOOD, GOOD, BAD, BAD])
    assert outcome.decision is Decision.ROLLED_BACK
    assert outcome.steps[2:] == (
        Step(3, 0, 2, 1, "halted (1/2 failed): model-error-rate 4 > 1"),
        Step(4, 0, 2, 2, "halted (2/2 failed): model-error-rate 4 > 1"),
        Step(5, 0, 2, 2, "rolled back"),
    )


def test_the_analysis_comes_from_the_chart_values() -> None:
    progressive = analysis_from_values(VALUES, "model-service")
    assert progressive == Analysis(
        interval="1m",
        threshold=2,
        checks=(Check("model-error-rate", None, 1.0), Check("feedback-yes-delta", -5.0, None)),
        step_weight=25,
        max_weight=50,
    )
    blue_green = analysis_from_values(VALUES, "app")
    assert blue_green.blue_green
    # No stepWeight or maxWeight in its values: both read as 0.
    assert blue_green == Analysis(
        interval="30s", threshold=1, checks=(Check("app-error-rate", None, 1.0),), iterations=2
    )
    with pytest.raises(ValueError, match="no canary analysis for app"):
        analysis_from_values({"canary": {"modelService": {}}}, "app")


def test_values_merge_like_helm() -> None:
    override = {"canary": {"modelService": {"analysis": {"threshold": 9, "metrics": []}}}}
    merged = merge_values(VALUES, override)
    analysis = merged["canary"]["modelService"]["analysis"]
    assert analysis["threshold"] == 9
    assert analysis["metrics"] == []  # lists are replaced, not merged
    assert analysis["stepWeight"] == 25
    assert VALUES["canary"]["modelService"]["analysis"]["threshold"] == 2


def test_a_null_value_removes_the_key_like_helm() -> None:
    base = {"canary": {"notificationUrl": "http://hook", "loadTest": {"qps": 10, "c": 2}}}
    override = {"canary": {"notificationUrl": None, "loadTest": {"qps": None}}, "absent": None}
    assert merge_values(base, override) == {"canary": {"loadTest": {"c": 2}}}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_series_are_read_from_csv(tmp_path: Path) -> None:
    series = write(
        tmp_path / "s.csv",
        "model-error-rate,phishing-share-delta,acceptance-test,extra\n"
        ",,fail,x\n0.5,nan,pass,y\n2,-1,,z\n",
    )
    intervals = read_series(series, PROGRESSIVE)
    assert [i.acceptance_passed for i in intervals] == [False, True, True]
    assert intervals[1].values == {"model-error-rate": 0.5, "phishing-share-delta": None}
    assert intervals[2].values == {"model-error-rate": 2.0, "phishing-share-delta": -1.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model-error-rate\n1\n", "no column for the checks phishing-share-delta"),
        ("model-error-rate,phishing-share-delta\n", "no rows"),
        ("model-error-rate,phishing-share-delta\nhigh,1\n", "'high' is not a number"),
        ("model-error-rate,phishing-share-delta,acceptance-test\n1,1,maybe\n", "not pass or fail"),
    ],
)
def test_bad_series_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SeriesError, match=message):
        read_series(write(tmp_path / "s.csv", text), PROGRESSIVE)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("model-error-rate,phishing-share-delta\n1,1\nhigh,1\n", ":3 model-error-rate: 'high'"),
        ("phishing-share-delta,model-error-rate\n1,1e\n", ":2 model-error-rate: '1e'"),
        (
            "model-error-rate,phishing-share-delta,acceptance-test\n1,1,pass\n1,1,\n1,1,maybe\n",
            ":4 acceptance-test: 'maybe' is not pass or fail",
        ),
        ("acceptance-test\npass\n", ": no column for the checks model-error-rate, phishing-share"),
    ],
    ids=["value", "value in a column of its own order", "acceptance test", "two columns"],
)
def test_series_errors_name_the_file_line_and_column(tmp_path: Path, text: str, where: str) -> None:
    """The header is line 1, so the first interval is line 2."""
    series = write(tmp_path / "s.csv", text)
    with pytest.raises(SeriesError) as refused:
        read_series(series, PROGRESSIVE)
    assert str(refused.value).startswith(f"{series}{where}")


def test_the_command_prints_the_deciding_step(tmp_path: Path) -> None:
    values = write(tmp_path / "values.yaml", yaml.safe_dump(VALUES))
    rows = "model-error-rate,feedback-yes-delta\n" + ",\n" + "3,0\n" * 2 + "0.2,0\n"
    series = write(tmp_path / "s.csv", rows)
    result = runner.invoke(app, ["canary", "replay", str(series), "--values", str(values)])
    assert result.exit_code == 0, result.output
    assert "model-service: rolled back at step 4" in result.output
    assert "model-error-rate 3 > 1" in result.output
    promote = write(tmp_path / "p.csv", "model-error-rate,feedback-yes-delta\n" + "0,0\n" * 4)
    result = runner.invoke(app, ["canary", "replay", str(promote), "-f", str(values)])
    assert "model-service: promoted at step 3" in result.output


def test_values_files_merge_over_the_charts_values(tmp_path: Path) -> None:
    """As `helm -f`: a production values file that says nothing of the canary keeps the
    chart's analysis, and one key overrides only itself."""
    production = write(
        tmp_path / "prod.yaml",
        yaml.safe_dump({"istio": {"gateway": {"hosts": ["phishline.example.org"]}}}),
    )
    stricter = write(
        tmp_path / "stricter.yaml",
        yaml.safe_dump({"canary": {"app": {"analysis": {"threshold": 1}}}}),
    )
    series = write(tmp_path / "s.csv", "app-error-rate,app-latency-p99\n" + "0,100\n" * 12)
    chart = runner.invoke(app, ["canary", "replay", str(series), "--target", "app"])
    assert chart.exit_code == 0, chart.output
    rule = chart.output.split("(every ", 1)[1]
    merged = runner.invoke(
        app, ["canary", "replay", str(series), "-f", str(production), "--target", "app"]
    )
    assert merged.exit_code == 0, merged.output
    assert merged.output == chart.output
    both = ["-f", str(production), "-f", str(stricter)]
    result = runner.invoke(app, ["canary", "replay", str(series), *both, "--target", "app"])
    assert result.exit_code == 0, result.output
    assert "rollback at 1 failed checks)" in result.output
    assert rule.split(", rollback at")[0] in result.output  # interval and iterations kept


def test_the_command_replays_the_app_blue_green(tmp_path: Path) -> None:
    values = write(tmp_path / "values.yaml", yaml.safe_dump(VALUES))
    series = write(tmp_path / "s.csv", "app-error-rate\n0\n0\n")
    result = runner.invoke(
        app, ["canary", "replay", str(series), "-f", str(values), "--target", "app"]
    )
    assert result.exit_code == 0, result.output
    assert "undecided after 2 intervals" in result.output
    assert "iteration" in result.output


def test_the_command_refuses_bad_input(tmp_path: Path) -> None:
    values = write(tmp_path / "values.yaml", yaml.safe_dump(VALUES))
    series = write(tmp_path / "s.csv", "app-error-rate\n0\n")
    for args in (
        [str(series), "-f", str(values), "--target", "db"],
        [str(series), "-f", str(values)],  # no model-service columns
        [str(series), "-f", str(tmp_path / "missing.yaml")],
        [str(tmp_path / "missing.csv"), "-f", str(values)],
    ):
        result = runner.invoke(app, ["canary", "replay", *args])
        assert result.exit_code == 2, (args, result.output)
