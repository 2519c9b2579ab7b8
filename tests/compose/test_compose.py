"""operation/compose/docker-compose.yml, checked without a Docker engine: against the Compose
specification's JSON schema, and against the repository and the code (the files it mounts, the
ports it publishes, the environment variables it sets, the configuration files it ships)."""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema.validators import validator_for
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from model_service.core.config import Settings as ModelServiceSettings
from phishline_app.core.config import DEFAULT_PORTS as APP_PORTS
from phishline_app.core.config import Settings as AppSettings
from phishline_app.server import GRACEFUL_SHUTDOWN_SECONDS as APP_DRAIN_SECONDS

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "operation" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ALERTMANAGER_TEMPLATE = REPO / "operation" / "alertmanager" / "alertmanager.yml"
# The project's default local ports (also the ones the code defaults to, checked below).
CONTRACT_PORTS = {
    "app-v1": 8080,
    "model-service": 8081,
    "app-v2": 8082,
    "prometheus": 9090,
    "alertmanager": 9093,
    "grafana": 3000,
}
SMTP_SINK = "mailpit"
# Which code reads a service's PHISHLINE_* variables, by the Dockerfile its image builds from.
SETTINGS: dict[str, type[BaseSettings]] = {
    "model-service/Dockerfile": ModelServiceSettings,
    "app/Dockerfile": AppSettings,
}
# Variables whose defaults suit one machine, not a container: listening on 127.0.0.1 is
# unreachable from the other containers, and relative paths or 127.0.0.1 URLs point nowhere.
REQUIRED = {
    ModelServiceSettings: {"PHISHLINE_HOST", "PHISHLINE_PORT", "PHISHLINE_MODEL_DIR"},
    AppSettings: {
        "PHISHLINE_VARIANT", "PHISHLINE_HOST", "PHISHLINE_PORT",
        "PHISHLINE_MODEL_SERVICE_URL", "PHISHLINE_DATABASE_URL",
    },
}  # fmt: skip
PINNED_TAG = re.compile(r"[^:@]+:v?\d+\.\d+\.\d+")

Compose = dict[str, Any]


@pytest.fixture
def compose() -> Compose:
    loaded: Compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment: only what the compose file sets may count."""
    for name in list(os.environ):
        if name.startswith("PHISHLINE_"):
            monkeypatch.delenv(name)


def schema_errors(document: Compose) -> list[str]:
    schema = json.loads(
        (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    )
    validator = validator_for(schema)(schema)
    return [f"{list(err.absolute_path)}: {err.message}" for err in validator.iter_errors(document)]


def built_from(service: Compose) -> str | None:
    build = service.get("build")
    return None if build is None else str(build["dockerfile"])


def listening_port(service: Compose) -> int | None:
    """The port a project service listens on inside its container (PHISHLINE_PORT)."""
    port = service.get("environment", {}).get("PHISHLINE_PORT")
    return None if port is None else int(port)


def bind_mounts(service: Compose) -> Iterator[tuple[Path, str]]:
    """(host path, container path) of each bind mount; named volumes are not host paths."""
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/")):
                yield (COMPOSE_DIR / source).resolve(), target
        elif volume["type"] == "bind":
            yield (COMPOSE_DIR / volume["source"]).resolve(), volume["target"]


def named_mounts(service: Compose) -> dict[str, str]:
    """Named volume -> its container path."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2] if isinstance(volume, str) else ("", "")
        if source and not source.startswith((".", "/")):
            mounts[source] = target
    return mounts


def on_host(service: Compose, container_path: str) -> Path | None:
    """The repository file a container path of the service comes from, through its mounts."""
    wanted = PurePosixPath(container_path)
    for host, target in bind_mounts(service):
        if wanted == PurePosixPath(target) or PurePosixPath(target) in wanted.parents:
            return host / wanted.relative_to(target)
    return None


