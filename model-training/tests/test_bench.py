"""The training-cost benchmark (`phishline bench train`): perturbed copies of real URLs up to
the size, and one fresh process per size, so that each peak RSS is its own."""

from pathlib import Path

import pytest

from model_training.bench import measure, perturbed_corpus, run_bench
from model_training.config import MIRROR_ENV

from .test_pipeline import write_project

BASE = [("example.com/a/", 0), ("login-verify.tk/x.php?id=1", 1), ("bbc.co.uk", 0)]


def test_the_corpus_repeats_the_base_then_perturbs_paths_and_queries() -> None:
    urls, labels = perturbed_corpus(BASE, 10, seed=0)
    assert urls[:3] == [url for url, _ in BASE]
    assert labels.tolist() == [label for _, label in BASE] * 3 + [0]
    for index in range(3, 10):
        base = BASE[index % 3][0].rstrip("/")
        assert urls[index].startswith(base + "/")
        assert "?v=" in urls[index]
    assert len(set(urls)) == 10
    again, _ = perturbed_corpus(BASE, 10, seed=0)
    other, _ = perturbed_corpus(BASE, 10, seed=1)
    assert again == urls
    assert other[:3] == urls[:3]
    assert other[3:] != urls[3:]


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ebbu_sample: dict[str, list[str]]
) -> Path:
    """A project reading a sample mirror; the measuring processes inherit the environment,
    which must not name another mirror."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    write_project(tmp_path, tmp_path / "mirror", ebbu_sample)
    return tmp_path


def test_a_measurement_trains_on_the_size_asked(project: Path) -> None:
    result = measure(300, project)
    assert set(result) == {"urls", "seconds", "peak_rss_mib"}
    assert result["urls"] == 300
    assert result["seconds"] > 0


def test_each_size_is_trained_in_its_own_process(project: Path) -> None:
    results = run_bench((300, 900), root=project)
    assert [row["urls"] for row in results] == [300, 900]
    for row in results:
        assert row["seconds"] > 0
        assert row["peak_rss_mib"] > 50  # the interpreter, numpy and the corpus at least
        assert row["us_per_url"] == round(row["seconds"] / row["urls"] * 1e6, 2)


def test_each_peak_rss_is_the_measuring_process_own(project: Path) -> None:
    """Linux carries a process's peak RSS across exec into the process it starts: launched by
    a process that once held more, a size must still report its own peak, not that one."""
    ballast = b"x" * (768 * 2**20)  # resident: the launching process's peak is above 768 MiB
    try:
        [row] = run_bench((300,), root=project)
    finally:
        del ballast
    # Measuring 300 URLs takes the interpreter, numpy and the corpus: under 400 MiB.
    assert 50 < row["peak_rss_mib"] < 400
