"""Mutation testing of lib-ml (mutmut) and its report, reports/mutation.md.

mutmut changes lib-ml's code one small edit at a time (a mutant) and runs lib-ml's tests
against each: a mutant that no test notices (it survives) marks behaviour no test pins down.
A run takes longer than `make test` can afford, so it is `make mutation`.

The run happens in a workspace under build/ holding a copy of lib-ml's src/ and tests/ and
the mutmut configuration, inside the repository so that pytest finds the root configuration.
"""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from model_training.config import project_root

WORKSPACE = Path("build") / "mutation"
REPORT = Path("reports") / "mutation.md"
# Hypothesis draws from a fixed seed: every mutant meets the same examples. One pytest
# argument per line (mutmut splits lists at line ends only). Mutants run in processes forked
# from a server that has run no test: forked from one that has, functions behind a cache
# that the tests filled (`_brand_lookalike`) would never call their mutants. The README is
# copied too: a test runs its example.
SETUP_CFG = """[mutmut]
source_paths = src
also_copy =
    README.md
pytest_add_cli_args =
    --hypothesis-seed=0
    -p
    no:cacheprovider
process_isolation = forkserver
"""
DETECTED = ("killed", "timeout")
THREAD_POOLS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_RESULT = re.compile(r"^\s*(?P<mutant>[\w.]+)__mutmut_\d+: (?P<status>[\w ]+?)\s*$")


def prepare_workspace(root: Path) -> Path:
    """A fresh copy of lib-ml's src/, tests/ and README with the mutmut configuration."""
    workspace = root / WORKSPACE
    shutil.rmtree(workspace, ignore_errors=True)
    for part in ("src", "tests"):
        shutil.copytree(
            root / "lib-ml" / part,
            workspace / part,
            ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"),
        )
    shutil.copy2(root / "lib-ml" / "README.md", workspace / "README.md")
    (workspace / "setup.cfg").write_text(SETUP_CFG, encoding="utf-8")
    return workspace


def mutmut(workspace: Path, *args: str) -> str:
    """Run mutmut (from this interpreter's environment) in the workspace; its stdout."""
    executable = Path(sys.executable).parent / "mutmut"
    # mutmut forks the test process for each mutant: thread pools (OpenMP in LightGBM,
    # OpenBLAS) do not survive a fork, and their spinning threads would eat the CPU-time
    # limit that tells a hanging mutant.
    single_threaded = dict.fromkeys(THREAD_POOLS, "1")
    completed = subprocess.run(  # noqa: S603 (the environment's own mutmut, fixed arguments)
        [str(executable), *args],
        cwd=workspace, env={**os.environ, **single_threaded},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr)[-2000:]
        raise RuntimeError(f"mutmut {' '.join(args)} failed ({completed.returncode}):\n{tail}")
    return completed.stdout


def readable(mutant: str) -> tuple[str, str]:
    """mutmut's mangled name -> (module, function or Class.method)."""
    module, _, mangled = mutant.rpartition(".")
    if mangled.startswith("x\u01c1"):  # xǁClassǁmethod
        return module, mangled[2:].replace("\u01c1", ".")
    return module, mangled.removeprefix("x_")


def parse_results(text: str) -> dict[tuple[str, str], Counter[str]]:
    """`mutmut results --all true` lines -> status counts per (module, function)."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    for line in text.splitlines():
        match = _RESULT.match(line)
        if match:
            counts.setdefault(readable(match["mutant"]), Counter())[match["status"]] += 1
    return counts


def mutation_score(counts: Counter[str]) -> float:
    """Detected mutants over all mutants that ran (untested code counts as undetected)."""
    detected = sum(counts[status] for status in DETECTED)
    ran = sum(counts.values()) - counts["skipped"]
    return detected / ran if ran else 0.0


def render_markdown(counts: dict[tuple[str, str], Counter[str]]) -> str:
    modules: dict[str, Counter[str]] = {}
    for (module, _), statuses in counts.items():
        modules.setdefault(module, Counter()).update(statuses)
    total: Counter[str] = sum(modules.values(), Counter())
    columns = sorted(total)
    lines = [
        "# Mutation testing of lib-ml",
        "",
        "`make mutation` runs mutmut over `lib-ml/src` with lib-ml's tests. A mutant is one "
        "small change of the code; the tests detect it when they fail (killed) or hang "
        "(timeout). Mutation score: detected mutants over all mutants that ran; mutants of "
        "code that no test runs (no tests) count as undetected.",
        "",
        f"**Mutation score: {mutation_score(total):.1%}** ({sum(total.values())} mutants)",
        "",
        "| module | " + " | ".join(columns) + " | score |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for module, module_counts in sorted(modules.items()):
        cells = " | ".join(str(module_counts[s]) for s in columns)
        lines.append(f"| `{module}` | {cells} | {mutation_score(module_counts):.1%} |")
    survivors = {f"{m}.{f}": c["survived"] for (m, f), c in sorted(counts.items()) if c["survived"]}
    if survivors:
        lines += ["", "## Functions with surviving mutants", ""]
        lines += [f"- `{function}`: {n}" for function, n in survivors.items()]
        lines += ["", "`mutmut show <mutant>` in build/mutation shows each surviving change."]
    return "\n".join(lines) + "\n"


def mutation_report(root: Path | None = None, max_children: int = 2) -> Path:
    """Run mutmut over lib-ml and write reports/mutation.md."""
    root = root or project_root()
    workspace = prepare_workspace(root)
    mutmut(workspace, "run", "--max-children", str(max_children))
    counts = parse_results(mutmut(workspace, "results", "--all", "true"))
    if not counts:
        raise RuntimeError("mutmut reported no mutants")
    report = root / REPORT
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(render_markdown(counts), encoding="utf-8")
    return report
