"""Finding media in untrusted results, and fetching their bytes under caps without leaking the API key."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gzip
import http.server
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from puras_nb.api.media import DEFAULT_MAX_BYTES, Media, afetch, fetch, max_bytes_for, safe_url
from puras_nb.mime import media_kind, sniff
from puras_nb.model.media import find_media
from puras_nb.views.html import media_html
from tests.harness.hostile import gzip_bomb

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
    return gzip.compress(gzip_bomb(100_000_000), 9)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Serves a PNG at /img.png, redirects /go, serves what an internal service would (JSON, HTML, a PNG with no
    extension), and records every request's headers; the same under /files/, where the API's file routes are."""

    seen: list[tuple[str, dict[str, str]]]
    redirect_to = ""

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers)))
        path = self.path.removeprefix("/files")
        if path.startswith("/go"):
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        if path.startswith("/bomb.png"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Encoding", "gzip, gzip")
            self.send_header("Content-Length", str(len(_bomb())))
            self.end_headers()
            self.wfile.write(_bomb())
            return
        if path.startswith("/drip.png"):  # a byte every 20 ms: the body takes a minute (it stops when the client goes)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "3000")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(3000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            return
        mime = "image/png"
        if path.startswith("/big.png"):
            body = PNG * 1000
        elif path.startswith("/img.png"):
            body = PNG
        elif path.startswith("/png-without-extension"):
            body, mime = PNG, "application/octet-stream"
        elif path.startswith(("/credentials.png", "/v1/")):  # an internal service's or the API's JSON
            body = b'{"secret": "AKIA-internal"}'
        elif path.startswith("/dashboard.mp3"):
            body, mime = b"<html>internal dashboard</html>", "audio/mpeg"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", mime)
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
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()  # shutdown() waits a poll
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
    assert fetch(media, api_base=api, api_key="puras_live_secret", allow_private=True) == PNG
    assert _auth(seen[-1][1]) is None
    same_origin = Media(url=f"{api}/files/img.png", kind="image", mime="image/png")
    assert fetch(same_origin, api_base=api + "/", api_key="puras_live_secret") == PNG
    assert _auth(seen[-1][1]) == "Bearer puras_live_secret"


def test_a_redirect_from_the_api_host_to_a_media_host_drops_the_key(hosts: tuple[str, str, list]) -> None:
    api, media_host, seen = hosts
    _Recorder.redirect_to = f"{media_host}/img.png"
    media = Media(url=f"{api}/files/go", kind="image", mime="image/png")
    for get in (
        lambda: fetch(media, api_base=api, api_key="k", allow_hosts=["127.0.0.1"]),
        lambda: asyncio.run(afetch(media, api_base=api, api_key="k", allow_hosts=["127.0.0.0/8"])),
    ):
        seen.clear()
        assert get() == PNG
        assert [(p, _auth(h)) for p, h in seen] == [("/files/go", "Bearer k"), ("/img.png", None)]


def test_redirect_to_a_non_http_scheme_is_not_followed(hosts: tuple[str, str, list]) -> None:
    api, _, _ = hosts
    _Recorder.redirect_to = "file:///etc/passwd"
    assert fetch(Media(url=f"{api}/go", kind="image", mime="image/png"), allow_private=True) is None


def test_over_the_cap_or_failing_fetches_give_none(hosts: tuple[str, str, list]) -> None:
    api, _, _ = hosts
    big = Media(url=f"{api}/big.png", kind="image", mime="image/png")
    assert fetch(big, max_bytes=len(PNG) * 10, allow_private=True) is None
    assert asyncio.run(afetch(big, max_bytes=len(PNG) * 10, allow_private=True)) is None
    assert fetch(big, allow_private=True) == PNG * 1000
    assert fetch(Media(url=f"{api}/missing.png", kind="image", mime="image/png"), allow_private=True) is None
    closed = Media(url="http://127.0.0.1:9/x.png", kind="image", mime="image/png")
    assert fetch(closed, timeout=2, allow_private=True) is None
    assert asyncio.run(afetch(closed, timeout=2, allow_private=True)) is None


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
    """A host sending a byte at a time never hits the read timeout; the whole body is still bounded (4 x timeout).
    Here a byte comes every 20 ms, well within the read timeout of 0.15 s; the whole body would take a minute."""
    api, _, _ = hosts
    drip = Media(url=f"{api}/drip.png", kind="image", mime="image/png")
    for get in (lambda: fetch(drip, timeout=0.15, allow_private=True),
                lambda: asyncio.run(afetch(drip, timeout=0.15, allow_private=True))):
        started = time.monotonic()
        assert get() is None
        assert time.monotonic() - started < 4


def test_a_compressed_body_is_never_inflated_past_the_cap(hosts: tuple[str, str, list]) -> None:
    """A double-gzip bomb (small on the wire, 100 MB decoded) is refused without ever being inflated."""
    api, _, seen = hosts
    bomb = Media(url=f"{api}/bomb.png", kind="image", mime="image/png")
    _bomb()
    for get in (lambda: fetch(bomb, allow_private=True), lambda: asyncio.run(afetch(bomb, allow_private=True))):
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
    data = fetch(media, api_base=emulator.url)
    assert data is not None and data.startswith(b"\x89PNG")
    assert asyncio.run(afetch(media, api_base=emulator.url)) == data
    assert fetch(media) is None  # the emulator is on loopback: only as the API host


@pytest.mark.parametrize(
    ("head", "kinds"),
    [
        (PNG, {"image"}),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", {"image"}),
        (b"GIF89a\x01\x00", {"image"}),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", {"image"}),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", {"audio"}),
        (b"ID3\x04\x00\x00\x00", {"audio"}),
        (b"\xff\xfb\x90\x64", {"audio"}),
        (b"fLaC\x00\x00\x00\x22", {"audio"}),
        (b"OggS\x00\x02", {"audio", "video"}),
        (b"\x00\x00\x00\x20ftypisom", {"audio", "video"}),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86", {"audio", "video"}),
        (b'{"jobs": []}', set()),
        (b"<!DOCTYPE html><title>x</title>", set()),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', set()),
        (b"", set()),
    ],
)
def test_sniff_knows_media_by_their_magic_numbers(head: bytes, kinds: set[str]) -> None:
    assert sniff(head) == kinds


