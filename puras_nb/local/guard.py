"""The emulator's door: API key, Host and Origin checks, JSON-only bodies, CORS for named origins only.

A loopback server is reachable from every page the user's browser opens. These checks keep such pages out,
as Jupyter Server does with its token, `local_hostnames` and `allow_origin`:
- a Host that is not loopback (or the name the server was started on) is a DNS-rebinding attempt: 403;
- a state-changing request from a foreign Origin: 403 (and no CORS headers unless `--cors` names it);
- a POST/PUT body that is not JSON (a cross-site "simple" request needs no preflight): 415;
- every route but `/health`, `/` and the signed `/files/...` URLs needs `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

__all__ = ["Contained", "Door", "check_key", "new_key", "normalize_origin"]

log = logging.getLogger("puras_nb.local")

KEY_PREFIX = "puras_local_"
OPEN_PATHS = ("/", "/health")
OPEN_PREFIXES = ("/files/",)
"""Routes without the key: liveness, and file URLs, which carry their own expiring signature."""
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
_ORIGIN = re.compile(r"^https?://[^/?#\s@]+$")


def new_key() -> str:
    """A fresh random API key (`puras_local_…`, 32 URL-safe characters of randomness)."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def check_key(key: str) -> str:
    """The key if an HTTP header can carry it, else ValueError (without quoting it)."""
    if not key or not all("!" <= c <= "~" for c in key):
        raise ValueError("the API key must be non-empty printable ASCII without spaces")
    return key


def normalize_origin(origin: str) -> str:
    """`https://App.example/` → `https://app.example`, as browsers send it; ValueError for anything else."""
    value = origin.strip().rstrip("/").lower()
    if not _ORIGIN.match(value):
        raise ValueError(f"a CORS origin is scheme://host[:port], such as http://localhost:3000; got {origin!r}")
    return value


def _host_name(value: str) -> str:
    """The name part of a Host header (`[::1]:8787` → `::1`, `LocalHost.:80` → `localhost`)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


async def _refuse(send: Any, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


class Door:
    """The checks above, as ASGI middleware: Host first, then CORS (when origins are named), then the rest."""

    def __init__(
        self,
        app: Any,
        *,
        api_key: str | None,
        host: str = "127.0.0.1",
        cors: Iterable[str] = (),
        any_body: Callable[[str, str], bool] = lambda method, path: False,
    ):
        self.app = app
        #: (method, path) of routes that change nothing whatever the body (the 501s): their answer says more
        self.any_body = any_body
        self.expected = f"Bearer {api_key}".encode() if api_key else None
        self.origins = frozenset(normalize_origin(o) for o in cors)
        bound = _host_name(host)
        self.hosts = {bound} - WILDCARD_HOSTS
        self.any_ip = bound in WILDCARD_HOSTS
        if self.any_ip:  # bound to every interface: this machine's names and addresses reach it
            self.hosts |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.inner: Any = self._checked
        if self.origins:
            self.inner = CORSMiddleware(
                self._checked,
                allow_origins=sorted(self.origins),
                allow_methods=["GET", "POST", "PUT", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Range"],
                expose_headers=["Content-Range", "Accept-Ranges", "Retry-After"],
                allow_private_network=True,
            )

    def host_allowed(self, header: str | None) -> bool:
        """Whether a Host header names this server: loopback, the `--host` name, or (bound to all) any IP."""
        if header is None:
            return True  # HTTP/1.0 without Host: no browser sends that
        name = _host_name(header)
        return _is_loopback(name) or name in self.hosts or (self.any_ip and _is_ip(name))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if not self.host_allowed(host):
            await _refuse(send, 403, f"host {host!r} is not this server: use a loopback address or the --host name")
            return
        await self.inner(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        origin = _header(scope, b"origin")
        if method in STATE_CHANGING and origin is not None and not self._origin_allowed(origin, scope):
            await _refuse(send, 403, f"origin {origin!r} is not allowed: start the emulator with --cors ORIGIN")
            return
        if self.expected and not (path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)):
            got = (_header(scope, b"authorization") or "").encode("latin-1")
            if not hmac.compare_digest(got, self.expected):
                detail = "invalid API key" if got else "missing API key: send Authorization: Bearer <key>"
                await _refuse(send, 401, detail, [(b"www-authenticate", b"Bearer")])
                return
        if method in STATE_CHANGING and not self.any_body(method, path):
            refusal = _body_refusal(scope)
            if refusal:
                await _refuse(send, 415, refusal)
                return
        await self.app(scope, receive, send)

    def _origin_allowed(self, origin: str, scope: Scope) -> bool:
        value = origin.strip().rstrip("/").lower()
        if value in self.origins:
            return True
        scheme, _, netloc = value.partition("://")
        return scheme == "http" and netloc == (_header(scope, b"host") or "").strip().lower()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _body_refusal(scope: Scope) -> str | None:
    """Why a state-changing request's body is refused (None when JSON, or no body and no content type)."""
    ctype = _header(scope, b"content-type")
    if ctype is None:
        length = _header(scope, b"content-length")
        if _header(scope, b"transfer-encoding") is None and (length is None or length.strip() == "0"):
            return None
        return "send the request body as JSON with Content-Type: application/json"
    media = ctype.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return None
    return f"content type {media!r} is not accepted: send JSON with Content-Type: application/json"


class Contained:
    """The outermost layer: an unexpected error is one log line and a 500 that closes the connection.

    Starlette re-raises after its error handler answered; uvicorn would then log a traceback and drop the
    keep-alive connection without `Connection: close`, and a pooled client reusing it loses its next request.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error("puras-nb local: %s %s failed: %s", scope["method"], scope["path"], one_line(exc))
            if not started:
                await _refuse(send, 500, f"internal error: {type(exc).__name__}", [(b"connection", b"close")])


def one_line(exc: BaseException) -> str:
    """`ValueError: bad thing (app.py:123)`: an exception and where it was raised, in one short line."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}{where}"