def pipeline_outputs() -> set[Path]:
    """What `dvc repro` writes (dvc.yaml outs): present after `make run`, never in git."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    outs = [out for stage in stages.values() for out in stage.get("outs", [])]
    return {(REPO / (out if isinstance(out, str) else next(iter(out)))).resolve() for out in outs}


def mount_problems(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for host, _ in bind_mounts(service):
            if REPO not in host.parents:
                problems.append(f"{name} mounts {host}, outside the repository")
            elif not host.exists() and host not in pipeline_outputs():
                problems.append(f"{name} mounts {host.relative_to(REPO)}, which does not exist")
        undeclared = set(named_mounts(service)) - set(compose.get("volumes", {}))
        problems += [f"{name} mounts the undeclared volume {volume}" for volume in undeclared]
    return problems


def port_problems(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        published = [str(port).split(":") for port in service.get("ports", [])]
        for host_ip, host_port, target in published:
            if host_ip != "127.0.0.1":
                problems.append(f"{name} publishes {host_port} beyond 127.0.0.1")
            if CONTRACT_PORTS.get(name, int(host_port)) != int(host_port):
                problems.append(f"{name} publishes {host_port}, not {CONTRACT_PORTS[name]}")
            if name not in CONTRACT_PORTS and int(host_port) in CONTRACT_PORTS.values():
                problems.append(f"{name} takes {host_port}, a port of another service")
            if listening_port(service) not in {None, int(target)}:
                problems.append(f"{name} listens on {listening_port(service)}, not {target}")
        if name in CONTRACT_PORTS and not published:
            problems.append(f"{name} publishes no port")
    return problems


def settings_problems(compose: Compose, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every PHISHLINE_* variable a service sets is a field of the Settings its code reads,
    the required ones are set, and the values validate."""
    problems = []
    for name, service in compose["services"].items():
        settings = SETTINGS.get(built_from(service) or "")
        if settings is None:
            continue
        environment = {key: str(value) for key, value in service.get("environment", {}).items()}
        fields = {f"PHISHLINE_{field.upper()}" for field in settings.model_fields}
        ours = {key for key in environment if key.startswith("PHISHLINE_")}
        problems += [f"{name} sets {key}, which no setting reads" for key in ours - fields]
        problems += [f"{name} does not set {key}" for key in REQUIRED[settings] - ours]
        with monkeypatch.context() as patch:
            for key, value in environment.items():
                patch.setenv(key, value)
            try:
                settings()
            except ValidationError as error:
                problems.append(f"{name}: {error}")
    return problems


