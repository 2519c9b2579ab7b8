"""Alerting end to end: the real app is scraped by a real Prometheus running the real rules,
which alerts a real Alertmanager running the real (rendered) configuration, which emails a
local SMTP sink. Traffic over the threshold of PhishlineTooManyRequests must arrive as an
email naming the alert and the variant.

Only timings are shortened, so the test takes seconds instead of minutes: scrape and rule
evaluation every second, the alert's `for` and Alertmanager's group_wait one second. The
expression, threshold, labels, annotations, routing, receiver and templates are the ones
committed.
"""

import email
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import REPO, free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ALERT = "PhishlineTooManyRequests"
VARIANT = "v1"
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
RECIPIENT = "oncall@phishline.test"
# The alert fires above 10 requests/s over a minute. With less than a minute of samples,
# rate() spreads the increase over the whole minute: 100 page views a second cross the
# threshold after about 6 s of scraping (and still do, later, at a third of that pace).
REQUESTS_PER_SECOND = 100
MAX_REQUESTS = 4000
EMAIL_TIMEOUT_SECONDS = 40.0


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802  (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def find(self, subject_part: str) -> EmailMessage | None:
        with self._lock:
            return next((m for m in self.messages if subject_part in m["Subject"]), None)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


class Process:
    """A server binary on 127.0.0.1 with its output in a log file, stopped at the end."""

    def __init__(self, name: str, args: list[str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as sink:
            self.popen = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def wait_ready(url: str, process: Process | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited:\n{process.output()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    details = process.output() if process else ""
    raise AssertionError(f"{url} not ready within {timeout} s\n{details}")


def rules_with_short_for(path: Path) -> Path:
    """The committed rules, with only the tested alert's `for` cut to one second."""
    rules = yaml.safe_load((REPO / "operation" / "prometheus" / "rules.yml").read_text())
    tested = [
        rule for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == ALERT
    ]
    assert len(tested) == 1
    tested[0]["for"] = "1s"
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return path


def alertmanager_config(path: Path, smtp_port: int) -> Path:
    """The committed template rendered for the sink, with group_wait cut to one second."""
    from .monitoring.conftest import load_module

    renderer = load_module(REPO / "operation" / "alertmanager" / "render_config.py")
    template = (REPO / "operation" / "alertmanager" / "alertmanager.yml").read_text()
    rendered = yaml.safe_load(
        renderer.render(
            template,
            {
                "PHISHLINE_ALERT_SMTP_SMARTHOST": f"127.0.0.1:{smtp_port}",
                "PHISHLINE_ALERT_EMAIL_FROM": "alertmanager@phishline.test",
                "PHISHLINE_ALERT_EMAIL_TO": RECIPIENT,
                "PHISHLINE_ALERT_SMTP_REQUIRE_TLS": "false",  # the sink speaks plain SMTP
            },
        )
    )
    rendered["route"]["group_wait"] = "1s"
    path.write_text(yaml.safe_dump(rendered, sort_keys=False), encoding="utf-8")
    return path


def prometheus_config(path: Path, rules: Path, app_port: int, alertmanager_port: int) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
        },
        "scrape_configs": [
            {"job_name": "app", "static_configs": [{"targets": [f"127.0.0.1:{app_port}"]}]}
        ],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def serve_app(port: int, tmp_path: Path) -> Process:
    """The real app (variant v1) as `phishline serve app` runs it; model-service absent, as
    it may be: the page still answers."""
    return Process(
        "app",
        [
            sys.executable, "-m", "phishline", "serve", "app", "--variant", VARIANT,
            "--host", "127.0.0.1", "--port", str(port),
            "--model-service-url", f"http://127.0.0.1:{free_port()}",
            "--database-url", f"sqlite:///{tmp_path / 'feedback.db'}",
            "--log-level", "error",
        ],
        tmp_path / "app.log",
    )  # fmt: skip


def drive_traffic(url: str, stop: threading.Event) -> None:
    """Page views at a steady pace until stopped, bounded in count."""
    sent = 0
    started = time.monotonic()
    with httpx.Client(timeout=5.0) as client:
        while not stop.is_set() and sent < MAX_REQUESTS:
            client.get(url)
            sent += 1
            pause = started + sent / REQUESTS_PER_SECOND - time.monotonic()
            if pause > 0:
                stop.wait(pause)


def assert_warnings_are_inhibited_by_criticals(alertmanager: str) -> None:
    """The committed inhibit rules, on the running Alertmanager: a warning is muted while the
    same alert fires as critical for the same variant, and only then."""
    alerts = [
        {
            "labels": {
                "alertname": "PhishlineHighErrorRate",
                "severity": severity,
                "variant": variant,
            }
        }
        for severity, variant in (("critical", "v2"), ("warning", "v2"), ("warning", "v1"))
    ]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    deadline = time.monotonic() + 10
    while True:
        listed = httpx.get(
            f"{alertmanager}/api/v2/alerts",
            params={"filter": 'alertname="PhishlineHighErrorRate"'},
            timeout=5,
        ).json()
        states = {
            (a["labels"]["severity"], a["labels"]["variant"]): a["status"]["state"] for a in listed
        }
        if len(states) == 3 and states[("warning", "v2")] == "suppressed":
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.2)
    assert states == {
        ("critical", "v2"): "active",
        ("warning", "v2"): "suppressed",
        ("warning", "v1"): "active",
    }


@pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None,
    reason="the prometheus and prometheus-alertmanager binaries are not installed "
    "(`make system` installs them on Debian)",
)
def test_traffic_over_the_threshold_emails_the_alert(tmp_path: Path, mailbox: Mailbox) -> None:
    assert PROMETHEUS is not None
    assert ALERTMANAGER is not None
    ports = {"app": free_port(), "prometheus": free_port(), "alertmanager": free_port()}
    alertmanager_url = f"http://127.0.0.1:{ports['alertmanager']}"
    prometheus_yml = prometheus_config(
        tmp_path / "prometheus.yml",
        rules_with_short_for(tmp_path / "rules.yml"),
        ports["app"],
        ports["alertmanager"],
    )
    stop = threading.Event()
    with ExitStack() as stack:
        # Prometheus first: its target discovery takes a few seconds, spent while the app starts.
        prometheus = stack.enter_context(
            Process(
                "prometheus",
                [
                    PROMETHEUS,
                    f"--config.file={prometheus_yml}",
                    f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                ],
                tmp_path / "prometheus.log",
            )
        )
        alertmanager = stack.enter_context(
            Process(
                "alertmanager",
                [
                    ALERTMANAGER,
                    f"--config.file={alertmanager_config(tmp_path / 'am.yml', mailbox.port)}",
                    f"--storage.path={tmp_path / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                    "--cluster.listen-address=",  # a single instance: no gossip port
                ],
                tmp_path / "alertmanager.log",
            )
        )
        app = stack.enter_context(serve_app(ports["app"], tmp_path))
        wait_ready(f"http://127.0.0.1:{ports['prometheus']}/-/ready", prometheus)
        wait_ready(f"{alertmanager_url}/-/ready", alertmanager)
        wait_ready(f"http://127.0.0.1:{ports['app']}/health/live", app, timeout=30)

        traffic = threading.Thread(
            target=drive_traffic, args=(f"http://127.0.0.1:{ports['app']}/", stop), daemon=True
        )
        traffic.start()
        stack.callback(traffic.join, 10)
        stack.callback(stop.set)
        deadline = time.monotonic() + EMAIL_TIMEOUT_SECONDS
        while (message := mailbox.find(ALERT)) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        stop.set()
        assert message is not None, (
            f"no email for {ALERT} within {EMAIL_TIMEOUT_SECONDS} s\n"
            f"prometheus:\n{prometheus.output()}\nalertmanager:\n{alertmanager.output()}"
        )
        assert message["Subject"] == f"[FIRING] {ALERT} variant={VARIANT} (warning)"
        assert message["To"] == RECIPIENT
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert f"FIRING {ALERT} (warning): app {VARIANT}:" in text
        assert f"variant={VARIANT}" in text
        assert_warnings_are_inhibited_by_criticals(alertmanager_url)
