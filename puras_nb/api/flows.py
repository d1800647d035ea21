"""What `Client` and `AsyncClient` share: configuration, request building, retries, waits, errors.

The job logic (submit, retry, poll, interrupt) is written once, as generators ("flows") that
yield I/O steps: a `Request` to send once, or a `Sleep`. `Client` drives a flow with blocking
httpx and `time.sleep`, `AsyncClient` with `httpx.AsyncClient` and `asyncio.sleep`; a failed
send is thrown back into the flow, which decides whether to retry. Nothing here does I/O.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ..errors import (
    JobError,
    JobInterrupted,
    NotSupported,
    PurasAPIError,
    PurasConnectionError,
    PurasError,
    SubmitInterrupted,
    redact,
)
from ..settings import DEFAULT_API_BASE
from ..strings import Secret, cut, flat, mask_key
from ..version import __version__
from .answers import (
    Answer,
    AnswerTooSlow,
    BadBody,
    Shape,
    Unexpected,
    a_job,
    a_list,
    an_object,
    dot_segment,
    events_list,
    jobs_list,
    parse_json,
)
from .tls import ssl_context

TERMINAL = ("succeeded", "failed", "cancelled")
USER_AGENT = f"puras-nb/{__version__}"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: What a server answers to a route it does not have (`puras serve`: 404 "no route for ..."; 405; 501).
NO_ROUTE = frozenset({404, 405, 501})
POLL_START = 0.05
#: `Client.run` / `wait` / `events`' seconds between checks, as the official client has it (live jobs: Settings').
POLL_INTERVAL = 2.0
BACKOFF_BASE = 0.2
BACKOFF_CAP = 10.0
RETRY_AFTER_CAP = 60.0
DETAIL_MAX = 200
SCAN_MAX = 16_384  # characters of a non-JSON body that short_text reads
# The timeouts, each named for what it bounds:
#: a wait for a job's end (`Client.run` / `wait`'s `timeout`, as the official client has it);
WAIT_TIMEOUT = 600.0
#: one HTTP request (`Client(timeout=...)`, as the official client has it);
REQUEST_TIMEOUT = 120.0
#: a held submission (`submit(wait=True, timeout=hold)`): its request may take the hold plus this;
HOLD_SLACK = 30
#: the most a wait that gave up (Ctrl-C, its timeout) spends on finding or cancelling its job.
STOP_TIMEOUT = 5.0
LOOKUP_PAUSE = 0.25  # between looks for the job an interrupted submission may still create
DEADLINE_GRACE = 1.0  # a request inside a deadline may outlive it by this much (a poll started just before it)
#: Redirects followed for one call: only 307 and 308 (method and body kept) to the API's own origin.
MAX_REDIRECTS = 5
UNEXPECTED = "unexpected answer from the server"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A connect error (or a pool/connect timeout) means the request never left this machine, so
# even a job submission can be resent without creating a duplicate.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
TRANSIENT = (*NEVER_SENT, httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError,
             httpx.RemoteProtocolError)
STOPS = (KeyboardInterrupt, asyncio.CancelledError)
LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=64)

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """One API call to make: what to send, how long to wait for it, and whether a resend is safe."""

    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    request_timeout: float = REQUEST_TIMEOUT
    idempotent: bool = True
    job_id: str | None = None
    creates_job: bool = False
    #: The feature this route serves where not every server has it ("cancel"): its 404/405/501 is NotSupported.
    feature: str = ""
    #: What the route answers (a job, a list of events, ...): anything else is an unexpected answer.
    expect: Shape | None = None
    #: The whole URL when a redirect gave it (the API base and `path` otherwise; `params` are then in it).
    url: str | None = None


@dataclass(frozen=True)
class Sleep:
    """A pause inside a flow (backoff or poll interval), in seconds."""

    seconds: float


@dataclass(frozen=True)
class Emit:
    """Events a flow hands to the caller of `iter_events`."""

    events: list[dict[str, Any]]


Step = Request | Sleep | Emit
Flow = Generator[Step, Any, T]


class StaleConnection(httpx.TransportError):
    """A request sent on a reused keep-alive connection that the server had closed: it failed before any byte
    of an answer came back, so (as urllib3 and browsers judge) the server never processed it."""


class Tracer:
    """The httpcore `trace` extension of one request: whether it opened a connection, sent, and got an answer.

    httpx says nothing of connection reuse; its trace events do. Call it (sync) or `atrace` (async)."""

    def __init__(self) -> None:
        self.connected = self.sent = self.delivered = self.answered = False

    def __call__(self, name: str, info: dict[str, Any]) -> None:
        if name.startswith(("connection.connect_tcp.", "connection.connect_unix_socket.")):
            self.connected = True
        elif name.endswith(".send_request_headers.started"):
            self.sent = True
        elif name.endswith(".send_request_body.complete"):
            self.delivered = True
        elif name.endswith(".receive_response_headers.complete"):
            self.answered = True

    async def atrace(self, name: str, info: dict[str, Any]) -> None:
        self(name, info)

    def mark(self, stop: BaseException) -> None:
        """Note on `stop` (Ctrl-C, a cancelled task) whether the whole request had left this machine: a server
        cannot act on a request it did not get whole, so an interrupted submission can then be called off."""
        stop.puras_delivered = self.delivered  # type: ignore[attr-defined]  # a tag on any exception, read by getattr

    def check(self, exc: httpx.TransportError) -> httpx.TransportError:
        """`exc` as a StaleConnection when it is a reused connection dying before any answer: the server closed
        it (EOF: "Server disconnected without sending a response") or reset it; else `exc` unchanged."""
        closed = isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in str(exc)
        if self.sent and not self.connected and not self.answered and (
            closed or isinstance(exc, (httpx.ReadError, httpx.WriteError))
        ):
            stale = StaleConnection(str(exc), request=exc.request)
            stale.__cause__ = exc
            return stale
        return exc


def event_id(event: Any) -> int:
    """An event's number (1, 2, … per job), 0 for anything malformed: the cursor of `/events?after=`."""
    try:
        return int(event.get("id") or 0) if isinstance(event, dict) else 0
    except (TypeError, ValueError, OverflowError):  # OverflowError: an id of Infinity
        return 0


