"""Where the experiment's numbers come from.

- The feedback database (the apps' SQLAlchemy URL): every answer with its user, so the unit
  is the user: each user's share of "yes". It only knows users who answered, so the sample
  ratio is checked on those.
- Prometheus (its HTTP API): counters only, so the unit is the answer; the sample ratio is
  checked on the users assigned (`phishline_app_new_users_total`), answered or not.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from phishline.experiment.analyze import VariantData

if TYPE_CHECKING:
    import httpx

CONTROL, TREATMENT = "v1", "v2"
QUERY_TIMEOUT_SECONDS = 30.0
# Users, not Flagger's load test, as in operation/prometheus/rules.yml: during a blue/green
# analysis the pods behind an app canary's `...-canary` Service (the `service` label) get only
# the load test, whose requests carry no cookie and so each assign a new user. Without the
# label (the local stack) every series counts.
NOT_CANARY = 'service!~".+-canary"'
# A Kubernetes namespace name (RFC 1123 label): nothing a PromQL string would need escaped.
NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class SourceError(RuntimeError):
    """The source could not be read: a mistake in the URL given or in the setup, so the
    command shows it as one `Error:` line (phishline.cli.INPUT_ERRORS)."""


@dataclass(frozen=True)
class ExperimentData:
    source: str
    unit: Literal["user", "answer"]
    control: VariantData
    treatment: VariantData


def _first_line(error: Exception) -> str:
    """The gist of an error from httpx, which appends a link on a line of its own."""
    return next(iter(str(error).splitlines()), "") or type(error).__name__


def from_feedback_db(
    url: str, since: datetime | None = None, until: datetime | None = None
) -> ExperimentData:
    """Per-user answers from the feedback table (read only: no schema is created), to the
    results shown from `since` (included) to `until` (excluded) when given: the experiment's
    run, without the answers of an earlier one or of the time before it.

    A SQLite file that does not exist is refused with FileNotFoundError, not created."""
    from sqlalchemy import case, func, select

    from phishline_app.db.models import Feedback
    from phishline_app.db.store import UnreadableStoreError, database_url, reading_store

    per_user = (
        select(
            Feedback.variant,
            func.sum(case((Feedback.answer == "yes", 1), else_=0)),
            func.count(),
        )
        .where(Feedback.variant.in_((CONTROL, TREATMENT)))
        .group_by(Feedback.variant, Feedback.user_id)
    )
    # In UTC: SQLite keeps the times the app wrote, in UTC, without their offset, and
    # compares them as text with the bound one.
    if since is not None:
        per_user = per_user.where(Feedback.shown_at >= _utc(since))
    if until is not None:
        per_user = per_user.where(Feedback.shown_at < _utc(until))
    users: dict[str, list[tuple[int, int]]] = defaultdict(list)
    try:
        with reading_store(url) as connection:
            for variant, yes, answers in connection.execute(per_user):
                users[variant].append((int(yes), int(answers)))
    except UnreadableStoreError as error:
        raise SourceError(str(error)) from error
    control, treatment = (
        VariantData.from_users(name, len(users[name]), users[name]) for name in (CONTROL, TREATMENT)
    )
    where = database_url(url).render_as_string(hide_password=True)
    shown = "".join(
        f" {word} {_utc(bound):%Y-%m-%d %H:%M} UTC"
        for word, bound in (("from", since), ("until", until))
        if bound is not None
    )
    source = f"feedback database {where}" + (f" (results shown{shown})" if shown else "")
    return ExperimentData(source, "user", control, treatment)


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without an offset is taken as UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _instant_vector(client: "httpx.Client", base_url: str, query: str) -> list[dict[str, Any]]:
    import httpx

    try:
        response = client.get(f"{base_url}/api/v1/query", params={"query": query})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SourceError(
            f"Prometheus query failed at {base_url} ({query}): {_first_line(error)}"
        ) from error
    # Any JSON may come back from a URL that is not Prometheus' (a list, an object without data).
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or body.get("status") != "success":
        answer = body.get("error", body) if isinstance(body, dict) else body
        raise SourceError(f"Prometheus at {base_url} answered {answer} to {query}")
    if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise SourceError(f"Prometheus at {base_url} answered {data} to {query}: not a vector")
    result: list[dict[str, Any]] = data["result"]
    return result


def _count(sample: dict[str, Any]) -> int:
    # increase() extrapolates to the window's edges: counts come back as decimals.
    return round(float(sample["value"][1]))


def from_prometheus(
    url: str,
    window: str = "30d",
    namespace: str | None = None,
    client: "httpx.Client | None" = None,
) -> ExperimentData:
    """Assignment and answer counts of both variants over the last `window` (a PromQL
    duration), of the release in `namespace` when given; `client` lets tests answer for
    Prometheus. Series of several namespaces (staging beside production, in one Prometheus)
    are refused without `namespace`: added up, they would be one experiment of two."""
    import httpx

    if namespace is not None and not NAMESPACE.fullmatch(namespace):
        raise ValueError(f"{namespace!r} is not a Kubernetes namespace name")
    base_url = url.rstrip("/")
    selector = NOT_CANARY + (f', namespace="{namespace}"' if namespace else "")
    assigned_query = (
        f"sum by (namespace, variant) "
        f"(increase(phishline_app_new_users_total{{{selector}}}[{window}]))"
    )
    answers_query = (
        f"sum by (namespace, variant, answer) "
        f"(increase(phishline_app_feedback_total{{{selector}}}[{window}]))"
    )
    http = client or httpx.Client(timeout=QUERY_TIMEOUT_SECONDS)
    try:
        assigned_samples = _instant_vector(http, base_url, assigned_query)
        answer_samples = _instant_vector(http, base_url, answers_query)
    finally:
        if client is None:
            http.close()
    namespaces = sorted(
        {s["metric"].get("namespace", "") for s in assigned_samples + answer_samples} - {""}
    )
    if len(namespaces) > 1:
        raise SourceError(
            f"Prometheus at {base_url} holds the experiment's series of several namespaces "
            f"({', '.join(namespaces)}): choose one with --namespace"
        )
    assigned = {s["metric"].get("variant"): _count(s) for s in assigned_samples}
    answers: dict[tuple[str, str], int] = {
        (s["metric"].get("variant"), s["metric"].get("answer")): _count(s) for s in answer_samples
    }
    control, treatment = (
        VariantData.from_answers(
            name,
            assigned.get(name, 0),
            yes=answers.get((name, "yes"), 0),
            answers=answers.get((name, "yes"), 0) + answers.get((name, "no"), 0),
        )
        for name in (CONTROL, TREATMENT)
    )
    where = f", namespace {namespaces[0]}" if namespaces else ""
    return ExperimentData(
        f"Prometheus {base_url} (last {window}{where})", "answer", control, treatment
    )
