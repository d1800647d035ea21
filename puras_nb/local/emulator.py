"""The emulator's HTTP surface: a Starlette app mirroring the hosted Puras job routes, plus control routes.

Every error is JSON `{"detail": ...}` with a 4xx status. Bodies are checked at the door (JSON objects of
finite numbers, valid strings, bounded nesting), so no stored job can fail to render. An unexpected
exception still answers a short 500 that closes the connection, and logs one line (see `guard.Contained`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..mime import mime_for_name
from . import routes_packs, routes_platform, routes_spans
from .bundle import bundle_zip, parse_bundle_path
from .demopack import build_demo_pack
from .deployments import Deployments
from .faults import FaultInjector
from .guard import Contained, Door, new_key
from .persist import DB_NAME, Database, DataDirError, lock_dir, sweep_abandoned
from .routing import ApiError, platform_only
from .signing import Signer
from .skills import MAX_JSON_DEPTH, SchemaError, SkillLookupError, SkillPack, json_problem
from .store import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_FINISHED,
    DEFAULT_MAX_JSON_BYTES,
    DEFAULT_WORKERS,
    TERMINAL,
    JobStateError,
    JobStore,
)

__all__ = ["CATALOGS", "MAX_BODY_BYTES", "MAX_WAIT_SECONDS", "Emulator", "create_app"]

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_WAIT_SECONDS = 60.0
CANCEL_GRACE_SECONDS = 2.0
SERVICE = "puras-nb-local"
TEMP_PREFIX = "puras-nb-local-"
"""The name of a server's temporary directory (without `--data-dir`), in the system's temporary directory."""
CATALOGS = ("full", "bare")
"""What `/v1/skillpacks` lists: "full" (each skill's skill.yaml data) or "bare" (the fields the hosted API is
known to send: slug, name, id, active_deployment_id), so a client's other schema sources can be tested."""
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class Emulator:
    """The state behind one server: skillpacks and their active deployments, job store, URL signer, settings.

    `api_key` is required on every route but `/health` and signed file URLs: a fresh random one by
    default, None only to opt out explicitly. `cors` names the browser origins allowed to read answers.
    `catalog="bare"` lists on `/v1/skillpacks` only what the hosted API is known to send (see `CATALOGS`).
    """

    api_key: str | None = field(default_factory=new_key)
    cors: tuple[str, ...] = ()
    data_dir: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    max_finished: int = DEFAULT_MAX_FINISHED
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    max_events: int = DEFAULT_MAX_EVENTS
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    workers: int = DEFAULT_WORKERS
    catalog: str = "full"
    packs: list[SkillPack] = field(default_factory=lambda: [build_demo_pack()])
    store: JobStore = field(init=False)
    signer: Signer = field(init=False)
    deployments: Deployments = field(init=False)

    def __post_init__(self) -> None:
        if self.catalog not in CATALOGS:
            raise ValueError(f"catalog must be one of {', '.join(CATALOGS)}, got {self.catalog!r}")
        self._tmp = None
        if self.data_dir:
            files_dir = Path(self.data_dir).expanduser()
            files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            sweep_abandoned(TEMP_PREFIX)  # what servers killed before they could clean up left behind
            self._tmp = tempfile.TemporaryDirectory(prefix=TEMP_PREFIX)
            files_dir = Path(self._tmp.name)
        self._held = lock_dir(files_dir)
        try:
            self.db = Database(files_dir / DB_NAME, durable=bool(self.data_dir))
        except DataDirError:
            self._held.close()
            raise
        self.signer = Signer(self.db.secret())
        self.deployments = Deployments(self.db)
        self.store = JobStore(
            files_dir,
            self.signer,
            self.db,
            workers=self.workers,
            max_finished=self.max_finished,
            max_file_bytes=self.max_file_bytes,
            max_json_bytes=self.max_json_bytes,
            max_events=self.max_events,
            max_event_bytes=self.max_event_bytes,
            durable=bool(self.data_dir),
        )
        self.store.restore()

    def skill_paths(self) -> list[str]:
        """`slug/skill` for every served skill, as `/health` lists them."""
        return [f"{p.slug}/{name}" for p in self.packs for name in p.names()]

    def find_pack(self, ref: str) -> SkillPack:
        """The pack for a ref: `workspace/slug`, UUID, then bare slug; 404 otherwise."""
        for pack in self.packs:
            if ref in (pack.path, pack.id) or ref.lower() == pack.id:
                return pack
        for pack in self.packs:
            if ref == pack.slug:
                return pack
        known = ", ".join(p.path for p in self.packs)
        raise ApiError(404, f"skillpack {ref!r} not found (this emulator serves: {known})")

    def close(self) -> None:
        """Stop the skill threads, close the database and let go of the data directory (a temporary one is
        removed)."""
        self.store.shutdown()
        self.db.close()
        self._held.close()
        if self._tmp is not None:
            self._tmp.cleanup()