def both(media: Media, **opts: Any) -> list[bytes | None]:
    return [fetch(media, **opts), asyncio.run(afetch(media, **opts))]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_and_private_hosts_are_not_fetched_by_default(hosts: tuple[str, str, list], host: str) -> None:
    url, _, seen = hosts
    media = Media(url=url.replace("127.0.0.1", host) + "/png-without-extension", kind="image", mime="image/png")
    assert both(media) == [None, None] and seen == []
    assert both(media, allow_private=True) == [PNG, PNG]
    assert both(media, allow_hosts=[host]) == [PNG, PNG]
    assert both(media, api_base="http://api.example.test", api_key="k") == [None, None]


def test_what_is_not_media_of_its_kind_is_never_embedded(hosts: tuple[str, str, list]) -> None:
    url, _, seen = hosts
    for path, kind in (("/credentials.png", "image"), ("/dashboard.mp3", "audio"), ("/png-without-extension", "audio")):
        assert both(Media(url=url + path, kind=kind, mime="x/y"), allow_private=True) == [None, None]
    assert len(seen) == 6


def test_the_api_job_routes_are_never_fetched_and_the_key_goes_only_to_file_routes(
    hosts: tuple[str, str, list],
) -> None:
    """A `demo/echo` result of {"url": "<api>/v1/jobs", "mime": "image/png"} put other jobs' inputs in the output."""
    api, _, seen = hosts
    auth = {"api_base": api, "api_key": "puras_live_secret"}
    for path in ("/v1/jobs", "/v1/jobs/j1/events", "/health", "/files/%2e%2e/v1/jobs", "/files\\..\\v1/jobs", "/"):
        assert both(Media(url=api + path, kind="image", mime="image/png"), **auth) == [None, None], path
    assert seen == []
    assert both(Media(url=api + "/files/img.png", kind="image", mime="image/png"), **auth) == [PNG, PNG]
    assert both(Media(url=api + "/files/credentials.png", kind="image", mime="image/png"), **auth) == [None, None]
    assert [_auth(h) for _, h in seen] == ["Bearer puras_live_secret"] * 4
    under = {"api_base": api + "/api", "api_key": "k"}
    assert both(Media(url=api + "/files/img.png", kind="image", mime="image/png"), **under) == [None, None]
    assert len(seen) == 4  # with an API base path, file routes are under it


