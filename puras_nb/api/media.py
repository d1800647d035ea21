"""Media on the wire: what a media item is (`Media`), which URLs are safe, and fetching bytes under a cap (the
mime table and byte sniffer they use are `puras_nb.mime`).

Results are untrusted: only http(s) URLs and `data:` URLs of known media types count as media. A fetch
goes only to public addresses (or to the API itself, as the embedded emulator on loopback), never to the
API's own job routes; the key goes only to the API's file routes; and only bytes that really are an image,
audio or video of a type we render are kept, so a result cannot turn the kernel into a reader of internal
endpoints whose answers end up in the notebook.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from ..mime import DATA_URL, decode_data_url, media_kind, mime_for_name, sniff
from ..strings import Secret, has_control
from .flows import advance
from .tls import ssl_context

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "FILE_ROUTES",
    "Media",
    "afetch",
    "afetch_url",
    "fetch",
    "max_bytes_for",
    "mime_of",
    "safe_url",
]

# Inline preview caps, per kind: beyond these the view shows a link instead of the bytes.
DEFAULT_MAX_BYTES: dict[str, int] = {"image": 5_000_000, "audio": 20_000_000, "video": 40_000_000}


@dataclass(frozen=True)
class Media:
    """One media item found in a result: where it is (`path`), what it is (`kind`, `mime`) and its URL."""

    url: str
    kind: str
    mime: str
    name: str = ""
    path: str = ""
    size: int | None = None
    poster: str | None = field(default=None, compare=False)

    @property
    def is_data(self) -> bool:
        return self.url.startswith("data:")

    def __repr__(self) -> str:
        shown = self.url if len(self.url) < 80 else self.url[:60] + "…"
        return f"Media(kind={self.kind!r}, mime={self.mime!r}, path={self.path!r}, url={shown!r})"


def mime_of(url: str) -> str | None:
    """The media type a URL announces: a data: URL's type, else from its path's extension."""
    m = DATA_URL.match(url)
    if m:
        return m.group(1).lower()
    return mime_for_name(unquote(urlsplit(url).path))


def safe_url(url: Any) -> bool:
    """True for an http(s) URL with a host (and a valid port), or a well-formed `data:` URL of a media type we
    render (never HTML or SVG); nothing else is ever rendered or fetched. No control character anywhere and no
    surrounding whitespace: parsers and browsers silently drop some of them, so the URL checked would not be
    the URL used."""
    if not isinstance(url, str) or not url or len(url) > 50_000_000:
        return False
    if url[0].isspace() or url[-1].isspace() or has_control(url):
        return False
    if url.startswith("data:"):
        m = DATA_URL.match(url)
        return m is not None and media_kind(m.group(1)) is not None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def max_bytes_for(kind: str, caps: int | dict[str, int] | None) -> int:
    """The preview cap for a kind: a single int applies to all kinds, a dict per kind, None the defaults."""
    if caps is None:
        return DEFAULT_MAX_BYTES[kind]
    if isinstance(caps, int):
        return caps
    return int(caps.get(kind, DEFAULT_MAX_BYTES[kind]))


#: Paths (under the API base's own path) of the API's file routes: signed file URLs, the only API routes a
#: result may make the kernel fetch, and the only ones the key is sent to. Everything else on the API origin
#: (/v1/jobs, …) is refused: its answer would carry other jobs' data into the notebook.
FILE_ROUTES = ("/files/",)
#: Seconds to wait for a media host to accept the connection: a dead host should not hold a preview for long.
CONNECT_TIMEOUT = 3.0
# Percent-encoded slashes and backslashes: a server may decode them into a path the check never saw.
_PATH_TRICKS = re.compile(r"%2f|%5c|\\", re.I)


def _dot_segment(segment: str) -> bool:
    """A `.` or `..` path segment, percent-encoded or not, with or without `;parameters` (which some servers
    strip before resolving the path)."""
    return unquote(segment).split(";", 1)[0] in (".", "..")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class _Policy:
    """Where a fetch may go, and with which headers: decided again for every hop of a redirect."""

    api_base: str | None
    api_key: Secret | None
    allow_private: bool
    allow_hosts: tuple[str, ...]

    def is_api(self, url: str) -> bool:
        return bool(self.api_base) and _origin(url) == _origin(self.api_base or "")

    def refuses_route(self, url: str) -> bool:
        """True for a URL on the API's origin that is not one of its file routes, judged on the path that would
        really be sent and served: none with a `.` or `..` segment (httpx removes them before sending, servers
        after decoding), nor an encoded slash or backslash, so `/files/../v1/jobs` is not a file route."""
        if not self.is_api(url):
            return False
        prefix = urlsplit(self.api_base or "").path.rstrip("/")
        path = urlsplit(url).path
        if _PATH_TRICKS.search(path) or any(_dot_segment(segment) for segment in path.split("/")):
            return True
        return not httpx.URL(url).path.startswith(tuple(prefix + r for r in FILE_ROUTES))

    def headers(self, url: str) -> httpx.Headers:
        """The body uncompressed (so the cap bounds what is held in memory; a gzip bomb inflates far past any
        cap inside one chunk), and Authorization only for the API's own file routes (in httpx.Headers, whose
        repr masks it: a traceback printing locals shows no key)."""
        headers = httpx.Headers({"Accept-Encoding": "identity"})
        if self.api_key and self.is_api(url) and not self.refuses_route(url):
            headers["Authorization"] = "Bearer " + self.api_key.reveal()
        return headers

    def needs_check(self, url: str) -> bool:
        """Whether the addresses of the URL's host must be checked (not for the API, nor when allowed)."""
        host = (urlsplit(url).hostname or "").lower()
        return not (self.allow_private or self.is_api(url) or host in self.allow_hosts)

    def allowed(self, address: str) -> bool:
        """A public address (`public`), or one inside an allowed network (`allow_hosts` may hold IPs and CIDR
        ranges; an IPv4 address carried inside an IPv6 one counts as itself there too)."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if public(ip):
            return True
        inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        return any(_in_network(x, entry) for x in (ip, inner) if x is not None for entry in self.allow_hosts)

    def request(self, url: str, addresses: list[str] | None) -> tuple[str, httpx.Headers, dict[str, Any]] | None:
        """`(url, headers, extensions)` to send for `url`, or None when it may not be fetched. With `addresses`
        (the host's resolved addresses, all checked) the request is pinned to the first: it goes to the address
        that was checked, not to whatever a second DNS answer says (DNS rebinding), with the original Host header
        and TLS server name."""
        if self.refuses_route(url):
            return None
        headers = self.headers(url)
        if addresses is None:
            return url, headers, {}
        if not addresses or not all(self.allowed(a) for a in addresses):
            return None
        parts = httpx.URL(url)
        headers["Host"] = parts.netloc.decode("ascii")
        extensions = {"sni_hostname": parts.host} if parts.scheme == "https" else {}
        return str(parts.copy_with(host=addresses[0].split("%", 1)[0])), headers, extensions


# Never public, whatever a Python version's `is_global` says: IETF protocol assignments, the deprecated site-local
# IPv6 range, and the local-use NAT64 prefix (where the IPv4 address sits depends on a prefix length we cannot know).
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "fec0::/10", "64:ff9b:1::/48"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries for a gateway or the host itself to reach: IPv4-mapped (`::ffff:a.b.c.d`),
    IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4
    (`2002:AABB:CCDD::`); None for any other address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    head = ip.packed[:12]
    if ip in _NAT64 or head == bytes(12) or head == bytes(8) + b"\xff\xff\x00\x00":
        return ipaddress.IPv4Address(ip.packed[12:])
    return None


def public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a fetch may go to `ip` unasked: a global unicast address, judged by the IPv4 address inside it when it
    carries one (so `64:ff9b::7f00:1`, `2002:7f00:1::` and `::127.0.0.1` are loopback), and none of `_NOT_PUBLIC`."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return public(inner)
    never = any(ip in net for net in _NOT_PUBLIC if net.version == ip.version)
    return ip.is_global and not ip.is_multicast and not never


def _in_network(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    try:
        return ip in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def _policy(
    api_base: str | None, api_key: str | Secret | None, allow_private: bool, allow_hosts: Iterable[str]
) -> _Policy:
    return _Policy(api_base, Secret.of(api_key), allow_private, tuple(h.strip().lower() for h in allow_hosts))


def _target(url: str) -> tuple[str, int, list[str] | None]:
    """The URL's host and port to resolve, and its address when the host is an IP literal (no lookup then)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = [str(ipaddress.ip_address(host))]
    except ValueError:
        literal = None
    return host, parts.port or 443, literal


def _resolve(url: str) -> list[str]:
    """Every address the URL's host resolves to."""
    host, port, literal = _target(url)
    if literal:
        return literal
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


async def _aresolve(url: str, timeout: float) -> list[str]:
    """`_resolve` without blocking the event loop (the resolver runs in a thread), within `timeout`."""
    host, port, literal = _target(url)
    if literal:
        return literal
    lookup = asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in await asyncio.wait_for(lookup, timeout)))


