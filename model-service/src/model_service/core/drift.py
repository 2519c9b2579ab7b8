"""Input drift: the most recent URLs per model, compared with the training distribution.

Recording is a deque append on the hot path; the PSI is computed only when /metrics is
scraped, and only for models whose window changed since the previous scrape.
"""

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lib_ml import Predictor, normalize_url
from lib_ml.drift import drift_report

# Below this many URLs a PSI is mostly noise and would page people for nothing.
MIN_DRIFT_SAMPLES = 100


@dataclass(frozen=True)
class WindowSnapshot:
    predictor: Predictor
    generation: int
    urls: list[str]


@dataclass(frozen=True)
class _Report:
    predictor: Predictor
    generation: int
    psi: dict[str, float]


class DriftMonitor:
    def __init__(self, window: int):
        self.window = window
        self._recent: dict[str, deque[str]] = {}
        # Bumped on every record, so a full window whose content rolled over counts as changed.
        self._generation: dict[str, int] = {}
        self._reports: dict[str, _Report] = {}

    def record(self, model: str, urls: Iterable[str]) -> None:
        """Remember URLs a model has scored (they are valid: lib-ml normalized them)."""
        recent = self._recent.get(model)
        if recent is None:
            recent = self._recent[model] = deque(maxlen=self.window)
        recent.extend(urls)
        self._generation[model] = self._generation.get(model, 0) + 1

    def stale_windows(self, models: Mapping[str, Predictor]) -> dict[str, WindowSnapshot]:
        """Copies of the windows whose report is out of date; take them on the event loop so
        no request appends while they are copied."""
        # Models a reload dropped: their report would keep the old Predictor alive.
        for name in (self._recent.keys() | self._reports.keys()) - models.keys():
            self._recent.pop(name, None)
            self._generation.pop(name, None)
            self._reports.pop(name, None)
        stale = {}
        for name, predictor in models.items():
            recent = self._recent.get(name, ())
            if len(recent) < MIN_DRIFT_SAMPLES:
                continue
            generation = self._generation[name]
            cached = self._reports.get(name)
            if (
                cached is None
                or cached.predictor is not predictor
                or cached.generation != generation
            ):
                stale[name] = WindowSnapshot(predictor, generation, list(recent))
        return stale

    def update(self, stale: Mapping[str, WindowSnapshot]) -> None:
        """Compute the PSI of stale windows (CPU work; callers run it off the event loop)."""
        for name, window in stale.items():
            texts = [normalize_url(url).text for url in window.urls]
            reference = window.predictor.manifest["feature_distributions"]
            self._reports[name] = _Report(
                window.predictor, window.generation, drift_report(reference, texts)
            )

    def reports(self, models: Mapping[str, Predictor]) -> dict[str, dict[str, float]]:
        """PSI per feature of every loaded model that has a report."""
        return {name: self._reports[name].psi for name in models if name in self._reports}
