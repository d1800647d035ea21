"""Every exception puras-nb raises, in one place.

`PurasAPIError` and `JobError` keep the names, base class (`RuntimeError`),
constructor and attributes of `puras.PurasAPIError` / `puras.JobError`, so code
written against the official client catches ours unchanged.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import httpx

from .strings import Secret, flat, plain

__all__ = [
    "JobError",
    "JobInterrupted",
    "NotSupported",
    "PurasAPIError",
    "PurasConnectionError",
    "PurasError",
    "SubmitInterrupted",
    "one_line",
    "redact",
]

E = TypeVar("E", bound=BaseException)

# A credential in text: a Bearer token, an Authorization header's value (as a header line, or quoted as in an
# echoed JSON or Python dict), or a Puras key by its shape.
_CREDENTIAL = re.compile(
    r"""(?ix)
    (?P<bearer>\bbearer)\s+[^\s"'<>,;]+
    | (?P<auth>\b(?:proxy-)?authorization\b["']?\s*[:=]\s*)(?:"[^"\r\n]*"|'[^'\r\n]*'|[^\r\n<"',}]*)
    | \bpuras_(?:live|pub|test|sk)_[\w-]+
    """
)


def redact(text: str, *secrets: str | Secret | None) -> str:
    """`text` with every credential blanked: each of `secrets` (the API key) wherever it appears, any `Bearer …`
    token, any `Authorization: …` value and anything shaped like a Puras key. Error texts we build pass through
    here, because servers and proxies echo request headers into error pages, and errors end up in notebooks."""
    for secret in map(Secret.of, secrets):
        if secret:
            text = text.replace(secret.reveal(), "[redacted]")

    def blank(m: re.Match[str]) -> str:
        if m.group("bearer"):
            return f"{m.group('bearer')} [redacted]"
        if m.group("auth"):
            return f"{m.group('auth')}[redacted]"
        return "[redacted]"

    return _CREDENTIAL.sub(blank, text)


class PurasError(RuntimeError):
    """Base class of every puras-nb error. The messages of the errors that quote a server (`PurasAPIError`,
    `JobError`, `PurasConnectionError`) are plain text on one line (`strings.flat`): a detail or a job's
    error cannot drive the terminal that prints them."""


class PurasAPIError(PurasError):
    """Non-2xx response from the Puras API (`.status`, `.detail`, `.job_id`; `.retry_after`: the seconds its
    Retry-After asked to wait before trying again, or None)."""

    def __init__(self, status: int, detail: str, *, job_id: str | None = None, retry_after: float | None = None):
        detail = flat(detail)
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.job_id = job_id
        self.retry_after = retry_after


class NotSupported(PurasAPIError):
    """The server has no route for a feature: it answered 404, 405 or 501 to the route itself (to a job's route,
    while the job itself is found). `puras serve` has no cancel, feedback, replay, catalog or billing route.

    Still a `PurasAPIError` (`.status`, `.detail`, `.job_id`); `.feature` names what is missing ("cancel") and
    `.route` the route ("POST /v1/jobs/{id}/cancel"). The message says so in one line, and IPython shows only it."""

    def __init__(self, feature: str, route: str, status: int, detail: str, *, host: str, job_id: str | None = None):
        super().__init__(status, detail, job_id=job_id)
        self.feature, self.route = feature, route
        message = f"the server at {host} has no {feature} route ({route} answered {status})"
        if job_id:
            message += f" · job {job_id}" + (" keeps running" if feature == "cancel" else "")
        self.args = (message,)
        one_line(self)  # IPython shows what the server lacks as one line, not a traceback through puras-nb


class PurasConnectionError(PurasError, httpx.TransportError):
    """The API host could not be reached (after retries).

    Also an `httpx.TransportError`, so code that caught the official client's
    raw httpx errors keeps working.
    """

    def __init__(self, message: str, *, host: str = "", job_id: str | None = None):
        PurasError.__init__(self, flat(message))
        self.host = host
        self.job_id = job_id


class JobError(PurasError):
    """A job finished in a non-succeeded state (failed/cancelled/timeout)."""

    def __init__(self, job: dict[str, Any]):
        self.job = job
        status = job.get("status")
        super().__init__(flat(redact(f"job {job.get('id')} {status}: {job.get('error') or ''}")))

    @property
    def job_id(self) -> str | None:
        """The id of the job, to reattach or inspect it."""
        return self.job.get("id")


class JobInterrupted(KeyboardInterrupt):
    """Waiting for a job was interrupted (Ctrl-C, the kernel's stop button).

    Still a `KeyboardInterrupt`, so it stops a script or a "Run All"; the
    message names the job so it can be reattached, and says whether the remote
    job was cancelled.
    """

    def __init__(self, job_id: str, *, cancelled: bool = False):
        self.job_id: str | None = job_id  # None only in a SubmitInterrupted
        self.cancelled = cancelled
        what = "cancelled the job" if cancelled else "the job keeps running"
        super().__init__(f"interrupted while waiting for job {job_id}; {what} (reattach with attach({job_id!r}))")


class SubmitInterrupted(JobInterrupted):
    """Interrupted while a job was being submitted, before the server named it: `job_id` is None.

    The message says what became of the submission: it never reached the server, or a job may still
    appear (and how to find it), or it will be cancelled once the server answers.
    """

    def __init__(self, skill: str, outcome: str):
        self.job_id = None
        self.cancelled = False
        self.skill = skill
        KeyboardInterrupt.__init__(self, f"interrupted while submitting {skill}; {outcome}")


def one_line(exc: E) -> E:
    """`exc`, made to show in IPython as one line (its type and message) instead of a traceback through puras-nb:
    how the magics and `form()` report what went wrong. Control characters in the message (it may quote a job's
    error or events) are blanked, since a terminal shows the line raw."""
    line = f"\x1b[0;31m{type(exc).__name__}\x1b[0m: {plain(exc)}"
    exc._render_traceback_ = lambda: [line]  # type: ignore[attr-defined]  # IPython's hook, set on any exception
    return exc