_MAX_REDIRECTS = 5
# `timeout` bounds each connect and read; the whole body gets this many times that (a big video on a slow link).
_WHOLE = 4
# What sending an untrusted URL can raise besides transport errors: httpx's URL checks, the IDNA codec
# (a UnicodeError, so a ValueError) on a host name with an empty, overlong or malformed label, and the
# resolver (socket.gaierror, an OSError; a timeout).
_UNFETCHABLE = (httpx.HTTPError, httpx.InvalidURL, ValueError, OSError, asyncio.TimeoutError)


# ── the fetch as a flow: every decision is made here, once; `fetch` (blocking) and `afetch_url` (asyncio) only
# do the steps' I/O, as `Client` and `AsyncClient` drive the API's flows.


@dataclass(frozen=True)
class _Resolve:
    """Step: every address the URL's host resolves to (an IP literal is its own), within `timeout` seconds."""

    url: str
    timeout: float


@dataclass(frozen=True)
class _Open:
    """Step: send `GET url` and answer with the response, its body not read yet (it is read by `_Read`, or closed
    unread when the next step is another)."""

    url: str
    headers: httpx.Headers
    extensions: dict[str, Any]


@dataclass(frozen=True)
class _Read:
    """Step: the open response's raw body, or None once it passes `cap` bytes or its time is up (a host that sends
    a byte at a time never hits a read timeout, so only a deadline on the whole body bounds it)."""

    cap: int
    deadline: float


