"""80 % of the measured maximum through the app for a fixed time: no error, flat memory."""

import pytest

from phishline.bench_e2e.measure import SUSTAINED_SHARE, sustained
from phishline.bench_e2e.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
SECONDS = 10.0
MAX_RSS_GROWTH = 0.10


def test_80_percent_of_the_maximum_has_no_error_and_flat_memory(
    stack: Stack, capacity: float
) -> None:
    run = sustained(stack, SUSTAINED_SHARE * capacity, SECONDS)
    print(f"\n{run['requests']} requests at {run['target_rate_per_s']} req/s planned "
          f"({run['requests_per_s']} achieved), p99 {run['p99_ms']} ms, RSS "
          f"{run['rss_mib']}")  # fmt: skip

    # The load did run, even if the shared machine slowed it down.
    assert run["requests"] >= SUSTAINED_SHARE * capacity * SECONDS / 2
    assert run["errors"] == 0, run["error_codes"]
    for name, memory in run["rss_mib"].items():
        assert memory["growth"] < MAX_RSS_GROWTH, (name, memory)
