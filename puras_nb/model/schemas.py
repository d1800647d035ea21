"""Where a skill's schema comes from, and the catalog of the current connection that every view shares.

In this order, cached per connection (API base and a fingerprint of the key, never the key) and deployment:
1. `skills[].input_schema` in `GET /v1/skillpacks`, when the server sends it;
2. the hosted API's bundle route, as `puras pull` uses it: `GET /v1/skillpacks/{id}/deployments/pull` answers
   `{download_url, version}`; the zip at that signed URL is fetched without the key and read in memory under
   caps (`read_bundle`): only `<skill>/skill.yaml` files, read as YAML data, never run or imported;
3. a local skillpack directory, the layout `puras init` writes: `configure(skills_dir=…)`, `PURAS_NB_SKILLS_DIR`,
   or the directory of a `puras.yaml` found in the working directory or above;
4. for a `puras serve` on a loopback address (no `/v1/skillpacks` route), the `bundle_dir` its `/health` names,
   and the skill names it lists there.
A skill none of these describe is still listed, without a schema, and its `note` says so in one line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import ipaddress
import os
import re
import stat
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..errors import PurasAPIError, PurasConnectionError, PurasError
from ..runtime import loop as rt
from ..runtime.session import Session, client_origin, existing, session
from ..settings import current, on_change
from ..strings import flat
from .skill import Skill, SkillNotFound, UnknownSkill, pack_facts, parse_skill, resolve

__all__ = [
    "CATALOG_TIMEOUT",
    "BundleError",
    "LocalPack",
    "catalog",
    "catalog_notes",
    "connection_id",
    "declared_outputs",
    "explain_not_found",
    "find",
    "find_skills_dir",
    "is_loopback",
    "known",
    "load_yaml",
    "read_bundle",
    "read_skills_dir",
]

#: Seconds `catalog` and a completion wait for the server at most, and how long completion then trusts a failure.
#: A completion answers within JupyterLab's completer `providerTimeout` (1 s by default, which drops later replies),
#: with room left for the round trip.
CATALOG_TIMEOUT = 30.0
QUICK_TIMEOUT = 0.6
#: Seconds a failed run waits for the catalog to name close matches (a cell that stopped, not a completion).
HINT_TIMEOUT = 2.0
FAILURE_TTL = 30.0
#: Caps on a deployment bundle read in memory: its download, its entries, each `skill.yaml` and all of them.
BUNDLE_MAX_BYTES = 50_000_000
BUNDLE_MAX_ENTRIES = 20_000
SKILL_YAML_MAX = 1_000_000
BUNDLE_YAML_MAX = 20_000_000
#: Values a `skill.yaml` may hold once its aliases are expanded (a few hundred bytes of anchors can stand for
#: billions), and how deep.
YAML_MAX_VALUES = 200_000
YAML_MAX_DEPTH = 64
#: Skills read from one pack, bundle or directory at most.
MAX_SKILLS = 1000
#: Bundles kept in memory (per connection and deployment).
BUNDLES_KEPT = 32
#: The answers that mean "this server has no such route" (puras serve has no `/v1/skillpacks`).
NO_ROUTE = (404, 405, 501)
PROJECT_FILE = "puras.yaml"
SKILL_FILE = "skill.yaml"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class BundleError(PurasError, ValueError):
    """A bundle or a `skill.yaml` that is refused: an unsafe path, past a cap, not YAML, not a zip."""


# -- reading YAML and bundles (pure) ----------------------------------------------------------------------


def load_yaml(text: str | bytes) -> Any:
    """YAML read as data only (`yaml.safe_load`: no tags that build objects or run code), refused when its
    aliases expand past `YAML_MAX_VALUES` values or it nests deeper than `YAML_MAX_DEPTH`."""
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise BundleError("it is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BundleError(f"it is not valid YAML{where}: {flat(getattr(exc, 'problem', '') or exc, 80)}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"it cannot be read as YAML ({type(exc).__name__})") from None
    count, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > YAML_MAX_VALUES:
            raise BundleError(f"it expands past {YAML_MAX_VALUES} values (YAML aliases?)")
        if isinstance(value, (dict, list)):
            if depth >= YAML_MAX_DEPTH:
                raise BundleError(f"it is nested deeper than {YAML_MAX_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return data


def _unsafe(name: str, info: zipfile.ZipInfo) -> bool:
    """An entry `puras pull` would refuse (an absolute path, a `..`), or one that is a symbolic link."""
    parts = name.replace("\\", "/").split("/")
    absolute = name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None
    link = stat.S_ISLNK(info.external_attr >> 16)
    return absolute or ".." in parts or link


def read_bundle(data: bytes) -> dict[str, Any]:
    """`{skill name: its skill.yaml data}` of a deployment bundle (a zip, in memory), in name order: only the
    top-level `<skill>/skill.yaml` files are read, within `SKILL_YAML_MAX` each and `BUNDLE_YAML_MAX` in all.
    The whole bundle is refused (`BundleError`) for an absolute path, a `..`, a symbolic link, more than
    `BUNDLE_MAX_ENTRIES` entries, or bytes that are not a zip. A `skill.yaml` that cannot be read is kept as its
    `BundleError`, so it degrades that skill alone."""
    if len(data) > BUNDLE_MAX_BYTES:
        raise BundleError(f"the bundle is larger than {BUNDLE_MAX_BYTES // 1_000_000} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise BundleError(f"the bundle is not a zip ({flat(exc, 80)})") from None
    if len(entries) > BUNDLE_MAX_ENTRIES:
        raise BundleError(f"the bundle has more than {BUNDLE_MAX_ENTRIES} entries")
    wanted: dict[str, zipfile.ZipInfo] = {}
    for info in entries:
        if _unsafe(info.filename, info):
            raise BundleError(f"refused: the bundle holds an unsafe path {flat(info.filename, 80)!r}")
        parts = info.filename.split("/")
        if len(parts) == 2 and parts[1] == SKILL_FILE and _SLUG.match(parts[0]) and not info.is_dir():
            wanted[parts[0]] = info
    out: dict[str, Any] = {}
    total = 0
    for name in sorted(wanted)[:MAX_SKILLS]:
        info = wanted[name]
        try:
            with archive.open(info) as handle:
                blob = handle.read(SKILL_YAML_MAX + 1)
        except (zipfile.BadZipFile, RuntimeError, ValueError, OSError, EOFError, NotImplementedError) as exc:
            out[name] = BundleError(f"its skill.yaml cannot be read from the bundle ({flat(exc, 60)})")
            continue
        total += len(blob)
        if len(blob) > SKILL_YAML_MAX or total > BUNDLE_YAML_MAX:
            out[name] = BundleError(f"its skill.yaml is larger than {SKILL_YAML_MAX // 1000} kB")
            continue
        out[name] = _skill_yaml(blob)
    return out


def _skill_yaml(blob: bytes) -> Any:
    """A `skill.yaml`'s data, or the `BundleError` that says why it cannot be read."""
    try:
        return load_yaml(blob.decode("utf-8"))
    except UnicodeDecodeError:
        return BundleError("its skill.yaml is not UTF-8 text")
    except BundleError as exc:
        return BundleError(f"its skill.yaml cannot be read: {exc}")