_Step = _Resolve | _Open | _Read
_FetchFlow = Generator[_Step, Any, "bytes | None"]


def _fetch_flow(url: str, cap: int, keep: Callable[[bytes], bool], policy: _Policy, timeout: float,
                connect_timeout: float) -> _FetchFlow:
    """The bytes at `url`, or None: each hop (redirects are followed by hand) checked again against `policy`
    (addresses, API routes, the Authorization header), a compressed, non-200 or over-`cap` answer given up on
    unread, and the body kept only when `keep(bytes)` says it is what was asked for."""
    if not safe_url(url) or url.startswith("data:"):
        return None
    deadline = time.monotonic() + timeout * _WHOLE
    for _ in range(_MAX_REDIRECTS + 1):
        addresses = (yield _Resolve(url, connect_timeout)) if policy.needs_check(url) else None
        prepared = policy.request(url, addresses)
        if prepared is None:
            return None
        response = yield _Open(*prepared)
        action, url = _triage(response, url, cap)
        if action == _REDIRECT:
            continue
        if action == _GIVE_UP:
            return None
        data = yield _Read(cap, deadline)
        return data if data is not None and keep(data) else None
    return None


_REDIRECT, _READ, _GIVE_UP = "redirect", "read", "give up"


def _triage(r: httpx.Response, url: str, cap: int) -> tuple[str, str]:
    """What to do with a response: follow a redirect (to a safe URL), read the body, or give up.

    A compressed body is given up on: we asked for identity, and its raw bytes are all that is ever read."""
    if r.is_redirect and "location" in r.headers:
        target = urljoin(url, r.headers["location"])
        return (_REDIRECT, target) if safe_url(target) and not target.startswith("data:") else (_GIVE_UP, url)
    encoding = r.headers.get("content-encoding", "").strip().lower()
    if r.status_code != 200 or _too_big(r, cap) or encoding not in ("", "identity"):
        return _GIVE_UP, url
    return _READ, url


