"""model-service killed under load: the app answers 503 with a clear message, nothing crashes,
and the app serves again within 2 s of model-service being back."""

import time

import httpx
import pytest

from phishline.bench_e2e.load import BackgroundLoad
from phishline.bench_e2e.measure import PREDICT_PATHS, predict_source
from phishline.bench_e2e.stack import Stack

from .conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
RECOVERY_SECONDS = 2.0


def test_app_answers_503_while_model_service_is_down_and_recovers(
    stack: Stack, capacity: float
) -> None:
    source = predict_source(PREDICT_PATHS["app"])
    # Open loop at half the capacity: the outage's fast 503s do not speed the load up.
    with BackgroundLoad(stack.app.url, source, concurrency=32, rate=capacity / 2) as load:
        time.sleep(1.0)
        killed = time.perf_counter()  # before: requests fail from the signal on
        stack.model_service.kill()
        time.sleep(1.0)
        stack.model_service.launch()
        relaunched = time.perf_counter()
        ready = stack.model_service.wait_ready()
        wait_for(
            lambda: any(o.ok and o.sent >= ready for o in load.outcomes()),
            RECOVERY_SECONDS * 5,
            "the app serving again",
        )
        time.sleep(1.0)  # and it goes on serving
    outcomes = sorted(load.outcomes(), key=lambda o: o.sent)
    failed = [o for o in outcomes if not o.ok]
    recovered = min(o.answered for o in outcomes if o.ok and o.sent >= ready)
    print(f"\n{len(failed)} answers 503 during the outage; model-service ready "
          f"{ready - relaunched:.2f} s after its restart; the app served again "
          f"{recovered - ready:.3f} s after that")  # fmt: skip

    assert not [o for o in failed if o.answered < killed]
    assert failed, "the outage went unnoticed"
    assert not [o for o in failed if o.sent > ready]
    assert {(o.status, o.code) for o in failed} == {(503, "model_service_unavailable")}
    assert all("model-service is unavailable" in o.message for o in failed)
    assert recovered - ready < RECOVERY_SECONDS
    assert all(o.ok for o in outcomes if o.sent >= recovered)
    assert stack.app.running()
    assert httpx.get(f"{stack.app.url}/health/live", timeout=5).status_code == 200
    assert "Traceback" not in stack.app.log()
