"""SIGTERM under load, to model-service and to the app: no request in flight fails.

In flight means taken in by the server: written by the client and read by the server before
the signal (`hold_until_taken_in`). uvicorn finishes those and closes connections whose next
request it has not read yet; a client sees that as a refused or reset connection, never as a
server error, and so do the requests sent after the signal.
"""

import signal
import time
from collections import Counter

import pytest

from model_service.bench import sample_urls
from phishline.bench_e2e.load import BackgroundLoad, Load, Request, RequestSource
from phishline.bench_e2e.measure import PREDICT_PATHS, predict_source
from phishline.bench_e2e.stack import ServiceProcess, Stack

from .conftest import hold_until_taken_in

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
# Enough clients that requests queue in the servers: many are in flight at any moment.
CLIENTS = 64
# Fewer through the app: their calls to the busy model-service must stay within the app's
# 5 s timeout, or they fail for that reason.
APP_CLIENTS = 32
# Both servers give in-flight requests 10 s after SIGTERM; exiting takes a little more.
GRACE_SECONDS = 15.0
BATCH = 50


def explained_batches(size: int = BATCH) -> RequestSource:
    """Batches of `size` URLs with explanations: model-service scores each for a while."""
    urls = sample_urls(20 * size, seed=1)

    def source(index: int) -> Request:
        start = index * size % len(urls)
        body = {"urls": urls[start : start + size], "explain_top_k": 5}
        return Request("/v1/predict/batch", body)

    return source


def signal_under_load(service: ServiceProcess, load: Load) -> tuple[set[int], float]:
    """SIGTERM once `service` holds every outstanding request of the running `load`, with new
    requests following; returns those requests and the moment of the signal."""
    time.sleep(1.0)  # saturated
    taken_in = hold_until_taken_in(load, service)
    signalled = time.perf_counter()
    service.send_signal(signal.SIGTERM)
    load.resume()  # new requests keep coming while the server shuts down
    status = service.wait(timeout=GRACE_SECONDS + 15)
    exited = time.perf_counter()
    print(f"\n{service.name} exited {exited - signalled:.2f} s after SIGTERM")
    # uvicorn drains, then ends the process with the signal it received.
    assert status in (0, -signal.SIGTERM)
    assert exited - signalled < GRACE_SECONDS
    assert "Traceback" not in service.log()
    return taken_in, signalled


def assert_in_flight_served(load: Load, taken_in: set[int], signalled: float) -> None:
    """Once the load has ended: every request in flight at the signal was answered 200, and the
    later ones were answered or refused at the door, never with a server error."""
    outcomes = {outcome.index: outcome for outcome in load.outcomes()}
    in_flight = [outcomes[i] for i in sorted(taken_in) if outcomes[i].answered >= signalled]
    later = [o for o in outcomes.values() if o.sent >= signalled]
    print(f"\n{len(in_flight)} requests in flight at SIGTERM, {len(later)} sent after it")
    assert in_flight, "no request was in flight at the signal"
    assert all(o.status == 200 for o in in_flight), Counter((o.status, o.code) for o in in_flight)
    assert all(o.ok or o.status is None for o in later), {(o.status, o.code) for o in later}


def test_sigterm_to_model_service_under_load(stack: Stack) -> None:
    """Single predictions and explained batches, alternately. model-service scores on its event
    loop: the batches keep requests waiting in it, as a busy service does."""
    single, batches = predict_source(PREDICT_PATHS["model-service"]), explained_batches()

    def traffic(index: int) -> Request | None:
        return single(index) if index % 2 == 0 else batches(index)

    with BackgroundLoad(stack.model_service.url, traffic, CLIENTS) as load:
        taken_in, signalled = signal_under_load(stack.model_service, load)
    assert_in_flight_served(load, taken_in, signalled)


def test_sigterm_to_the_app_under_load(stack: Stack) -> None:
    """Predictions through the app, while other clients keep model-service busy with explained
    batches: the app's requests wait on model-service, as they do when it is loaded. One client
    sends the batches, so they must be long (tens of milliseconds of scoring each) for the app's
    requests to be still waiting when the check that they were all taken in completes."""
    with (
        BackgroundLoad(stack.model_service.url, explained_batches(4 * BATCH), concurrency=1),
        BackgroundLoad(stack.app.url, predict_source(PREDICT_PATHS["app"]), APP_CLIENTS) as load,
    ):
        taken_in, signalled = signal_under_load(stack.app, load)
    assert_in_flight_served(load, taken_in, signalled)
