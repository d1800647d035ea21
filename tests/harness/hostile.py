"""A hostile HTTP/1.1 server on loopback: each route answers with whatever bytes a test scripts, at whatever pace.

What no well-behaved server (the emulator, `puras serve`) produces and a mock transport cannot show over a real
socket: a body dripped a byte at a time, an endless body, a redirect on a submission, wrong-shaped JSON, escape
codes in an error. Every request is recorded (method, path as sent, headers), so a test can tell what reached it.

    with Hostile({"GET /v1/jobs/": answer(200, {"id": "j1", "status": "running"})}) as server:
        Client(KEY, api_base=server.url).get("j1")

A route is "METHOD /path-prefix" (the longest matching prefix wins); its handler is called with the connection
and the parsed request and writes the answer itself (`answer`, `drip` and `endless` make the usual ones).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .loopback import LoopbackServer, read_request


@dataclass
class Seen:
    """One request as it reached the server."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


Handler = Callable[[socket.socket, Seen], None]


def raw(status: int, body: bytes, headers: tuple[tuple[str, str], ...] = (), *, length: bool = True) -> bytes:
    """The bytes of a whole answer (a Content-Length unless `length=False`; the connection is then closed)."""
    lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    else:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def answer(status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> Handler:
    """Answer `body` (bytes as they are, anything else as JSON) with `status` and `headers`."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = headers if any(k.lower() == "content-type" for k, _ in headers) else (
        ("Content-Type", "application/json"), *headers)

    def handle(conn: socket.socket, seen: Seen) -> None:
        conn.sendall(raw(status, data, headers))

    return handle


def drip(body: bytes, every: float = 1.0, *, status: int = 200, chunk: int = 1,
         until: threading.Event | None = None) -> Handler:
    """Send the headers at once, then `body` `chunk` bytes at a time, one piece every `every` seconds (with its
    Content-Length, so the client keeps waiting for the rest); stops when the client goes away, or cuts the
    answer short (closes the connection) once `until` is set."""

    def handle(conn: socket.socket, seen: Seen) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode())
        for i in range(0, len(body), chunk):
            conn.sendall(body[i : i + chunk])
            if until is None:
                time.sleep(every)
            elif until.wait(every):
                conn.shutdown(socket.SHUT_RDWR)
                return

    return handle


def endless(piece: bytes = b" " * 65536) -> Handler:
    """A 200 with a chunked JSON body that never ends: "[" then `piece` after `piece`, as fast as the client reads
    (it stops when the client goes away)."""

    def handle(conn: socket.socket, seen: Seen) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        conn.sendall(b"1\r\n[\r\n")
        while True:
            conn.sendall(frame)

    return handle


class Hostile(LoopbackServer):
    """`with Hostile(routes) as server:` a server on `server.url` answering each route with its handler (404
    otherwise); `server.seen` lists the requests. Routes may be changed while it runs (`server.routes[...] = ...`)."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        super().__init__()
        self.routes = routes
        self.seen: list[Seen] = []

    def __enter__(self) -> Hostile:
        super().__enter__()
        return self

    def _route(self, method: str, path: str) -> Handler | None:
        matches = [r for r in self.routes if r.split(" ", 1)[0] == method and path.startswith(r.split(" ", 1)[1])]
        return self.routes[max(matches, key=len)] if matches else None

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            request, buf = read_request(conn, buf)
            if request is None:
                return
            line, headers, body = request
            method, path = line.decode("latin-1").split(" ")[:2]
            seen = Seen(method, path, {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}, body)
            self.seen.append(seen)
            handler = self._route(method, path)
            if handler is None:
                conn.sendall(raw(404, b'{"detail": "no route"}', (("Content-Type", "application/json"),)))
            else:
                handler(conn, seen)


def gzip_bomb(size: int, byte: bytes = b"\0") -> bytes:
    """`size` times `byte`, gzipped (64 MB in about 64 KB), made in milliseconds: one deflated megabyte, flushed so
    that it stands alone, repeated, where deflating the whole would take a second of CPU."""
    block = byte * 2**20
    whole, rest = divmod(size, len(block))
    piece, tail = (zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS) for _ in range(2))
    body = (piece.compress(block) + piece.flush(zlib.Z_FULL_FLUSH)) * whole + tail.compress(byte * rest) + tail.flush()
    crc = 0
    for _ in range(whole):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", zlib.crc32(byte * rest, crc), size & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + trailer
