"""Settings: the one place that reads the environment and the official CLI's login file (once) and decides which
API live jobs talk to.

Everything above it (runtime, model, views, magics, `puras_nb.start`) asks `current()` and `endpoint()`;
nothing else reads `PURAS_*` variables for live jobs. (`Client` / `AsyncClient` keep reading
`PURAS_API_KEY` / `PURAS_API_BASE` themselves: that is the official client's contract.)

After the environment, `api_key` and `api_base` come from `~/.puras/config.json`, which `puras login` writes, as the
official CLI reads them (the environment wins, field by field), so a terminal login works in a notebook. The file's
key goes only to the base it was saved with: where `PURAS_API_BASE` points elsewhere it is not used (one line on
stderr says so). Nothing here writes the file: a key set in a notebook stays in memory.

| setting | environment | default |
| --- | --- | --- |
| api_key | PURAS_API_KEY, then `api_key` in ~/.puras/config.json | none: the embedded emulator |
| api_base | PURAS_API_BASE, then `api_base` in ~/.puras/config.json | https://api.puras.co |
| skillpack | PURAS_SKILLPACK | none |
| poll_interval | PURAS_NB_POLL_INTERVAL | 1.0 s (longest wait between a live job's status checks) |
| timeout | PURAS_NB_TIMEOUT | none (blocking waits wait as long as the job runs) |
| cancel_on_interrupt | PURAS_NB_CANCEL_ON_INTERRUPT | on: Ctrl-C / ■ during a blocking wait cancels the job |
| ledger | PURAS_NB_LEDGER (`off` turns it off) | `~/.cache/puras-nb/ledger.sqlite` (under `XDG_CACHE_HOME`) |
| skills_dir | PURAS_NB_SKILLS_DIR | none: the directory of a `puras.yaml` in the working directory or above |

A live job is checked often while young and then every `poll_interval` (the one cadence rule:
`runtime.session.Session.interval`); `Client.run` / `wait` keep the official client's 2.0 s (`api.flows.POLL_INTERVAL`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .strings import Secret, mask_key

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_API_BASE",
    "Settings",
    "configure",
    "current",
    "default_ledger",
    "on_change",
    "read_config_file",
    "source",
    "traits",
    "uses_emulator",
]

DEFAULT_API_BASE = "https://api.puras.co"
#: The official CLI's login file (`puras login` writes `{api_base, api_key, llm_api_key}` there), as users name it.
CONFIG_FILE = "~/.puras/config.json"
CONFIG_MAX = 65_536  # bytes of the login file read at most (it holds three short strings)

#: Settings whose change points live jobs at another server (or changes the request budget).
CONNECTION = frozenset({"api_key", "api_base", "skillpack", "local", "max_concurrency", "max_rps"})
#: Settings for which `configure(name=None)` means "off" rather than "keep".
NULLABLE = frozenset({"ledger", "confirm_over_usd", "skills_dir"})
OFF = ("", "0", "off", "none", "false", "no")


def default_ledger() -> str:
    """Where batches record their jobs unless told otherwise: the user cache dir."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "puras-nb", "ledger.sqlite")


#: The settings a notebook may also change with `%config Puras.<name>`, and their help there.
MAGIC_HELP = {
    "api_base": "API base URL (default: $PURAS_API_BASE, else hosted).",
    "skillpack": "Default skillpack for bare skill names ($PURAS_SKILLPACK).",
    "poll_interval": "Longest wait between status checks, seconds.",
    "timeout": "Give up waiting (and cancel) after this many seconds.",
    "cancel_on_interrupt": "Interrupting a blocking wait cancels its job.",
    "preview_max_bytes": "Largest media preview fetched into the kernel.",
}


@dataclass
class Settings:
    """Kernel-wide defaults for live jobs and magics (see `configure`)."""

    api_key: str | None = None
    api_base: str | None = None
    skillpack: str | None = None
    poll_interval: float = 1.0
    #: The wait timeout: how long a blocking wait (`job.result()`, `%puras run`) waits for a job's end.
    timeout: float | None = None
    cancel_on_interrupt: bool = True
    preview_max_bytes: int | dict[str, int] | None = None
    #: Media previews embedded per job at most (items and bytes); the rest show as links.
    preview_max_items: int = 24
    preview_total_bytes: int = 64_000_000
    #: Hosts (names, addresses or ranges) on loopback or private networks that previews may be fetched
    #: from; by default only the API's own host is, so a result cannot point the kernel at internal services.
    preview_allow_hosts: tuple[str, ...] = ()
    local: bool | None = None
    max_concurrency: int = 8
    #: Ceiling of background requests per second; the budget adapts below it to 429s and Retry-After.
    max_rps: float = 50.0
    #: The batch ledger (sqlite) that keeps which rows ran as which job, so re-runs reuse them; None: off.
    ledger: str | None = field(default_factory=default_ledger)
    #: Ask once before a batch whose estimate passes this many USD (None: never ask).
    confirm_over_usd: float | None = None
    #: A local skillpack directory (the layout `puras init` writes) whose `<skill>/skill.yaml` files give the
    #: schemas a server does not send; None: the directory of a `puras.yaml` found in the working directory or above.
    skills_dir: str | None = None

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown["api_key"]:
            shown["api_key"] = mask_key(shown["api_key"])
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def traits() -> list[tuple[str, Any, Any, str]]:
    """`(name, type, default, help)` of each setting in `MAGIC_HELP`: the magics build their traitlets from
    this, so the defaults live in `Settings` only."""
    hints, defaults = typing.get_type_hints(Settings), {f.name: f.default for f in fields(Settings)}
    return [(name, hints[name], defaults[name], text) for name, text in MAGIC_HELP.items()]


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    try:
        return float(value) if value else None
    except ValueError:
        print(f"puras-nb: ignoring {name}={value!r} (not a number)", file=sys.stderr)
        return None