@pytest.mark.parametrize(
    "path",
    [
        "/files/../v1/jobs?limit=5",
        "/files/../v1/billing/balance",
        "/files/x/./../../v1/jobs",
        "/files/%2E%2E/v1/jobs",
        "/files/.%2e/v1/jobs",
        "/files/..;/v1/jobs",
        "/files/./img.png",
        "/files/%2e/img.png",
    ],
)
def test_dot_segments_never_lead_from_a_file_route_to_an_api_route(hosts: tuple[str, str, list], path: str) -> None:
    """httpx removes dot segments before sending (and servers decode %2e): `<api>/files/../v1/jobs` passed the
    file-route check on its raw path and went out as `GET /v1/jobs` with the key. A `.`/`..` segment is refused,
    directly and as a redirect's target."""
    api, _, seen = hosts
    auth = {"api_base": api, "api_key": "puras_live_secret"}
    assert both(Media(url=api + path, kind="image", mime="image/png"), **auth) == [None, None]
    assert seen == []
    _Recorder.redirect_to = path  # resolved against the hop's URL, so only what resolves to a file route goes
    both(Media(url=api + "/files/go", kind="image", mime="image/png"), **auth)
    assert seen and all(p.startswith("/files/") and "/." not in p for p, _ in seen)


def test_every_redirect_hop_is_checked_again(hosts: tuple[str, str, list]) -> None:
    url, _, seen = hosts
    port = url.rsplit(":", 1)[1]
    _Recorder.redirect_to = f"http://127.0.0.1:{port}/png-without-extension"
    media = Media(url=f"http://localhost:{port}/go", kind="image", mime="image/png")
    assert both(media, allow_hosts=["localhost"]) == [None, None]
    assert [p for p, _ in seen] == ["/go", "/go"]
    _Recorder.redirect_to = f"http://localhost:{port}/v1/jobs"
    api_hop = Media(url=f"http://127.0.0.1:{port}/go", kind="image", mime="image/png")
    assert both(api_hop, api_base=f"http://localhost:{port}", api_key="k", allow_private=True) == [None, None]
    assert [p for p, _ in seen][2:] == ["/go", "/go"]