# ── request helpers ─────────────────────────────────────────────────────────
async def _read_json(request: Request, limit: int, *, required: bool = True) -> Any:
    """The body as a JSON object; 400 when it is not JSON or not an object, 422 when it holds a value no
    JSON answer can carry back (NaN, Infinity, 1e999, a lone surrogate, nesting past `MAX_JSON_DEPTH`)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body too large: {declared} bytes (limit {limit})")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body too large (limit {limit} bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client disconnected before sending the whole body") from None
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise ApiError(400, "request body is empty: send a JSON object")
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except _Unprocessable as exc:
        raise ApiError(422, str(exc)) from None
    except RecursionError:
        raise ApiError(422, f"request body is nested too deeply (limit {MAX_JSON_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body must be a JSON object, got {type(data).__name__}")
    problem = json_problem(data)
    if problem:
        raise ApiError(422, f"request body {problem}")
    return data


class _Unprocessable(ValueError):
    """Well-formed JSON holding a value the emulator will not store (answered as 422)."""


def _reject_constant(name: str) -> Any:
    raise _Unprocessable(f"request body holds {name}: JSON numbers must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Unprocessable(f"request body holds {text[:40]}, which is out of range for a number")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > 1000:
        raise _Unprocessable(f"request body holds an integer of {len(text)} digits (limit 1000)")
    return int(text)


def _int_param(request: Request, name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ApiError(400, f"query parameter {name} must be >= {minimum}, got {value}")
    return value


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


def _job_or_404(emu: Emulator, job_id: str) -> dict:
    job = emu.store.get(job_id)
    if job is None:
        raise ApiError(404, f"job {job_id} not found")
    return job


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# ── routes ──────────────────────────────────────────────────────────────────
async def health(request: Request) -> Response:
    """`GET /health` (and `/`): liveness, the served skills, the package version and store sizes."""
    from ..version import __version__

    emu = _emulator(request)
    return JSONResponse(
        {"ok": True, "service": SERVICE, "skills": emu.skill_paths(), "version": __version__, **emu.store.counts()}
    )


async def submit_job(request: Request) -> Response:
    """`POST /v1/jobs`: resolve pack/skill/version, validate inputs, queue; `wait=true` blocks up to 60 s."""
    emu = _emulator(request)
    body = await _read_json(request, emu.max_body_bytes)
    if body.get("prompt") is not None and body.get("skill") is None:
        raise platform_only("inline prompt runs", "The emulator runs registered skills; it has no LLM agent.")
    skill_raw = body.get("skill")
    if not isinstance(skill_raw, str) or not skill_raw.strip("/ "):
        raise ApiError(422, "skill is required: a skill name such as 'echo'")
    inputs = body.get("inputs")
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise ApiError(422, f"inputs must be an object, got {type(inputs).__name__}")
    parts = [p for p in skill_raw.strip().strip("/").split("/") if p]
    ref = request.query_params.get("skillpack_id") or request.query_params.get("skillpack")
    if len(parts) > 1:
        ref = ref or "/".join(parts[:-1])
    if not ref:
        raise ApiError(400, "no skillpack: pass ?skillpack=<workspace/slug> or ?skillpack_id=<uuid>")
    pack = emu.find_pack(ref.strip("/"))
    version = _int_param(request, "version", minimum=1)
    job = await _create(request, emu, pack, parts[-1], version, inputs)
    if request.query_params.get("wait", "").lower() in ("1", "true", "yes"):
        try:
            timeout = float(request.query_params.get("timeout") or MAX_WAIT_SECONDS)
        except ValueError:
            raise ApiError(400, "query parameter timeout must be a number") from None
        timeout = min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        if timeout > 0:
            await emu.store.wait(job["id"], timeout)
            job = emu.store.get(job["id"]) or job
    return JSONResponse(job, status_code=201)


async def _create(
    request: Request,
    emu: Emulator,
    pack: SkillPack,
    name: str,
    version: int | None,
    inputs: dict,
    parent_job_id: str | None = None,
) -> dict:
    try:
        skill, pack_version = pack.resolve(name, emu.deployments.active(pack) if version is None else version)
    except SkillLookupError as exc:
        raise ApiError(404, str(exc)) from None
    try:
        run_inputs = skill.validate(inputs)
    except SchemaError as exc:
        raise ApiError(422, str(exc)) from None
    except ValueError as exc:  # the skill's own schema or examples are wrong: the server's fault, said plainly
        raise ApiError(500, f"skill {name!r} v{skill.version} of {pack.path} cannot run: {exc}") from None
    return emu.store.create(
        pack, skill, pack_version, inputs, run_inputs, base_url=_base_url(request), parent_job_id=parent_job_id
    )


async def list_jobs(request: Request) -> Response:
    """`GET /v1/jobs`: held jobs newest first, filtered by `status`, `skill`, `limit`."""
    emu = _emulator(request)
    status = request.query_params.get("status") or None
    if status and status not in ("queued", "running", *TERMINAL):
        raise ApiError(400, f"unknown status {status!r}: use queued, running, succeeded, failed or cancelled")
    skill = request.query_params.get("skill") or None
    if skill:
        skill = skill.strip("/").split("/")[-1]
    limit = _int_param(request, "limit")
    return JSONResponse(emu.store.list(status=status, skill=skill, limit=limit))


async def get_job(request: Request) -> Response:
    """`GET /v1/jobs/{id}`: one job."""
    return JSONResponse(_job_or_404(_emulator(request), request.path_params["job_id"]))


async def job_events(request: Request) -> Response:
    """`GET /v1/jobs/{id}/events?after=N`: the job's events with id > N."""
    emu = _emulator(request)
    job_id = request.path_params["job_id"]
    events = emu.store.events(job_id, _int_param(request, "after", 0, minimum=-(2**63)) or 0)
    if events is None:
        raise ApiError(404, f"job {job_id} not found")
    return JSONResponse(events)


