"""Skillpack routes: the pack list, each pack's deployments, activating one and pulling its bundle (what
`puras skillpacks`, `puras deployments`, `puras activate` and `puras pull` call).

A pack ref in a path is `workspace/slug`, a bare slug or the pack's UUID, as on `/v1/jobs`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .bundle import bundle_path
from .routing import ApiError, emulator
from .skills import SkillLookupError

__all__ = ["BARE_FIELDS", "PULL_TTL", "PULL_TTL_RANGE", "routes"]

BARE_FIELDS = ("slug", "name", "id", "active_deployment_id")
"""What `--catalog bare` lists per pack: the fields the hosted API is known to send (the official CLI reads them)."""
PULL_TTL = 600
"""Seconds a bundle URL stays valid when `ttl` is not given (what `puras pull` asks for)."""
PULL_TTL_RANGE = (30, 30 * 24 * 3600)
"""The lives a signed URL may have on the platform: 30 s to 30 days."""


async def list_skillpacks(request: Request) -> Response:
    """`GET /v1/skillpacks`: packs with their display name, versions, active deployment, skills and schemas
    (with `--catalog bare`, only `BARE_FIELDS`)."""
    emu = emulator(request)
    rows = [pack.describe(emu.deployments.active(pack)) for pack in emu.packs]
    if emu.catalog == "bare":
        rows = [{key: row[key] for key in BARE_FIELDS} for row in rows]
    return JSONResponse(rows)


async def pull_bundle(request: Request) -> Response:
    """`GET /v1/skillpacks/{ref}/deployments/pull?ttl=600` (`puras pull`): `{download_url, version}` of the active
    deployment's bundle, a zip of `<skill>/skill.yaml` files at a signed URL that needs no key for `ttl` seconds."""
    emu = emulator(request)
    pack = emu.find_pack(request.path_params["ref"])
    raw = request.query_params.get("ttl") or str(PULL_TTL)
    low, high = PULL_TTL_RANGE
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"query parameter ttl must be a whole number of seconds from {low} to {high}, got {raw!r}")
    version = emu.deployments.active(pack)
    url = emu.signer.url(str(request.base_url), bundle_path(pack, version), int(raw))
    return JSONResponse({"download_url": url, "version": version})


async def list_deployments(request: Request) -> Response:
    """`GET /v1/skillpacks/{ref}/deployments`: one deployment per version, newest first, the active one marked."""
    emu = emulator(request)
    return JSONResponse(emu.deployments.rows(emu.find_pack(request.path_params["ref"])))


async def activate_deployment(request: Request) -> Response:
    """`POST /v1/skillpacks/{ref}/deployments/{id}/activate`: jobs that pin no version run this one from now on."""
    emu = emulator(request)
    pack = emu.find_pack(request.path_params["ref"])
    try:
        return JSONResponse(emu.deployments.activate(pack, request.path_params["deployment_id"]))
    except SkillLookupError as exc:
        raise ApiError(404, str(exc)) from None


def routes() -> list[Route]:
    """The skillpack routes, for `create_app`."""
    return [
        Route("/v1/skillpacks", list_skillpacks, methods=["GET"]),
        Route("/v1/skillpacks/{ref:path}/deployments/pull", pull_bundle, methods=["GET"]),
        Route("/v1/skillpacks/{ref:path}/deployments", list_deployments, methods=["GET"]),
        Route("/v1/skillpacks/{ref:path}/deployments/{deployment_id}/activate", activate_deployment, methods=["POST"]),
    ]
