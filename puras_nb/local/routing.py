"""What every route module of the emulator shares: the error answer and the emulator behind a request.

Raise `ApiError(status, detail)`; the app answers it as JSON `{"detail": ...}` with that status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["ApiError", "emulator", "platform_only"]

PLATFORM_HINT = (
    "it needs the hosted Puras platform; puras-nb serve emulates the job API (skillpacks, deployments, jobs). "
    "Point PURAS_API_BASE at the hosted API for this."
)


class ApiError(Exception):
    """An error answer: status + detail."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def platform_only(feature: str, hint: str = "") -> ApiError:
    """The 501 for a feature that needs the hosted Puras platform, e.g. `platform_only("secrets")`."""
    return ApiError(501, f"{feature}: not in the emulator, {PLATFORM_HINT}{' ' + hint if hint else ''}")


def emulator(request: Request) -> Emulator:
    """The emulator state serving this request."""
    return request.app.state.emulator
