"""HMAC-signed, expiring file URLs, so `/files/...` needs no Authorization header (as hosted signed URLs)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

__all__ = ["DEFAULT_TTL", "Signer"]

DEFAULT_TTL = 24 * 3600
"""Life of a signed URL in seconds: a day, so a notebook left open still shows its media."""


class Signer:
    """Signs `(drive_path, exp)` pairs with a per-server secret and checks them back."""

    def __init__(self, secret: bytes | None = None, ttl: int = DEFAULT_TTL):
        self._secret = secret or secrets.token_bytes(32)
        self.ttl = ttl

    def signature(self, drive_path: str, exp: int) -> str:
        """The hex HMAC of a path and its expiry time."""
        msg = f"{drive_path}\n{exp}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:32]

    def url(self, base_url: str, drive_path: str, ttl: int | None = None) -> str:
        """The absolute signed URL of a stored file, valid for `ttl` seconds."""
        exp = int(time.time()) + (self.ttl if ttl is None else ttl)
        return f"{base_url.rstrip('/')}/files/{quote(drive_path)}?exp={exp}&sig={self.signature(drive_path, exp)}"

    def check(self, drive_path: str, exp: str | None, sig: str | None) -> str | None:
        """None when the signature is valid and unexpired, else the reason it is refused."""
        if not exp or not sig:
            return "missing signature: use the signed url from the job"
        try:
            exp_at = int(exp)
        except ValueError:
            return "bad signature"
        if not hmac.compare_digest(self.signature(drive_path, exp_at).encode(), sig.encode("utf-8", "replace")):
            return "bad signature"
        if exp_at < time.time():
            return "signed url expired"
        return None
