"""operation/scripts/deploy.sh and rollback.sh: shellcheck clean, and what they do, with
stand-ins for helm and kubectl on PATH that record their calls and fail on demand."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "operation" / "scripts"
DEPLOY = SCRIPTS / "deploy.sh"
ROLLBACK = SCRIPTS / "rollback.sh"
OPTIONS = SCRIPTS / "options.sh"
# Records "tool args" in $CALLS; fails when "tool subcommand" is listed in $FAILING; answers
# `helm history` with $HISTORY, `helm get values` with $VALUES and `kubectl get canary` with
# $CANARIES.
# Helm's answer for a release it has never installed: `helm history` fails so.
NOT_FOUND = "Error: release: not found\n"
STAND_IN = """#!/usr/bin/env bash
tool=$(basename "$0")
echo "$tool $*" >> "$CALLS"
case "$tool $1" in
  "helm history") cat "$HISTORY" ;;
  "helm get") cat "$VALUES" ;;
  "kubectl get") cat "$CANARIES" ;;
esac
if grep -qx "$tool $1" "$FAILING"; then exit 1; fi
"""
HISTORY = """- app_version: 0.1.0
  revision: 6
  status: superseded
- app_version: 0.1.1
  revision: 7
  status: deployed
- app_version: 0.1.2
  revision: 8
  status: failed