def delivered(stop: BaseException) -> bool:
    """Whether the request a Ctrl-C (or cancellation) cut off may have reached the server (True when unknown)."""
    return getattr(stop, "puras_delivered", True)


def resolve_target(skill: str, skillpack: str | None, default: str | None) -> tuple[str, str]:
    """Split a skill path into `(skillpack_ref, skill_name)` exactly as `puras.Client` does.

    `workspace/skillpack/skill` and `skillpack/skill` carry their own skillpack; a bare name
    takes `skillpack`, else `default`, else raises the official ValueError."""
    s = (skill or "").strip().strip("/")
    parts = [p for p in s.split("/") if p]
    if len(parts) >= 2:
        return "/".join(parts[:-1]), parts[-1]
    sp = skillpack or default
    if not sp:
        raise ValueError(
            'no skillpack — call a fully-qualified skill ("workspace/skillpack/skill"), '
            "or set skillpack=… here or on Client(...)"
        )
    return sp, (parts[0] if parts else s)


def job_path(job_id: str, action: str = "") -> str:
    """`/v1/jobs/{id}[/action]`, the id escaped so that no id can point at another route (ValueError for an empty
    id or a dot segment, `dot_segment`)."""
    if not str(job_id) or dot_segment(str(job_id)):
        raise ValueError(f"{job_id!r} is not a job id")
    path = f"/v1/jobs/{quote(str(job_id), safe='')}"
    return f"{path}/{action}" if action else path


def clean_key(key: Secret | None) -> Secret:
    """The key as it goes into the Authorization header: surrounding whitespace (a newline from a file or
    a paste) trimmed; any other character a header cannot carry refused without quoting the key, since
    httpx/h11 put the whole header value in their error, and errors end up in notebooks and logs. It stays a
    Secret throughout: a traceback of the ValueError prints this frame's locals."""
    key = Secret(key.reveal().strip()) if key else None
    if not key:
        raise ValueError("no API key — pass api_key=… or set PURAS_API_KEY")
    if not all("!" <= c <= "~" for c in key.reveal()):
        raise ValueError("the API key has a character an HTTP header cannot carry (a control character, "
                         "a space or non-ASCII): check how it was copied")
    return key


