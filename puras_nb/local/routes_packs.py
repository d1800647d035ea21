"""Skillpack routes: the pack list, each pack's deployments, and activating one (what `puras skillpacks`,
`puras deployments` and `puras activate` call).

A pack ref in a path is `workspace/slug`, a bare slug or the pack's UUID, as on `/v1/jobs`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .routing import ApiError, emulator
from .skills import SkillLookupError

__all__ = ["routes"]


async def list_skillpacks(request: Request) -> Response:
    """`GET /v1/skillpacks`: packs with their display name, versions, active deployment, skills and schemas."""
    emu = emulator(request)
    return JSONResponse([pack.describe(emu.deployments.active(pack)) for pack in emu.packs])


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
        Route("/v1/skillpacks/{ref:path}/deployments", list_deployments, methods=["GET"]),
        Route("/v1/skillpacks/{ref:path}/deployments/{deployment_id}/activate", activate_deployment, methods=["POST"]),
    ]
