"""The kernel's connection to a Puras server: a client on it, the skills it offers, the local emulator, a key.

Backs `%puras skills`, `%puras local`, `%puras login` and `%puras config`, and works the same from Python.
"""

from __future__ import annotations

import threading
from typing import Any

from ..runtime.endpoint import embedded_emulator, endpoint
from ..settings import DEFAULT_API_BASE, configure, current, source, uses_emulator
from ..strings import mask_key

__all__ = ["SkillList", "client", "describe", "login", "mask", "skills", "use_local"]

_servers: list[Any] = []
_servers_lock = threading.Lock()


def client() -> Any:
    """A sync `Client` on the kernel-wide connection that live jobs use (the embedded emulator if none is set)."""
    from ..api.client import Client

    where = endpoint()
    return Client(
        api_key=where.api_key, skillpack=current().skillpack, api_base=where.api_base, timeout=10.0, max_retries=1
    )


class SkillList(list):
    """The skills a server offers (`puras_nb.model.skill.Skill` objects), shown as the `%puras skills` overview;
    `notes` says in one line each what the server did not (a skillpack listed without its skills, say)."""

    notes: tuple[str, ...] = ()

    def names(self, skillpack: str | None = None) -> list[str]:
        """Paths to complete: "pack/skill" for all, plus bare names of the default `skillpack`."""
        return [s.path for s in self] + [s.name for s in self if s.in_pack(skillpack)]

    def text(self) -> str:
        from ..views.skill import overview_text

        return overview_text(self, self.notes)

    def html(self) -> str:
        from ..views.skill import overview_html

        return overview_html(self, self.notes)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/plain": self.text(), "text/html": self.html()}

    def __repr__(self) -> str:
        return self.text()


def skills(api: Any = None) -> SkillList:
    """Every skill of every skillpack the server lists, with its inputs (see `puras_nb.model.skill`).

    `api` is a `Client` to ask; by default the current connection is asked afresh (and its cached catalog,
    which completion and skill cards use, refreshed)."""
    from ..model.schemas import catalog, catalog_notes
    from ..model.skill import from_skillpacks

    if api is None:
        found = SkillList(catalog(refresh=True))
        found.notes = tuple(catalog_notes())
        return found
    return SkillList(from_skillpacks(api.skillpacks()))


def use_local(port: int = 0) -> Any:
    """Start the local emulator (a child process) and point this kernel's live jobs at it; returns its handle."""
    from .. import local

    server = local.start(port=port)
    with _servers_lock:
        _servers.append(server)
    configure(api_key=server.api_key, api_base=server.url, local=False)
    return server


def mask(key: str | None) -> str:
    """`puras_live_…abcd`: enough of a key to recognise it, never the whole secret."""
    return mask_key(key) if key else "(none)"


def login(api_key: str | None = None) -> str:
    """Set the API key for this kernel (asked with getpass when not given); kept in memory only. Returns it masked."""
    import getpass

    key = api_key if api_key is not None else getpass.getpass("Puras API key: ")
    key = key.strip()
    if not key:
        raise ValueError("no API key given")
    configure(api_key=key, local=False)
    return mask(key)


def describe() -> dict[str, Any]:
    """The current connection and live-job settings, the key masked (what `%puras config` prints). Where the key
    and base were read from the environment or the official CLI's login file, `api_key_source` / `api_base_source`
    say which."""
    s = current()
    base, key = s.api_base, s.api_key
    if uses_emulator(s):
        embedded = embedded_emulator()
        base = embedded.url if embedded is not None else "(the local emulator, started on the first job)"
        key = embedded.api_key if embedded is not None else None
    sources = {f"{name}_source": where for name in ("api_base", "api_key") if (where := source(name))}
    return {
        "api_base": base or DEFAULT_API_BASE,
        "api_key": mask(key),
        **sources,
        "skillpack": s.skillpack,
        "poll_interval": s.poll_interval,
        "timeout": s.timeout,
        "cancel_on_interrupt": s.cancel_on_interrupt,
        "preview_max_bytes": s.preview_max_bytes,
    }