def read_config_file() -> dict[str, str]:
    """`api_key` and `api_base` from the official CLI's login file, each where it is a non-empty string. A missing,
    unreadable or malformed file counts as none, as the CLI's own `load_auth` has it."""
    try:
        with open(os.path.expanduser(CONFIG_FILE), encoding="utf-8") as file:
            data = json.loads(file.read(CONFIG_MAX))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: value.strip() for name in ("api_key", "api_base")
            if isinstance(value := data.get(name), str) and value.strip()}


def _same_base(a: str | None, b: str | None) -> bool:
    return (a or DEFAULT_API_BASE).rstrip("/") == (b or DEFAULT_API_BASE).rstrip("/")


#: Where `api_key` / `api_base` were read from, with the value read: `source()` names it while the value stands.
_loaded: dict[str, tuple[str, str]] = {}


def from_environment() -> Settings:
    """Settings as the environment gives them, then the official CLI's login file for the key and base (the
    defaults where neither has a value)."""
    s = Settings(
        api_key=os.environ.get("PURAS_API_KEY") or None,
        api_base=os.environ.get("PURAS_API_BASE") or None,
        skillpack=os.environ.get("PURAS_SKILLPACK") or None,
    )
    _loaded.clear()
    _loaded.update({name: (value, var) for name, var in (("api_key", "PURAS_API_KEY"), ("api_base", "PURAS_API_BASE"))
                    if (value := getattr(s, name)) is not None})
    saved = read_config_file() if s.api_key is None or s.api_base is None else {}
    if s.api_base is None and "api_base" in saved:
        s.api_base = saved["api_base"].rstrip("/")
        _loaded["api_base"] = (s.api_base, CONFIG_FILE)
    if s.api_key is None and "api_key" in saved:
        if _same_base(s.api_base, saved.get("api_base")):
            s.api_key = saved["api_key"]
            _loaded["api_key"] = (s.api_key, CONFIG_FILE)
        else:
            print(f"puras-nb: not using the key in {CONFIG_FILE}: it was saved for "
                  f"{(saved.get('api_base') or DEFAULT_API_BASE).rstrip('/')}, and PURAS_API_BASE is {s.api_base}",
                  file=sys.stderr)
    poll, timeout = _env_float("PURAS_NB_POLL_INTERVAL"), _env_float("PURAS_NB_TIMEOUT")
    if poll is not None and poll > 0:
        s.poll_interval = poll
    if timeout is not None and timeout > 0:
        s.timeout = timeout
    skills_dir = os.environ.get("PURAS_NB_SKILLS_DIR")
    if skills_dir:
        s.skills_dir = os.path.expanduser(skills_dir)
    ledger = os.environ.get("PURAS_NB_LEDGER")
    if ledger is not None:
        s.ledger = None if ledger.strip().lower() in OFF else os.path.expanduser(ledger)
    flag = os.environ.get("PURAS_NB_CANCEL_ON_INTERRUPT")
    if flag:
        s.cancel_on_interrupt = flag.strip().lower() not in ("0", "false", "no", "off")
    return s


_lock = threading.RLock()
_settings: Settings | None = None
_listeners: list[Callable[[], None]] = []


def current() -> Settings:
    """The kernel-wide settings (a copy); the environment and the login file are read on first use only."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = from_environment()
        return replace(_settings)


def configure(
    api_key: str | Secret | None = None,
    api_base: str | None = None,
    skillpack: str | None = None,
    **options: Any,
) -> Settings:
    """Set kernel-wide defaults; arguments left as None keep their value. Returns the new settings.

    Options: `poll_interval`, `timeout`, `cancel_on_interrupt`, `preview_max_bytes`, `preview_max_items`,
    `preview_total_bytes`, `local`, `max_concurrency`, `max_rps`, `ledger` (a path; None turns batch reuse
    off), `confirm_over_usd`, `skills_dir` (a local skillpack directory for the schemas a server does not send).
    `local=True` always uses the embedded emulator, `local=False` never; by default
    it starts only when neither key nor base URL is set.
    Changing the connection makes the next job use a fresh client (running jobs finish on the old one).
    """
    global _settings
    key, api_key = Secret.of(api_key), None  # a traceback prints arguments: from here on none holds the raw key
    known = {f.name for f in fields(Settings)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    changes = {k: v for k, v in {"api_base": api_base, "skillpack": skillpack, **options}.items()
               if v is not None or k in NULLABLE}
    if key is not None:
        changes["api_key"] = key.reveal()
    with _lock:
        _settings = replace(current(), **changes)
    if changes.keys() & CONNECTION:
        for listener in list(_listeners):
            listener()
    return current()


def restore(saved: Settings) -> None:
    """Put back settings saved with `current()` (tests, a notebook that tries another server)."""
    global _settings
    with _lock:
        _settings = replace(saved)
    for listener in list(_listeners):
        listener()


def on_change(listener: Callable[[], None]) -> None:
    """Call `listener()` whenever the connection settings change (the runtime retires its client)."""
    _listeners.append(listener)


def source(name: str) -> str | None:
    """Where the current `api_key` or `api_base` came from: its environment variable or `CONFIG_FILE`; None when it
    was set in this kernel (`configure`, `%puras login`) or is the default."""
    with _lock:
        value = getattr(current(), name, None)
        read = _loaded.get(name)
        return read[1] if read is not None and value is not None and read[0] == value else None


def uses_emulator(s: Settings | None = None) -> bool:
    """The emulator rule: always with `local=True`, never with `local=False`, else when no key or base is set."""
    s = s or current()
    return s.local is True or (s.local is None and not (s.api_key or s.api_base))
