"""Behaviour tests in the CheckList style: minimum functionality (clear cases), invariance
(changes the model must ignore) and directional expectations (changes that must raise
P(phishing)). Each test type has a largest failure rate in params.yaml; a broken model or
featurizer is caught by each."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from lib_ml import Predictor
from lib_ml import urls as lib_urls
from lib_ml.mutants import UrlParts
from model_training.train import Split

OBVIOUS_PHISHING = [
    "http://paypal.com.secure-login.verify-account.ru/webscr?cmd=_login",
    "http://192.168.10.5/apple/id/verify/signin.php",
    "http://appleid-verify-account.com/login/update.html",
    "http://secure-bankofamerica.com-login.info/online/verify",
    "http://netflix-billing-update.xyz/account/payment.php",
    "http://www.ebay.com.signin-verify.ga/ws/eBayISAPI.dll?SignIn",
    "http://203.0.113.7/~user/chase/login.php?account=verify",
    "http://myaccount-paypal.com.confirm-identity.tk/index.php",
    "http://login.microsoftonline.com.auth-session.cf/owa/",
    "http://dropbox-shared-file.ml/document/view.php?id=8812",
    "http://www.example-shop.com.br/wp-includes/js/secure/wellsfargo/login.php",
    "http://bit.ly-secure-update.com/amazon/signin/ap/",
    "http://free-bonus-lucky-winner.xyz/claim.php?user=me@example.com",
    "http://update-your-account.icloud.com.verify-id.info/",
    "http://docusign.document-review.online/auth/login.html",
    "http://office365-mail-upgrade.weebly.com/",
    "http://secure.runescape.com-oldschool.ru/m=weblogin/loginform.ws",
    "http://steamcommunity.com.tradeoffer-new.ga/partner=4815",
    "http://coinbase-wallet-recovery.site/restore/seed.php",
    "http://outlook-webmail-verification.000webhostapp.com/",
]
WELL_KNOWN_LEGITIMATE = [
    "https://en.wikipedia.org/wiki/Phishing",
    "https://github.com/python/cpython/blob/main/README.rst",
    "https://docs.python.org/3/library/urllib.parse.html",
    "https://www.bbc.co.uk/news/technology",
    "https://stackoverflow.com/questions/2419049/python-url-parsing",
    "https://www.nytimes.com/section/world",
    "https://www.amazon.com/gp/help/customer/display.html",
    "https://support.google.com/mail/answer/8494",
    "https://www.microsoft.com/en-us/windows",
    "https://www.apple.com/iphone/",
    "https://www.paypal.com/us/smarthelp/home",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.reddit.com/r/Python/",
    "https://www.imdb.com/title/tt0111161/",
    "https://www.mozilla.org/en-US/firefox/",
    "https://developer.mozilla.org/en-US/docs/Web/HTTP",
    "https://www.who.int/news-room/fact-sheets",
    "https://www.nasa.gov/missions/",
    "https://www.theguardian.com/science",
    "https://www.linkedin.com/company/microsoft/",
]


def _with_scheme(scheme: str) -> Callable[[str], str]:
    def rewrite(url: str) -> str:
        return replace(UrlParts.parse(url), scheme=scheme).join()

    return rewrite


def _upper_host(url: str) -> str:
    parts = UrlParts.parse(url)
    _, host, port = parts.host_and_port()
    return parts.with_host_and_port(host.upper(), port).join()


# Changes the model must ignore exactly: the scheme is a collection artefact (see lib_ml.urls)
# and host case and surrounding space do not change the address.
INVARIANCES: dict[str, Callable[[str], str]] = {
    "https": _with_scheme("https"),
    "http": _with_scheme("http"),
    "no scheme": _with_scheme(""),
    "upper-case host": _upper_host,
    "surrounding space": lambda url: f"  {url}\t",
}


def _ip_host(url: str) -> str:
    return replace(UrlParts.parse(url), netloc="93.184.216.34").join()


def _brand_subdomain(url: str) -> str:
    parts = UrlParts.parse(url)
    _, host, port = parts.host_and_port()
    return parts.with_host_and_port(f"paypal.com.secure-login.{host}", port).join()


def _login_path(url: str) -> str:
    parts = UrlParts.parse(url)
    return replace(parts, path=parts.path.rstrip("/") + "/login/verify-account.php").join()


def _brand_userinfo(url: str) -> str:
    parts = UrlParts.parse(url)
    return replace(parts, netloc=f"www.paypal.com@{parts.netloc}").join()


# Changes that must not lower P(phishing) of a legitimate URL: classic phishing devices.
DIRECTIONS: dict[str, Callable[[str], str]] = {
    "IP address as host": _ip_host,
    "brand and login words in a subdomain": _brand_subdomain,
    "login page appended to the path": _login_path,
    "brand as userinfo before the host": _brand_userinfo,
}


def minimum_functionality_failures(model: Predictor) -> float:
    phishing = model.predict_proba(OBVIOUS_PHISHING) < model.threshold
    legitimate = model.predict_proba(WELL_KNOWN_LEGITIMATE) >= model.threshold
    return float(np.concatenate([phishing, legitimate]).mean())


def invariance_failures(model: Predictor, urls: list[str]) -> dict[str, float]:
    original = model.predict_proba(urls)
    return {
        name: float(
            np.mean(np.abs(model.predict_proba([change(u) for u in urls]) - original) > 1e-12)
        )
        for name, change in INVARIANCES.items()
    }


def directional_failures(model: Predictor, urls: list[str]) -> dict[str, float]:
    original = model.predict_proba(urls)
    return {
        name: float(np.mean(model.predict_proba([change(u) for u in urls]) < original - 1e-9))
        for name, change in DIRECTIONS.items()
    }


@pytest.fixture(scope="module")
def legitimate_test_urls(splits: dict[str, Split]) -> list[str]:
    test = splits["test"]
    return [url for url, label in zip(test.raw, test.y, strict=True) if label == 0]


@pytest.fixture
def limits(thresholds: dict[str, Any]) -> dict[str, float]:
    return dict(thresholds["model"]["max_failure_rate"])


def test_minimum_functionality(ensemble: Predictor, limits: dict[str, float]) -> None:
    assert minimum_functionality_failures(ensemble) <= limits["minimum_functionality"]


def test_minimum_functionality_catches_a_broken_model(
    broken_ensemble: Predictor, limits: dict[str, float]
) -> None:
    assert minimum_functionality_failures(broken_ensemble) > limits["minimum_functionality"]


def test_invariance(
    ensemble: Predictor, splits: dict[str, Split], limits: dict[str, float]
) -> None:
    failures = invariance_failures(ensemble, splits["test"].raw)
    assert {name: rate for name, rate in failures.items() if rate > limits["invariance"]} == {}


def test_invariance_catches_a_featurizer_that_reads_the_scheme(
    ensemble: Predictor,
    splits: dict[str, Split],
    limits: dict[str, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = lib_urls.NormalizedUrl.text
    monkeypatch.setattr(
        lib_urls.NormalizedUrl, "text", property(lambda url: f"{url.scheme}://{text.fget(url)}")
    )
    failures = invariance_failures(ensemble, splits["test"].raw[:100])
    assert failures["https"] > limits["invariance"]
    assert failures["no scheme"] > limits["invariance"]
    assert failures["upper-case host"] <= limits["invariance"]


def test_directional_expectations(
    ensemble: Predictor, legitimate_test_urls: list[str], limits: dict[str, float]
) -> None:
    failures = directional_failures(ensemble, legitimate_test_urls)
    assert {name: rate for name, rate in failures.items() if rate > limits["directional"]} == {}


def test_directional_expectations_catch_a_broken_model(
    broken_ensemble: Predictor, legitimate_test_urls: list[str], limits: dict[str, float]
) -> None:
    failures = directional_failures(broken_ensemble, legitimate_test_urls)
    assert all(rate > limits["directional"] for rate in failures.values()), failures
