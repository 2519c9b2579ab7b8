"""The GitHub workflows: actionlint (with shellcheck over the run scripts when it is installed)
and yamllint clean, and the release policy: actions pinned by full commit SHA, least-privilege
permissions, images with provenance and SBOM, and only commands that exist in the repository."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib_version.release.cli import parser as release_parser

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
YAMLLINT_CONFIG = REPO / ".yamllint.yaml"
BIN = Path(sys.executable).parent
IMAGES = {"model-service", "app", "model-training"}

_USES = re.compile(r"\buses:\s*(?P<ref>\S+)\s*(?P<comment>#.*)?$")
_PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
_VERSION_COMMENT = re.compile(r"# v\d+\.\d+\.\d+")
# What each write permission is for: a job holding it must do one of these (a `uses:` or a
# command). A job calling a workflow of this repository passes on what that workflow's jobs ask.
_WRITE_NEEDS = {
    "id-token": ("pypa/gh-action-pypi-publish",),
    "packages": ("docker/build-push-action",),
    "contents": ("gh release ", "/git/refs"),  # releases and their assets; creating a tag
    "actions": ("gh workflow run ",),
}
_PYTHON_MODULE = re.compile(r"python -m ([\w.]+)(?: (\w+))?")

BROKEN_WORKFLOW = """\
name: broken
on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "::set-output name=version::1.2.3"
      - run: echo "${{ github.no_such_field }}"
"""


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    return workflow


def tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in this venv (it is in requirements/dev.in)")
    return path


def unpinned_actions(text: str) -> list[str]:
    """`uses:` lines not pinned to a full commit SHA with a `# vX.Y.Z` comment (local
    reusable workflows, `./…`, are versioned with the repository and exempt)."""
    problems = []
    for line in text.splitlines():
        match = _USES.search(line)
        if match is None or match["ref"].startswith("./"):
            continue
        comment = (match["comment"] or "").strip()
        if not _PINNED.fullmatch(match["ref"]) or not _VERSION_COMMENT.fullmatch(comment):
            problems.append(line.strip())
    return problems


def called_writes(job: dict[str, Any]) -> set[str]:
    """The scopes that jobs of the local workflow a job calls ask write access for (GitHub
    refuses to start a run whose caller grants less, even for a job the call skips)."""
    uses = job.get("uses", "")
    if not uses.startswith("./.github/workflows/"):
        return set()
    return {
        scope
        for called in load(REPO / uses).get("jobs", {}).values()
        for scope, level in (called.get("permissions") or {}).items()
        if level == "write"
    }


def permission_problems(workflow: dict[str, Any]) -> list[str]:
    """Nothing granted by default, every job says what it needs, and each write permission
    is used by its job for the one thing it exists for."""
    problems = []
    if workflow.get("permissions") != {}:
        problems.append("the workflow must grant nothing by default: `permissions: {}`")
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        if not isinstance(permissions, dict):
            problems.append(f"{name}: no `permissions` mapping of its own")
            continue
        job_text = "\n".join(
            f"{step.get('uses', '')}\n{step.get('run', '')}" for step in job.get("steps", [])
        )
        for scope, level in permissions.items():
            used = any(marker in job_text for marker in _WRITE_NEEDS.get(scope, ()))
            if level == "write" and not used and scope not in called_writes(job):
                problems.append(f"{name}: `{scope}: write` is not used by the job")
    return problems


def image_build_problems(workflow: dict[str, Any]) -> list[str]:
    """Every image build pushes the tags and labels lib_version.release computed, with
    provenance and SBOM attestations, from the component's Dockerfile."""
    problems = []
    builds = [
        (job, step)
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("docker/build-push-action@")
    ]
    if not builds:
        problems.append("no docker/build-push-action step")
    for job, step in builds:
        options = step.get("with", {})
        if set(job.get("strategy", {}).get("matrix", {}).get("component", [])) != IMAGES:
            problems.append(f"the images built are not {sorted(IMAGES)}")
        expected = {
            "push": True, "provenance": True, "sbom": True,
            "file": "${{ matrix.component }}/Dockerfile",
            "tags": "${{ steps.meta.outputs.tags }}", "labels": "${{ steps.meta.outputs.labels }}",
        }  # fmt: skip
        problems += [
            f"build-push-action needs {key}: {value}"
            for key, value in expected.items()
            if options.get(key) != value
        ]
    return problems