def settings_of(service: Compose, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = SETTINGS[built_from(service) or ""]
    for key, value in service["environment"].items():
        monkeypatch.setenv(key, str(value))
    return settings()


def test_compose_file_follows_the_compose_specification(compose: Compose) -> None:
    assert schema_errors(compose) == []


def test_schema_rejects_a_malformed_compose_file(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["app-v1"]["ports"] = "8080"
    broken["services"]["app-v2"]["restart_policy"] = "always"
    assert len(schema_errors(broken)) >= 2


def test_stack_has_every_component(compose: Compose) -> None:
    assert set(CONTRACT_PORTS) | {SMTP_SINK} <= set(compose["services"])
    feedback = {
        volume
        for name in ("app-v1", "app-v2")
        for volume in named_mounts(compose["services"][name])
    }
    assert len(feedback) == 1, "both variants write the one feedback database"


def test_images_are_built_here_or_pinned(compose: Compose) -> None:
    for name, service in compose["services"].items():
        if built_from(service):
            assert (REPO / built_from(service)).is_file(), name
            assert (COMPOSE_DIR / service["build"]["context"]).resolve() == REPO
        else:
            assert PINNED_TAG.fullmatch(service["image"]), f"{name}: {service['image']}"


def test_mounted_files_exist(compose: Compose) -> None:
    assert mount_problems(compose) == []


def test_published_ports_are_the_project_defaults(compose: Compose) -> None:
    assert port_problems(compose) == []
    assert ModelServiceSettings.model_fields["port"].default == CONTRACT_PORTS["model-service"]
    assert {"v1": CONTRACT_PORTS["app-v1"], "v2": CONTRACT_PORTS["app-v2"]} == APP_PORTS


def test_environment_is_what_the_code_reads(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_problems(compose, monkeypatch) == []


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"([0-9]+)(s|m)", duration)
    assert match, duration
    return int(match.group(1)) * {"s": 1, "m": 60}[match.group(2)]


def test_servers_get_the_time_to_drain_before_docker_kills_them(compose: Compose) -> None:
    """On `docker compose stop` or `down`, Docker sends SIGTERM, then SIGKILL after the
    service's stop_grace_period (10 s unless set): it must outlast the server's drain of
    in-flight requests, with a margin for the shutdown after it."""
    services = compose["services"]
    environment = services["model-service"]["environment"]
    model_service_drain = int(
        environment.get(
            "PHISHLINE_SHUTDOWN_TIMEOUT",
            ModelServiceSettings.model_fields["shutdown_timeout"].default,
        )
    )
    drains = {
        "model-service": model_service_drain,
        "app-v1": APP_DRAIN_SECONDS,
        "app-v2": APP_DRAIN_SECONDS,
    }
    for name, drain in drains.items():
        grace = _seconds(services[name].get("stop_grace_period", "10s"))
        assert grace >= drain + 5, (name, grace, drain)


def test_checks_report_a_broken_compose_file(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = copy.deepcopy(compose)
    services = broken["services"]
    services["grafana"]["volumes"].append("../grafana/no-such-dir:/etc/x:ro")
    services["grafana"]["volumes"].append("undeclared:/var/x")
    services["app-v1"]["ports"] = ["0.0.0.0:18080:8090"]
    services["app-v2"]["environment"]["PHISHLINE_MODEL_HOST"] = "model-service"
    del services["app-v2"]["environment"]["PHISHLINE_HOST"]
    services["model-service"]["environment"]["PHISHLINE_MAX_BATCH"] = "many"
    services[SMTP_SINK]["ports"].append("127.0.0.1:9090:1025")
    assert len(mount_problems(broken)) == 2
    assert len(port_problems(broken)) == 4
    found = settings_problems(broken, monkeypatch)
    assert any("PHISHLINE_MODEL_HOST, which no setting reads" in p for p in found)
    assert any("does not set PHISHLINE_HOST" in p for p in found)
    assert any("max_batch" in p for p in found)


def test_apps_reach_model_service_and_share_the_feedback_volume(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    for name in ("app-v1", "app-v2"):
        settings = settings_of(services[name], monkeypatch)
        target = urlsplit(settings.model_service_url)
        assert target.hostname == "model-service"
        assert target.port == listening_port(services["model-service"])
        database = PurePosixPath(settings.database_url.removeprefix("sqlite:///"))
        volume_paths = {PurePosixPath(path) for path in named_mounts(services[name]).values()}
        assert database.parent in volume_paths, "the database outlives the container"
        assert settings.variant == name.removeprefix("app-")


def test_model_service_serves_the_pipeline_models_and_waits_until_ready(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = compose["services"]["model-service"]
    settings = settings_of(service, monkeypatch)
    assert on_host(service, str(settings.model_dir)) == (REPO / "models").resolve()
    probe = service["healthcheck"]["test"][-1]
    assert f"http://127.0.0.1:{listening_port(service)}/health/ready" in probe
    for name in ("app-v1", "app-v2"):
        depends = compose["services"][name]["depends_on"]["model-service"]
        assert depends["condition"] == "service_healthy"


def test_model_service_caches_a_fetched_model_on_a_writable_mount(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its root filesystem is read-only: a cache anywhere else fails when PHISHLINE_MODEL_URL
    # is set, and only then, so nothing else in the stack would show it.
    service = compose["services"]["model-service"]
    assert service["read_only"] is True
    cache = PurePosixPath(settings_of(service, monkeypatch).model_cache_dir)
    writable = [PurePosixPath(path) for path in service.get("tmpfs", [])]
    writable += [PurePosixPath(path) for path in named_mounts(service).values()]
    assert any(cache == mount or mount in cache.parents for mount in writable), cache


def test_prometheus_scrapes_the_stack_like_the_local_configuration(
    compose: Compose, tmp_path: Path
) -> None:
    services = compose["services"]
    prometheus = services["prometheus"]
    config_path = on_host(prometheus, "/etc/prometheus/prometheus.yml")
    assert config_path is not None
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    local = yaml.safe_load((REPO / "operation/prometheus/prometheus.yml").read_text("utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {job["job_name"] for job in local["scrape_configs"]}
    targets = [t for job in jobs.values() for c in job["static_configs"] for t in c["targets"]]
    alerting = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    for target in targets + alerting:
        host, port = target.split(":")
        if host == "localhost":
            continue  # Prometheus itself
        service = services[host]
        assert int(port) in {listening_port(service), CONTRACT_PORTS.get(host)}, target
    for rule_file in config["rule_files"]:
        rules = on_host(prometheus, f"/etc/prometheus/{rule_file}")
        assert rules == (REPO / "operation/prometheus/rules.yml").resolve()
        shutil.copy(rules, tmp_path / rule_file)
    shutil.copy(config_path, tmp_path / "prometheus.yml")
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alertmanager_configuration_renders_from_the_environment(
    compose: Compose, tmp_path: Path
) -> None:
    services = compose["services"]
    job = services["alertmanager-config"]
    script, out = job["command"][1], job["command"][-1]
    script_path = on_host(job, script)
    assert script_path is not None
    assert script_path.is_file()
    placeholders = set(re.findall(r"\$\{(\w+)\}", ALERTMANAGER_TEMPLATE.read_text("utf-8")))
    assert set(job["environment"]) <= placeholders, "every variable is one the template reads"
    smarthost = job["environment"]["PHISHLINE_ALERT_SMTP_SMARTHOST"]
    assert smarthost.split(":")[0] == SMTP_SINK
    # Alertmanager reads the file the job writes, through the volume both mount.
    alertmanager = services["alertmanager"]
    config_flag = next(a for a in alertmanager["command"] if a.startswith("--config.file="))
    read = PurePosixPath(config_flag.split("=", 1)[1])
    (shared,) = set(named_mounts(job)) & set(named_mounts(alertmanager))
    written = PurePosixPath(out).relative_to(named_mounts(job)[shared])
    assert read == PurePosixPath(named_mounts(alertmanager)[shared]) / written
    assert alertmanager["depends_on"]["alertmanager-config"]["condition"] == (
        "service_completed_successfully"
    )
    rendered = tmp_path / "alertmanager.yml"
    environment = {"PATH": os.environ.get("PATH", ""), **job["environment"]}
    render = subprocess.run(
        [sys.executable, str(script_path), "--out", str(rendered)],
        env=environment, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert render.returncode == 0, render.stderr
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (Debian package prometheus-alertmanager)")
    checked = subprocess.run(
        [amtool, "check-config", str(rendered)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_provisions_prometheus_and_the_dashboards(compose: Compose) -> None:
    grafana = compose["services"]["grafana"]
    provisioning = on_host(grafana, "/etc/grafana/provisioning")
    assert provisioning is not None
    (datasource,) = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    url = urlsplit(datasource["url"])
    assert (datasource["type"], url.hostname, url.port) == (
        "prometheus", "prometheus", CONTRACT_PORTS["prometheus"],
    )  # fmt: skip
    (provider,) = yaml.safe_load(
        (provisioning / "dashboards" / "phishline.yml").read_text(encoding="utf-8")
    )["providers"]
    dashboards = on_host(grafana, provider["options"]["path"])
    assert dashboards is not None
    assert sorted(dashboards.glob("*.json")), "the generated dashboards"
    home = on_host(grafana, grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home is not None
    assert home.is_file()
