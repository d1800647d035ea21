"""What an API answer may be, checked once for both clients (I/O-free): its body read under a size cap and a
deadline, its JSON parsed strictly, and its shape (a job, a list of jobs, events) checked before any caller sees it.

A server may be broken or hostile: an endless or dripping body, `Infinity` in JSON, JSON nested 100 000 deep, a
job that is `[]` or `{"id": 5}`. Each of these ends as a `PurasAPIError` ("unexpected answer from the server: …")
or a `PurasConnectionError` that says what happened, never as a raw Python error deep inside the caller.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx

from ..strings import cut, flat, has_control

__all__ = [
    "MAX_BODY",
    "MAX_DEPTH",
    "Answer",
    "AnswerTooLarge",
    "AnswerTooSlow",
    "BadBody",
    "BodyReader",
    "Shape",
    "Unexpected",
    "a_job",
    "a_list",
    "an_object",
    "dot_segment",
    "events_list",
    "jobs_list",
    "parse_json",
    "valid_id",
]

#: The most an API answer's body may hold, decoded: a job, or a list of a thousand, is far below it.
MAX_BODY = 64 * 1024 * 1024
#: JSON nested deeper than this is refused: no job is, and deeper values make comparisons, reprs and views
#: recurse past Python's limit.
MAX_DEPTH = 100
#: The longest job id taken (ids are UUIDs: 36 characters).
ID_MAX = 200
#: A check of what a route answers (`Request.expect`): the value itself, or Unexpected.
Shape = Callable[[Any], Any]


class Unexpected(ValueError):
    """An answer that is not what the route answers (its message says what it was instead)."""


class BadBody(httpx.DecodingError):
    """An answer whose body cannot be taken (read no further): an encoding we did not ask for, broken gzip."""

    def __init__(self, message: str, status: int, request: httpx.Request | None) -> None:
        super().__init__(message, request=request)
        self.status = status


class AnswerTooLarge(BadBody):
    """An answer whose body passed `MAX_BODY`."""

    def __init__(self, status: int, request: httpx.Request | None) -> None:
        super().__init__(f"its body is larger than {MAX_BODY // 2**20} MB", status, request)


class AnswerTooSlow(httpx.ReadTimeout):
    """An answer still arriving when its request's time was up (a body dripped a byte at a time never trips a
    read timeout: only a deadline on the whole request ends it)."""

    def __init__(self, request: httpx.Request | None) -> None:
        super().__init__("the answer was still arriving", request=request)


@dataclass(frozen=True)
class Answer:
    """A whole answer: its status, headers, decoded body and the URL it came from (a redirect's base)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: httpx.URL

    @property
    def reason_phrase(self) -> str:
        return httpx.codes.get_reason_phrase(self.status_code)


class BodyReader:
    """Collects an answer's raw body as the driver reads it, chunk by chunk: gzip decoded here with a bounded
    output (a small bomb cannot inflate past the cap inside one chunk), `MAX_BODY` and the request's `deadline`
    (time.monotonic()) checked at every chunk. Any encoding but gzip is refused: we ask for gzip only."""

    def __init__(self, response: httpx.Response, deadline: float, cap: int = MAX_BODY) -> None:
        self.response, self.deadline, self.cap = response, deadline, cap
        self.size = 0
        self.parts: list[bytes] = []
        #: Whether the transport handed the body over already read and decoded (httpx.MockTransport does).
        self.done = response.is_stream_consumed
        if self.done:
            self._gunzip = None
            self.feed(response.content)
            return
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise BadBody(f"content-encoding {flat(cut(encoding, 40))} (we asked for gzip)", response.status_code,
                          response.request)
        self._gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        try:
            declared = int(response.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > cap:
            raise AnswerTooLarge(response.status_code, response.request)

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk; AnswerTooLarge past the cap, AnswerTooSlow past the deadline."""
        if self._gunzip is not None:
            try:
                chunk = self._gunzip.decompress(chunk, self.cap + 1 - self.size)
            except zlib.error as exc:
                raise BadBody(f"a broken gzip body ({exc})", self.response.status_code, self.response.request) from None
            if self._gunzip.unconsumed_tail:
                raise AnswerTooLarge(self.response.status_code, self.response.request)
        self.size += len(chunk)
        self.parts.append(chunk)
        if self.size > self.cap:
            raise AnswerTooLarge(self.response.status_code, self.response.request)
        self.check()

    def check(self) -> None:
        """AnswerTooSlow once the deadline has passed."""
        if time.monotonic() >= self.deadline:
            raise AnswerTooSlow(self.response.request)

    def failed(self, exc: httpx.TransportError) -> httpx.TransportError:
        """What a transport error while reading means: AnswerTooSlow when the deadline had passed (the driver's
        watchdog shut the connection then), else `exc` itself."""
        if time.monotonic() >= self.deadline:
            slow = AnswerTooSlow(self.response.request)
            slow.__cause__ = exc
            return slow
        return exc

    def answer(self) -> Answer:
        """The whole answer, once the body is all in."""
        if self._gunzip is not None and not self._gunzip.eof:
            raise BadBody("a gzip body cut short", self.response.status_code, self.response.request)
        return Answer(self.response.status_code, self.response.headers, b"".join(self.parts), self.response.url)


def _refuse_constant(name: str) -> Any:
    raise Unexpected(f"not JSON ({name})")


def parse_json(content: bytes) -> Any:
    """The JSON value of a body, strictly: `NaN`/`Infinity` (which Python's json accepts) refused, and nothing
    nested deeper than `MAX_DEPTH`. Unexpected (a ValueError) says why not."""
    try:
        value = json.loads(content, parse_constant=_refuse_constant)
    except RecursionError:
        raise Unexpected(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise Unexpected("not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise Unexpected(f"not JSON ({exc.msg} at {exc.pos})") from None
    if _deeper_than(value, MAX_DEPTH):
        raise Unexpected(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        items = node.values() if isinstance(node, dict) else node
        for item in items:
            if isinstance(item, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((item, depth + 1))
    return False


def _what(value: Any) -> str:
    """A value named for an error message: its JSON kind and a short, plain rendering."""
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
    return kind if value is None else f"{kind} ({flat(cut(json.dumps(value, default=str)[:200], 60))})"


def dot_segment(job_id: str) -> bool:
    """Whether a job id is `.` or `..`, percent-encoded or not, which no route can carry: a URL loses it (httpx
    removes dot segments before sending, servers after decoding them)."""
    return unquote(job_id) in (".", "..")


def valid_id(value: Any) -> bool:
    """A job id a route can carry: a non-empty string of at most `ID_MAX` printable characters, no white space,
    and no dot segment (`dot_segment`)."""
    return (isinstance(value, str) and 0 < len(value) <= ID_MAX and not dot_segment(value)
            and not has_control(value) and not any(c.isspace() for c in value))


def a_job(value: Any) -> dict:
    """`value` if it is a job object: an object with a valid `id`, and a `status` string if it has one."""
    if not isinstance(value, dict):
        raise Unexpected(f"a job should be an object, not {_what(value)}")
    if not valid_id(value.get("id")):
        raise Unexpected(f"a job needs an id string, not {_what(value.get('id'))}")
    if not isinstance(value.get("status", ""), str):
        raise Unexpected(f"job {value['id']}'s status should be a string, not {_what(value['status'])}")
    return value


def jobs_list(value: Any) -> list[dict]:
    """`value` if it is a list of job objects."""
    if not isinstance(value, list):
        raise Unexpected(f"a list of jobs should be a list, not {_what(value)}")
    for i, job in enumerate(value):
        try:
            a_job(job)
        except Unexpected as exc:
            raise Unexpected(f"item {i} of the job list: {exc}") from None
    return value


def events_list(value: Any) -> list[dict]:
    """`value` if it is a list of event objects, each with a whole-number `id` (the `after` cursor)."""
    if not isinstance(value, list):
        raise Unexpected(f"a list of events should be a list, not {_what(value)}")
    for i, event in enumerate(value):
        if not isinstance(event, dict):
            raise Unexpected(f"event {i} should be an object, not {_what(event)}")
        number = event.get("id")
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise Unexpected(f"event {i} needs a whole-number id, not {_what(number)}")
    return value


def an_object(value: Any) -> dict:
    """`value` if it is a JSON object."""
    if not isinstance(value, dict):
        raise Unexpected(f"an object was expected, not {_what(value)}")
    return value


def a_list(value: Any) -> list[dict]:
    """`value` if it is a list of objects (skillpacks)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Unexpected(f"a list of objects was expected, not {_what(value)}")
    return value

