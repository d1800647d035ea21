"""The hosted platform beyond the job API: the workspace balance (answered locally, nothing is billed) and the
platform-only features (deploy, secrets, evals, Hindsight, pack creation), which answer a 501 naming the
feature, so the official CLI prints why instead of a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from .routing import emulator, platform_only
from .store import LOCAL_WORKSPACE_ID

__all__ = ["routes"]

_OWN_SKILLS = "To serve your own skills, register them in Python: puras-nb serve --skillpack module:pack."
_PLATFORM_ONLY: list[tuple[str, list[str], str, str]] = [
    ("/v1/skillpacks", ["POST"], "creating skillpacks", _OWN_SKILLS),
    ("/v1/skillpacks/{ref:path}/deployments", ["POST"], "deploying bundles", _OWN_SKILLS),
    ("/v1/skillpacks/{ref:path}/secrets", ["GET", "PUT"], "secrets", ""),
    ("/v1/skillpacks/{ref:path}/secrets/{name}", ["GET", "PUT", "DELETE"], "secrets", ""),
    ("/v1/skillpacks/{ref:path}/evals", ["GET", "POST"], "eval suites", ""),
    ("/v1/skillpacks/{ref:path}/evals/diff", ["GET"], "eval suites", ""),
    ("/v1/evals/{suite_id}", ["GET"], "eval suites", ""),
    ("/v1/skillpacks/{ref:path}/hindsight", ["GET", "POST"], "Hindsight", ""),
    ("/v1/hindsight/{run_id}", ["GET"], "Hindsight", ""),
]


async def balance(request: Request) -> Response:
    """`GET /v1/billing/balance` (`puras whoami`, `puras login`): the local workspace, which holds and is charged
    nothing; `jobs_cost_micros` sums what the jobs run here report as their cost."""
    cost = emulator(request).store.cost_micros_total
    return JSONResponse(
        {
            "workspace_id": LOCAL_WORKSPACE_ID,
            "balance_usd": 0.0,
            "billed": False,
            "jobs_cost_micros": cost,
            "jobs_cost_usd": cost / 1_000_000,
        }
    )


def _answer_501(feature: str, hint: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raise platform_only(feature, hint)

    endpoint.__doc__ = f"{feature}: 501, needs the hosted platform."
    return endpoint


_ROUTES_501 = [
    Route(path, _answer_501(feature, hint), methods=methods) for path, methods, feature, hint in _PLATFORM_ONLY
]


def routes() -> list[Route]:
    """The balance route and the 501 routes, for `create_app` (after the skillpack routes)."""
    return [Route("/v1/billing/balance", balance, methods=["GET"]), *_ROUTES_501]


def answers_501(method: str, path: str) -> bool:
    """Whether `method path` is a platform-only route: it changes nothing, whatever body it is sent."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in _ROUTES_501)