def test_a_host_is_resolved_once_checked_and_the_connection_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a name that resolves to a public address for the check and to loopback on connect must
    not reach loopback, so the request goes to the checked address, with the original Host header."""
    answers = iter([["8.8.8.8"], ["127.0.0.1"]])
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 80))
                                                      for ip in next(answers)])
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(PNG))

    async def main() -> bytes | None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await afetch(Media(url="http://rebind.test:8080/a.png", kind="image", mime="image/png"), http=http)

    assert asyncio.run(main()) == PNG
    assert [(r.url.host, r.url.port, r.headers["host"]) for r in sent] == [("8.8.8.8", 8080, "rebind.test:8080")]
    mixed = iter([["8.8.8.8", "10.0.0.5"]])
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 80))
                                                      for ip in next(mixed)])
    assert fetch(Media(url="http://mixed.test/a.png", kind="image", mime="image/png")) is None


INSIDE = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
    "64:ff9b:1::808:808",  # local-use NAT64: never public
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:5::1",  # 6to4 of 10.0.0.5
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::ffff:0:a9fe:a9fe",  # IPv4-translated 169.254.169.254
    "::ffff:192.168.0.1",  # IPv4-mapped
    "fec0::1",  # site-local (deprecated, never global)
    "192.0.0.8",  # IETF protocol assignments
    "::ffff:192.0.0.8",
]


@pytest.mark.parametrize("address", INSIDE)
def test_an_ipv4_address_inside_an_ipv6_one_is_judged_as_itself(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """A host whose address carries an internal IPv4 one (NAT64, 6to4, IPv4-compatible, -translated or -mapped), or
    that is site-local or in 192.0.0.0/24, passed as public: the gateway would forward the fetch inside."""
    sent: list[httpx.Request] = []
    answers = {"inside.test": address, "outside.test": "64:ff9b::808:808"}
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (answers[host], 80, 0, 0))])

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(PNG))

    async def main(url: str, allow: tuple[str, ...] = ()) -> bytes | None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await afetch(Media(url=url, kind="image", mime="image/png"), http=http, allow_hosts=allow)

    literal = f"http://[{address}]/a.png" if ":" in address else f"http://{address}/a.png"
    for url in ("http://inside.test/a.png", literal):
        assert asyncio.run(main(url)) is None
        assert fetch(Media(url=url, kind="image", mime="image/png")) is None
    assert sent == []
    assert asyncio.run(main("http://outside.test/a.png")) == PNG, "NAT64 of a public address (8.8.8.8) is public"
    assert [r.url.host for r in sent] == ["64:ff9b::808:808"]
    network = "::/0" if ":" in address else "192.0.0.0/24"
    assert asyncio.run(main("http://inside.test/a.png", (network,))) == PNG, "an allowed network still is"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("data:image/png;base64," + base64.b64encode(b"<html><script>alert(1)</script></html>").decode(), "image"),
        ("data:image/png," + quote('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), "image"),
        ("data:image/gif;base64," + base64.b64encode(b'{"secret": "AKIA-internal"}').decode(), "image"),
        ("data:audio/wav;base64," + base64.b64encode(PNG).decode(), "audio"),
    ],
)
def test_a_data_url_is_kept_only_when_its_bytes_are_media_of_its_kind(url: str, kind: str) -> None:
    """A `data:image/png` whose bytes are HTML or SVG was embedded as it came: decoded bytes are sniffed exactly
    as fetched ones are, and the static view shows a data: URL only from its checked bytes."""
    media = Media(url=url, kind=kind, mime=url[5:].split(";")[0].split(",")[0])
    assert fetch(media) is None and asyncio.run(afetch(media)) is None
    html = media_html(media, fetch(media))
    assert url not in html and "data:" not in html
    assert media_html(media, None) == html
    assert "data:image/png;base64," in media_html(find_media(PNG_DATA_URL)[0], None), "real media still show"


def test_a_media_host_that_never_accepts_is_given_up_on_after_the_connect_timeout() -> None:
    """A listener whose accept queue is full drops new connection attempts: the connect hangs as on a dead host."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for i in range(4):
            filler = socket.socket()
            filler.setblocking(i == 0)  # the first one connects (it fills the queue), the others are left hanging
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        media = Media(url=f"http://127.0.0.1:{port}/a.png", kind="image", mime="image/png")
        try:
            for get in (lambda: fetch(media, allow_private=True, connect_timeout=0.2),
                        lambda: asyncio.run(afetch(media, allow_private=True, connect_timeout=0.2))):
                started = time.monotonic()
                assert get() is None
                assert time.monotonic() - started < 2  # the default connect timeout is 3 s, the read timeout 30
        finally:
            for filler in fillers:
                filler.close()


def test_a_fetch_by_url_keeps_only_what_the_caller_accepts_and_sends_no_key_unless_given(
    hosts: tuple[str, str, list],
) -> None:
    """`afetch_url` (a deployment bundle's signed URL): the media rules, the caller's own test of the bytes, and
    the key only when one is given."""
    from puras_nb.api.media import afetch_url

    api, other, seen = hosts

    def get(url: str, keep: Any = lambda data: True, **opts: Any) -> bytes | None:
        return asyncio.run(afetch_url(url, 1_000_000, keep=keep, api_base=api, **opts))

    assert get(f"{api}/files/img.png") == PNG and _auth(seen[-1][1]) is None
    assert get(f"{api}/files/img.png", keep=lambda data: data.startswith(b"PK")) is None
    assert get(f"{api}/v1/jobs") is None  # an API route is never fetched, key or not
    assert get(f"{other}/img.png") is None  # a loopback host that is not the API's origin
    assert get(f"{other}/img.png", allow_hosts=["127.0.0.1"]) == PNG
    assert get("data:image/png;base64,iVBORw0KGgo=") is None
    assert all(_auth(headers) is None for _, headers in seen)
