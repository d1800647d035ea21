"""The kernel's connection to a Puras server: a client on it, the skills it offers, the local emulator, a key.

Backs `%puras skills`, `%puras local`, `%puras login`, `%puras config` and `%puras whoami`, and works the same from
Python.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import NotSupported
from ..model.text import dollars, finite
from ..runtime.endpoint import embedded_emulator, endpoint
from ..settings import CONFIG_FILE, DEFAULT_API_BASE, configure, current, source, uses_emulator
from ..strings import cut, mask_key, plain

__all__ = ["Identity", "SkillList", "client", "describe", "login", "mask", "skills", "use_local", "whoami"]

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


class Identity(dict):
    """Who this kernel is on its server, as `puras whoami` says it: the API base, the key (masked), and the workspace
    and balance from `GET /v1/billing/balance` (its fields are this dict's, beside `api_base` and `api_key`). Where
    the server has no balance route, or no key is set, `note` says so in one line."""

    def text(self) -> str:
        """The lines `puras whoami` prints (`api base`, `api key`, `workspace`, `balance`), and where each came from."""
        lines = []
        for label, name in (("api base", "api_base"), ("api key", "api_key")):
            if self.get(name):
                where = self.get(f"{name}_source")
                lines.append(f"{label:<10} {self[name]}" + (f"   (from {where})" if where else ""))
        if self.get("workspace_id") is not None:
            lines.append(f"{'workspace':<10} {cut(plain(self['workspace_id']), 80)}")
        balance = self.get("balance_usd")
        if self.get("billed") is False:
            spent = dollars(self.get("jobs_cost_micros"))
            so_far = f" · its jobs cost {spent} so far" if spent and spent != "free" else ""
            lines.append(f"{'balance':<10} not billed on this server{so_far}")
        elif finite(balance):
            lines.append(f"{'balance':<10} ${balance:.2f}")
        elif "balance_usd" in self:
            lines.append(f"{'balance':<10} {cut(plain(balance), 80)}")
        if self.get("note"):
            lines.append(str(self["note"]))
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/plain": self.text()}

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def __repr__(self) -> str:
        return self.text()


def whoami() -> Identity:
    """Who this kernel is on the server its live jobs use, as `puras whoami` shows it: the API base, the key (masked,
    with where each came from), the workspace and its balance. A server without the balance route (`puras serve`)
    gets one line that says so; with no key set and the local emulator not started yet, nothing is started."""
    s = current()
    if uses_emulator(s) and embedded_emulator() is None:
        return Identity(note="not logged in: live jobs run on the local emulator, started on the first job "
                             f"(`puras login` in a terminal, which writes {CONFIG_FILE}, or %puras login, for the "
                             "hosted API)")
    with client() as api:
        who = Identity(api_base=api.api_base, api_key=mask(api.api_key),
                       **{f"{name}_source": where for name in ("api_base", "api_key") if (where := source(name))})
        try:
            answer = api.balance()
        except NotSupported as exc:
            who["note"] = str(exc)
            return who
    if isinstance(answer, dict):
        who.update({k: v for k, v in answer.items() if k not in who})
    return who