async def cancel_job(request: Request) -> Response:
    """`POST /v1/jobs/{id}/cancel`: stop a queued/running job; answers once it stopped (or after 2 s)."""
    emu = _emulator(request)
    job_id = request.path_params["job_id"]
    try:
        job = emu.store.cancel(job_id)
    except JobStateError as exc:
        raise ApiError(409, str(exc)) from None
    if job is None:
        raise ApiError(404, f"job {job_id} not found")
    if job["status"] not in TERMINAL:
        await emu.store.wait(job_id, CANCEL_GRACE_SECONDS)
        job = emu.store.get(job_id) or job
    return JSONResponse(job)


async def job_feedback(request: Request) -> Response:
    """`POST /v1/jobs/{id}/feedback`: store a rating/comment with the official client's validation."""
    emu = _emulator(request)
    job_id = request.path_params["job_id"]
    _job_or_404(emu, job_id)
    body = await _read_json(request, emu.max_body_bytes)
    rating = body.get("rating", 0)
    if isinstance(rating, bool) or rating not in (-1, 0, 1):
        raise ApiError(422, "rating must be -1, 0, or +1")
    comment = body.get("comment")
    end_user_id = body.get("end_user_id")
    if comment is not None and not isinstance(comment, str):
        raise ApiError(422, "comment must be a string")
    if end_user_id is not None and not isinstance(end_user_id, str):
        raise ApiError(422, "end_user_id must be a string")
    if rating == 0 and not comment:
        raise ApiError(422, "feedback needs a non-zero rating or a comment")
    row = emu.store.feedback(job_id, int(rating), comment, end_user_id)
    if row is None:
        raise ApiError(404, f"job {job_id} not found")
    return JSONResponse(row)


async def replay_job(request: Request) -> Response:
    """`POST /v1/jobs/{id}/replay[?version=N]`: the same skill and inputs as a new job, on the active deployment's
    version unless `version` pins one (as the official CLI says: "default: active")."""
    emu = _emulator(request)
    job_id = request.path_params["job_id"]
    old = emu.store.get(job_id)
    if old is None:
        raise ApiError(404, f"job {job_id} not found")
    pack = emu.find_pack(old["skillpack_id"])
    version = _int_param(request, "version", minimum=1) or emu.deployments.active(pack)
    job = await _create(request, emu, pack, old["skill_name"], version, old["inputs"], parent_job_id=job_id)
    return JSONResponse(job, status_code=201)