@dataclass(frozen=True)
class LocalPack:
    """A skillpack directory on this machine: its `puras.yaml` binding (`skillpack_id`, `slug`) and its skills."""

    root: Path
    slug: str
    skillpack_id: str = ""
    #: `{skill name: its skill.yaml data, or the BundleError saying why it cannot be read}`, in name order.
    skills: dict[str, Any] = field(default_factory=dict)
    bound: bool = False

    def serves(self, pack: dict) -> bool:
        """Whether this directory is the pack the server lists: its `puras.yaml` names the pack's id or slug (a
        directory bound to no pack serves any)."""
        if not self.bound:
            return True
        refs = {str(pack.get(k) or "") for k in ("id", "slug", "path")} - {""}
        return bool(refs & {self.skillpack_id, self.slug}) or any(r.endswith("/" + self.slug) for r in refs)


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "local"


def read_skills_dir(root: str | Path) -> LocalPack | None:
    """The skillpack directory at `root` (None when it is not a directory): each top-level folder with a
    `skill.yaml` is a skill named after the folder; `puras.yaml` binds it to its remote pack."""
    path = Path(root).expanduser()
    try:
        if not path.is_dir():
            return None
        children = sorted(path.iterdir())[: MAX_SKILLS * 4]
    except OSError:
        return None
    binding = _read_small(path / PROJECT_FILE)
    binding = binding if isinstance(binding, dict) else {}
    skills: dict[str, Any] = {}
    for child in children:
        if len(skills) >= MAX_SKILLS or not _SLUG.match(child.name):
            continue
        try:
            if not (child.is_dir() and (child / SKILL_FILE).is_file()):
                continue
        except OSError:
            continue
        skills[child.name] = _read_small(child / SKILL_FILE, errors=True)
    slug = str(binding.get("slug") or "") or _slugify(path.resolve().name)
    pack_id = str(binding.get("skillpack_id") or "")
    bound = bool(binding.get("slug") or binding.get("skillpack_id"))
    return LocalPack(path, slug, pack_id, skills, bound)


