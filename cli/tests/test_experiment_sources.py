"""`phishline.experiment.sources`: the feedback database (per user) and Prometheus (counts)."""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import yaml

from phishline.experiment import sources
from phishline.experiment.sources import SourceError, from_feedback_db, from_prometheus
from phishline_app.db.models import Feedback
from phishline_app.db.store import FeedbackStore

_ids = count()


def answer(
    variant: str, user: str, said: str, shown_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
) -> Feedback:
    return Feedback(
        prediction_id=f"p{next(_ids)}",
        url="http://example.com/",
        predicted_label="legitimate",
        probability=0.1,
        model="ensemble",
        model_version="1.0.0",
        variant=variant,
        answer=said,
        user_id=user,
        shown_at=shown_at,
    )


def feedback_db(tmp_path: Path, answers: list[Feedback]) -> str:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    store = FeedbackStore.open(url)
    for record in answers:
        store.add(record)
    store.close()
    return url


def test_feedback_db_gives_one_unit_per_user(tmp_path: Path) -> None:
    url = feedback_db(
        tmp_path,
        [
            answer("v1", "alice", "yes"),
            answer("v1", "alice", "no"),  # alice: 1/2
            answer("v1", "bob", "yes"),  # bob: 1/1
            answer("v2", "carol", "no"),
            answer("v2", "carol", "no"),
            answer("v2", "carol", "yes"),  # carol: 1/3
            answer("v3", "dave", "yes"),  # not part of the experiment
        ],
    )
    data = from_feedback_db(url)
    assert data.unit == "user"
    assert "feedback database sqlite" in data.source
    v1, v2 = data.control, data.treatment
    assert (v1.name, v1.assigned, v1.units, v1.answers, v1.yes) == ("v1", 2, 2, 3, 2)
    assert v1.mean == pytest.approx(0.75)  # the mean of 1/2 and 1/1, not 2/3 of the answers
    assert (v2.name, v2.units, v2.answers, v2.yes) == ("v2", 1, 3, 1)
    assert v2.mean == pytest.approx(1 / 3)


def test_a_user_who_answered_in_both_variants_is_a_unit_of_each(tmp_path: Path) -> None:
    url = feedback_db(
        tmp_path,
        [
            answer("v1", "alice", "yes"),
            answer("v1", "alice", "yes"),  # alice in v1: 2/2
            answer("v2", "alice", "no"),  # alice in v2 (reassigned): 0/1
            answer("v2", "bob", "yes"),  # bob: 1/1
        ],
    )
    data = from_feedback_db(url)
    v1, v2 = data.control, data.treatment
    assert (v1.units, v1.answers, v1.yes, v1.mean) == (1, 2, 2, 1.0)
    assert (v2.units, v2.answers, v2.yes, v2.mean) == (2, 2, 1, 0.5)


