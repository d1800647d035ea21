"""Finding media in untrusted results, and fetching their bytes under caps without leaking the API key."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gzip
import http.server
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from puras_nb.media import DEFAULT_MAX_BYTES, Media, afetch, fetch, find_media, max_bytes_for, media_kind, safe_url

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_finds_media_anywhere_in_a_result() -> None:
    result = {
        "video": {"url": "https://cdn.example/x?sig=1", "mime": "video/mp4", "poster": "https://cdn.example/p.png"},
        "thumbnail": "https://cdn.example/t.PNG?exp=2",
        "nested": [{"signed_url": "https://s.example/a", "content_type": "audio/mpeg", "name": "voice"}],
        "inline": PNG_DATA_URL,
        "text": "see https://example.com/page.html",
        "doc": "https://example.com/report.pdf",
    }
    found = find_media(result)
    assert [(m.path, m.kind, m.mime) for m in found] == [
        ("video", "video", "video/mp4"),
        ("thumbnail", "image", "image/png"),
        ("nested[0]", "audio", "audio/mpeg"),
        ("inline", "image", "image/png"),
    ]
    assert found[0].poster == "https://cdn.example/p.png"
    assert found[2].name == "voice"


def test_outputs_are_included_and_one_file_signed_twice_counts_once() -> None:
    result = {"audio": {"url": "http://h/files/a.wav?exp=1&sig=a", "mime": "audio/wav"}}
    outputs = [
        {"name": "a.wav", "drive_path": "jobs/1/a.wav", "mime": "audio/wav", "url": "http://h/files/a.wav?exp=2&sig=b"},
        {"name": "b.mp4", "drive_path": "jobs/1/b.mp4", "mime": "video/mp4", "url": "http://h/files/b.mp4?sig=c"},
        {"name": "notes.txt", "mime": "text/plain", "url": "http://h/files/notes.txt"},
    ]
    found = find_media(result, outputs)
    assert [(m.path, m.name) for m in found] == [("audio", ""), ("outputs[1]", "b.mp4")]


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)//x.png",
        {"url": "javascript:alert(1)", "mime": "image/png"},
        "data:text/html;base64,PHNjcmlwdD4=",
        {"url": "data:text/html;base64,PHNjcmlwdD4=", "mime": "image/png"},
        "https://example.com/evil.svg",
        {"url": "https://example.com/x", "mime": "image/svg+xml"},
        "file:///etc/passwd.png",
        "https://example.com/a.png\n<script>",
        "//example.com/a.png",
        {"url": "https://example.com/x", "mime": "text/html"},
        " https://example.com/a.png",
        "\x01https://example.com/a.png",
        "https://example.com/\x7f.png",
        "https://example.com/a.png\x9b",
        "https://example.com:99999/a.png",
    ],
)
def test_unsafe_or_non_media_values_are_not_media(value: Any) -> None:
    assert find_media({"x": value}) == []


def test_safe_url_and_kinds() -> None:
    assert safe_url("https://a.example/x.png") and safe_url(PNG_DATA_URL)
    assert not safe_url("http://") and not safe_url("ftp://a/x.png") and not safe_url(None)
    # A data: URL is safe only as a media type we render: no HTML, no SVG (script), whatever a Media claims.
    assert not safe_url("data:text/html;base64,PHNjcmlwdD4=") and not safe_url("data:image/svg+xml;base64,PHN2Zz4=")
    assert media_kind("video/webm; codecs=vp9") == "video"
    assert media_kind("image/svg+xml") is None and media_kind(None) is None


def test_deeply_nested_and_huge_results_are_bounded() -> None:
    deep: Any = "https://x.example/deep.png"
    for _ in range(50):
        deep = [deep]
    assert find_media(deep) == []
    many = [f"https://x.example/{i}.png" for i in range(1000)]
    assert len(find_media(many)) == 200


def test_preview_caps() -> None:
    assert max_bytes_for("video", None) == DEFAULT_MAX_BYTES["video"] > DEFAULT_MAX_BYTES["image"]
    assert max_bytes_for("image", 10) == 10
    assert max_bytes_for("audio", {"audio": 7}) == 7
    assert max_bytes_for("image", {"audio": 7}) == DEFAULT_MAX_BYTES["image"]


def test_data_urls_decode_within_the_cap() -> None:
    media = find_media(PNG_DATA_URL)[0]
    assert fetch(media) == PNG
    assert fetch(media, max_bytes=len(PNG) - 1) is None


def test_percent_encoded_data_urls_decode_to_their_bytes_within_the_cap() -> None:
    (media,) = find_media("data:image/png," + quote(PNG))
    assert fetch(media) == PNG
    assert fetch(media, max_bytes=len(PNG) - 1) is None
    # 30 MB of text for a 1 kB cap is refused before it is decoded, not after.
    huge = Media(url="data:image/png," + "%00" * 10_000_000, kind="image", mime="image/png")
    tracemalloc.start()
    try:
        assert fetch(huge, max_bytes=1000) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


@functools.cache
def _bomb() -> bytes:
    """A few hundred bytes that gunzip twice into 100 MB of zeros."""
    return gzip.compress(gzip.compress(bytes(100_000_000), 9), 9)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Serves a PNG at /img.png, redirects /go?to=URL, and records every request's headers."""

    seen: list[tuple[str, dict[str, str]]]
    redirect_to = ""

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers)))
        if self.path.startswith("/go"):
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        if self.path.startswith("/bomb.png"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Encoding", "gzip, gzip")
            self.send_header("Content-Length", str(len(_bomb())))
            self.end_headers()
            self.wfile.write(_bomb())
            return
        if self.path.startswith("/drip.png"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "30")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(30):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            return
        if self.path.startswith("/big.png"):
            body = PNG * 1000
        elif self.path.startswith("/img.png"):
            body = PNG
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hosts() -> Iterator[tuple[str, str, list]]:
    """Two HTTP servers on different ports (so different origins) sharing one request log."""
    seen: list = []
    servers = []
    for _ in range(2):
        handler = type("H", (_Recorder,), {"seen": seen})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    a, b = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    yield a, b, seen
    for s in servers:
        s.shutdown()
        s.server_close()


def _auth(headers: dict[str, str]) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == "authorization"), None)