def _read_small(path: Path, errors: bool = False) -> Any:
    """A YAML file of this machine, within `SKILL_YAML_MAX` bytes: its data, or (with `errors`) the BundleError
    saying why it cannot be read (else None)."""
    try:
        with path.open("rb") as handle:
            blob = handle.read(SKILL_YAML_MAX + 1)
    except OSError as exc:
        return BundleError(f"its skill.yaml cannot be read ({exc.strerror or exc})") if errors else None
    if len(blob) > SKILL_YAML_MAX:
        return BundleError(f"its skill.yaml is larger than {SKILL_YAML_MAX // 1000} kB") if errors else None
    data = _skill_yaml(blob)
    return data if errors or not isinstance(data, BundleError) else None


def find_skills_dir(start: str | Path | None = None) -> Path | None:
    """The local skillpack directory: `configure(skills_dir=…)` / `PURAS_NB_SKILLS_DIR`, else the directory of a
    `puras.yaml` found in `start` (the working directory) or above it, as the official CLI finds it."""
    configured = current().skills_dir
    if configured:
        return Path(configured).expanduser()
    try:
        here = Path(start if start is not None else os.getcwd()).resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        try:
            if (folder / PROJECT_FILE).is_file():
                return folder
        except OSError:
            return None
    return None


def is_loopback(api_base: str) -> bool:
    """Whether the server is on this machine (`puras serve`'s bundle_dir is then a directory here)."""
    host = (urlsplit(api_base).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the catalog of a connection ------------------------------------------------------------------------------


def connection_id(api_base: str, api_key: str | None) -> str:
    """The connection a cache entry belongs to: its API base and a fingerprint of its key (never the key)."""
    return f"{api_base}#{hashlib.sha256((api_key or '').encode()).hexdigest()[:16]}"


def _identity(sess: Session) -> str:
    return connection_id(sess.api_base, getattr(sess.client, "api_key", None))


@dataclass
class _Bundle:
    skills: dict[str, Any]
    version: Any


_lock = threading.Lock()
_cache: dict[tuple[str, str], list[Skill]] = {}
_notes: dict[tuple[str, str], list[str]] = {}
_failed: dict[tuple[str, str], float] = {}
_bundles: OrderedDict[tuple[str, str, str], _Bundle] = OrderedDict()
#: Loads that completion started in the background, one per connection (see `known`).
_loading: dict[tuple[str, str], concurrent.futures.Future[list[Skill]]] = {}
#: The session completion is waiting for, made in a thread of its own (see `_session_within`).
_making: concurrent.futures.Future[Session] | None = None


def _forget() -> None:
    with _lock:
        _cache.clear()
        _notes.clear()
        _failed.clear()


on_change(_forget)


def _where(sess: Session) -> tuple[str, str]:
    """The catalog cache key: the connection, and the local skillpack directory that fills in schemas."""
    return _keyed(_identity(sess))


def _keyed(identity: str) -> tuple[str, str]:
    local = find_skills_dir()
    return identity, str(local) if local else ""


def _no_schema(skill: Skill, why: str) -> Skill:
    return replace(skill, note=f"The server offers no input schema for {skill.path}{why}: inputs are passed as given.")


class _Loader:
    """One load of a connection's catalog: the catalog, then bundles, the local directory and `/health`."""

    def __init__(self, sess: Session, local_dir: Path | None) -> None:
        self.sess = sess
        self.identity = _identity(sess)
        self.local = read_skills_dir(local_dir) if local_dir else None
        #: One line per pack the load could name no skill of (a bare catalog row without a bundle, say).
        self.notes: list[str] = []

    async def load(self) -> list[Skill]:
        try:
            packs = await self.sess.skillpacks()
        except PurasAPIError as exc:
            if exc.status not in NO_ROUTE:
                raise
            return await self._without_catalog(exc)
        if not isinstance(packs, list):
            raise PurasError("unexpected answer from the server to GET /v1/skillpacks: not a list of skillpacks")
        out: list[Skill] = []
        for pack in packs[:MAX_SKILLS]:
            if isinstance(pack, dict):
                out += await self._pack(pack)
        return out

    def _from_local(self, name: str, **facts: Any) -> Skill | None:
        if self.local is None or name not in self.local.skills:
            return None
        return _parsed(name, self.local.skills[name], source=f"the skills directory {self.local.root}", **facts)

    async def _pack(self, pack: dict) -> list[Skill]:
        slug, facts = pack_facts(pack)
        rows = pack.get("skills")
        named = [r for r in rows if isinstance(r, dict) and isinstance(r.get("name"), (str, int)) and r["name"]] \
            if isinstance(rows, list) else None
        if named is not None and all(isinstance(r.get("input_schema"), dict) for r in named):
            return [_parsed(str(r["name"]), r, skillpack=slug, source="the catalog", **_facts(facts, r))
                    for r in named[:MAX_SKILLS]]
        bundle, why = await self._bundle(pack, facts)
        local = self.local if self.local is not None and self.local.serves(pack) else None
        if named is None:  # a bare catalog row: the skills are whatever the bundle (or the directory) holds
            names = list(bundle.skills) if bundle else list(local.skills) if local else []
            named = [{"name": n} for n in names]
            if not named:
                hint = "" if self.local else "; configure(skills_dir=…) can point at a local copy"
                self.notes.append(f"The server lists skillpack {slug} without its skills{why}{hint}.")
                return []
        out = []
        for row in named[:MAX_SKILLS]:
            name = str(row["name"])
            each = {**_facts(facts, row), "skillpack": slug}
            if isinstance(row.get("input_schema"), dict):
                out.append(_parsed(name, row, source="the catalog", **each))
            elif bundle is not None and name in bundle.skills:
                data = bundle.skills[name]
                merged = {**data, **{k: v for k, v in row.items() if v is not None}} if isinstance(data, dict) \
                    else data
                out.append(_parsed(name, merged, source=f"the deployment bundle v{bundle.version}", **each))
            elif local is not None and (found := self._from_local(name, **each)) is not None:
                out.append(found)
            else:
                out.append(_no_schema(parse_skill(name, None, **each), why))
        return out

    async def _bundle(self, pack: dict, facts: dict) -> tuple[_Bundle | None, str]:
        """The pack's active deployment bundle (cached per connection and deployment), or why there is none."""
        ref = facts["pack_id"] or str(pack.get("slug") or "")
        if not ref:
            return None, ""
        deployment = str(pack.get("active_deployment_id") or pack.get("active_version") or "")
        with _lock:
            cached = _bundles.get((self.identity, ref, deployment)) if deployment else None
        if cached is not None:
            return cached, ""
        try:
            link = await self.sess.pull(ref)
        except PurasAPIError as exc:
            return None, f" (no deployment bundle: {exc.status})"
        except (PurasError, OSError) as exc:
            return None, f" (its deployment bundle: {flat(exc, 80)})"
        url = link.get("download_url") if isinstance(link, dict) else None
        version = link.get("version") if isinstance(link, dict) else None
        if not isinstance(url, str):
            return None, " (the bundle route gave no download_url)"
        key = (self.identity, ref, deployment or f"v{version}")
        with _lock:
            cached = _bundles.get(key)
        if cached is not None:
            return cached, ""
        data = await self.sess.fetch_bundle(url, BUNDLE_MAX_BYTES)
        if data is None:
            return None, " (its deployment bundle could not be downloaded)"
        try:
            bundle = _Bundle(read_bundle(data), version if isinstance(version, (int, str)) else "?")
        except BundleError as exc:
            return None, f" (its deployment bundle: {exc})"
        with _lock:
            _bundles[key] = bundle
            while len(_bundles) > BUNDLES_KEPT:
                _bundles.popitem(last=False)
        return bundle, ""

    async def _without_catalog(self, error: PurasAPIError) -> list[Skill]:
        """A server with no `/v1/skillpacks` (puras serve): the skills `/health` lists, their schemas from the
        local directory or, on loopback, the `bundle_dir` it serves; else the local directory's skills."""
        try:
            health = await self.sess.health()
        except (PurasError, OSError):
            health = None
        listed = health.get("skills") if isinstance(health, dict) else None
        bundle_dir = health.get("bundle_dir") if isinstance(health, dict) else None
        served = None
        if isinstance(bundle_dir, str) and bundle_dir and is_loopback(self.sess.api_base):
            served = read_skills_dir(bundle_dir)
        if not isinstance(listed, list):
            if self.local is None:
                raise PurasAPIError(error.status, f"the server lists no skills (GET /v1/skillpacks: {error.detail}) "
                                    "and no skillpack directory was found: configure(skills_dir=…)") from None
            listed = list(self.local.skills)
        home = served or self.local
        slug = home.slug if home is not None else "local"
        out = []
        for raw in listed[:MAX_SKILLS]:
            if not isinstance(raw, str) or not raw.strip("/"):
                continue
            pack, _, name = raw.strip("/").rpartition("/")
            each: dict[str, Any] = {"skillpack": pack or slug}
            found = self._from_local(name, **each)
            if found is None and served is not None and name in served.skills:
                found = _parsed(name, served.skills[name], source=f"the served bundle_dir {served.root}", **each)
            if found is None:
                why = " (and its bundle_dir is not on this machine)" if bundle_dir and served is None else ""
                found = _no_schema(parse_skill(name, None, **each), why)
            out.append(found)
        return out


def _facts(facts: dict, row: dict) -> dict:
    versions = row.get("versions")
    mine = tuple(v for v in versions if isinstance(v, int) and not isinstance(v, bool)) \
        if isinstance(versions, list) else ()
    return {**facts, "versions": mine or facts["versions"]}


def _parsed(name: str, data: Any, **facts: Any) -> Skill:
    """`parse_skill`, with a `skill.yaml` that could not be read as its one-line note."""
    if isinstance(data, BundleError):
        return parse_skill(name, None, note=f"{name}: {data}", **facts)
    skill = parse_skill(name, data, **facts)
    if not isinstance(data, dict) or not isinstance(data.get("input_schema"), dict):
        return _no_schema(skill, "")
    return skill


async def _afetch(sess: Session, timeout: float) -> list[Skill]:
    """The skills `sess`'s server offers, waiting `timeout` s at most; cached for that connection."""
    where = _where(sess)
    loader = _Loader(sess, Path(where[1]) if where[1] else None)
    try:
        skills = await asyncio.wait_for(loader.load(), timeout)
    except TimeoutError:
        raise PurasConnectionError(f"the server did not list its skills within {timeout:g} s") from None
    with _lock:
        _cache[where] = skills
        _notes[where] = list(loader.notes)
        _failed.pop(where, None)
    return skills


def _fetch(timeout: float) -> list[Skill]:
    """The skills of this connection, asked on the runtime's client (see `_afetch`)."""
    return rt.run_sync(_afetch(session(), timeout))


def catalog(*, refresh: bool = False) -> list[Skill]:
    """All skills of the current connection, fetched once per connection (again after the settings change, or
    with `refresh=True`). Raises the client's errors when the server cannot answer."""
    where = _where(session())
    with _lock:
        if not refresh and where in _cache:
            return list(_cache[where])
    return list(_fetch(CATALOG_TIMEOUT))


def catalog_notes() -> list[str]:
    """What the last load of this connection's catalog could not find, one line each (never raises)."""
    made = existing()
    if made is None or not made.connected:  # no connection yet: nothing was loaded
        return []
    try:
        where = _where(made)
    except Exception:  # an endpoint that cannot be told
        return []
    with _lock:
        return list(_notes.get(where, []))


def declared_outputs(path: str, sess: Session | None = None, *, client: Any = None) -> dict[str, str]:
    """`{result field: dialect type}` that the skill `path`'s output schema declares, as far as the catalog
    already loaded for `sess`'s connection (default: the current one) knows: never a request, never raises, and
    never a connection made for it (with no key, that would start the embedded emulator to show a job dict).
    `client`: the caller's own client that ran the job, whose server's catalog counts instead (if one was loaded:
    that of the session's connection, when the client has the same API base and key)."""
    try:
        if client is not None:
            api_base, key = client_origin(client)
            if api_base is None:
                return {}
            where = _keyed(connection_id(api_base, key.reveal() if key else None))
        else:
            made = sess or existing()
            if made is None or not made.connected:  # no connection yet: nothing was loaded
                return {}
            where = _where(made)
        with _lock:
            skills = _cache.get(where)
        return resolve(path, skills, current().skillpack).output_types() if skills else {}
    except Exception:  # an unknown skill: nothing is declared
        return {}


def known() -> list[Skill]:
    """The skills for completion: the cached catalog, else what one load gives within `QUICK_TIMEOUT` s (a load
    that takes longer, a bundle to download say, goes on and fills the cache for a later completion, and those
    made meanwhile do not wait for it); never raises (a server that fails is not asked again for `FAILURE_TTL`
    seconds)."""
    where = ("", "")
    began = time.monotonic()
    try:
        sess = _session_within(QUICK_TIMEOUT)
        if sess is None:
            return []  # the session is still being made (the embedded emulator starting): the next one asks
        where = _where(sess)
        with _lock:
            if where in _cache:
                return list(_cache[where])
            if time.monotonic() - _failed.get(where, -FAILURE_TTL) < FAILURE_TTL or rt.on_runtime_thread():
                return []
            loading = _loading.get(where)
            fresh = loading is None
            if loading is None:
                loading = _loading[where] = asyncio.run_coroutine_threadsafe(
                    _afetch(sess, CATALOG_TIMEOUT), rt.get_loop()
                )
        if fresh:  # outside the lock: a load already done runs its callback right here
            loading.add_done_callback(lambda done: _loaded(where, done))
        try:
            wait = max(0.0, QUICK_TIMEOUT - (time.monotonic() - began)) if fresh else 0
            return list(loading.result(wait))  # one completion waits, not each one
        except concurrent.futures.TimeoutError:
            return []  # still loading: what it finds is cached for the next completion
    except Exception:  # completion must never raise: whatever went wrong, it completes only what it knows
        with _lock:
            _failed[where] = time.monotonic()
        return []


def _session_within(timeout: float) -> Session | None:
    """The current session, or None when making it takes longer than `timeout` s (the first one starts the embedded
    emulator): it is made on in a thread of its own, for a later completion."""
    global _making
    with _lock:
        making = _making
        if making is not None and making.done() and making.exception() is None and not making.result().retired:
            return making.result()  # the session made earlier is still the current one: no thread
        wait = 0.0  # as with the catalog: one completion waits, not each one
        if making is None or making.done():
            making = _making = concurrent.futures.Future()
            threading.Thread(target=_make_session, args=(making,), name="puras-nb-session", daemon=True).start()
            wait = timeout
    try:
        return making.result(wait)
    except concurrent.futures.TimeoutError:
        return None


def _make_session(future: concurrent.futures.Future[Session]) -> None:
    try:
        future.set_result(session())
    except BaseException as exc:  # the completion that waits for it treats it as any failed load
        future.set_exception(exc)


def _loaded(where: tuple[str, str], done: concurrent.futures.Future[list[Skill]]) -> None:
    """A background load of `known` ended: it cached what it found, or its failure holds off the next one."""
    with _lock:
        _loading.pop(where, None)
        if done.cancelled() or done.exception() is not None:
            _failed[where] = time.monotonic()


async def explain_not_found(error: BaseException, path: str, skillpack: str | None, sess: Session) -> BaseException:
    """`error`, or when it is the server's 404 to submitting `path` and the catalog has no such skill, a
    `SkillNotFound` naming close matches. Runs only on that error path: the catalog cached for `sess`'s server,
    else one quick fetch (when that fails too, the server's own error stands)."""
    if not (isinstance(error, PurasAPIError) and error.status == 404 and error.job_id is None):
        return error
    with _lock:
        skills = _cache.get(_where(sess))
    if skills is None:
        try:
            skills = await _afetch(sess, HINT_TIMEOUT)
        except Exception:  # the hint is a courtesy: without a catalog the server's 404 is the answer
            return error
    try:
        resolve(path, skills, skillpack)
    except UnknownSkill as unknown:
        return SkillNotFound(str(unknown), error.detail)
    return error  # the skill exists: the 404 is about something else (a version, say)


def find(path: str) -> Skill:
    """The skill `path` names on the current connection (cached like `catalog`); UnknownSkill naming close
    matches when there is none, and what the catalog's load could not find (a skillpack listed without its
    skills, and where to point for them)."""
    skills = catalog()
    try:
        return resolve(path, skills, current().skillpack)
    except UnknownSkill as unknown:
        notes = catalog_notes()
        if not notes:
            raise
        raise UnknownSkill(f"{unknown} · {' '.join(notes)}") from None