def test_feedback_db_keeps_the_results_shown_during_the_experiment(tmp_path: Path) -> None:
    """A restarted experiment (the documented remedy for an SRM) and the answers collected
    before it share the table: without bounds, the earlier users stayed in the analysis."""
    before, start = datetime(2026, 3, 9, 23, 59, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    end = datetime(2026, 3, 24, tzinfo=UTC)
    url = feedback_db(
        tmp_path,
        [
            answer("v1", "early", "yes", before),  # the broken first run
            answer("v1", "alice", "yes", start),
            answer("v1", "alice", "no", before),  # alice's answer before the restart
            answer("v2", "bob", "no", end - timedelta(microseconds=1)),
            answer("v2", "late", "yes", end),  # after the experiment
        ],
    )
    # Any offset names the same instants: 01:00 in Paris (UTC+1) is midnight UTC.
    paris = timezone(timedelta(hours=1))
    for since, until in ((start, end), (start.astimezone(paris), end.replace(tzinfo=None))):
        data = from_feedback_db(url, since=since, until=until)
        v1, v2 = data.control, data.treatment
        assert (v1.units, v1.answers, v1.yes) == (1, 1, 1)
        assert (v2.units, v2.answers, v2.yes) == (1, 1, 0)
        assert data.source.endswith(
            " (results shown from 2026-03-10 00:00 UTC until 2026-03-24 00:00 UTC)"
        )
    assert from_feedback_db(url).control.units == 2  # unbounded: every answer


def test_feedback_db_without_the_table_is_a_source_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()  # SQLite reads an empty file as a database without tables
    with pytest.raises(SourceError) as failed:
        from_feedback_db(f"sqlite:///{empty}")
    assert str(failed.value) == f"the feedback database sqlite:///{empty} has no feedback table"


def test_a_missing_sqlite_file_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "feedback.db"
    with pytest.raises(FileNotFoundError, match=f"no feedback database at {missing}"):
        from_feedback_db(f"sqlite:///{missing}")
    assert list(tmp_path.iterdir()) == []


def test_a_database_error_is_one_line_without_the_sql(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("not SQLite\n", encoding="utf-8")
    with pytest.raises(SourceError) as failed:
        from_feedback_db(f"sqlite:///{not_a_database}")
    assert str(failed.value) == (
        f"cannot read the feedback table of sqlite:///{not_a_database}: "
        "(sqlite3.DatabaseError) file is not a database"
    )


def test_an_unreachable_database_is_a_source_error_without_its_password() -> None:
    with pytest.raises(SourceError, match="feedback table") as failed:
        from_feedback_db("postgresql://reader:s3cret-pw@127.0.0.1:1/feedback")
    assert "s3cret-pw" not in str(failed.value)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """The port of a server that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        yield silent.getsockname()[1]


def test_a_database_that_never_answers_is_given_up_on(silent_port: int) -> None:
    """A server that accepts and stays silent (a hung PostgreSQL) held the command for the
    system's TCP timeout; the store's connect timeout (3 s) applies here too."""
    started = time.monotonic()
    with pytest.raises(SourceError, match="timeout"):
        from_feedback_db(f"postgresql://reader@127.0.0.1:{silent_port}/feedback")
    assert time.monotonic() - started < 10


def prometheus_answering(results: dict[str, list[dict[str, object]]]) -> httpx.Client:
    """A client whose Prometheus answers each query with the result for its metric."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query"
        query = parse_qs(request.url.query.decode())["query"][0]
        metric = next(name for name in results if name in query)
        body = {"status": "success", "data": {"resultType": "vector", "result": results[metric]}}
        return httpx.Response(200, json=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def sample(value: float, **labels: str) -> dict[str, object]:
    return {"metric": labels, "value": [1700000000.0, str(value)]}


def test_prometheus_counts_make_every_answer_a_unit() -> None:
    client = prometheus_answering(
        {
            "phishline_app_new_users_total": [
                sample(1000.4, variant="v1"),
                sample(989.6, variant="v2"),
            ],
            "phishline_app_feedback_total": [
                sample(300.2, variant="v1", answer="yes"),
                sample(100, variant="v1", answer="no"),
                sample(250, variant="v2", answer="yes"),
                sample(150, variant="v2", answer="no"),
            ],
        }
    )
    data = from_prometheus("http://prometheus.test/", window="14d", client=client)
    assert data.unit == "answer"
    assert data.source == "Prometheus http://prometheus.test (last 14d)"
    v1, v2 = data.control, data.treatment
    assert (v1.name, v1.assigned, v1.units, v1.yes, v1.mean) == ("v1", 1000, 400, 300, 0.75)
    assert (v2.name, v2.assigned, v2.units, v2.yes, v2.mean) == ("v2", 990, 400, 250, 0.625)
    assert not client.is_closed  # the caller's client is the caller's to close


def test_a_variant_without_yes_answers_in_prometheus_has_none() -> None:
    client = prometheus_answering(
        {
            "phishline_app_new_users_total": [sample(50, variant="v1"), sample(50, variant="v2")],
            "phishline_app_feedback_total": [
                sample(30, variant="v1", answer="yes"),
                sample(40, variant="v2", answer="no"),
            ],
        }
    )
    data = from_prometheus("http://prometheus.test", client=client)
    v1, v2 = data.control, data.treatment
    assert (v1.units, v1.answers, v1.yes, v1.mean) == (30, 30, 30, 1.0)
    assert (v2.units, v2.answers, v2.yes, v2.mean) == (40, 40, 0, 0.0)


def test_prometheus_without_data_gives_empty_variants() -> None:
    client = prometheus_answering(
        {"phishline_app_new_users_total": [], "phishline_app_feedback_total": []}
    )
    data = from_prometheus("http://prometheus.test", client=client)
    assert data.source == "Prometheus http://prometheus.test (last 30d)"  # the default window
    assert (data.control.assigned, data.control.units) == (0, 0)
    assert (data.treatment.assigned, data.treatment.units) == (0, 0)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (httpx.Response(503, text="unavailable"), "503"),
        (httpx.Response(200, text="<html>"), "Prometheus query failed"),
        (
            httpx.Response(200, json={"status": "error", "error": "parse error"}),
            "parse error",
        ),
        (
            httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix"}}),
            "answered",
        ),
        (httpx.Response(200, json=[1, 2]), r"answered \[1, 2\]"),
        (httpx.Response(200, json={"status": "success"}), "answered"),
    ],
    ids=["HTTP error", "not JSON", "query error", "not a vector", "a list", "no data"],
)
def test_prometheus_failures_are_source_errors(response: httpx.Response, problem: str) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _request: response))
    with pytest.raises(SourceError, match=problem):
        from_prometheus("http://prometheus.test", client=client)


