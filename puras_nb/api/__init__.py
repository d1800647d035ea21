"""The wire and the clients: I/O-free request flows (`flows`) driven by two thin drivers, `Client` (blocking)
and `AsyncClient` (asyncio), plus fetching media bytes under the address policy (`media`).

It knows nothing of live jobs, views or notebooks; everything above it talks to a server through it.
"""

from __future__ import annotations

from .aio import AsyncClient
from .client import Client

__all__ = ["AsyncClient", "Client"]