async def get_file(request: Request) -> Response:
    """`GET /files/{drive_path}?exp=&sig=`: a produced file (with Range support) or a deployment's bundle, by signed
    URL (no key)."""
    emu = _emulator(request)
    drive_path = request.path_params["drive_path"]
    refusal = emu.signer.check(drive_path, request.query_params.get("exp"), request.query_params.get("sig"))
    if refusal:
        raise ApiError(403, refusal)
    bundle = parse_bundle_path(drive_path)
    if bundle is not None:
        return _bundle_answer(emu, *bundle)
    path = emu.store.file_path(drive_path)
    if path is None or not path.is_file():
        raise ApiError(404, f"file {drive_path} not found (it may have been evicted)")
    # The media table, and JSON; anything else is bytes to download, never a page the browser would run.
    json_file = path.suffix.lower() == ".json"
    mime = mime_for_name(path.name) or ("application/json" if json_file else "application/octet-stream")
    return FileResponse(path, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})


def _bundle_answer(emu: Emulator, pack_id: str, version: int) -> Response:
    """A deployment's bundle zip (built from the registered skills, the same bytes every time)."""
    pack = next((p for p in emu.packs if p.id == pack_id), None)
    if pack is None or version not in pack.versions:
        raise ApiError(404, f"bundle of {pack_id} v{version} not found")
    headers = {"Content-Disposition": f'attachment; filename="{pack.slug}-v{version}.zip"', "Cache-Control": "private"}
    return Response(bundle_zip(pack, version), media_type="application/zip", headers=headers)


async def put_faults(request: Request) -> Response:
    """`PUT /_emulator/faults`: replace the fault spec (`{}` turns faults off)."""
    body = await _read_json(request, 64 * 1024, required=False)
    try:
        spec = request.app.state.faults.configure(body)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return JSONResponse(spec.as_dict())


async def get_faults(request: Request) -> Response:
    """`GET /_emulator/faults`: the active fault spec."""
    return JSONResponse(request.app.state.faults.spec.as_dict())


async def stats(request: Request) -> Response:
    """`GET /_emulator/stats`: request, fault and job counters."""
    out = request.app.state.faults.stats()
    out["jobs_created"] = _emulator(request).store.jobs_created
    return JSONResponse(out)


async def reset_stats(request: Request) -> Response:
    """`POST /_emulator/reset-stats`: zero the counters."""
    request.app.state.faults.reset_stats()
    _emulator(request).store.jobs_created = 0
    return JSONResponse({"ok": True})


# ── errors ──────────────────────────────────────────────────────────────────
async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} not allowed on {request.url.path}"
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """The 500 answer; `Connection: close` so no client reuses a connection the server then drops."""
    return JSONResponse(
        {"detail": f"internal error: {type(exc).__name__}"}, status_code=500, headers={"Connection": "close"}
    )


def create_app(emulator: Emulator | None = None, *, faults: str | dict | None = None, host: str = "127.0.0.1") -> Any:
    """The ASGI app for one emulator served on `host`: error containment, fault injection, the door (Host,
    CORS, Origin, key, content type; see `guard`), then the routes."""
    emu = emulator or Emulator()
    routes = [
        Route("/", health, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/v1/jobs", submit_job, methods=["POST"]),
        Route("/v1/jobs", list_jobs, methods=["GET"]),
        Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/v1/jobs/{job_id}/events", job_events, methods=["GET"]),
        Route("/v1/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
        Route("/v1/jobs/{job_id}/feedback", job_feedback, methods=["POST"]),
        Route("/v1/jobs/{job_id}/replay", replay_job, methods=["POST"]),
        *routes_spans.routes(),
        *routes_packs.routes(),
        *routes_platform.routes(),
        Route("/files/{drive_path:path}", get_file, methods=["GET", "HEAD"]),
        Route("/_emulator/faults", put_faults, methods=["PUT"]),
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset-stats", reset_stats, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.emulator = emu
    door = Door(app, api_key=emu.api_key, host=host, cors=emu.cors, any_body=routes_platform.answers_501)
    injector = FaultInjector(door, faults)
    app.state.faults = injector
    return Contained(injector)