USERS = 'service!~".+-canary"'
ASSIGNED_30D = (
    f"sum by (namespace, variant) (increase(phishline_app_new_users_total{{{USERS}}}[30d]))"
)


NOT_A_VECTOR = f"to {ASSIGNED_30D}: not a vector"


@pytest.mark.parametrize(
    ("body", "answered"),
    [
        ({"status": "error", "error": "parse error"}, f"parse error to {ASSIGNED_30D}"),
        ({"status": "success"}, f"{{'status': 'success'}} to {ASSIGNED_30D}"),
        (
            {"status": "success", "data": {"resultType": "matrix", "result": []}},
            f"{{'resultType': 'matrix', 'result': []}} {NOT_A_VECTOR}",
        ),
        (
            {"status": "success", "data": {"resultType": "vector", "result": None}},
            f"{{'resultType': 'vector', 'result': None}} {NOT_A_VECTOR}",
        ),
    ],
    ids=["its error", "no data", "a matrix", "a vector without a result list"],
)
def test_prometheus_answers_that_are_not_a_vector_are_quoted(
    body: dict[str, object], answered: str
) -> None:
    response = httpx.Response(200, json=body)
    client = httpx.Client(transport=httpx.MockTransport(lambda _request: response))
    with pytest.raises(SourceError) as failed:
        from_prometheus("http://prometheus.test", client=client)
    assert str(failed.value) == f"Prometheus at http://prometheus.test answered {answered}"


def test_an_error_without_a_message_is_named_by_its_type() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("", request=request)

    client = httpx.Client(transport=httpx.MockTransport(time_out))
    with pytest.raises(SourceError) as failed:
        from_prometheus("http://prometheus.test", client=client)
    assert str(failed.value) == (
        f"Prometheus query failed at http://prometheus.test ({ASSIGNED_30D}): ReadTimeout"
    )


