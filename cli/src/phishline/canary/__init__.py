"""Offline replay of Flagger's promotion/rollback decision, to tune the chart's analysis
values on recorded metric series before a real rollout depends on them."""

from phishline.canary.analysis import Analysis, Check, analysis_from_values, merge_values
from phishline.canary.replay import Decision, Outcome, Step, replay
from phishline.canary.series import SeriesError, read_series

__all__ = [
    "Analysis",
    "Check",
    "Decision",
    "Outcome",
    "SeriesError",
    "Step",
    "analysis_from_values",
    "merge_values",
    "read_series",
    "replay",
]
