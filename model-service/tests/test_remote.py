"""Models from a URL: a .tar.gz release asset served by a local HTTP server."""

import hashlib
import io
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model_service.core import remote
from model_service.core.config import Settings
from model_service.core.metrics import ServiceMetrics
from model_service.core.registry import ModelStore, load_registry
from model_service.core.remote import ModelSourceError, fetch_models
from model_service.server import reload_on_signal, run

from .conftest import ADMIN, ADMIN_TOKEN
from .test_server import wait_for


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@contextmanager
def _serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 answering with handler, and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def release(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1, and its base URL."""
    served = tmp_path / "release"
    served.mkdir()
    with _serving(partial(_QuietHandler, directory=str(served))) as base:
        yield served, base


def pack(archive: Path, members: dict[str, Path], prefix: str = "") -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for name, source in members.items():
            tar.add(source, arcname=prefix + name)


def pack_raw(archive: Path, build: Callable[[tarfile.TarFile], None]) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        build(tar)


def test_service_loads_models_from_a_url(
    release: tuple[Path, str],
    artifact_root: Path,
    tmp_path: Path,
    make_client: Callable[..., TestClient],
) -> None:
    served, base = release
    pack(served / "models.tar.gz", {p.name: p for p in artifact_root.iterdir()})
    settings = Settings(
        model_url=f"{base}/models.tar.gz",
        model_dir=tmp_path / "unused",
        model_cache_dir=tmp_path / "cache",
        admin_token=ADMIN_TOKEN,
    )
    client = make_client(settings)
    assert [m["name"] for m in client.get("/v1/models").json()["models"]] == [
        "ensemble",
        "gbm",
        "linear",
    ]
    assert (
        client.post("/v1/predict", json={"url": "https://www.google.com/"}).json()["label"]
        == "legitimate"
    )
    assert (
        client.post("/admin/reload", headers=ADMIN).status_code == 200
    )  # same archive: the cached extraction


def test_archives_may_wrap_the_artifacts_in_one_folder(
    release: tuple[Path, str], artifact_root: Path, tmp_path: Path
) -> None:
    served, base = release
    pack(served / "wrapped.tar.gz", {"linear": artifact_root / "linear"}, prefix="models/")
    root = fetch_models(f"{base}/wrapped.tar.gz", tmp_path / "cache")
    assert root.name == "models"
    assert (root / "linear" / "model.json").is_file()


def test_same_archive_is_extracted_once(
    release: tuple[Path, str], artifact_root: Path, tmp_path: Path
) -> None:
    served, base = release
    pack(served / "one.tar.gz", {"linear": artifact_root / "linear"})
    first = fetch_models(f"{base}/one.tar.gz", tmp_path / "cache")
    marker = first / "marker"
    marker.write_text("kept")
    assert fetch_models(f"{base}/one.tar.gz", tmp_path / "cache") == first
    assert marker.is_file()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no staging left


def test_a_concurrent_extraction_of_the_same_archive_is_reused(
    release: tuple[Path, str], artifact_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, base = release
    pack(served / "one.tar.gz", {"linear": artifact_root / "linear"})
    real_extract = remote._extract

    def another_process_finishes_first(archive: Path, destination: Path) -> None:
        real_extract(archive, destination)
        cache = destination.parent.parent  # <cache>/<staging>/extracted
        real_extract(archive, cache / hashlib.sha256(archive.read_bytes()).hexdigest())

    monkeypatch.setattr(remote, "_extract", another_process_finishes_first)
    root = fetch_models(f"{base}/one.tar.gz", tmp_path / "cache")
    assert (root / "linear" / "model.json").is_file()
    assert len(list((tmp_path / "cache").iterdir())) == 1


def _escaping_member(tar: tarfile.TarFile) -> None:
    payload = b"owned"
    member = tarfile.TarInfo("../escaped.txt")
    member.size = len(payload)
    tar.addfile(member, io.BytesIO(payload))


def _escaping_link(tar: tarfile.TarFile) -> None:
    member = tarfile.TarInfo("linear")
    member.type = tarfile.SYMTYPE
    member.linkname = "/etc"
    tar.addfile(member)


def _inner_link(tar: tarfile.TarFile) -> None:
    """A link that stays inside the archive: harmless, but no artifact holds one."""
    member = tarfile.TarInfo("linear")
    member.type = tarfile.SYMTYPE
    member.linkname = "ensemble"
    tar.addfile(member)


@pytest.mark.parametrize("build", [_escaping_member, _escaping_link, _inner_link])
def test_unsafe_archives_are_refused(
    release: tuple[Path, str], tmp_path: Path, build: Callable[[tarfile.TarFile], None]
) -> None:
    served, base = release
    pack_raw(served / "evil.tar.gz", build)
    cache = tmp_path / "cache"
    with pytest.raises(ModelSourceError, match="not a safe, readable"):
        fetch_models(f"{base}/evil.tar.gz", cache)
    assert not (tmp_path / "escaped.txt").exists()
    assert not any(cache.rglob("escaped.txt"))
    assert list(cache.iterdir()) == []


def _links_past_path_max(cache: Path) -> Callable[[tarfile.TarFile], None]:
    """Links whose expansion exceeds PATH_MAX, which tarfile's data filter did not resolve
    fully before Python 3.11.13 / 3.12.11 (CVE-2025-4517): the last member lands two levels
    above the cache."""

    def build(tar: tarfile.TarFile) -> None:
        def add(name: str, kind: bytes, target: str = "", content: bytes | None = None) -> None:
            member = tarfile.TarInfo(name)
            member.type, member.linkname, member.mode = kind, target, 0o755
            if content is not None:
                member.size = len(content)
            tar.addfile(member, io.BytesIO(content) if content is not None else None)

        steps = "abcdefghijklmnop"
        extracted = cache / ".download-xxxxxxxx" / "extracted"  # where fetch_models extracts
        room = os.pathconf(cache.anchor, "PC_PATH_MAX") - len(str(extracted)) - 1
        component = "d" * (room // (len(steps) + 1))
        path = ""
        for step in steps:
            add(posixpath.join(path, component), tarfile.DIRTYPE)
            add(posixpath.join(path, step), tarfile.SYMTYPE, component)
            path = posixpath.join(path, component)
        too_long = posixpath.join(*steps, "l" * 254)
        add(too_long, tarfile.SYMTYPE, posixpath.join(*[".."] * len(steps)))
        add("escape", tarfile.SYMTYPE, posixpath.join(too_long, ".."))
        add("escape/up", tarfile.SYMTYPE, "..")
        add("escape/up/up", tarfile.SYMTYPE, "..")
        add("escape/up/up/escaped.txt", tarfile.REGTYPE, content=b"owned")

    return build


def test_links_longer_than_path_max_cannot_write_outside_the_cache(
    release: tuple[Path, str], tmp_path: Path
) -> None:
    served, base = release
    cache = tmp_path / "cache"
    pack_raw(served / "evil.tar.gz", _links_past_path_max(cache))
    with pytest.raises(ModelSourceError, match="is a link or a special file"):
        fetch_models(f"{base}/evil.tar.gz", cache)
    assert not (tmp_path / "escaped.txt").exists()
    assert list(cache.iterdir()) == []


def test_an_archive_expanding_past_the_limit_is_refused(
    release: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def zeros(tar: tarfile.TarFile) -> None:
        member = tarfile.TarInfo("models/zeros.bin")
        member.size = 1 << 20
        tar.addfile(member, io.BytesIO(bytes(member.size)))

    served, base = release
    pack_raw(served / "bomb.tar.gz", zeros)
    monkeypatch.setattr(remote, "MAX_ARCHIVE_BYTES", 64 * 1024)
    assert (served / "bomb.tar.gz").stat().st_size < 64 * 1024  # the download is allowed
    cache = tmp_path / "cache"
    with pytest.raises(ModelSourceError, match=f"expands to more than {64 * 1024} bytes"):
        fetch_models(f"{base}/bomb.tar.gz", cache)
    assert list(cache.iterdir()) == []


def test_archive_without_artifacts_is_refused_and_not_cached(
    release: tuple[Path, str], tmp_path: Path
) -> None:
    served, base = release
    (tmp_path / "readme.txt").write_text("no models here")
    pack(served / "empty.tar.gz", {"readme.txt": tmp_path / "readme.txt"})
    cache = tmp_path / "cache"
    with pytest.raises(ModelSourceError, match="no model artifacts"):
        fetch_models(f"{base}/empty.tar.gz", cache)
    assert list(cache.iterdir()) == []


def test_archive_with_a_broken_artifact_is_refused(
    release: tuple[Path, str], tmp_path: Path, models_copy: Path
) -> None:
    served, base = release
    (models_copy / "gbm" / "model.json").unlink()
    pack(served / "models.tar.gz", {name: models_copy / name for name in ("ensemble", "gbm")})
    with pytest.raises(ModelSourceError, match=r"broken artifact.*gbm holds weight files"):
        fetch_models(f"{base}/models.tar.gz", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_not_a_tarball_is_refused(release: tuple[Path, str], tmp_path: Path) -> None:
    served, base = release
    (served / "models.tar.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(ModelSourceError, match="not a safe, readable"):
        fetch_models(f"{base}/models.tar.gz", tmp_path / "cache")


def test_an_archive_cut_short_is_refused(
    release: tuple[Path, str], artifact_root: Path, tmp_path: Path
) -> None:
    """As a download that ended early without a Content-Length, or an upload cut short."""
    served, base = release
    pack(served / "models.tar.gz", {"linear": artifact_root / "linear"})
    whole = (served / "models.tar.gz").read_bytes()
    (served / "models.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelSourceError, match=r"not a safe, readable \.tar\.gz: .*ended before"):
        fetch_models(f"{base}/models.tar.gz", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


@contextmanager
def _answering(body: bytes, content_encoding: str) -> Iterator[str]:
    """A URL answering body, declared as compressed with content_encoding."""

    class Encoded(_QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Encoding", content_encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with _serving(Encoded) as base:
        yield f"{base}/models.tar.gz"


def test_an_archive_served_with_a_content_encoding_is_taken_as_sent(
    artifact_root: Path, tmp_path: Path
) -> None:
    """As object stores serve a .tar.gz whose metadata says Content-Encoding: gzip."""
    archive = tmp_path / "models.tar.gz"
    pack(archive, {"linear": artifact_root / "linear"})
    with _answering(archive.read_bytes(), "gzip") as url:
        root = fetch_models(url, tmp_path / "cache")
    assert (root / "linear" / "model.json").is_file()


def test_a_compressed_answer_is_not_expanded_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoded, these 1,000-odd bytes would be 64 MiB in one piece, past any size check."""
    brotli = pytest.importorskip("brotli")
    monkeypatch.setattr(remote, "MAX_ARCHIVE_BYTES", 1 << 20)
    with (
        _answering(brotli.compress(bytes(64 << 20), quality=5), "br") as url,
        pytest.raises(ModelSourceError, match="not a safe, readable"),
    ):
        fetch_models(url, tmp_path / "cache")


def test_http_errors_are_reported(release: tuple[Path, str], tmp_path: Path) -> None:
    _, base = release
    with pytest.raises(ModelSourceError, match="cannot download"):
        fetch_models(f"{base}/missing.tar.gz", tmp_path / "cache")


@contextmanager
def _redirecting_to_a_signed_url() -> Iterator[str]:
    """A release asset URL that redirects, as GitHub's do, to a signed object-store URL,
    which answers 403 (a signature expired)."""

    class Redirecting(_QuietHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/asset"):
                self.send_response(302)
                self.send_header("Location", "/object?X-Amz-Signature=signature-s3cret")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_error(403)

    with _serving(Redirecting) as base:
        yield base


def test_a_failed_download_names_its_urls_without_their_credentials(tmp_path: Path) -> None:
    with _redirecting_to_a_signed_url() as base:
        url = f"{base.replace('://', '://deploy:hunter2@')}/asset.tar.gz?token=token-s3cret"
        with pytest.raises(ModelSourceError) as refused:
            fetch_models(url, tmp_path / "cache")
    said = str(refused.value)
    assert f"from {base.replace('://', '://[redacted]@')}/asset.tar.gz?[redacted]: " in said
    assert "/object?[redacted]" in said  # the redirect's target, named by httpx
    assert "403 Forbidden" in said
    assert "\n" not in said
    assert "s3cret" not in said
    assert "hunter2" not in said


def test_the_fetched_models_are_logged_without_the_url_credentials(
    release: tuple[Path, str],
    artifact_root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    served, base = release
    pack(served / "models.tar.gz", {"linear": artifact_root / "linear"})
    with caplog.at_level("INFO", logger=remote.__name__):
        fetch_models(f"{base}/models.tar.gz?token=token-s3cret", tmp_path / "cache")
    (record,) = [r for r in caplog.records if r.getMessage() == "models fetched"]
    assert record.__dict__["url"] == f"{base}/models.tar.gz?[redacted]"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://example.org/models.tar.gz", "https://example.org/models.tar.gz"),
        (
            "for url 'https://a:b@x.org/m?sig=1#f'.",
            "for url 'https://[redacted]@x.org/m?[redacted]'.",
        ),
        (
            "http://x.org:8080/?a=1 and http://y.org/",
            "http://x.org:8080/?[redacted] and http://y.org/",
        ),
        ("no url here: ftp://u:p@x.org/", "no url here: ftp://u:p@x.org/"),
    ],
)
def test_url_credentials_are_redacted_from_text(text: str, shown: str) -> None:
    assert remote.without_url_secrets(text) == shown


def test_oversized_downloads_stop(
    release: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, base = release
    (served / "big.tar.gz").write_bytes(b"x" * 4096)
    monkeypatch.setattr(remote, "MAX_ARCHIVE_BYTES", 1024)
    with pytest.raises(ModelSourceError, match="larger than 1024 bytes"):
        fetch_models(f"{base}/big.tar.gz", tmp_path / "cache")


@pytest.mark.usefixtures("restore_logging")
def test_start_up_refuses_an_unreachable_model_url(
    release: tuple[Path, str], tmp_path: Path
) -> None:
    _, base = release
    settings = Settings(model_url=f"{base}/missing.tar.gz", model_cache_dir=tmp_path / "cache")
    with pytest.raises(SystemExit, match="model-service cannot start: cannot download"):
        run(settings)


@pytest.fixture
def remote_settings(release: tuple[Path, str], artifact_root: Path, tmp_path: Path) -> Settings:
    served, base = release
    pack(served / "models.tar.gz", {"linear": artifact_root / "linear"})
    return Settings(
        model_url=f"{base}/models.tar.gz",
        model_cache_dir=tmp_path / "cache",
        admin_token=ADMIN_TOKEN,
    )


def _spoil_cache(settings: Settings) -> None:
    """A file where the cache directory should be: mkdir fails with an OSError, as a full or
    read-only volume would make the download or the rename fail."""
    shutil.rmtree(settings.model_cache_dir, ignore_errors=True)
    settings.model_cache_dir.write_text("")


def test_an_admin_reload_that_cannot_use_the_cache_is_a_counted_reload_failure(
    remote_settings: Settings,
    make_client: Callable[..., TestClient],
    metric_value: Callable[..., float | None],
) -> None:
    client = make_client(remote_settings)
    _spoil_cache(remote_settings)
    failed = client.post("/admin/reload", headers=ADMIN)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "reload_failed"
    assert "FileExistsError" in failed.json()["error"]["message"]
    text = client.get("/metrics").text
    assert metric_value(text, "phishline_model_reloads_total", result="failure") == 1
    assert client.post("/v1/predict", json={"url": "a.com"}).status_code == 200


def test_a_signal_reload_that_cannot_use_the_cache_keeps_the_models_and_counts_it(
    remote_settings: Settings,
) -> None:
    metrics = ServiceMetrics()
    store = ModelStore(
        load_registry(remote_settings), partial(load_registry, remote_settings), metrics
    )
    loaded = store.current
    _spoil_cache(remote_settings)
    reload_on_signal(store)
    assert store.current is loaded
    assert (
        metrics.registry.get_sample_value("phishline_model_reloads_total", {"result": "failure"})
        == 1
    )


@pytest.mark.usefixtures("restore_logging")
def test_start_up_refuses_an_unusable_cache_in_one_line(remote_settings: Settings) -> None:
    _spoil_cache(remote_settings)
    with pytest.raises(SystemExit, match="model-service cannot start: cannot load the models"):
        run(remote_settings)


@pytest.fixture
def stalling_url() -> Iterator[tuple[str, threading.Event]]:
    """A URL whose answer sends half of its body, then nothing more until the event is set."""
    done = threading.Event()

    class Stalling(_QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2048")
            self.end_headers()
            self.wfile.write(bytes(1024))
            self.wfile.flush()
            done.wait(30)

    with _serving(Stalling) as base:
        try:
            yield f"{base}/models.tar.gz", done
        finally:
            done.set()  # before the server stops: its handler waits for it


def _downloading(cache: Path, count: int) -> bool:
    """At least count downloads have their answer and write the archive."""
    return len(list(cache.glob(".download-*/models.tar.gz"))) >= count


@pytest.mark.slow
def test_a_download_left_by_a_killed_process_is_removed_and_one_in_progress_kept(
    release: tuple[Path, str],
    artifact_root: Path,
    tmp_path: Path,
    stalling_url: tuple[str, threading.Event],
) -> None:
    served, base = release
    stalling, stop_stalling = stalling_url
    pack(served / "models.tar.gz", {"linear": artifact_root / "linear"})
    cache = tmp_path / "cache"
    in_progress = threading.Thread(
        target=partial(pytest.raises, ModelSourceError, fetch_models, stalling, cache)
    )
    in_progress.start()
    wait_for(lambda: _downloading(cache, 1))
    (live,) = cache.glob(".download-*")
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from model_service.core.remote import "
            "fetch_models; fetch_models(sys.argv[1], Path(sys.argv[2]))",
            stalling,
            str(cache),
        ]
    )
    try:
        wait_for(lambda: _downloading(cache, 2))
    finally:
        killed.kill()  # as a pod's container killed halfway through its start-up download
        killed.wait()
    root = fetch_models(f"{base}/models.tar.gz", cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted([root.name, live.name])
    stop_stalling.set()
    in_progress.join()
    assert list(cache.iterdir()) == [root]


@pytest.fixture
def trickling_url() -> Iterator[str]:
    """A URL whose answer comes a byte at a time, each well within the read timeout: 4 s in all."""

    class Trickling(_QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "80")
            self.end_headers()
            try:
                for _ in range(80):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except BrokenPipeError:  # the download gave up, as it should
                pass

    with _serving(Trickling) as base:
        yield f"{base}/models.tar.gz"


def test_a_download_that_trickles_on_past_the_deadline_stops(
    trickling_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It would hold the reload lock meanwhile: every later reload would wait behind it.
    monkeypatch.setattr(remote, "DOWNLOAD_DEADLINE_SECONDS", 0.5, raising=False)
    started = time.monotonic()
    with pytest.raises(ModelSourceError, match=r"not downloaded within 0\.5 s"):
        fetch_models(trickling_url, tmp_path / "cache")
    assert time.monotonic() - started < 2
    assert list((tmp_path / "cache").iterdir()) == []