class _Body:
    """Collects a streamed body under a `_Read` step's cap and deadline (the drivers feed it chunks)."""

    def __init__(self, step: _Read) -> None:
        self.cap, self.deadline, self.total = step.cap, step.deadline, 0
        self.chunks: list[bytes] = []

    def add(self, chunk: bytes) -> bool:
        """Take a chunk; False once the body is over the cap or out of time."""
        self.total += len(chunk)
        self.chunks.append(chunk)
        return self.total <= self.cap and time.monotonic() < self.deadline

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _inline(media: Media, cap: int) -> bytes | None:
    """A `data:` URL's bytes within `cap`, kept exactly as fetched ones are: only when they really are media of
    the item's kind (an HTML or SVG payload behind `data:image/png` is not embedded)."""
    data = decode_data_url(media.url, cap)
    return data if data is not None and _is_kind(media)(data) else None


def _is_kind(media: Media) -> Callable[[bytes], bool]:
    """The test a media item's bytes pass: their magic numbers say they are of its kind (not what the URL or the
    server claim), so an internal endpoint's JSON or HTML answer is never embedded."""
    return lambda data: media.kind in sniff(data)


def _timeouts(timeout: float, connect_timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, connect=min(timeout, connect_timeout))


def fetch(
    media: Media,
    max_bytes: int | None = None,
    *,
    api_base: str | None = None,
    api_key: str | Secret | None = None,
    timeout: float = 30.0,
    connect_timeout: float = CONNECT_TIMEOUT,
    allow_private: bool = False,
    allow_hosts: Iterable[str] = (),
) -> bytes | None:
    """The media's bytes, or None when they exceed `max_bytes` (default: the kind's cap), are not media of its
    kind (by their magic numbers, for a `data:` URL too), may not be fetched, or cannot be.

    Not fetched: the API's own routes other than its file routes (`FILE_ROUTES`), and hosts with a loopback,
    private, link-local or reserved address (an IPv4 one inside an IPv6 address included, see `public`) unless it
    is the API's origin (the embedded emulator), `allow_private` is set or the host (or its network, e.g.
    "10.0.0.0/8") is in `allow_hosts`. Redirects are followed by hand so that each hop is checked again and decides
    again about the Authorization header (only ever for the API's file routes). `connect_timeout` bounds the
    connect, `timeout` each read; a body still arriving after four times `timeout` is given up on.
    """
    api_key = Secret.of(api_key)  # a traceback prints arguments: the raw key is in none of ours
    cap = max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES[media.kind]
    if media.is_data:
        return _inline(media, cap) if safe_url(media.url) else None
    policy = _policy(api_base, api_key, allow_private, allow_hosts)
    flow = _fetch_flow(media.url, cap, _is_kind(media), policy, timeout, connect_timeout)
    value: Any = None
    response: httpx.Response | None = None
    try:
        with httpx.Client(
            timeout=_timeouts(timeout, connect_timeout), follow_redirects=False, verify=ssl_context()
        ) as http:
            while True:
                done, step = advance(flow, value, None)
                if response is not None and not isinstance(step, _Read):
                    response.close()
                    response = None
                if done:
                    return step
                if isinstance(step, _Resolve):
                    value = _resolve(step.url)
                elif isinstance(step, _Open):
                    request = http.build_request("GET", step.url, headers=step.headers, extensions=step.extensions)
                    value = response = http.send(request, stream=True)
                else:
                    value = _read(response, _Body(step))
    except _UNFETCHABLE:
        return None
    finally:
        if response is not None:
            response.close()


