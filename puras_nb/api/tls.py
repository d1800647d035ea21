"""One TLS context per process for every HTTP client puras-nb makes.

Building a verifying context reads and parses the whole CA bundle (20-30 ms of CPU), which each new httpx client
and each media fetch would otherwise pay again, even for a plain-HTTP emulator on loopback.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["ssl_context"]


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """httpx's own default verifying context (certifi's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`, read on
    first use), made once and shared: an `SSLContext` may serve many clients and threads at once."""
    return httpx.create_ssl_context()