def test_a_prometheus_that_never_answers_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch, silent_port: int
) -> None:
    """A server that accepts and stays silent: the client's timeout (30 s, shortened here)
    ends the query."""
    monkeypatch.setattr(sources, "QUERY_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(SourceError, match="Prometheus query failed"):
        from_prometheus(f"http://127.0.0.1:{silent_port}")
    assert time.monotonic() - started < 10


def test_unreachable_prometheus_is_a_source_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(SourceError, match="connection refused") as failed:
        from_prometheus("http://prometheus.test", client=client)
    assert str(failed.value).startswith("Prometheus query failed at http://prometheus.test (")


def test_an_http_error_of_prometheus_is_one_line() -> None:
    # httpx adds "For more information check: <link>" on a line of its own.
    response = httpx.Response(503, text="unavailable")
    client = httpx.Client(transport=httpx.MockTransport(lambda _request: response))
    with pytest.raises(SourceError, match="503 Service Unavailable") as failed:
        from_prometheus("http://prometheus.test", client=client)
    assert "\n" not in str(failed.value)


def test_prometheus_queries_use_the_window_and_exported_metrics() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.url.query.decode())["query"][0])
        body = {"status": "success", "data": {"resultType": "vector", "result": []}}
        return httpx.Response(200, content=json.dumps(body))

    from_prometheus(
        "http://p.test", window="7d", client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    assert seen == [
        f"sum by (namespace, variant) (increase(phishline_app_new_users_total{{{USERS}}}[7d]))",
        "sum by (namespace, variant, answer) "
        f"(increase(phishline_app_feedback_total{{{USERS}}}[7d]))",
    ]


def test_prometheus_holding_several_releases_needs_their_namespace() -> None:
    """One Prometheus scraping staging beside production: added up, the two releases' users
    and answers would make one experiment of two."""
    results = {
        "phishline_app_new_users_total": [
            sample(100, variant="v1", namespace="phishline"),
            sample(100, variant="v2", namespace="phishline"),
            sample(7, variant="v2", namespace="phishline-staging"),
        ],
        "phishline_app_feedback_total": [
            sample(40, variant="v1", answer="yes", namespace="phishline")
        ],
    }
    with pytest.raises(SourceError, match=r"several namespaces \(phishline, phishline-staging\): "):
        from_prometheus("http://p.test", client=prometheus_answering(results))
    seen = []

    def one_namespace(request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode())["query"][0]
        seen.append(query)
        metric = next(name for name in results if name in query)
        kept = [r for r in results[metric] if r["metric"]["namespace"] == "phishline"]
        body = {"status": "success", "data": {"resultType": "vector", "result": kept}}
        return httpx.Response(200, json=body)

    data = from_prometheus(
        "http://p.test",
        namespace="phishline",
        client=httpx.Client(transport=httpx.MockTransport(one_namespace)),
    )
    assert all(f'{{{USERS}, namespace="phishline"}}' in query for query in seen)
    assert (data.control.assigned, data.treatment.assigned, data.control.yes) == (100, 100, 40)
    assert data.source == "Prometheus http://p.test (last 30d, namespace phishline)"


@pytest.mark.parametrize("namespace", ["Phishline", 'a"} or vector(1) #', "-a", ""])
def test_a_namespace_that_kubernetes_would_refuse_is_refused(namespace: str) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes namespace name"):
        from_prometheus("http://p.test", namespace=namespace, client=prometheus_answering({}))


def test_prometheus_leaves_out_the_load_test_on_an_app_canary(tmp_path: Path) -> None:
    """Flagger's load test on a blue/green app canary sends no cookie: each of its requests
    (20/s with the chart's defaults) assigns a new user, thousands per release of one
    variant, which the SRM check took for a broken assignment. Prometheus' own engine
    (`promtool test rules`) evaluates the queries sent over series labelled as in the
    cluster, where the canary's carry its `...-canary` Service's name."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (`make system` installs it on Debian)")
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.url.query.decode())["query"][0])
        body = {"status": "success", "data": {"resultType": "vector", "result": []}}
        return httpx.Response(200, json=body)

    from_prometheus(
        "http://p.test", window="10m", client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    assigned, answers = seen
    new_users, feedback = "phishline_app_new_users_total", "phishline_app_feedback_total"
    series = {
        f'{new_users}{{variant="v1", service="phishline-app-v1"}}': "0+1x60",
        f'{new_users}{{variant="v2", service="phishline-app-v2-primary"}}': "0+1x60",
        f'{new_users}{{variant="v2", service="phishline-app-v2-canary"}}': "0+300x60",
        f'{feedback}{{variant="v2", answer="yes", service="phishline-app-v2-primary"}}': "0+1x60",
        f'{feedback}{{variant="v2", answer="yes", service="phishline-app-v2-canary"}}': "0+5x60",
    }
    case = {
        "interval": "10s",
        "input_series": [{"series": name, "values": values} for name, values in series.items()],
        "promql_expr_test": [
            {
                "expr": assigned,
                "eval_time": "10m",
                "exp_samples": [
                    {"labels": '{variant="v1"}', "value": 60},
                    {"labels": '{variant="v2"}', "value": 60},
                ],
            },
            {
                "expr": answers,
                "eval_time": "10m",
                "exp_samples": [{"labels": '{variant="v2", answer="yes"}', "value": 60}],
            },
        ],
    }
    path = tmp_path / "queries.test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [], "tests": [case]}), encoding="utf-8")
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