def missing_commands(text: str) -> list[str]:
    """`python -m module [command]` in run scripts that this repository does not provide
    (a command given through a shell variable is not checked)."""
    usage = re.search(r"\{([\w,]+)\}", release_parser().format_usage())
    assert usage is not None
    commands = usage[1].split(",")
    problems = []
    for module, command in _PYTHON_MODULE.findall(text):
        if importlib.util.find_spec(module) is None:
            problems.append(f"no module {module}")
        elif module == "lib_version.release" and command and command not in commands:
            problems.append(f"lib_version.release has no command {command!r}")
    return problems


# The linters


def test_the_release_workflows_exist() -> None:
    names = {path.name for path in workflow_files()}
    assert {"ci.yml", "release.yml", "libs.yml", "model.yml"} <= names


def test_actionlint_passes() -> None:
    result = subprocess.run(
        [tool("actionlint"), "-no-color", *workflow_files()],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_set_output_and_unknown_contexts(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(BROKEN_WORKFLOW)
    result = subprocess.run(
        [tool("actionlint"), "-no-color", broken],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert '"set-output" was deprecated' in result.stdout
    assert "no_such_field" in result.stdout


def test_yamllint_passes() -> None:
    result = subprocess.run(
        [tool("yamllint"), "--strict", "-c", YAMLLINT_CONFIG, WORKFLOWS, YAMLLINT_CONFIG],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_rejects_sloppy_yaml(tmp_path: Path) -> None:
    sloppy = tmp_path / "sloppy.yml"
    sloppy.write_text("on: push\njobs: {}\njobs: {}\nenabled: yes   \n")
    result = subprocess.run(
        [tool("yamllint"), "--strict", "-c", YAMLLINT_CONFIG, sloppy],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    for rule in ("key-duplicates", "truthy", "trailing-spaces"):
        assert rule in result.stdout


# The policy


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha(path: Path) -> None:
    assert unpinned_actions(path.read_text(encoding="utf-8")) == []


def test_unpinned_actions_are_caught() -> None:
    text = """
      - uses: actions/checkout@v4
      - uses: actions/checkout@main
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - uses: actions/checkout@11bd719 # v4.2.2
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - uses: ./.github/workflows/ci.yml
    """
    assert len(unpinned_actions(text)) == 5


def uploads(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "actions/upload-artifact@" in step.get("uses", "")
    ]


def uploads_lost_on_a_rerun(workflow: dict[str, Any]) -> list[str]:
    """upload-artifact v4 and later refuse a name the run already holds (409 Conflict), which
    a re-run of the job can meet: every upload must replace its artifact instead."""
    return [
        step.get("name", step["uses"])
        for step in uploads(workflow)
        if (step.get("with") or {}).get("overwrite") is not True
    ]


def uploading_workflows() -> list[Path]:
    """The workflows that upload artifacts (by their text, not by the parse checked below)."""
    return [p for p in workflow_files() if "actions/upload-artifact@" in p.read_text("utf-8")]


@pytest.mark.parametrize("path", uploading_workflows(), ids=lambda p: p.name)
def test_artifact_uploads_survive_a_rerun(path: Path) -> None:
    workflow = load(path)
    assert uploads(workflow), "an upload the check does not see"
    assert uploads_lost_on_a_rerun(workflow) == []


def test_uploads_that_a_rerun_would_refuse_are_caught() -> None:
    workflow = load(WORKFLOWS / "ci.yml")
    (upload,) = uploads(workflow)
    upload["name"] = "coverage"
    for options in ({"name": "x"}, {"name": "x", "overwrite": "true"}, None):
        upload["with"] = options
        assert uploads_lost_on_a_rerun(workflow) == ["coverage"]


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_permissions_are_least_privilege(path: Path) -> None:
    assert permission_problems(load(path)) == []


def test_excess_permissions_are_caught() -> None:
    workflow = {
        "permissions": "write-all",
        "jobs": {
            "lint": {"steps": [{"run": "make lint"}]},
            "build": {
                "permissions": {"contents": "read", "id-token": "write", "packages": "write"},
                "steps": [{"uses": "docker/build-push-action@x"}],
            },
            "tests": {
                "permissions": {"contents": "write"},
                "uses": "./.github/workflows/ci.yml",  # its jobs only read
            },
        },
    }
    assert permission_problems(workflow) == [
        "the workflow must grant nothing by default: `permissions: {}`",
        "lint: no `permissions` mapping of its own",
        "build: `id-token: write` is not used by the job",
        "tests: `contents: write` is not used by the job",
    ]


def test_images_are_built_with_provenance_sbom_and_computed_tags() -> None:
    assert image_build_problems(load(WORKFLOWS / "release.yml")) == []


def test_image_build_gaps_are_caught() -> None:
    workflow = load(WORKFLOWS / "release.yml")
    images = workflow["jobs"]["images"]
    images["strategy"]["matrix"]["component"].remove("app")
    build = next(s for s in images["steps"] if "build-push" in s.get("uses", ""))
    build["with"]["sbom"] = False
    del build["with"]["provenance"]
    assert image_build_problems(workflow) == [
        "the images built are not ['app', 'model-service', 'model-training']",
        "build-push-action needs provenance: True",
        "build-push-action needs sbom: True",
    ]
    assert image_build_problems({"jobs": {}}) == ["no docker/build-push-action step"]


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflows_call_only_existing_commands(path: Path) -> None:
    assert missing_commands(path.read_text(encoding="utf-8")) == []


def test_missing_commands_are_caught() -> None:
    text = "python -m lib_version.release bump\npython -m model_training.no_such_stage\n"
    assert missing_commands(text) == [
        "lib_version.release has no command 'bump'",
        "no module model_training.no_such_stage",
    ]


def test_ci_runs_make_test_on_both_pythons_and_keeps_coverage() -> None:
    job = load(WORKFLOWS / "ci.yml")["jobs"]["test"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(run.startswith("make test") for run in runs)
    uploads = [s["with"] for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert [upload["path"] for upload in uploads] == ["coverage.xml"]


def test_the_release_attaches_the_chart_of_its_version() -> None:
    """tests/helm/test_release_chart.py shows what such a chart deploys."""
    steps = load(WORKFLOWS / "release.yml")["jobs"]["release"]["steps"]
    package = next(step for step in steps if "helm package" in step.get("run", ""))
    assert package["env"]["VERSION"] == "${{ needs.version.outputs.version }}"
    assert re.search(
        r"helm package operation/helm/phishline --version \"\$VERSION\" "
        r"--app-version \"\$VERSION\"",
        package["run"],
    )
    create = next(step for step in steps if "gh release create" in step.get("run", ""))
    assert steps.index(package) < steps.index(create)
    assert '"$RUNNER_TEMP"/chart/phishline-*.tgz' in create["run"]


def test_the_model_release_trains_at_the_commits_time() -> None:
    """So that a rebuild of the tag gives the same artifacts, byte for byte (docs/training.md)."""
    steps = load(WORKFLOWS / "model.yml")["jobs"]["build"]["steps"]
    (repro,) = [step for step in steps if "dvc repro" in step.get("run", "")]
    assert repro["run"].strip() == 'SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" dvc repro'


# The release order: nothing is published before the tests and the model gate have passed


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # PyYAML reads GitHub's `on:` key as the boolean True (YAML 1.1).
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def upstream(jobs: dict[str, Any], name: str) -> set[str]:
    """The jobs that must succeed before job `name` runs: its needs, transitively."""
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(upstream(jobs, need) for need in direct))


def test_nothing_is_published_before_the_tests_and_the_model_gate() -> None:
    jobs = load(WORKFLOWS / "release.yml")["jobs"]
    model = jobs["model"]
    assert model["uses"] == "./.github/workflows/model.yml"
    assert model["with"] == {"tag": "${{ needs.version.outputs.tag }}"}
    assert upstream(jobs, "model") == {"version"}  # trains while the tests run
    # Every job of its own that may write somewhere (tag, GHCR, release) waits for both.
    publishing = {
        name
        for name, job in jobs.items()
        if "steps" in job and "write" in job["permissions"].values()
    }
    assert publishing == {"tag", "images", "release"}
    for name in publishing:
        assert {"ci", "model"} <= upstream(jobs, name), name
    assert "model" in jobs["images"]["needs"]
    # The tag is taken before the images are pushed, the release made after them.
    assert "tag" in upstream(jobs, "images")
    assert "images" in upstream(jobs, "release")


def images_unbuilt_before_the_tag(ci: dict[str, Any], release: dict[str, Any]) -> list[str]:
    """The release pushes its images after the tag is made: each must have been built, without
    pushing, by ci.yml, which the tag job waits for, or a Dockerfile that fails leaves a tag
    and no image."""
    released = set(release["jobs"]["images"]["strategy"]["matrix"]["component"])
    problems = []
    if "ci" not in upstream(release["jobs"], "tag"):
        problems.append("the tag job does not wait for ci.yml")
    job = ci["jobs"].get("images", {})
    built = set(job.get("strategy", {}).get("matrix", {}).get("component", []))
    if missing := sorted(released - built):
        problems.append(f"ci.yml does not build {missing}")
    for step in job.get("steps", []):
        if step.get("uses", "").startswith("docker/build-push-action@"):
            options = step.get("with", {})
            if options.get("push") is not False:
                problems.append("ci.yml pushes its images")
            if options.get("file") != "${{ matrix.component }}/Dockerfile":
                problems.append("ci.yml builds another Dockerfile than the release")
    return problems


def test_every_released_image_is_built_before_the_tag() -> None:
    ci, release = load(WORKFLOWS / "ci.yml"), load(WORKFLOWS / "release.yml")
    assert images_unbuilt_before_the_tag(ci, release) == []


def test_an_image_left_unbuilt_before_the_tag_is_caught() -> None:
    ci, release = load(WORKFLOWS / "ci.yml"), load(WORKFLOWS / "release.yml")
    job = ci["jobs"]["images"]
    job["strategy"]["matrix"]["component"].remove("app")
    build = next(s for s in job["steps"] if "build-push" in s.get("uses", ""))
    build["with"]["push"] = True
    build["with"]["file"] = "Dockerfile"
    release["jobs"]["tag"]["needs"] = ["version", "model"]
    assert images_unbuilt_before_the_tag(ci, release) == [
        "the tag job does not wait for ci.yml",
        "ci.yml does not build ['app']",
        "ci.yml pushes its images",
        "ci.yml builds another Dockerfile than the release",
    ]
    del ci["jobs"]["images"]
    assert images_unbuilt_before_the_tag(ci, release)[1] == (
        "ci.yml does not build ['app', 'model-service', 'model-training']"
    )


PLANNED = "needs.version.outputs.release == 'true'"
# A job whose `if` calls one of these runs although a job it needs was skipped.
_STATUS_FUNCTIONS = re.compile(r"\b(?:always|failure|cancelled)\(")


def unplanned_jobs(jobs: dict[str, Any]) -> list[str]:
    """The jobs after `version` that would run when it planned no release: neither their own
    `if` requires the planned release nor is one of their needs skipped without it (GitHub
    skips a job whose needs were skipped, unless its `if` asks for always() or the like)."""

    def skipped_without_a_release(name: str) -> bool:
        job = jobs[name]
        condition = str(job.get("if", "")).strip()
        condition = condition.removeprefix("${{").removesuffix("}}").strip()
        if condition == PLANNED or condition.startswith(f"{PLANNED} && "):
            return True
        if _STATUS_FUNCTIONS.search(condition):
            return False
        needs = job.get("needs", [])
        direct = [needs] if isinstance(needs, str) else needs
        return any(skipped_without_a_release(need) for need in direct)

    return sorted(
        name
        for name in jobs
        if "version" in upstream(jobs, name) and not skipped_without_a_release(name)
    )


def test_nothing_runs_when_no_release_is_planned() -> None:
    """Commits that ask for no release (all #none) neither test nor train nor publish."""
    jobs = load(WORKFLOWS / "release.yml")["jobs"]
    assert unplanned_jobs(jobs) == []
    # The jobs next to the plan carry the condition themselves; the later ones inherit it.
    for name in ("ci", "model"):
        assert jobs[name]["needs"] == "version"
        assert jobs[name]["if"] == PLANNED, name


def test_jobs_running_without_a_planned_release_are_caught() -> None:
    jobs = load(WORKFLOWS / "release.yml")["jobs"]
    jobs["model"].pop("if", None)
    jobs["release"]["if"] = "always()"
    jobs["extra"] = {"needs": "version", "if": f"{PLANNED} || github.event_name == 'push'"}
    assert unplanned_jobs(jobs) == ["extra", "model", "release"]


def test_the_model_workflow_is_called_with_the_release_tag() -> None:
    workflow = load(WORKFLOWS / "model.yml")
    on = triggers(workflow)
    assert "workflow_dispatch" in on  # dry runs on a branch, attaching to a tag's release
    assert on["workflow_call"]["inputs"]["tag"]["type"] == "string"
    assert on["workflow_call"]["inputs"]["tag"]["required"] is True
    steps = workflow["jobs"]["build"]["steps"]
    (package,) = [step for step in steps if "release_bundle" in step.get("run", "")]
    assert package["env"]["RELEASE"].startswith("${{ inputs.tag || ")
    # Called, the caller attaches: model.yml's own attach job is for manual runs only.
    assert "github.event_name == 'workflow_dispatch'" in workflow["jobs"]["attach"]["if"]


def test_the_release_attaches_the_model_archive_it_gated() -> None:
    (upload,) = [
        step["with"]
        for step in load(WORKFLOWS / "model.yml")["jobs"]["build"]["steps"]
        if "upload-artifact" in step.get("uses", "")
    ]
    steps = load(WORKFLOWS / "release.yml")["jobs"]["release"]["steps"]
    (download,) = [step for step in steps if "download-artifact" in step.get("uses", "")]
    assert download["with"]["name"] == upload["name"]
    create = next(step for step in steps if "gh release create" in step.get("run", ""))
    assert steps.index(download) < steps.index(create)
    for asset in ("phishline-models.tar.gz", "metrics.json", "MODEL_CARD.md"):
        assert asset in create["run"]
    # Nothing starts model.yml after the release: it was gated before anything was published.
    jobs = load(WORKFLOWS / "release.yml")["jobs"].values()
    runs = [step.get("run", "") for job in jobs for step in job.get("steps", [])]
    assert [run for run in runs if "model.yml" in run] == []


GH_STUB = """\
#!/usr/bin/env bash
# gh as the release steps call it: records each call; STUB_RELEASE is what `release view TAG`
# prints (unset: no such release), STUB_LATEST the tag `release view` without a tag prints,
# the repository's latest release (unset: there is none; STUB_LATEST_ERROR: gh fails so).
# `gh api` is gh-api.py, against the tags of a fake repository.
echo "$*" >> "$GH_LOG"
case "$1 $2" in
  "release view")
    if [ "$3" = --repo ]; then
      [ -z "${STUB_LATEST_ERROR:-}" ] || { echo "$STUB_LATEST_ERROR" >&2; exit 1; }
      [ -n "${STUB_LATEST:-}" ] || { echo "release not found" >&2; exit 1; }
      echo "$STUB_LATEST"
    else
      [ -n "${STUB_RELEASE:-}" ] || { echo "release not found" >&2; exit 1; }
      echo "$STUB_RELEASE"
    fi ;;
  "api "*) exec python "$(dirname "$0")/gh-api.py" "${@:2}" ;;
esac
"""

GH_API_STUB = """\
\"\"\"`gh api` for the git data endpoints the tag job calls, against the repository in
GH_REMOTE: refs/tags/NAME holds the sha that tag ref points at, tags/SHA.json an annotated
tag object (its message ends in a newline, as git stores it). Errors are GitHub's: creating
a ref that exists is a 422. --jq takes comma-separated paths only: `.object.sha, .message`.\"\"\"
import hashlib
import json
import os
import sys
from pathlib import Path

remote = Path(os.environ["GH_REMOTE"])
method, path, jq, silent, fields = "GET", None, None, False, {}
args = iter(sys.argv[1:])
for arg in args:
    if arg == "--method":
        method = next(args)
    elif arg == "--jq":
        jq = next(args)
    elif arg == "--silent":
        silent = True
    elif arg == "-f":
        key, _, value = next(args).partition("=")
        fields[key] = value
    elif path is None and not arg.startswith("-"):
        path = arg
    else:
        sys.exit(f"fake gh api: unexpected {arg}")


def fail(status, message):
    sys.exit(f"gh: {message} (HTTP {status})")


def ref(name):
    sha = (remote / name).read_text()
    kind = "tag" if (remote / "tags" / f"{sha}.json").exists() else "commit"
    return {"ref": name, "object": {"type": kind, "sha": sha}}


endpoint = path.removeprefix(f"repos/{os.environ['GITHUB_REPOSITORY']}/git/")
if (method, endpoint) == ("POST", "tags"):
    assert fields["type"] == "commit", fields
    answer = {
        "tag": fields["tag"], "message": fields["message"].rstrip("\\n") + "\\n",
        "object": {"type": "commit", "sha": fields["object"]},
    }
    answer["sha"] = hashlib.sha1(json.dumps(answer, sort_keys=True).encode()).hexdigest()
    (remote / "tags").mkdir(parents=True, exist_ok=True)
    (remote / "tags" / f"{answer['sha']}.json").write_text(json.dumps(answer))
elif (method, endpoint) == ("POST", "refs"):
    name = fields["ref"]
    if (remote / name).exists():
        fail(422, "Reference already exists")
    (remote / name).parent.mkdir(parents=True, exist_ok=True)
    (remote / name).write_text(fields["sha"])
    answer = ref(name)
elif method == "GET" and endpoint.startswith("ref/tags/"):
    name = "refs/" + endpoint.removeprefix("ref/")
    if not (remote / name).exists():
        fail(404, "Not Found")
    answer = ref(name)
elif method == "GET" and endpoint.startswith("tags/"):
    found = remote / f"{endpoint}.json"
    if not found.exists():
        fail(404, "Not Found")
    answer = json.loads(found.read_text())
else:
    sys.exit(f"fake gh api: no {method} {path}")

if not silent:
    for expression in (jq or ".").split(","):
        value = answer
        for key in filter(None, expression.strip().split(".")):
            value = value[key]
        print(value if isinstance(value, str) else json.dumps(value))
"""


def run_step(
    step: dict[str, Any], tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """A step's script as the runner runs it (bash -eo pipefail) with a recording gh, and
    `python` with lib_version.release on its path as the workflow's PYTHONPATH gives it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(GH_STUB)
    (bin_dir / "gh").chmod(0o755)
    (bin_dir / "gh-api.py").write_text(GH_API_STUB)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    log = tmp_path / "gh.log"
    log.write_text("")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin", "GH_LOG": str(log), "RUNNER_TEMP": str(tmp_path),
            "GH_REMOTE": str(tmp_path / "remote"), "GITHUB_REPOSITORY": "owner/repo",
            "GITHUB_SHA": "c0ffee", "GITHUB_RUN_ID": "42", "TAG": "v1.2.3",
            "PYTHONPATH": str(REPO / "lib-version" / "src"), "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        },
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return result, log.read_text().splitlines()


@pytest.fixture
def release_step(tmp_path: Path) -> dict[str, Any]:
    """The release step, with the chart, the downloaded model archive and the notes in place."""
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "phishline-1.2.3.tgz").write_bytes(b"chart")
    (tmp_path / "notes.md").write_text("notes\n")
    model = tmp_path / "model"
    model.mkdir()
    for name in ("metrics.json", "MODEL_CARD.md"):
        (tmp_path / name).write_text(name)
    subprocess.run(
        ["tar", "-czf", model / "phishline-models.tar.gz", "metrics.json", "MODEL_CARD.md"],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    steps = load(WORKFLOWS / "release.yml")["jobs"]["release"]["steps"]
    return next(step for step in steps if "gh release create" in step.get("run", ""))


def release_assets(tmp_path: Path) -> str:
    return " ".join(
        f"{tmp_path}/{name}"
        for name in (
            "chart/phishline-1.2.3.tgz", "model/phishline-models.tar.gz",
            "model/metrics.json", "model/MODEL_CARD.md",
        )
    )  # fmt: skip


RELEASE_ENV = {"PREVIOUS": "v1.2.2", "PRERELEASE": "false"}
# `gh release view` without a tag: the repository's latest release, asked when publishing.
VIEW_LATEST = "release view --repo owner/repo --json tagName --jq .tagName"


def test_the_release_step_creates_the_release_with_its_assets(
    release_step: dict[str, Any], tmp_path: Path
) -> None:
    result, calls = run_step(release_step, tmp_path, STUB_LATEST="v1.2.2", **RELEASE_ENV)
    assert result.returncode == 0, result.stderr
    latest, view, create = calls
    assert latest == VIEW_LATEST
    assert view.startswith("release view v1.2.3 ")
    assert create.startswith(f"release create v1.2.3 {release_assets(tmp_path)} ")
    assert "--notes-start-tag v1.2.2" in create
    assert "--latest=true" in create  # the highest release so far
    assert "--verify-tag" in create  # the tag job made it
    assert (tmp_path / "model" / "MODEL_CARD.md").read_text() == "MODEL_CARD.md"

    result, calls = run_step(release_step, tmp_path, **{**RELEASE_ENV, "PRERELEASE": "true"})
    assert result.returncode == 0, result.stderr
    assert VIEW_LATEST not in calls  # a pre-release is never the latest: nothing to ask
    assert " --prerelease" in calls[1]
    assert "--latest" not in calls[1]


def test_a_rerun_uploads_to_the_release_it_created(
    release_step: dict[str, Any], tmp_path: Path
) -> None:
    env = {**RELEASE_ENV, "STUB_LATEST": "v1.2.2"}
    result, calls = run_step(release_step, tmp_path, STUB_RELEASE="false", **env)
    assert result.returncode == 0, result.stderr
    assert calls[2:] == [
        f"release upload v1.2.3 --repo owner/repo --clobber {release_assets(tmp_path)}"
    ]
    # A draft left by an interrupted upload is completed and published.
    result, calls = run_step(release_step, tmp_path, STUB_RELEASE="true", **env)
    assert result.returncode == 0, result.stderr
    assert calls[2].startswith("release upload v1.2.3 ")
    assert calls[3:] == ["release edit v1.2.3 --repo owner/repo --draft=false --latest=true"]


def test_a_rerun_after_a_newer_release_leaves_that_one_latest(
    release_step: dict[str, Any], tmp_path: Path
) -> None:
    """The run planned v1.2.3 as the highest release, and was re-run after v1.3.0 came out:
    what the plan said (LATEST, once passed to this step) no longer holds."""
    env = {**RELEASE_ENV, "LATEST": "true", "STUB_LATEST": "v1.3.0"}
    result, calls = run_step(release_step, tmp_path, STUB_RELEASE="true", **env)
    assert result.returncode == 0, result.stderr
    assert calls[-1] == "release edit v1.2.3 --repo owner/repo --draft=false --latest=false"
    assert calls[0] == VIEW_LATEST
    # The release was not created yet: it is created without taking "latest" either.
    result, calls = run_step(release_step, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    create = calls[-1]
    assert create.startswith("release create v1.2.3 ")
    assert "--latest=false" in create
    assert "--latest=true" not in create


def test_the_first_release_of_a_repository_is_latest(
    release_step: dict[str, Any], tmp_path: Path
) -> None:
    result, calls = run_step(release_step, tmp_path, **{**RELEASE_ENV, "PREVIOUS": ""})
    assert result.returncode == 0, result.stderr
    latest, _, create = calls
    assert latest == VIEW_LATEST  # gh: "release not found"
    assert "--latest=true" in create
    assert "--notes-start-tag" not in create


def test_the_release_step_stops_when_the_latest_release_is_unknown(
    release_step: dict[str, Any], tmp_path: Path
) -> None:
    """Any other failure of gh is no answer: stop before publishing; a re-run asks again."""
    env = {**RELEASE_ENV, "STUB_LATEST_ERROR": "HTTP 502: Bad Gateway"}
    result, calls = run_step(release_step, tmp_path, **env)
    assert result.returncode == 1
    assert "HTTP 502" in result.stderr
    assert calls == [VIEW_LATEST]


@pytest.fixture
def tag_step() -> dict[str, Any]:
    (step,) = load(WORKFLOWS / "release.yml")["jobs"]["tag"]["steps"]
    return step


def push_tag(tmp_path: Path, tag: str, commit: str, message: str | None = None) -> None:
    """A tag in gh-api.py's repository, as `git push` would make it: lightweight, or annotated
    with message."""
    remote = tmp_path / "remote"
    sha = commit
    if message is not None:
        sha = f"tag-object-of-{tag}"
        (remote / "tags").mkdir(parents=True, exist_ok=True)
        (remote / "tags" / f"{sha}.json").write_text(
            json.dumps({"sha": sha, "tag": tag, "message": f"{message}\n",
                        "object": {"type": "commit", "sha": commit}})
        )  # fmt: skip
    (remote / "refs" / "tags").mkdir(parents=True, exist_ok=True)
    (remote / "refs" / "tags" / tag).write_text(sha)


def tag_ref(tmp_path: Path, tag: str) -> str:
    """The sha refs/tags/<tag> of gh-api.py's repository points at."""
    return (tmp_path / "remote" / "refs" / "tags" / tag).read_text()


def remote_tag(tmp_path: Path, tag: str) -> tuple[str, str | None]:
    """The commit a tag of gh-api.py's repository is on, and its message (None: lightweight)."""
    sha = tag_ref(tmp_path, tag)
    annotated = tmp_path / "remote" / "tags" / f"{sha}.json"
    if not annotated.exists():
        return sha, None
    found = json.loads(annotated.read_text())
    return found["object"]["sha"], found["message"]


CREATE_TAG_OBJECT = (
    "api --method POST repos/owner/repo/git/tags --jq .sha"
    " -f tag=v1.2.3 -f message=release run 42 -f object=c0ffee -f type=commit"
)
BRANCH = {"REF_TYPE": "branch", "REF_NAME": "main"}


def test_the_tag_job_takes_the_version_with_a_tag_naming_its_run(
    tag_step: dict[str, Any], tmp_path: Path
) -> None:
    result, calls = run_step(tag_step, tmp_path, **BRANCH)
    assert result.returncode == 0, result.stderr
    assert "v1.2.3 created on c0ffee by release run 42" in result.stdout
    assert calls[0] == CREATE_TAG_OBJECT
    assert calls[1].startswith("api --method POST repos/owner/repo/git/refs --silent ")
    assert calls[1].endswith(" -f ref=refs/tags/v1.2.3 -f sha=" + tag_ref(tmp_path, "v1.2.3"))
    # An annotated tag on the released commit, whose message names the run.
    assert remote_tag(tmp_path, "v1.2.3") == ("c0ffee", "release run 42\n")


def test_a_later_attempt_of_the_run_that_made_the_tag_goes_on(
    tag_step: dict[str, Any], tmp_path: Path
) -> None:
    """Every attempt of a run has its run id: "Re-run all jobs" runs the tag job again, and so
    does "Re-run failed jobs" when creating the ref failed on the way back after GitHub made it."""
    push_tag(tmp_path, "v1.2.3", "c0ffee", "release run 42")
    result, calls = run_step(tag_step, tmp_path, **BRANCH)
    assert result.returncode == 0, result.stderr
    assert "v1.2.3 is on c0ffee already: release run 42 made it in an earlier attempt" in (
        result.stdout
    )
    sha = tag_ref(tmp_path, "v1.2.3")
    assert calls[2:] == [
        "api repos/owner/repo/git/ref/tags/v1.2.3 --jq .object.type, .object.sha",
        f"api repos/owner/repo/git/tags/{sha} --jq .object.sha, .message",
    ]
    assert remote_tag(tmp_path, "v1.2.3") == ("c0ffee", "release run 42\n")  # untouched


@pytest.mark.parametrize(
    ("message", "maker"),
    [
        (None, "it was pushed"),  # by hand: the run of that push releases it
        ("release run 41", 'its message says "release run 41"'),  # another branch's run
        ("Hotfix\n\nrelease run 42 is not this", 'its message says "Hotfix"'),  # pushed
    ],
)
def test_any_other_run_stops_at_a_tag_on_its_own_commit(
    tag_step: dict[str, Any], tmp_path: Path, message: str | None, maker: str
) -> None:
    """Main releasing the commit on which a maintainer pushed vX.Y.Z, or two branches at one
    commit planning the same beta: only the run the tag belongs to publishes the version."""
    push_tag(tmp_path, "v1.2.3", "c0ffee", message)
    result, _ = run_step(tag_step, tmp_path, **BRANCH)
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"::error::v1.2.3 is on c0ffee already but not this run's ({maker}): the run that made"
        " it, or that its push started, releases it; re-run all jobs (or push again)"
    )
    assert remote_tag(tmp_path, "v1.2.3") == ("c0ffee", None if message is None else f"{message}\n")


@pytest.mark.parametrize("message", [None, "release run 41", "release run 42"])
def test_a_tag_on_another_commit_stops_the_run(
    tag_step: dict[str, Any], tmp_path: Path, message: str | None
) -> None:
    push_tag(tmp_path, "v1.2.3", "bad", message)
    result, _ = run_step(tag_step, tmp_path, **BRANCH)
    assert result.returncode == 1
    assert "::error::v1.2.3 is taken by bad; re-run all jobs (or push again)" in result.stdout


def test_the_run_its_pushed_tag_started_goes_on(tag_step: dict[str, Any], tmp_path: Path) -> None:
    push_tag(tmp_path, "v1.2.3", "c0ffee")
    result, calls = run_step(tag_step, tmp_path, REF_TYPE="tag", REF_NAME="v1.2.3")
    assert result.returncode == 0, result.stderr
    assert "v1.2.3 was pushed and started this run" in result.stdout
    assert calls == []  # the tag is the trigger: nothing to create or ask
    # The run of another tag's push is any other run.
    result, _ = run_step(tag_step, tmp_path, REF_TYPE="tag", REF_NAME="v1.2.4")
    assert result.returncode == 1
    assert "it was pushed" in result.stdout


@pytest.mark.parametrize(
    ("release", "published"),
    [(None, False), ("true", False), ("false", True)],  # no release, a draft, published
)
def test_libraries_are_published_only_for_a_released_tag(
    tmp_path: Path, release: str | None, published: bool
) -> None:
    """A pushed tag exists before its run has passed the tests and the model gate: run by hand
    on it, libs.yml must not put a version on PyPI that has no GitHub Release."""
    steps = load(WORKFLOWS / "libs.yml")["jobs"]["build"]["steps"]
    (check,) = [step for step in steps if "gh release view" in step.get("run", "")]
    build = next(step for step in steps if "uv" in step.get("run", ""))
    assert steps.index(check) < steps.index(build)
    assert check["env"]["TAG"] == "${{ github.ref_name }}"
    stub = {} if release is None else {"STUB_RELEASE": release}
    result, calls = run_step(check, tmp_path, **stub)
    assert calls == ["release view v1.2.3 --repo owner/repo --json isDraft --jq .isDraft"]
    if published:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1
        assert "::error::v1.2.3 has no published GitHub Release" in result.stdout