async def afetch(
    media: Media,
    max_bytes: int | None = None,
    *,
    api_base: str | None = None,
    api_key: str | Secret | None = None,
    timeout: float = 30.0,
    http: httpx.AsyncClient | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    allow_private: bool = False,
    allow_hosts: Iterable[str] = (),
) -> bytes | None:
    """`fetch` for the event loop: same caps, checks and header rules, on an (optionally shared) AsyncClient;
    host names are resolved off the loop."""
    api_key = Secret.of(api_key)  # a traceback prints arguments: the raw key is in none of ours
    cap = max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES[media.kind]
    if media.is_data:
        return _inline(media, cap) if safe_url(media.url) else None
    return await afetch_url(
        media.url, cap, keep=_is_kind(media), api_base=api_base, api_key=api_key, timeout=timeout, http=http,
        connect_timeout=connect_timeout, allow_private=allow_private, allow_hosts=allow_hosts,
    )


async def afetch_url(
    url: str,
    cap: int,
    *,
    keep: Callable[[bytes], bool],
    api_base: str | None = None,
    api_key: str | Secret | None = None,
    timeout: float = 30.0,
    http: httpx.AsyncClient | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    allow_private: bool = False,
    allow_hosts: Iterable[str] = (),
) -> bytes | None:
    """The bytes at the http(s) `url` under the rules of a media fetch (addresses, API routes, the key only to
    the API's file routes and only when `api_key` is given, redirects checked hop by hop, `cap`, a deadline on the
    whole body), kept only when `keep(bytes)` says they are what was asked for; None otherwise."""
    api_key = Secret.of(api_key)  # a traceback prints arguments: the raw key is in none of ours
    policy = _policy(api_base, api_key, allow_private, allow_hosts)
    flow = _fetch_flow(url, cap, keep, policy, timeout, connect_timeout)
    timeouts = _timeouts(timeout, connect_timeout)
    client = http or httpx.AsyncClient(timeout=timeouts, verify=ssl_context())
    value: Any = None
    response: httpx.Response | None = None
    try:
        while True:
            done, step = advance(flow, value, None)
            if response is not None and not isinstance(step, _Read):
                await response.aclose()
                response = None
            if done:
                return step
            if isinstance(step, _Resolve):
                value = await _aresolve(step.url, step.timeout)
            elif isinstance(step, _Open):
                request = client.build_request("GET", step.url, headers=step.headers, timeout=timeouts,
                                               extensions=step.extensions)
                value = response = await client.send(request, stream=True, follow_redirects=False)
            else:
                value = await _aread(response, _Body(step))
    except _UNFETCHABLE:
        return None
    finally:
        if response is not None:
            await response.aclose()
        if http is None:
            await client.aclose()


def _read(response: httpx.Response | None, body: _Body) -> bytes | None:
    """The open response's body through `body` (None past its cap or deadline)."""
    if response is None:  # a `_Read` always follows an `_Open`
        return None
    return body.value() if all(body.add(chunk) for chunk in response.iter_raw()) else None


async def _aread(response: httpx.Response | None, body: _Body) -> bytes | None:
    """`_read` on the event loop."""
    if response is None:
        return None
    async for chunk in response.aiter_raw():
        if not body.add(chunk):
            return None
    return body.value()


def _too_big(r: httpx.Response, cap: int) -> bool:
    try:
        return int(r.headers.get("content-length", "0")) > cap
    except ValueError:
        return False
