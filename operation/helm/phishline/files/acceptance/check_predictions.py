"""Acceptance test of a model-service: known URLs must get their known labels.

Run by `helm test` (and so by Flagger's pre-rollout webhook) inside the model-service image,
so it uses the standard library only. Exit status 0 when every case passes, 1 otherwise.

    python check_predictions.py --base-url http://model-service:8081 --cases cases.json
"""

import argparse
import http.client
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def predict(base_url: str, url: str, timeout: float) -> dict[str, Any]:
    """POST /v1/predict for one URL; the JSON answer."""
    request = urllib.request.Request(  # noqa: S310  (the base URL is checked to be http(s))
        f"{base_url}/v1/predict",
        data=json.dumps({"url": url, "explain_top_k": 0}).encode(),
        # Test traffic: model-service leaves it out of its input-drift window.
        headers={"Content-Type": "application/json", "X-Phishline-Synthetic": "acceptance-test"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        answer: dict[str, Any] = json.load(response)
    return answer


def check(base_url: str, cases: list[dict[str, str]], timeout: float) -> list[str]:
    """One failure message per case whose answer is missing or wrong."""
    failures = []
    for case in cases:
        try:
            label = predict(base_url, case["url"], timeout).get("label")
        # OSError: URLError, timeouts and a connection dropped mid-answer (RemoteDisconnected);
        # HTTPException: a truncated answer. Any escaping error would leave the sidecar up.
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{case['url']}: no answer ({exc})")
            continue
        if label != case["label"]:
            failures.append(f"{case['url']}: got {label!r}, expected {case['label']!r}")
    return failures


def release_sidecar(quit_url: str) -> None:
    """Tell the mesh sidecar to exit, or the test pod would never complete."""
    request = urllib.request.Request(quit_url, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass
    except urllib.error.URLError:
        print(f"could not stop the sidecar at {quit_url}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="model-service, e.g. http://host:8081")
    parser.add_argument("--cases", required=True, type=Path, help="JSON list of {url, label}")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--sidecar-quit-url", default="", help="POSTed when done (Istio)")
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        parser.error("--base-url must be an http(s) URL")
    cases = json.loads(args.cases.read_text(encoding="utf-8"))
    failures = check(base_url, cases, args.timeout)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"acceptance: {len(cases) - len(failures)} of {len(cases)} cases answered as expected")
    if args.sidecar_quit_url:
        release_sidecar(args.sidecar_quit_url)
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
