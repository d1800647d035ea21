"""Trace spans of a job (`GET /v1/jobs/{id}/spans`, what `puras spans` draws as a latency waterfall).

Built from what the emulator records: one `run` span for the skill run and, under it, one `step` span per
progress event, lasting until the next progress event or the end of the run.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .routing import ApiError, emulator

__all__ = ["build_spans", "routes"]


def _ms(start: str, end: str | None) -> int:
    """Milliseconds from `start` to `end` (to now while it is still open)."""
    stop = datetime.fromisoformat(end) if end else datetime.now(timezone.utc)
    return max(0, round((stop - datetime.fromisoformat(start)).total_seconds() * 1000))


def _span(job: dict, n: int, parent: str | None, kind: str, name: str, start: str, end: str | None) -> dict:
    return {
        "span_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job['id']}/span/{n}")),
        "parent_span_id": parent,
        "job_id": job["id"],
        "kind": kind,
        "name": name,
        "start": start,
        "end": end,
        "duration_ms": _ms(start, end),
        "attributes": {},
    }


def build_spans(job: dict, events: list[dict]) -> list[dict]:
    """The job's spans, root first then steps in order; none before the run started."""
    if not job["started_at"]:
        return []
    status, end = job["status"], job["finished_at"]
    root = _span(job, 0, None, "run", f"skill {job['skill_name']} v{job['version']}", job["started_at"], end)
    root.update(status=status)
    root["attributes"].update(skill=job["skill_name"], version=job["version"])
    if status in ("succeeded", "failed"):
        root["attributes"]["ok"] = status == "succeeded"
    progress = [e for e in events if e["type"] == "progress"]
    spans = [root]
    for n, event in enumerate(progress, start=1):
        step_end = progress[n]["ts"] if n < len(progress) else end
        payload = event["payload"]
        step = _span(job, n, root["span_id"], "step", str(payload.get("message", "")), event["ts"], step_end)
        step["attributes"].update({k: payload[k] for k in ("step", "total") if k in payload})
        if status == "failed" and n == len(progress):
            step["attributes"]["ok"] = False
        spans.append(step)
    return spans


async def job_spans(request: Request) -> Response:
    """`GET /v1/jobs/{id}/spans`: the job's run and step spans."""
    emu = emulator(request)
    job_id = request.path_params["job_id"]
    job, events = emu.store.get(job_id), emu.store.events(job_id)
    if job is None or events is None:
        raise ApiError(404, f"job {job_id} not found")
    return JSONResponse(build_spans(job, events))


def routes() -> list[Route]:
    """The span route, for `create_app`."""
    return [Route("/v1/jobs/{job_id}/spans", job_spans, methods=["GET"])]