class KeyAuth(httpx.Auth):
    """The Authorization header, added by httpx as a request leaves, for the API's own origin only: the key is
    never in a headers dict that a frame (ours or httpx's) holds, so no traceback printing locals shows it."""

    def __init__(self, key: Secret, origin: httpx.URL) -> None:
        self.key = key
        self.origin = origin

    def covers(self, url: httpx.URL) -> bool:
        """Whether `url` is on the API's origin (scheme, host and port)."""
        return (url.scheme, url.host, url.port) == (self.origin.scheme, self.origin.host, self.origin.port)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.covers(request.url):
            request.headers["Authorization"] = "Bearer " + self.key.reveal()
        yield request

    def __repr__(self) -> str:
        return f"KeyAuth({self.key!r}, {str(self.origin)!r})"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter for retry number `attempt` (0-based): 0.1–0.2 s, 0.2–0.4 s, …"""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.5 + rng() / 2)


def poll_delays(poll_interval: float, start: float = POLL_START) -> Iterator[float]:
    """Waits between status checks: start fast (50 ms), double up to `poll_interval`, then stay there."""
    delay = min(start, poll_interval)
    while True:
        yield delay
        delay = min(delay * 2, poll_interval)


def short_text(text: str, limit: int = DETAIL_MAX) -> str:
    """The first meaningful bit of a non-JSON body (an HTML proxy page: its title, else its text).

    Only the top of the body is read: that is where a page's title and first words are, and the tag
    patterns below take quadratic time on an unclosed tag repeated over a whole page."""
    text = text[:SCAN_MAX]
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if title and title.group(1).strip():
        text = title.group(1)
    else:
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.I | re.S)
        text = re.sub(r"<[^>]+>", " ", text)
    return cut(" ".join(text.split()), limit)


def detail(response: httpx.Response | Answer, key: Secret | None = None) -> str:
    """The error detail of a response: JSON `detail`/`message` as puras does, else a short text; credentials
    (the key, any Bearer or Authorization value, as an error page echoing the request's headers shows) blanked."""
    try:
        body = parse_json(response.content)
    except ValueError:
        # Blanked before it is cut short, so that no cut leaves part of a key behind.
        text = redact(response.content[: SCAN_MAX + 256].decode("utf-8", "replace"), key)
        return short_text(text) or response.reason_phrase or "no detail"
    if isinstance(body, dict):
        return redact(str(body.get("detail") or body.get("message") or body), key)
    return redact(str(body), key)


def host_of(api_base: str) -> str:
    """The host[:port] of the API, as error messages name it."""
    url = httpx.URL(api_base)
    return f"{url.host}:{url.port}" if url.port else url.host


def connection_error(
    exc: httpx.RequestError, req: Request, host: str, key: Secret | None = None
) -> PurasConnectionError:
    """An httpx transport failure as a PurasConnectionError naming the host, the cause and the job (credentials
    blanked: h11 quotes a header it refuses)."""
    if isinstance(exc, AnswerTooSlow):
        cause = f"no whole answer within {req.request_timeout:.3g} s ({exc})"
    elif isinstance(exc, httpx.TimeoutException):
        cause = f"timed out after {req.request_timeout:.3g} s ({type(exc).__name__})"
    else:
        cause = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, key)
    message = f"{req.method} {req.path}: cannot reach {host}: {cause}"
    if req.job_id:
        message += f" (job {req.job_id})"
    err = PurasConnectionError(message, host=host, job_id=req.job_id)
    err.__cause__ = exc
    return err


def name_job(err: PurasAPIError | PurasConnectionError, job_id: str) -> PurasAPIError | PurasConnectionError:
    """Make an error that ends a wait say which job it was about, so the job can be waited on again (`.job_id`,
    which both errors a call can end with carry)."""
    err.job_id = job_id
    if job_id not in str(err):
        err.args = (f"{err} (while waiting for job {job_id}; it may still be running)",)
    return err


def answer_lost(err: PurasAPIError | PurasConnectionError) -> bool:
    """After a submission failed: could the server have created the job all the same? Yes unless the request
    never left (a connect error), or was turned away as a whole (a redirect, a 4xx, or a 503: the service did
    not take it)."""
    if isinstance(err, PurasConnectionError):
        return not isinstance(err.__cause__, NEVER_SENT)
    return not (300 <= err.status < 500 or err.status == 503)


def may_exist(err: PurasError, skill: str) -> PurasError:
    """Make a submission's error say that a job may have been created, and how to look for it."""
    err.args = (f"{err} — the job may have been created all the same: list recent ones with "
                f"client.jobs(skill={skill!r}) before submitting again",)
    return err