"""


class Cluster:
    """A fake helm and kubectl; `run` calls a script with them first on PATH."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        bin_dir = directory / "bin"
        bin_dir.mkdir()
        for tool in ("helm", "kubectl"):
            (bin_dir / tool).write_text(STAND_IN)
            (bin_dir / tool).chmod(0o755)
        self.files = {
            name: directory / name for name in ("CALLS", "FAILING", "HISTORY", "VALUES", "CANARIES")
        }
        for path in self.files.values():
            path.touch()
        self.files["HISTORY"].write_text(HISTORY)
        self.env = (
            os.environ
            | {k: str(v) for k, v in self.files.items()}
            | {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
        )

    def first_install(self) -> None:
        """No release yet: `helm history` fails as Helm's does."""
        self.files["HISTORY"].write_text(NOT_FOUND)
        self.fail("helm history", *self.files["FAILING"].read_text().splitlines())

    def fail(self, *commands: str) -> None:
        self.files["FAILING"].write_text("".join(f"{c}\n" for c in commands))

    def canaries(self, *lines: str) -> None:
        self.files["CANARIES"].write_text("".join(f"{line}\n" for line in lines))

    def date(self, case: str) -> None:
        """A `date` first on PATH: `case` handles some calls, the rest go to the real one."""
        real = shutil.which("date")
        script = self.directory / "bin" / "date"
        script.write_text(f'#!/usr/bin/env bash\ncase "$1" in\n{case}\nesac\nexec {real} "$@"\n')
        script.chmod(0o755)

    def run(self, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
            timeout=60,
        )

    @property
    def calls(self) -> list[str]:
        return self.files["CALLS"].read_text().splitlines()


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    return Cluster(tmp_path)


def test_the_scripts_are_shellcheck_clean(shellcheck: str) -> None:
    """-x: the scripts source options.sh, which is checked as part of them."""
    result = subprocess.run(
        [shellcheck, "-x", str(DEPLOY), str(ROLLBACK), str(OPTIONS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_shellcheck_catches_an_unquoted_expansion(shellcheck: str, tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("#!/usr/bin/env bash\nrelease=$1\nhelm rollback $release\n")
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
    assert "SC2086" in result.stdout


def test_a_good_deploy_upgrades_then_runs_the_acceptance_test(cluster: Cluster) -> None:
    result = cluster.run(DEPLOY, "--values", "prod.yaml", "--set", "istio.weights.v1=50")
    assert result.returncode == 0, result.stderr
    upgrade, values, test = cluster.calls[1:]
    assert upgrade.startswith("helm upgrade phishline ")
    assert (
        "--install --namespace phishline --create-namespace --wait --timeout 10m --values prod.yaml --set istio.weights.v1=50"
        in upgrade
    )
    assert values == "helm get values phishline --namespace phishline --all --output yaml"
    assert test == "helm test phishline --namespace phishline --timeout 10m"


def test_a_release_whose_values_enable_flagger_is_followed_not_tested(cluster: Cluster) -> None:
    """canary.enabled from a values file, no --canary: `helm test` used to run right after
    the upgrade, on a release whose new version Flagger had yet to roll out, and its canary
    Job (on the -canary Service, empty outside an analysis) rolled good releases back."""
    cluster.files["VALUES"].write_text(
        "app:\n  port: 8080\ncanary:\n  app:\n    blueGreen: true\n    enabled: false\n"
        "  enabled: true\nimagePullSecrets:\n- name: ghcr-pull\n"
    )
    cluster.canaries("phishline-model-service Succeeded 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--values", "flagger.yaml", "--settle", "0s")
    assert result.returncode == 0, result.stderr
    assert [c.split()[:2] for c in cluster.calls[1:]] == [
        ["helm", "upgrade"],
        ["helm", "get"],
        ["kubectl", "get"],
    ]
    assert "enable canary: following Flagger as with --canary" in result.stdout
    assert "(timeout 30m)" in result.stdout  # the --canary default, not 10m
    assert cluster.calls[1].endswith("--wait --timeout 10m --values flagger.yaml")


@pytest.mark.parametrize(
    "values",
    [
        "canary:\n  enabled: false\n",
        "canary:\n  app:\n    enabled: true\n  enabled: false\n",
        "other:\n  enabled: true\ncanary:\n  enabled: false\n",
        "",
    ],
)
def test_values_without_flagger_keep_helm_test(cluster: Cluster, values: str) -> None:
    cluster.files["VALUES"].write_text(values)
    assert cluster.run(DEPLOY).returncode == 0
    assert cluster.calls[-1].startswith("helm test ")


def test_unreadable_values_roll_back(cluster: Cluster) -> None:
    cluster.fail("helm get")
    result = cluster.run(DEPLOY)
    assert result.returncode == 1
    assert "cannot read the values of phishline" in result.stderr
    assert cluster.calls[-1].startswith("helm rollback phishline 7 ")


def test_a_failed_rollout_returns_to_the_last_deployed_revision(cluster: Cluster) -> None:
    cluster.fail("helm upgrade")
    result = cluster.run(DEPLOY)
    assert result.returncode == 1
    assert (
        cluster.calls[-1] == "helm rollback phishline 7 --namespace phishline --wait --timeout 10m"
    )
    assert "rolling phishline back to revision 7" in result.stderr
    assert "phishline is back at revision 7" in result.stderr


def test_a_failed_rollback_is_said_as_such(cluster: Cluster) -> None:
    cluster.fail("helm upgrade", "helm rollback")
    result = cluster.run(DEPLOY)
    assert result.returncode == 1
    assert "the rollback to revision 7 failed too; phishline needs a person" in result.stderr
    assert "is back at revision" not in result.stderr


def test_a_failed_acceptance_test_rolls_back(cluster: Cluster) -> None:
    cluster.fail("helm test")
    assert cluster.run(DEPLOY).returncode == 1
    assert cluster.calls[-1].startswith("helm rollback phishline 7 ")


def test_a_first_install_installs_and_tests(cluster: Cluster) -> None:
    """`helm history` of a release not yet installed fails; with `set -e` and pipefail that
    used to end the script, silently and with status 1, before it installed anything."""
    cluster.first_install()
    result = cluster.run(DEPLOY)
    assert result.returncode == 0, result.stderr
    assert [c.split()[:2] for c in cluster.calls] == [
        ["helm", "history"],
        ["helm", "upgrade"],
        ["helm", "get"],
        ["helm", "test"],
    ]
    assert "phishline is deployed in phishline" in result.stdout


def test_a_failed_first_install_has_nothing_to_roll_back_to(cluster: Cluster) -> None:
    cluster.fail("helm upgrade")
    cluster.first_install()
    result = cluster.run(DEPLOY)
    assert result.returncode == 1
    assert not [c for c in cluster.calls if c.startswith("helm rollback")]
    assert "no earlier deployed revision" in result.stderr


def test_an_unreadable_history_stops_the_deploy(cluster: Cluster) -> None:
    """Not a first install: without the last good revision a failure could not be undone."""
    cluster.files["HISTORY"].write_text("Error: Kubernetes cluster unreachable\n")
    cluster.fail("helm history")
    result = cluster.run(DEPLOY)
    assert result.returncode == 1
    assert "cannot read the history of phishline: Error: Kubernetes cluster unreachable" in (
        result.stderr
    )
    assert [c.split()[:2] for c in cluster.calls] == [["helm", "history"]]


def test_canary_mode_waits_for_flagger_and_skips_helm_test(cluster: Cluster) -> None:
    cluster.canaries(
        "phishline-model-service Succeeded 2999-01-01T00:00:00Z",
        "phishline-app-v1 Succeeded 2001-01-01T00:00:00Z",
    )
    result = cluster.run(DEPLOY, "--canary", "--settle", "0s")
    assert result.returncode == 0, result.stderr
    assert [c.split()[:2] for c in cluster.calls[1:]] == [["helm", "upgrade"], ["kubectl", "get"]]


def test_canary_mode_enables_flagger_and_waits_long_enough(cluster: Cluster) -> None:
    """Without canary.enabled there is no Canary to follow: the deploy would pass unchecked.
    10m is shorter than the app's blue/green analysis (10 intervals, then promotion)."""
    cluster.canaries("phishline-app-v1 Succeeded 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--canary", "--set", "canary.enabled=false")
    assert result.returncode == 0, result.stderr
    upgrade = cluster.calls[1]
    assert upgrade.endswith(
        "--wait --timeout 30m --set canary.enabled=false --set canary.enabled=true"
    )
    cluster.run(DEPLOY, "--canary", "--timeout", "45m")
    assert "--wait --timeout 45m --set canary.enabled=true" in cluster.calls[-2]


def test_a_first_install_under_flagger_is_done_when_initialized(cluster: Cluster) -> None:
    """Flagger makes the first version the primary without analysis: it ends Initialized."""
    cluster.first_install()
    cluster.canaries(
        "phishline-model-service Initialized 2999-01-01T00:00:00Z",
        "phishline-app-v1 Initialized 2999-01-01T00:00:00Z",
        "phishline-app-v2 Initialized 2999-01-01T00:00:00Z",
    )
    # No time to wait: anything but "done" at the first look fails.
    result = cluster.run(DEPLOY, "--canary", "--timeout", "0s")
    assert result.returncode == 0, result.stderr
    assert "phishline is deployed in phishline" in result.stdout


def test_a_canary_flagger_rolled_back_rolls_the_release_back(cluster: Cluster) -> None:
    cluster.canaries("phishline-model-service Failed 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--canary")
    assert result.returncode == 1
    assert "Flagger rolled phishline-model-service back" in result.stderr
    assert cluster.calls[-1].startswith("helm rollback phishline 7 ")


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("0", 0),
        ("0s", 0),
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2m30s", 150),
        ("1h0m5s", 3605),
        ("08m", 480),
        ("1500ms", 1),
    ],
)
def test_durations_are_read_as_helm_reads_them(duration: str, seconds: int) -> None:
    result = subprocess.run(
        ["bash", "-c", 'source "$0" && duration_seconds "$1"', str(OPTIONS), duration],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{seconds}\n", "")


@pytest.mark.parametrize("duration", ["", "1h30", "10", "1.5h", "-5m", "5 m", "2d", "30M", "m"])
def test_a_malformed_duration_is_refused(duration: str) -> None:
    result = subprocess.run(
        ["bash", "-c", 'source "$0" && duration_seconds "$1"', str(OPTIONS), duration],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")


def test_a_compound_timeout_bounds_the_wait_for_flagger(cluster: Cluster) -> None:
    """`1h30m` used to be cut at its last unit ("1h30" minutes: an arithmetic error), which
    ended the wait at once with "deployed" and status 0, without any rollback."""
    cluster.canaries("phishline-model-service Progressing 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--canary", "--settle", "0m0s", "--timeout", "0h0m0s")
    assert result.returncode == 1, result.stdout
    assert "Flagger has not finished within 0h0m0s" in result.stderr
    assert cluster.calls[-1].startswith("helm rollback phishline 7 ")
    assert "is deployed" not in result.stdout


def test_compound_durations_are_accepted(cluster: Cluster) -> None:
    cluster.canaries("phishline-model-service Succeeded 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--canary", "--settle", "1m30s", "--timeout", "1h30m")
    assert (result.returncode, result.stderr) == (0, "")
    assert "--wait --timeout 1h30m --set canary.enabled=true" in cluster.calls[1]
    assert "phishline is deployed in phishline" in result.stdout


@pytest.mark.parametrize(
    ("option", "value"), [("--timeout", "1h30"), ("--timeout", "ten"), ("--settle", "2")]
)
def test_a_malformed_duration_stops_the_deploy_before_it_starts(
    cluster: Cluster, option: str, value: str
) -> None:
    result = cluster.run(DEPLOY, "--canary", option, value)
    assert result.returncode == 2
    assert f"deploy.sh: {option} takes a duration" in result.stderr
    assert f"got '{value}'" in result.stderr
    assert cluster.calls == []


@pytest.mark.parametrize(
    ("script", "option"),
    [(DEPLOY, "--timeout"), (DEPLOY, "-f"), (DEPLOY, "--set"), (ROLLBACK, "--revision")],
)
def test_an_option_without_its_value_is_a_usage_error(
    cluster: Cluster, script: Path, option: str
) -> None:
    """Given last, such an option used to end the script in bash's "$2: unbound variable"."""
    result = cluster.run(script, "--dry-run", option)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{script.name}: {option} needs a value\n"
    assert cluster.calls == []


def test_canaries_that_kubectl_cannot_list_are_not_a_success(cluster: Cluster) -> None:
    """kubectl's failure used to be lost in the process substitution: no line read, nothing
    pending, "deployed" with status 0 while nothing had been checked."""
    cluster.fail("kubectl get")
    result = cluster.run(DEPLOY, "--canary", "--timeout", "0s")
    assert result.returncode == 1
    assert "kubectl could not list the canaries of phishline" in result.stderr
    assert cluster.calls[-1].startswith("helm rollback phishline 7 ")
    assert "is deployed" not in result.stdout


def test_no_canary_to_follow_is_not_a_success(cluster: Cluster) -> None:
    result = cluster.run(DEPLOY, "--canary", "--settle", "0s", "--timeout", "0s")
    assert result.returncode == 1
    assert "no Canary of phishline in phishline" in result.stderr
    assert "is deployed" not in result.stdout


def test_a_failed_canary_is_seen_without_gnu_date(cluster: Cluster) -> None:
    """With a `date` that has no -d (BSD, macOS) every canary used to look unchanged: after
    the settle time a canary Flagger had rolled back counted as nothing to analyse."""
    cluster.date('  -d) echo "date: illegal option -- d" >&2; exit 1 ;;')
    cluster.canaries("phishline-model-service Failed 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--canary", "--settle", "0s")
    assert result.returncode == 1
    assert "Flagger rolled phishline-model-service back" in result.stderr


def test_an_error_inside_the_check_never_ends_in_deployed(cluster: Cluster) -> None:
    """Bash abandons a command whose arithmetic expansion fails without `set -e` stopping
    the script; a clock that answers nonsense makes the canary follow-up fail that way."""
    cluster.date("  +%s) echo 17e9; exit 0 ;;")
    cluster.canaries("phishline-model-service Succeeded 2999-01-01T00:00:00Z")
    result = cluster.run(DEPLOY, "--canary")
    assert result.returncode == 1
    assert "the check of the new version stopped on an error" in result.stderr
    assert cluster.calls[-1].startswith("helm rollback phishline 7 ")
    assert "is deployed" not in result.stdout


def test_a_dry_run_changes_nothing(cluster: Cluster) -> None:
    result = cluster.run(DEPLOY, "--dry-run", "--release", "demo", "--namespace", "staging")
    assert result.returncode == 0
    assert cluster.calls == []
    assert "+ helm upgrade demo " in result.stdout
    assert "+ helm test demo --namespace staging --timeout 10m" in result.stdout
    assert "dry run, nothing was changed" in result.stdout


def test_secret_values_given_with_set_are_not_printed(cluster: Cluster) -> None:
    """The printed commands end up in CI logs: the SMTP password, the signing key and a
    database URL with its password must not, while helm still gets them."""
    result = cluster.run(
        DEPLOY,
        "--set",
        "secrets.smtpPassword=hunter2",
        "--set",
        "app.logLevel=debug,secrets.databaseUrl=postgresql+psycopg://u:s3cret@db/phishline",
        "--set",
        "istio.weights.v1=50",
    )
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert "--set secrets.smtpPassword=REDACTED --set app.logLevel=REDACTED" in result.stdout
    assert "--set istio.weights.v1=50" in result.stdout
    upgrade = next(c for c in cluster.calls if c.startswith("helm upgrade"))
    assert "--set secrets.smtpPassword=hunter2 " in upgrade
    assert "secrets.databaseUrl=postgresql+psycopg://u:s3cret@db/phishline" in upgrade


def test_rollback_to_the_previous_or_a_given_revision(cluster: Cluster) -> None:
    assert cluster.run(ROLLBACK).returncode == 0
    assert cluster.run(ROLLBACK, "--revision", "6", "-n", "staging").returncode == 0
    rollbacks = [c for c in cluster.calls if c.startswith("helm rollback")]
    assert rollbacks == [
        "helm rollback phishline --namespace phishline --wait --timeout 5m",
        "helm rollback phishline 6 --namespace staging --wait --timeout 5m",
    ]
    assert cluster.run(ROLLBACK, "--revision", "latest").returncode == 2


def test_aborting_a_canary_opens_and_closes_flaggers_gate(cluster: Cluster) -> None:
    cluster.canaries("Progressing")
    result = cluster.run(ROLLBACK, "--abort-canary", "phishline-model-service")
    assert result.returncode == 0, result.stderr
    phase, gate_open, wait, gate_close = cluster.calls
    assert (
        phase
        == "kubectl get canary/phishline-model-service --namespace phishline --output jsonpath={.status.phase}"
    )
    payload = '{"name": "phishline-model-service", "namespace": "phishline"}'
    assert (
        gate_open
        == f"kubectl exec --namespace flagger deploy/flagger-loadtester -- curl --silent --show-error --fail --data {payload} http://localhost:8080/rollback/open"
    )
    assert (
        wait
        == "kubectl wait canary/phishline-model-service --namespace phishline --for=jsonpath={.status.phase}=Failed --timeout 5m"
    )
    assert gate_close.endswith("/rollback/close")


def test_a_failed_abort_still_closes_the_gate(cluster: Cluster) -> None:
    """Flagger never marked the canary Failed in time: the open gate would roll back the
    next rollout too."""
    cluster.canaries("Waiting")
    cluster.fail("kubectl wait")
    result = cluster.run(ROLLBACK, "--abort-canary", "phishline-app-v1", "--timeout", "1s")
    assert result.returncode == 1
    assert [c.split()[:2] for c in cluster.calls] == [
        ["kubectl", "get"],
        ["kubectl", "exec"],
        ["kubectl", "wait"],
        ["kubectl", "exec"],
    ]
    assert cluster.calls[-1].endswith("/rollback/close")
    assert "closing the rollback gate of phishline-app-v1" in result.stderr


@pytest.mark.parametrize("phase", ["Succeeded", "Failed", "Initialized", ""])
def test_the_gate_stays_closed_when_no_analysis_runs(cluster: Cluster, phase: str) -> None:
    cluster.canaries(phase)
    result = cluster.run(ROLLBACK, "--abort-canary", "phishline-model-service")
    assert result.returncode == 1
    assert [c for c in cluster.calls if c.startswith("kubectl exec")] == []
    assert "not under analysis: the gate stays closed" in result.stderr


def test_a_malformed_timeout_keeps_the_gate_closed(cluster: Cluster) -> None:
    """Refused before the gate opens: kubectl wait would refuse it only once it is open."""
    cluster.canaries("Progressing")
    for args in (["--abort-canary", "phishline-model-service"], []):
        result = cluster.run(ROLLBACK, *args, "--timeout", "5 minutes")
        assert result.returncode == 2
        assert "rollback.sh: --timeout takes a duration" in result.stderr
    assert cluster.calls == []
    assert cluster.run(ROLLBACK, "--timeout", "1h30m").returncode == 0
    assert cluster.calls[0].endswith("--wait --timeout 1h30m")


def test_a_rollback_dry_run_changes_nothing(cluster: Cluster) -> None:
    result = cluster.run(ROLLBACK, "--dry-run", "--abort-canary", "phishline-app-v1")
    assert result.returncode == 0
    assert cluster.calls == []
    assert "rollback/open" in result.stdout