def test_no_authorization_header_to_a_media_host(hosts: tuple[str, str, list]) -> None:
    api, media_host, seen = hosts
    media = Media(url=f"{media_host}/img.png", kind="image", mime="image/png")
    assert fetch(media, api_base=api, api_key="puras_live_secret") == PNG
    assert _auth(seen[-1][1]) is None
    same_origin = Media(url=f"{api}/img.png", kind="image", mime="image/png")
    assert fetch(same_origin, api_base=api + "/", api_key="puras_live_secret") == PNG
    assert _auth(seen[-1][1]) == "Bearer puras_live_secret"


def test_a_redirect_from_the_api_host_to_a_media_host_drops_the_key(hosts: tuple[str, str, list]) -> None:
    api, media_host, seen = hosts
    _Recorder.redirect_to = f"{media_host}/img.png"
    media = Media(url=f"{api}/go", kind="image", mime="image/png")
    for get in (
        lambda: fetch(media, api_base=api, api_key="k"),
        lambda: asyncio.run(afetch(media, api_base=api, api_key="k")),
    ):
        seen.clear()
        assert get() == PNG
        assert [(p, _auth(h)) for p, h in seen] == [("/go", "Bearer k"), ("/img.png", None)]


def test_redirect_to_a_non_http_scheme_is_not_followed(hosts: tuple[str, str, list]) -> None:
    api, _, _ = hosts
    _Recorder.redirect_to = "file:///etc/passwd"
    assert fetch(Media(url=f"{api}/go", kind="image", mime="image/png")) is None


def test_over_the_cap_or_failing_fetches_give_none(hosts: tuple[str, str, list]) -> None:
    api, _, _ = hosts
    big = Media(url=f"{api}/big.png", kind="image", mime="image/png")
    assert fetch(big, max_bytes=len(PNG) * 10) is None
    assert asyncio.run(afetch(big, max_bytes=len(PNG) * 10)) is None
    assert fetch(Media(url=f"{api}/missing.png", kind="image", mime="image/png")) is None
    closed = Media(url="http://127.0.0.1:9/x.png", kind="image", mime="image/png")
    assert fetch(closed, timeout=2) is None
    assert asyncio.run(afetch(closed, timeout=2)) is None


@pytest.mark.parametrize(
    "url",
    [
        "\x01http://127.0.0.1:9/x.png",
        "http://127.0.0.1:9/\x7f.png",
        "http://127.0.0.1:99999/x.png",
        "http://xn--/x.png",
        "http://a..b/x.png",
        "http://" + "a" * 70 + ".example/x.png",
    ],
)
def test_a_url_that_cannot_be_fetched_gives_none_never_an_error(url: str) -> None:
    """An untrusted result's URL can be malformed in ways httpx only notices when it sends (bad IDNA labels,
    control characters, a port out of range): the fetch gives None, it never raises into the live view."""
    media = Media(url=url, kind="image", mime="image/png")
    assert fetch(media, timeout=2) is None
    assert asyncio.run(afetch(media, timeout=2)) is None


def test_a_body_that_trickles_in_is_given_up_on_at_the_timeout(hosts: tuple[str, str, list]) -> None:
    """A host sending a byte at a time never hits the read timeout; the whole body is still bounded (4 x timeout)."""
    api, _, _ = hosts
    drip = Media(url=f"{api}/drip.png", kind="image", mime="image/png")
    for get in (lambda: fetch(drip, timeout=0.5), lambda: asyncio.run(afetch(drip, timeout=0.5))):
        started = time.monotonic()
        assert get() is None
        assert time.monotonic() - started < 4


def test_a_compressed_body_is_never_inflated_past_the_cap(hosts: tuple[str, str, list]) -> None:
    """A double-gzip bomb (small on the wire, 100 MB decoded) is refused without ever being inflated."""
    api, _, seen = hosts
    bomb = Media(url=f"{api}/bomb.png", kind="image", mime="image/png")
    _bomb()
    for get in (lambda: fetch(bomb), lambda: asyncio.run(afetch(bomb))):
        seen.clear()
        tracemalloc.start()
        try:
            assert get() is None
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20_000_000
        assert {k.lower(): v for k, v in seen[-1][1].items()}.get("accept-encoding") == "identity"


def test_fetches_emulator_media_through_its_signed_urls(emulator: Any) -> None:
    with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {emulator.api_key}"}) as http:
        job = http.post(
            "/v1/jobs", params={"skillpack": "demo", "wait": "true"}, json={"skill": "image", "inputs": {"prompt": "x"}}
        ).json()
    (media,) = find_media(job["result"], job["outputs"])
    data = fetch(media)
    assert data is not None and data.startswith(b"\x89PNG")
    assert asyncio.run(afetch(media)) == data
