"""A fault-injecting HTTP/1.1 proxy on loopback, in front of a real server (the emulator, or any other).

Faults the server's own middleware cannot produce: failures *after* the server processed a request (the
answer reset, replaced by a 502 or cut short), and a keep-alive connection closed just as the next request
arrives. Each request is forwarded on a fresh upstream connection; the client side keeps its connection
alive between requests (no `Connection: close`), as a server or load balancer does.

Used by the tests (tests/api/test_faults.py) and by bench/chaos.py.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from .loopback import LoopbackServer, read_request

# What the proxy does with one request:
PASS = "pass"
CLOSE_BEFORE = "close before"  # close the connection (FIN) without forwarding: never processed
RESET_BEFORE = "reset before"  # reset the connection (RST) without forwarding: never processed
RESET_AFTER = "reset after"  # forward, then reset instead of answering: processed, answer lost
BAD_GATEWAY_AFTER = "502 after"  # forward, then answer 502 with an HTML page: processed, answer lost
TRUNCATE_AFTER = "truncate after"  # forward, then send the headers and half the body and close: processed
REFUSE_429 = "429"  # answer 429 with Retry-After, without forwarding: never processed
REFUSE_503 = "503"  # answer 503 with Retry-After, without forwarding: never processed
FAULTS = (CLOSE_BEFORE, RESET_BEFORE, RESET_AFTER, BAD_GATEWAY_AFTER, TRUNCATE_AFTER)
PROCESSED = (PASS, RESET_AFTER, BAD_GATEWAY_AFTER, TRUNCATE_AFTER)

# decide(method, path, n) -> action; n counts the requests on this client connection (1 for the first).
Decide = Callable[[str, str, int], str]

_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"proxy-connection"}


def random_faults(rate: float, methods: tuple[str, ...], kinds: tuple[str, ...] = FAULTS, seed: int = 1) -> Decide:
    """A seeded `decide` failing `rate` of the requests with those methods to `/v1/` with one of `kinds`."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def decide(method: str, path: str, n: int) -> str:
        if method not in methods or not path.startswith("/v1/"):
            return PASS
        with lock:
            return rng.choice(kinds) if rng.random() < rate else PASS

    return decide


class ChaosProxy(LoopbackServer):
    """`with ChaosProxy(upstream_url, decide) as proxy:` then talk to `proxy.url`; `proxy.counts` per action.
    A refusal (429, 503) asks for a pause of `retry_after` seconds."""

    def __init__(self, upstream: str, decide: Decide, *, retry_after: float = 0.2) -> None:
        super().__init__()
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.decide = decide
        self.retry_after = retry_after
        self.counts: Counter[str] = Counter()

    def __enter__(self) -> ChaosProxy:
        super().__enter__()
        return self

    def serve(self, conn: socket.socket) -> None:
        buf, n = b"", 0
        while True:
            request, buf = read_request(conn, buf)
            if request is None:
                return
            n += 1
            method, path = request[0].split(b" ")[:2]
            action = self.decide(method.decode(), path.decode(), n)
            with self._lock:
                self.counts[action] += 1
            if action == CLOSE_BEFORE:
                return
            if action == RESET_BEFORE:
                _reset(conn)
                return
            if action in (REFUSE_429, REFUSE_503):
                body = b'{"detail": "busy, come back later"}'
                conn.sendall(_response(int(action), "Busy", [(b"retry-after", f"{self.retry_after:g}".encode())], body))
                continue
            status, reason, headers, body = self._forward(method.decode(), path.decode(), *request[1:])
            if action == RESET_AFTER:
                _reset(conn)
                return
            if action == BAD_GATEWAY_AFTER:
                page = b"<html><head><title>502 Bad Gateway</title></head><body>upstream died</body></html>"
                conn.sendall(_response(502, "Bad Gateway", [(b"content-type", b"text/html")], page))
                continue
            raw = _response(status, reason, headers, body)
            if action == TRUNCATE_AFTER:
                conn.sendall(raw[: len(raw) - max(1, len(body) // 2)])
                return
            conn.sendall(raw)

    def _forward(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            sent = {k.decode(): v.decode() for k, v in headers if k.lower() not in _HOP}
            upstream.request(method, path, body=body or None, headers=sent)
            answer = upstream.getresponse()
            data = answer.read()
            kept = [(k.lower().encode(), v.encode()) for k, v in answer.getheaders() if k.lower().encode() not in _HOP]
            return answer.status, answer.reason, kept, data
        finally:
            upstream.close()


def _response(status: int, reason: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {reason}".encode(),
        *(k + b": " + v for k, v in headers),
        b"content-length: " + str(len(body)).encode(),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _reset(conn: socket.socket) -> None:
    """Abort the connection with a RST (SO_LINGER 0), as a crashed server or a load balancer does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
