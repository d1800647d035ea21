"""One default TLS context per test process, for the HTTP clients the tests make themselves.

`httpx.get(...)`, a bare `httpx.Client()` and the official `puras.Client` (a new httpx client per request) each
build a verifying context that reads and parses certifi's whole CA bundle: 20 to 30 ms of CPU every time, 16 s of
the fast loop's CPU in all, for requests that go to plain-HTTP servers on loopback. Our own clients already share
one (`puras_nb.api.tls.ssl_context`); this hands the same one to every other httpx client in a test process.
"""

from __future__ import annotations

from typing import Any

from httpx._transports import default as transports  # the name httpx's transports build their contexts with

from puras_nb.api.tls import ssl_context

__all__ = ["share_default_context"]


def share_default_context() -> None:
    """Make httpx's transports use `ssl_context()` for the default settings (verify=True, no client certificate,
    the environment trusted); any other settings build their own context as before."""
    build = transports.create_ssl_context
    if getattr(build, "shared", False):
        return

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True, **rest: Any) -> Any:
        if verify is True and cert is None and trust_env and not rest:
            return ssl_context()
        return build(verify=verify, cert=cert, trust_env=trust_env, **rest)

    create_ssl_context.shared = True  # type: ignore[attr-defined]
    transports.create_ssl_context = create_ssl_context
