"""Each stage of dvc.yaml lists as dependencies all the project code its module runs: every
module of the project's packages that it imports, directly or not. A change to any of them
reruns the stage, so `dvc repro` never keeps outputs that older code produced."""

import ast
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

SOURCE_ROOTS = {
    "model_training": REPO / "model-training" / "src",
    "lib_ml": REPO / "lib-ml" / "src",
}
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def module_file(name: str) -> Path | None:
    """The file of a project module (a package's __init__.py), or None: a third-party
    module, or a name imported from a package rather than a module."""
    root = SOURCE_ROOTS.get(name.partition(".")[0])
    if root is None:
        return None
    base = root.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path) -> set[str]:
    """Every module a file may import, anywhere in it (lazy imports included), with the
    packages that importing it runs first."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            assert node.module, f"{path}: relative import"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {
        ".".join(parts[:end])
        for parts in (name.split(".") for name in names)
        for end in range(1, len(parts) + 1)
    }


def code_of(module: str) -> set[Path]:
    """The project files that running `python -m module` imports."""
    start = module_file(module)
    assert start is not None, module
    seen, pending = set(), [start]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending.extend(filter(None, map(module_file, imported_names(path))))
        package_init = path.parent / "__init__.py"  # runs before any module of its package
        if package_init.is_file():
            pending.append(package_init)
    return seen


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_depends_on_all_the_code_it_runs(stage: str) -> None:
    command = STAGES[stage]["cmd"]
    assert command.startswith("python -m "), command
    dependencies = [REPO / dependency for dependency in STAGES[stage]["deps"]]
    missing = sorted(
        str(path.relative_to(REPO))
        for path in code_of(command.removeprefix("python -m "))
        if not any(path == dependency or dependency in path.parents for dependency in dependencies)
    )
    assert not missing, f"dvc.yaml stage {stage} does not depend on {missing}"


def test_the_import_walk_finds_what_a_stage_runs() -> None:
    """The walk itself: prepare normalizes URLs with lib-ml and reads sources."""
    files = code_of("model_training.prepare")
    assert SOURCE_ROOTS["lib_ml"] / "lib_ml" / "urls.py" in files
    assert SOURCE_ROOTS["model_training"] / "model_training" / "sources.py" in files
    assert SOURCE_ROOTS["model_training"] / "model_training" / "__init__.py" in files
    assert not any(path.name == "train.py" for path in files)
