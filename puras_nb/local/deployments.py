"""Which deployment of each skillpack is active: the emulator's deployment state, changed by `activate`.

Every registered version of a pack is one deployment; the highest is active until another is activated. The
active version is what a job that pins no version runs. The state is kept in the server's database, so it
survives a restart on the same data directory.
"""

from __future__ import annotations

import json
import threading

from .persist import Database
from .skills import SkillLookupError, SkillPack
from .store import now_iso

__all__ = ["Deployments"]


class Deployments:
    """Per-server deployment state: the active version of each pack and when it was activated."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.created_at = db.meta("deployments_created_at") or now_iso()
        db.set_meta("deployments_created_at", self.created_at)
        self._lock = threading.Lock()
        self._active: dict[str, tuple[int, str]] = {}

    def _state(self, pack: SkillPack) -> tuple[int, str]:
        with self._lock:
            if pack.id not in self._active:
                saved = json.loads(self._db.meta(f"active:{pack.id}") or "null")
                kept = isinstance(saved, list) and len(saved) == 2 and saved[0] in pack.versions
                self._active[pack.id] = (saved[0], saved[1]) if kept else (pack.active_version, self.created_at)
            return self._active[pack.id]

    def active(self, pack: SkillPack) -> int:
        """The version a job of `pack` runs when it pins none."""
        return self._state(pack)[0]

    def rows(self, pack: SkillPack) -> list[dict]:
        """The pack's deployments newest first, as `GET /v1/skillpacks/{ref}/deployments` lists them."""
        active, activated_at = self._state(pack)
        return [
            {
                "id": pack.deployment_id(version),
                "skillpack_id": pack.id,
                "version": version,
                "is_active": version == active,
                "created_at": self.created_at,
                "activated_at": activated_at if version == active else None,
                "skills": pack.names_at(version),
            }
            for version in reversed(pack.versions)
        ]

    def activate(self, pack: SkillPack, deployment_id: str) -> dict:
        """Make the deployment with this id the pack's active one and return its row (SkillLookupError if unknown)."""
        by_id = {pack.deployment_id(v): v for v in pack.versions}
        version = by_id.get(deployment_id.strip().lower())
        if version is None:
            known = ", ".join(f"v{v} {d}" for d, v in by_id.items())
            raise SkillLookupError(f"deployment {deployment_id!r} not found in {pack.path} (deployments: {known})")
        with self._lock:
            self._active[pack.id] = (version, now_iso())
            self._db.set_meta(f"active:{pack.id}", json.dumps(self._active[pack.id]))
        return next(row for row in self.rows(pack) if row["version"] == version)