def is_transient(err: BaseException) -> bool:
    """Worth another try later: a connection failure, or 429/502/503/504."""
    if isinstance(err, PurasConnectionError):
        return True
    return isinstance(err, PurasAPIError) and err.status in RETRY_STATUSES


def advance(flow: Generator[Any, Any, Any], value: Any, error: BaseException | None) -> tuple[bool, Any]:
    """Resume `flow` with the result (or failure) of its last step: `(True, result)` or `(False, next step)`."""
    try:
        step = flow.throw(error) if error is not None else flow.send(value)
    except StopIteration as stop:
        return True, stop.value
    return False, step


def parse_time(stamp: Any) -> float | None:
    """An ISO-8601 timestamp from the API as epoch seconds (None if missing, not a string, or unreadable)."""
    if not isinstance(stamp, str) or not stamp:
        return None
    # Python 3.10's fromisoformat wants "+00:00" for "Z" and exactly 3 or 6 fractional digits.
    stamp = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], stamp.replace("Z", "+00:00"))
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


class BaseClient:
    """Configuration and job logic shared by `Client` and `AsyncClient` (they add only the I/O)."""

    #: Longest server-side hold `run()` asks for (the hosted API caps it at 60 s).
    max_server_wait: float = 60.0

    def __init__(
        self,
        api_key: str | Secret | None = None,
        skillpack: str | None = None,
        *,
        api_base: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
        max_retries: int = 3,
        transport: Any = None,
    ) -> None:
        # A traceback prints each frame's locals and arguments: from here on the key is a Secret in all of them.
        api_key = Secret.of(api_key or os.environ.get("PURAS_API_KEY"))
        self.skillpack = skillpack
        self.api_base = (api_base or os.environ.get("PURAS_API_BASE") or DEFAULT_API_BASE).rstrip("/")
        self._auth = KeyAuth(clean_key(api_key), httpx.URL(self.api_base))
        #: Seconds one HTTP request may take, its whole answer included (the official client's `timeout`); a call
        #: such as `get` ends by then, its retries included.
        self.request_timeout = timeout
        self.max_retries = max_retries
        self._host = host_of(self.api_base)
        self._http = self._open(transport)

    @property
    def api_key(self) -> str:
        """The API key, as the official client has it (set it to change the key)."""
        return self._auth.key.reveal()

    @api_key.setter
    def api_key(self, key: str | Secret) -> None:
        self._auth.key = clean_key(Secret.of(key))

    @property
    def secret(self) -> Secret:
        """The API key as a `Secret` (its repr masks it): what to hand on, e.g. to a media fetch."""
        return self._auth.key

    @property
    def timeout(self) -> float:
        """The official client's name for `request_timeout`."""
        return self.request_timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.request_timeout = seconds

    def _open(self, transport: Any) -> Any:
        """The pooled httpx client of a subclass; the base itself does no I/O, so it opens nothing."""
        return None

    def __repr__(self) -> str:
        sp = f", skillpack={self.skillpack!r}" if getattr(self, "skillpack", None) else ""
        auth = getattr(self, "_auth", None)  # a traceback of a failed __init__ prints this before it is set
        key = mask_key(auth.key.reveal()) if auth else "?"
        return f"{type(self).__name__}(api_base={getattr(self, 'api_base', '?')!r}, api_key={key!r}{sp})"

    # ── what goes on the wire ────────────────────────────────────────────────
    def _http_options(self, transport: Any) -> dict[str, Any]:
        """The pooled client: the key through `KeyAuth` (the API's origin only), gzip the only encoding asked for
        (`BodyReader` decodes it under the cap), and no redirect followed by httpx (`_call` decides)."""
        return {
            "headers": {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"},
            "auth": self._auth,
            "timeout": self.request_timeout,
            "follow_redirects": False,
            "limits": LIMITS,
            "verify": ssl_context(),
            "transport": transport,
        }

    def _submit_request(
        self,
        skill: str,
        inputs: dict | None,
        skillpack: str | None,
        version: int | None,
        wait: bool,
        hold: int,
    ) -> Request:
        ref, name = resolve_target(skill, skillpack, self.skillpack)
        params = {"skillpack_id" if UUID_RE.match(ref) else "skillpack": ref}
        if version is not None:
            params["version"] = str(int(version))
        if wait:
            params["wait"] = "true"
            params["timeout"] = str(int(hold))
        return Request(
            "POST",
            "/v1/jobs",
            params=params,
            json={"skill": name, "inputs": inputs or {}},
            request_timeout=(hold + HOLD_SLACK) if wait else self.request_timeout,
            idempotent=False,
            creates_job=True,
            expect=a_job,
        )

    def _submit(
        self, skill: str, inputs: dict | None, skillpack: str | None, version: int | None, wait: bool, hold: int
    ) -> Flow[dict]:
        """`submit()`: one submission, whose retries end with its request's own timeout."""
        req = self._submit_request(skill, inputs, skillpack, version, wait, hold)
        return self._submit_flow(req, time.monotonic() + req.request_timeout)

    def _get_request(self, job_id: str) -> Request:
        return Request("GET", job_path(job_id), request_timeout=self.request_timeout, job_id=job_id, expect=a_job)

    def _cancel_request(self, job_id: str) -> Request:
        return Request("POST", job_path(job_id, "cancel"), request_timeout=self.request_timeout, job_id=job_id,
                       feature="cancel", expect=a_job)

    def _events_request(self, job_id: str, after: int) -> Request:
        return Request("GET", job_path(job_id, "events"), {"after": str(int(after))},
                       request_timeout=self.request_timeout, job_id=job_id, expect=events_list)

    def _spans_request(self, job_id: str) -> Request:
        return Request("GET", job_path(job_id, "spans"), request_timeout=self.request_timeout, job_id=job_id,
                       feature="spans")

    def _jobs_request(self, status: str | None, skill: str | None, limit: int | None) -> Request:
        params = {k: str(v) for k, v in (("status", status), ("skill", skill), ("limit", limit)) if v is not None}
        return Request("GET", "/v1/jobs", params or None, request_timeout=self.request_timeout, expect=jobs_list)

    def _feedback_request(self, job_id: str, rating: int, comment: str | None, end_user_id: str | None) -> Request:
        if rating not in (-1, 0, 1):
            raise ValueError("rating must be -1, 0, or +1")
        if rating == 0 and not comment:
            raise ValueError("feedback needs a non-zero rating or a comment")
        body: dict[str, Any] = {"rating": rating}
        if comment is not None:
            body["comment"] = comment
        if end_user_id is not None:
            body["end_user_id"] = end_user_id
        return Request("POST", job_path(job_id, "feedback"), json=body, request_timeout=self.request_timeout,
                       idempotent=False, job_id=job_id, feature="feedback", expect=an_object)

    def _replay_request(self, job_id: str, version: int | None) -> Request:
        params = {"version": str(int(version))} if version is not None else None
        return Request("POST", job_path(job_id, "replay"), params, request_timeout=self.request_timeout,
                       idempotent=False, job_id=job_id, feature="replay", expect=a_job)

    def _skillpacks_request(self) -> Request:
        return Request("GET", "/v1/skillpacks", request_timeout=self.request_timeout, feature="skill catalog",
                       expect=a_list)

    def _balance_request(self) -> Request:
        return Request("GET", "/v1/billing/balance", request_timeout=self.request_timeout, feature="balance",
                       expect=an_object)

    def _pull_request(self, skillpack: str, ttl: int) -> Request:
        path = f"/v1/skillpacks/{quote(str(skillpack), safe='')}/deployments/pull"
        return Request("GET", path, {"ttl": str(int(ttl))}, request_timeout=self.request_timeout, expect=an_object)

    def _health_request(self) -> Request:
        return Request("GET", "/health", request_timeout=self.request_timeout, expect=an_object)

    # ── flows ────────────────────────────────────────────────────────────────
    def _call(self, req: Request, retries: int | None = None, deadline: float | None = None) -> Flow[Any]:
        """Send `req`, retrying what is safe to retry, and return its JSON body, checked to be what the route
        answers (`req.expect`); anything else is a PurasAPIError "unexpected answer from the server: ...".

        Idempotent calls retry connection failures, timeouts and 429/502/503/504 with jittered exponential
        backoff (at least `Retry-After`). Other calls retry only what the server surely did not process: a
        connect error, a 429/503 with `Retry-After`, and (except a job submission, which `_submit_flow` checks
        first) a reused connection that died before answering. At most `retries` (default `max_retries`)
        retries, all within `deadline` (time.monotonic(); default: the request's own timeout from now, so a
        call never takes longer than its timeout): no pause crosses it and no request outlives it by more than
        DEADLINE_GRACE, and a server asking for a longer pause than is left gets its error at once. A 307 or 308
        to the API's own origin is followed with the same method and body; any other redirect is an error (a
        POST never becomes a GET)."""
        retries = self.max_retries if retries is None else retries
        deadline = time.monotonic() + req.request_timeout if deadline is None else deadline
        attempt = hops = 0
        while True:
            must_wait = 0.0
            sent = self._within(req, deadline)
            try:
                response = yield sent
            except BadBody as exc:  # too large, or an encoding or gzip stream we cannot take: not worth a retry
                raise PurasAPIError(exc.status, f"{UNEXPECTED}: {exc}", job_id=req.job_id) from None
            except httpx.RequestError as exc:
                error: PurasAPIError | PurasConnectionError = connection_error(exc, sent, self._host, self.secret)
                retry = isinstance(exc, TRANSIENT if req.idempotent else NEVER_SENT) or (
                    isinstance(exc, StaleConnection) and not req.creates_job
                )
            else:
                if 300 <= response.status_code < 400 and hops < MAX_REDIRECTS:
                    req, hops = self._redirected(req, response), hops + 1
                    continue
                if response.status_code < 400:
                    return self._checked(req, response)
                wait = parse_retry_after(response.headers.get("Retry-After"))
                error = PurasAPIError(response.status_code, detail(response, self.secret), job_id=req.job_id,
                                      retry_after=wait)
                unprocessed = response.status_code in (429, 503) and wait is not None
                retry = unprocessed or (req.idempotent and response.status_code in RETRY_STATUSES)
                must_wait = min(wait, RETRY_AFTER_CAP) if wait is not None else 0.0
            delay = max(must_wait, backoff(attempt))
            left = deadline - time.monotonic()
            retry = retry and left > 0 and must_wait <= left
            delay = min(delay, left)
            if not retry or attempt >= retries:
                if req.feature and isinstance(error, PurasAPIError) and error.status in NO_ROUTE:
                    error = yield from self._no_route(req, error)
                raise error from error.__cause__
            attempt += 1
            yield Sleep(delay)

    def _checked(self, req: Request, response: httpx.Response | Answer) -> Any:
        """The JSON body of a 2xx answer, if it is what `req`'s route answers; else an unexpected answer."""
        try:
            body = parse_json(response.content)
            return req.expect(body) if req.expect is not None else body
        except Unexpected as exc:
            raise PurasAPIError(response.status_code, f"{UNEXPECTED}: {exc}", job_id=req.job_id) from None
        except ValueError:  # not JSON at all: what the body says instead
            why = f"{UNEXPECTED}: not JSON: {detail(response, self.secret)}"
            raise PurasAPIError(response.status_code, why, job_id=req.job_id) from None

    def _redirected(self, req: Request, response: httpx.Response | Answer) -> Request:
        """`req` sent again where a 307 or 308 points, on the API's own origin (same method, same body, so the
        key stays on its host and a submission stays a submission); any other redirect is an error."""
        status = response.status_code
        location = response.headers.get("location")
        target = response.url.join(location) if location else None
        if status in (307, 308) and target is not None and self._auth.covers(target):
            return replace(req, url=str(target), params=None)
        where = f" to {flat(cut(str(target), 120))}" if target is not None else " without a Location"
        why = f"{UNEXPECTED}: a {status} redirect{where} (only 307 and 308 to {self._host} are followed)"
        raise PurasAPIError(status, why, job_id=req.job_id)

    def _no_route(self, req: Request, error: PurasAPIError) -> Flow[PurasAPIError]:
        """`error` (a 404/405/501 to a feature's route) as NotSupported, when it is about the route: a 404 to a
        job's route is, if the job itself is found (one more request, on this error path only)."""
        if error.status == 404 and req.job_id:
            try:
                yield from self._call(self._get_request(req.job_id), retries=0)
            except PurasError:
                return error  # the job is what is missing (or the server is unreachable): its own error stands
        route = req.path.replace(quote(str(req.job_id), safe=""), "{id}") if req.job_id else req.path
        return NotSupported(req.feature, f"{req.method} {route}", error.status, error.detail, host=self._host,
                            job_id=req.job_id)

    @staticmethod
    def _within(req: Request, deadline: float | None) -> Request:
        """`req` with its timeout cut to what is left before `deadline` (plus DEADLINE_GRACE)."""
        if deadline is None:
            return req
        left = max(0.0, deadline - time.monotonic()) + DEADLINE_GRACE
        return req if req.request_timeout <= left else replace(req, request_timeout=left)

    def _call_waiting(self, req: Request, deadline: float | None = None) -> Flow[Any]:
        """`_call` inside a wait: a call that exhausted its retries on a transient failure is tried again
        (up to `max_retries` more rounds, within `deadline`) so a blip never loses the job; a final failure
        names the job."""
        rounds = 0
        while True:
            try:
                return (yield from self._call(req, deadline=deadline))
            except (PurasAPIError, PurasConnectionError) as err:
                # never sooner than the server asked: a Retry-After past the deadline ends the wait at once
                asked = err.retry_after if isinstance(err, PurasAPIError) and err.retry_after is not None else 0.0
                pause = max(backoff(rounds + 1 + self.max_retries), min(asked, RETRY_AFTER_CAP))
                late = deadline is not None and time.monotonic() + pause >= deadline
                if not is_transient(err) or rounds >= self.max_retries or late:
                    raise name_job(err, req.job_id or "?") from err.__cause__
                rounds += 1
                yield Sleep(pause)

    def _wait_flow(
        self, job_id: str, wait_timeout: float, poll_interval: float, cancel_on_interrupt: bool, fast: bool = True
    ) -> Flow[dict]:
        """Poll until the job is terminal or `wait_timeout` passes: fast first (unless `fast` is off, for a job
        already known to be long), then every `poll_interval`. It is a deadline for every request and retry too."""
        deadline = time.monotonic() + wait_timeout
        try:
            job = yield from self._call_waiting(self._get_request(job_id), deadline)
            delays = poll_delays(poll_interval, POLL_START if fast else poll_interval)
            while job.get("status") not in TERMINAL:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                yield Sleep(min(next(delays), remaining))
                job = yield from self._call_waiting(self._get_request(job_id), deadline)
            return job
        except STOPS as stop:
            raise (yield from self._interrupted(job_id, stop, cancel_on_interrupt)) from None

    def _submit_flow(self, req: Request, deadline: float) -> Flow[dict]:
        """Submit a job, never creating two and never losing one.

        When the answer is lost after the server may have created the job (reset, 502, 500, a truncated or
        garbled body), the job is looked up by skill, inputs and time instead of resubmitted: exactly one match
        is the job; otherwise the error says a job may exist and how to list it. A reused connection that died
        before answering (so the server never saw the request) is resent when the lookup confirms that no job
        exists, up to `max_retries` times."""
        since = time.time()
        resends = 0
        while True:
            try:
                return (yield from self._call(req, deadline=deadline))
            except (PurasAPIError, PurasConnectionError) as err:
                if not answer_lost(err):
                    raise
                found = yield from self._find_submitted(req, since, self.max_retries, deadline)
                if found is not None and len(found) == 1:
                    return (yield from self._call_waiting(self._get_request(found[0]), deadline))
                stale = found == [] and isinstance(err.__cause__, StaleConnection)
                if not stale or resends >= self.max_retries:
                    raise may_exist(err, req.json["skill"]) from err.__cause__
                resends += 1

    def _run_flow(
        self,
        skill: str,
        inputs: dict | None,
        skillpack: str | None,
        version: int | None,
        wait_timeout: float,
        poll_interval: float,
        cancel_on_interrupt: bool,
    ) -> Flow[dict]:
        """Submit with a server-side hold (so a short job returns the moment it ends), then poll; `wait_timeout`
        is a deadline for all of it, each request included."""
        deadline = time.monotonic() + wait_timeout
        hold = int(min(wait_timeout, self.max_server_wait))
        req = self._submit_request(skill, inputs, skillpack, version, hold > 0, hold)
        submitted, started = time.time(), time.monotonic()
        try:
            job = yield from self._submit_flow(req, deadline)
        except STOPS as stop:
            raise (yield from self._submit_interrupted(req, submitted, stop, cancel_on_interrupt)) from None
        if job.get("status") not in TERMINAL:
            # A server that held the request for its whole wait has a long job: no need to start polling fast.
            held = time.monotonic() - started >= hold * 0.9 > 0
            job = yield from self._wait_flow(job["id"], deadline - time.monotonic(), poll_interval,
                                             cancel_on_interrupt, fast=not held)
        if job.get("status") != "succeeded":
            raise JobError(job)
        return job.get("result") or {}

    def _find_submitted(
        self, req: Request, since: float, retries: int, deadline: float | None = None
    ) -> Flow[list[str] | None]:
        """The ids of the jobs a submission may have created: same skill and inputs, created since `since`
        (give or take 5 s of clock skew), newest first; None when the list cannot be read."""
        name, inputs = req.json["skill"], req.json["inputs"]
        lookup = replace(self._jobs_request(None, name, 50), request_timeout=STOP_TIMEOUT)
        try:
            jobs = yield from self._call(lookup, retries, deadline)
        except PurasError:
            return None
        if not isinstance(jobs, list):
            return None
        return [
            j["id"] for j in jobs if isinstance(j, dict) and j.get("skill_name") == name
            and j.get("inputs") == inputs and (parse_time(j.get("created_at")) or 0) >= since - 5
        ]

    def _submit_interrupted(self, req: Request, since: float, stop: BaseException, cancel: bool) -> Flow[BaseException]:
        """Ctrl-C while the submission was in flight: find the job it created, which a slow server may do after we
        stopped listening (looked for up to STOP_TIMEOUT s; a second Ctrl-C stops looking), then treat it as an
        interrupted wait. Return what to raise: it names the job, or says why there is none or where to look."""
        skill = req.json["skill"]
        if not delivered(stop):
            outcome = "the request never reached the server, so no job was created"
            return stop if isinstance(stop, asyncio.CancelledError) else SubmitInterrupted(skill, outcome)
        deadline = time.monotonic() + STOP_TIMEOUT
        found: list[str] | None = None
        try:
            while True:
                found = yield from self._find_submitted(req, since, 0, deadline)
                if found is not None and len(found) == 1:
                    return (yield from self._interrupted(found[0], stop, cancel))
                if found or time.monotonic() + LOOKUP_PAUSE >= deadline:
                    break
                yield Sleep(LOOKUP_PAUSE)
        except STOPS:
            pass
        if isinstance(stop, asyncio.CancelledError):
            return stop
        where = f"list it with jobs(skill={skill!r})"
        if found:
            outcome = f"{len(found)} matching jobs were created meanwhile ({', '.join(found[:3])}); {where}"
        else:
            outcome = f"the server had not created the job {STOP_TIMEOUT:g} s later but still may: {where}"
        return SubmitInterrupted(skill, outcome)

    def _interrupted(self, job_id: str, stop: BaseException, cancel: bool) -> Flow[BaseException]:
        """Stop waiting for `job_id`, cancelling it first if asked (briefly); return what to raise: JobInterrupted
        naming the job, or the task's own CancelledError under asyncio."""
        cancelled = False
        if cancel:
            try:
                yield from self._call(replace(self._cancel_request(job_id), request_timeout=STOP_TIMEOUT), 1)
                cancelled = True
            except PurasError:
                cancelled = False
        return stop if isinstance(stop, asyncio.CancelledError) else JobInterrupted(job_id, cancelled=cancelled)

    def _events_flow(self, job_id: str, after: int, poll_interval: float, wait_timeout: float | None) -> Flow[None]:
        """Emit the job's events as they come, until the job is terminal and every event is out.

        Rounds start 50 ms apart and back off to `poll_interval` (a chatty job does not speed them up again);
        one request per round while events flow, the job's status is checked only in a quiet round."""
        deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
        delays = poll_delays(poll_interval)
        ended = False
        while True:
            events = yield from self._call_waiting(self._events_request(job_id, after), deadline)
            if events:
                after = max(after, *(event_id(e) for e in events))
                yield Emit(events)
            if ended:
                if not events:
                    return
                continue
            if not events:
                job = yield from self._call_waiting(self._get_request(job_id), deadline)
                # Terminal: every event exists now, so draining what is left ends the stream.
                ended = job.get("status") in TERMINAL
                if ended:
                    continue
            if deadline is not None and time.monotonic() >= deadline:
                return
            pause = next(delays)
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - time.monotonic()))
            yield Sleep(pause)
