"""What the test servers that speak raw HTTP/1.1 on loopback share (the chaos proxy, the hostile server): a listening
socket, a thread per connection, every connection closed on exit, and reading one request off a connection."""

from __future__ import annotations

import contextlib
import socket
import threading


class LoopbackServer:
    """A server on `self.url` (127.0.0.1, a free port) that serves each connection with `serve(conn)` on a thread
    of its own; `with server:` starts it, leaving the block closes the listener and every open connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._conns: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked on it (a drip, a stall)
                conn.close()

    def serve(self, conn: socket.socket) -> None:
        """Answer the requests on one connection (the subclass's part); it is closed afterwards."""
        raise NotImplementedError

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()


def read_request(conn: socket.socket, buf: bytes) -> tuple[tuple | None, bytes]:
    """One request from the connection: `((request line, headers, body), rest)`, or `(None, b"")` at its end;
    headers are `(name, value)` byte pairs as sent."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    line, *lines = head.split(b"\r\n")
    headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(b":") for h in lines)]
    length = next((int(v) for k, v in headers if k.lower() == b"content-length"), 0)
    while len(buf) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    return (line, headers, buf[:length]), buf[length:]
