"""Fault injection: an ASGI middleware that fails a seeded fraction of matching requests.

Spec (string `rate=0.3;seed=7;kinds=500|503|429|reset|delay;methods=GET;paths=/v1/jobs;retry_after=1;delay=0.5`,
a JSON object string, or a dict with the same keys). Off by default and off for `{}`.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "FaultInjector", "FaultSpec", "parse_spec"]

KINDS = ("500", "502", "503", "429", "reset", "delay")
_STATUS_TEXT = {
    "500": "injected fault: internal error",
    "502": "injected fault: bad gateway",
    "503": "injected fault: service unavailable",
    "429": "injected fault: rate limited",
}


@dataclass
class FaultSpec:
    """A parsed fault spec; `rate=0` means faults are off."""

    rate: float = 0.0
    seed: int | None = None
    kinds: tuple[str, ...] = ("500", "502", "503", "429", "reset")
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("/v1/",)
    retry_after: float = 1.0
    delay: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The spec as JSON (what `GET /_emulator/faults` shows)."""
        return {
            "rate": self.rate,
            "seed": self.seed,
            "kinds": list(self.kinds),
            "methods": list(self.methods),
            "paths": list(self.paths),
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


def _split(value: Any) -> tuple[str, ...]:
    items = value.replace(",", "|").split("|") if isinstance(value, str) else [str(v) for v in value]
    return tuple(i.strip() for i in items if i.strip())


def _seconds(value: Any) -> float:
    seconds = float(value)
    if not 0.0 <= seconds <= 3600.0:  # also refuses NaN
        raise ValueError("must be between 0 and 3600 seconds")
    return seconds


def parse_spec(spec: str | dict | None) -> FaultSpec:
    """Parse a fault spec; raises ValueError with a readable message on a bad key or value."""
    if spec is None:
        return FaultSpec()
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            spec = json.loads(text)
        else:
            pairs: dict[str, str] = {}
            for part in filter(None, (p.strip() for p in text.split(";"))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise ValueError(f"fault spec: expected key=value, got {part!r}")
                pairs[key.strip()] = value.strip()
            spec = pairs
    if not isinstance(spec, dict):
        raise ValueError("fault spec must be a string or an object")
    out = FaultSpec()
    for key, value in spec.items():
        try:
            if key == "rate":
                out.rate = float(value)
                if not 0.0 <= out.rate <= 1.0:
                    raise ValueError("rate must be between 0 and 1")
            elif key == "seed":
                out.seed = None if value in (None, "") else int(value)
            elif key == "kinds":
                out.kinds = _split(value)
                unknown = [k for k in out.kinds if k not in KINDS]
                if unknown or not out.kinds:
                    raise ValueError(f"unknown kinds {unknown}; choose from {'|'.join(KINDS)}")
            elif key == "methods":
                out.methods = tuple(m.upper() for m in _split(value))
            elif key == "paths":
                out.paths = _split(value)
            elif key == "retry_after":
                out.retry_after = _seconds(value)
            elif key == "delay":
                out.delay = _seconds(value)
            else:
                raise ValueError(f"unknown key {key!r} (keys: rate, seed, kinds, methods, paths, retry_after, delay)")
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"fault spec {key}: {exc}") from None
    return out


class FaultInjector:
    """The ASGI middleware; also counts requests and injected faults for `/_emulator/stats`."""

    def __init__(self, app: Any, spec: str | dict | None = None):
        self.app = app
        self._lock = threading.Lock()
        self.requests = 0
        self.counts: Counter[str] = Counter()
        self.configure(spec)

    def configure(self, spec: str | dict | FaultSpec | None) -> FaultSpec:
        """Replace the active spec (restarting its seeded sequence)."""
        parsed = spec if isinstance(spec, FaultSpec) else parse_spec(spec)
        with self._lock:
            self.spec = parsed
            self._rng = random.Random(parsed.seed)
        return parsed

    def reset_stats(self) -> None:
        """Zero the request and fault counters."""
        with self._lock:
            self.requests = 0
            self.counts.clear()

    def stats(self) -> dict:
        """`{requests, faults: {kind: n}}` since the last reset."""
        with self._lock:
            return {"requests": self.requests, "faults": dict(self.counts)}

    def _pick(self, method: str, path: str) -> str | None:
        with self._lock:
            if not path.startswith("/_emulator"):
                self.requests += 1
            spec = self.spec
            if spec.rate <= 0 or path.startswith("/_emulator"):
                return None
            if spec.methods and method not in spec.methods:
                return None
            if not any(path.startswith(p) for p in spec.paths):
                return None
            if self._rng.random() >= spec.rate:
                return None
            kind = self._rng.choice(spec.kinds)
            self.counts[kind] += 1
            return kind

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self._pick(scope["method"], scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "delay":  # a slow server: it has the whole request, then takes its time to act on it
            receive = await _read_whole(receive)
            await asyncio.sleep(self.spec.delay)
            await self.app(scope, receive, send)
        elif kind == "reset":
            await self._reset(scope, receive, send)
        else:
            await self._error(kind, send)

    async def _error(self, kind: str, send: Any) -> None:
        body = json.dumps({"detail": _STATUS_TEXT[kind]}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if kind == "429":
            headers.append((b"retry-after", f"{self.spec.retry_after:g}".encode()))
        await send({"type": "http.response.start", "status": int(kind), "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _reset(self, scope: dict, receive: Any, send: Any) -> None:
        """Abort the TCP connection (RST) without any response; falls back to a 502 off uvicorn."""
        cycle = getattr(receive, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if cycle is None or transport is None:
            await self._error("502", send)
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        cycle.disconnected = True


async def _read_whole(receive: Any) -> Any:
    """Read the request body now and return a `receive` that replays it, so the app acts on the request even if
    the client hung up meanwhile (as a real server that already has the request does)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay() -> Any:
        return messages.pop(0) if messages else await receive()

    return replay
