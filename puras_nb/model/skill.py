"""What a skill takes: skills and their inputs parsed from `GET /v1/skillpacks` (one parser of input schemas).

Pure parsing (`from_skillpacks`) plus a per-connection catalog (`catalog`, `find`, `known`) that the skill
card, the forms, completion and `%puras skills` share. Knows no views.

Schema keywords read per input: `type` (a list such as `["number", "null"]` means nullable), `description`,
`default`, `minimum`, `maximum`, `minLength`, `maxLength`, `enum`. An input is a media input (a form shows a
file picker) when its schema has `contentMediaType` (JSON Schema's keyword for encoded content, e.g.
`"image/*"`) or `"format": "binary"`; its value is a URL or a `data:` URL.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import PurasAPIError, PurasConnectionError, PurasError
from ..runtime import loop as rt
from ..runtime.session import Session, session
from ..settings import current, on_change

__all__ = [
    "MISSING",
    "Input",
    "Skill",
    "SkillNotFound",
    "UnknownSkill",
    "catalog",
    "explain_not_found",
    "find",
    "from_skillpacks",
    "known",
    "resolve",
    "yaml_value",
]

#: Seconds `catalog` and a completion wait for the server at most, and how long completion then trusts a failure.
CATALOG_TIMEOUT = 30.0
QUICK_TIMEOUT = 2.0
FAILURE_TTL = 30.0

_TYPES = ("string", "integer", "number", "boolean", "array", "object")
_PYTHON: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
}
_ARTICLE = {"integer": "an integer", "array": "an array", "object": "an object", "boolean": "true or false"}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class _Missing:
    """The type of `MISSING`: no default given."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""The `default` of an input whose schema gives none."""


class UnknownSkill(PurasError, LookupError):
    """No skill of that name on the current connection; the message names close matches."""

    def _render_traceback_(self) -> list[str]:
        """IPython shows a mistyped name as its one line, not a traceback through puras-nb (`form`, `skill`, `run`)."""
        message = str(self).replace("\x1b", "\\x1b").splitlines() or [""]
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {' '.join(message)}"]


class SkillNotFound(PurasAPIError, UnknownSkill):
    """The server's 404 to a submission for a skill its catalog does not list: a `PurasAPIError` (`.status` 404,
    `.detail` the server's words) whose message, like `UnknownSkill`'s, names close matches instead."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(404, detail)
        self.args = (message,)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Input:
    """One input of a skill, as its schema describes it."""

    name: str
    type: str = ""
    required: bool = False
    default: Any = MISSING
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    enum: tuple | None = None
    description: str = ""
    media: bool = False
    nullable: bool = False
    #: The media types a media input takes (`contentMediaType`, e.g. "image/*"), for a file picker's accept.
    accept: str = ""

    @classmethod
    def from_schema(cls, name: str, spec: Any, required: bool = False) -> Input:
        """An input from one `properties` entry (anything that is not a dict reads as an empty schema)."""
        spec = spec if isinstance(spec, dict) else {}
        raw = spec.get("type")
        types = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        kind = next((t for t in types if isinstance(t, str) and t in _TYPES), "")
        enum = spec.get("enum")
        media_type = spec.get("contentMediaType")
        return cls(
            name=str(name),
            type=kind,
            required=required,
            default=spec.get("default", MISSING),
            minimum=_bound(spec.get("minimum")),
            maximum=_bound(spec.get("maximum")),
            min_length=_length(spec.get("minLength")),
            max_length=_length(spec.get("maxLength")),
            enum=tuple(enum) if isinstance(enum, list) else None,
            description=str(spec.get("description") or ""),
            media=bool(media_type) or spec.get("format") == "binary",
            nullable="null" in types,
            accept=str(media_type or ""),
        )

    def bounds(self) -> str:
        """The allowed values in words: "2–60", "≥ 0", "1–2000 chars", "one of: a, b" (empty when free)."""
        if self.enum is not None:
            return "one of: " + ", ".join(_show(v) for v in self.enum)
        lo, hi = _number(self.minimum), _number(self.maximum)
        if lo and hi:
            return f"{lo}–{hi}"
        if lo or hi:
            return f"≥ {lo}" if lo else f"≤ {hi}"
        if self.min_length or self.max_length is not None:
            low = self.min_length or 0
            return f"{low}–{self.max_length} chars" if self.max_length is not None else f"≥ {low} chars"
        return ""

    def check(self, value: Any) -> str | None:
        """None when `value` is acceptable, else a short message such as "must be between 2 and 60"."""
        if value is None or value is MISSING:
            return "is required" if self.required and not self.nullable else None
        if self.type and not _type_ok(value, self.type):
            return f"must be {_ARTICLE.get(self.type, 'a ' + self.type)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            too_low = self.minimum is not None and value < self.minimum
            too_high = self.maximum is not None and value > self.maximum
            if too_low or too_high:
                if self.minimum is not None and self.maximum is not None:
                    return f"must be between {_number(self.minimum)} and {_number(self.maximum)}"
                if too_low:
                    return f"must be at least {_number(self.minimum)}"
                return f"must be at most {_number(self.maximum)}"
        if isinstance(value, str):
            if self.min_length and len(value) < self.min_length:
                return "must not be empty" if self.min_length == 1 else f"must be at least {self.min_length} characters"
            if self.max_length is not None and len(value) > self.max_length:
                return f"must be at most {self.max_length} characters"
        if self.enum is not None and value not in self.enum:
            return "must be one of: " + ", ".join(_show(v) for v in self.enum)
        return None

    def parse(self, text: str) -> Any:
        """Text typed in a form or a magic as this input's value; empty text of a non-string input is None (not
        given). Raises ValueError with a short message ("must be an integer") when the text is not of the type."""
        if self.type == "string":
            return text
        stripped = text.strip()
        if not stripped:
            return None
        if self.type == "integer":
            try:
                return int(stripped)
            except ValueError:
                try:
                    number = float(stripped)
                except ValueError:
                    raise ValueError("must be an integer") from None
                if not number.is_integer():
                    raise ValueError("must be an integer") from None
                return int(number)
        if self.type == "number":
            try:
                return int(stripped)
            except ValueError:
                try:
                    return float(stripped)
                except ValueError:
                    raise ValueError("must be a number") from None
        if self.type == "boolean":
            word = stripped.lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise ValueError("must be true or false")
        if self.type in ("array", "object"):
            try:
                value = json.loads(stripped)
            except ValueError:
                raise ValueError(f"must be {_ARTICLE[self.type]} in JSON") from None
            if not isinstance(value, _PYTHON[self.type]):
                raise ValueError(f"must be {_ARTICLE[self.type]} in JSON")
            return value
        try:
            return json.loads(stripped)
        except ValueError:
            return text


@dataclass(frozen=True)
class Skill:
    """One skill of a skillpack: what it is, its versions, and what it takes."""

    path: str
    name: str
    skillpack: str
    description: str = ""
    versions: tuple[int, ...] = ()
    active_version: int | None = None
    inputs: tuple[Input, ...] = ()
    #: The pack's full ref (`workspace/slug`, e.g. "local/demo") and id, as the server lists them.
    pack_path: str = ""
    pack_id: str = ""
    #: False when the server gave no input schema (then `inputs` is empty and any key may be right).
    has_schema: bool = True
    #: Whether keys that are not inputs are errors: the schema says `additionalProperties: false`, or declares
    #: inputs without allowing others (so a typo such as `prodcut=` is caught before a request).
    closed: bool = False

    def input(self, name: str) -> Input:
        """The input called `name`; KeyError naming the known inputs if there is none."""
        for item in self.inputs:
            if item.name == name:
                return item
        raise KeyError(f"{self.path} has no input {name!r} (inputs: {', '.join(self.names()) or 'none'})")

    def names(self) -> list[str]:
        """The input names in schema order."""
        return [i.name for i in self.inputs]

    def in_pack(self, ref: str | None) -> bool:
        """Whether `ref` names this skill's skillpack: its slug, its "workspace/slug" path or its id."""
        return bool(ref) and ref in (self.skillpack, self.pack_path, self.pack_id)

    def defaults(self) -> dict[str, Any]:
        """The inputs that have a default, with it."""
        return {i.name: i.default for i in self.inputs if i.default is not MISSING}

    def check(self, values: dict[str, Any]) -> dict[str, str]:
        """`{input name: message}` for every problem: a required input missing, an unknown key (when the skill is
        `closed`), a bad value. Empty when the values are fine."""
        problems: dict[str, str] = {}
        if self.closed:
            known_names = set(self.names())
            for key in values:
                if key not in known_names:
                    problems[key] = "is not an input of " + self.path + _hint(key, self.names())
        for item in self.inputs:
            message = item.check(values.get(item.name))
            if message:
                problems[item.name] = message
        return problems

    def example(self) -> str:
        """A ready-to-edit `%%puras` cell: each input with its default (required ones empty), described in a
        comment."""
        lines = [f"%%puras {self.path}"]
        width = max((len(i.name) for i in self.inputs), default=0)
        for item in self.inputs:
            value = "" if item.default is MISSING else yaml_value(item.default)
            notes = [n for n in ("required" if item.required else "", item.bounds(), item.description) if n]
            comment = "  # " + " · ".join(notes).replace("\n", " ") if notes else ""
            lines.append(f"{item.name + ':':<{width + 1}} {value}".rstrip() + comment)
        return "\n".join(lines)


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
_YAML_PLAIN = re.compile(r"[A-Za-z](?:[\w .-]*[\w.-])?")


def yaml_value(value: Any) -> str:
    """A value as a YAML scalar of a `%%puras` body: plain words stay bare, anything else is JSON (which YAML
    reads back unchanged)."""
    plain = isinstance(value, str) and _YAML_PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
    return value if plain else json.dumps(value, ensure_ascii=False)


def _bound(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _length(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _type_ok(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PYTHON[kind])


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _hint(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _versions(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool))


def from_skillpacks(packs: list[dict]) -> list[Skill]:
    """Every skill of every pack in a `GET /v1/skillpacks` answer, in the server's order (pure, no I/O)."""
    out: list[Skill] = []
    for pack in packs if isinstance(packs, list) else []:
        if not isinstance(pack, dict):
            continue
        slug = str(pack.get("slug") or pack.get("path") or pack.get("id") or "")
        active = pack.get("active_version")
        for raw in pack.get("skills") or []:
            if not isinstance(raw, dict) or not raw.get("name"):
                continue
            schema = raw.get("input_schema")
            props = schema.get("properties") if isinstance(schema, dict) else None
            required = schema.get("required") if isinstance(schema, dict) else None
            required = set(required) if isinstance(required, list) else set()
            inputs = tuple(
                Input.from_schema(name, spec, name in required) for name, spec in (props or {}).items()
            ) if isinstance(props, dict) else ()
            extra = schema.get("additionalProperties") if isinstance(schema, dict) else None
            name = str(raw["name"])
            out.append(
                Skill(
                    path=f"{slug}/{name}",
                    name=name,
                    skillpack=slug,
                    description=str(raw.get("description") or ""),
                    versions=_versions(raw.get("versions")) or _versions(pack.get("versions")),
                    active_version=active if isinstance(active, int) and not isinstance(active, bool) else None,
                    inputs=inputs,
                    pack_path=str(pack.get("path") or slug),
                    pack_id=str(pack.get("id") or ""),
                    has_schema=isinstance(props, dict),
                    closed=extra is False or (bool(inputs) and extra is None),
                )
            )
    return out


# -- the current connection's catalog -----------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, list[Skill]] = {}
_failed: dict[str, float] = {}


def _forget() -> None:
    with _lock:
        _cache.clear()
        _failed.clear()


on_change(_forget)


async def _afetch(sess: Session, timeout: float) -> list[Skill]:
    """The skills `sess`'s server lists, waiting `timeout` s at most; cached for that server."""
    try:
        skills = from_skillpacks(await asyncio.wait_for(sess.skillpacks(), timeout))
    except TimeoutError:
        raise PurasConnectionError(f"the server did not list its skills within {timeout:g} s") from None
    with _lock:
        _cache[sess.api_base] = skills
        _failed.pop(sess.api_base, None)
    return skills


def _fetch(timeout: float) -> list[Skill]:
    """The skills of this connection, asked on the runtime's client (see `_afetch`)."""
    return rt.run_sync(_afetch(session(), timeout))


def catalog(*, refresh: bool = False) -> list[Skill]:
    """All skills of the current connection, fetched once per connection (again after the settings change, or
    with `refresh=True`). Raises the client's errors when the server cannot answer."""
    where = session().api_base
    with _lock:
        if not refresh and where in _cache:
            return list(_cache[where])
    return list(_fetch(CATALOG_TIMEOUT))


def known() -> list[Skill]:
    """The skills for completion: the cached catalog, else one quick fetch; never raises and never waits long
    (an unreachable server gives [] and is not asked again for `FAILURE_TTL` seconds)."""
    where = ""
    try:
        where = session().api_base
        with _lock:
            if where in _cache:
                return list(_cache[where])
            if time.monotonic() - _failed.get(where, -FAILURE_TTL) < FAILURE_TTL:
                return []
        return list(_fetch(QUICK_TIMEOUT))
    except Exception:  # completion must never raise: whatever went wrong, it completes only what it knows
        with _lock:
            _failed[where] = time.monotonic()
        return []


def _matches(skill: Skill, ref: str, name: str) -> bool:
    return skill.name == name and skill.in_pack(ref)


def resolve(path: str, skills: list[Skill], skillpack: str | None = None) -> Skill:
    """The skill `path` names among `skills`: "pack/skill", "workspace/pack/skill", or a bare name of the default
    `skillpack`. UnknownSkill names close matches otherwise."""
    parts = [p for p in (path or "").strip().split("/") if p]
    if not parts:
        raise UnknownSkill("which skill? give a name such as demo/echo (%puras skills lists them)")
    name = parts[-1]
    refs = ["/".join(parts[:-1])] if len(parts) > 1 else [skillpack] if skillpack else []
    for skill in skills:
        if any(_matches(skill, ref, name) for ref in refs):
            return skill
    paths = [s.path for s in skills]
    close = difflib.get_close_matches(path, paths, n=3, cutoff=0.5)
    close += [s.path for s in skills if s.name == name and s.path not in close]
    if close:
        hint = f"did you mean {', '.join(close)}?"
    elif paths:
        hint = "skills: " + ", ".join(paths[:8]) + (", …" if len(paths) > 8 else "")
    else:
        hint = "the server lists no skills"
    raise UnknownSkill(f"no skill {path!r} on this server; {hint}")


async def explain_not_found(error: BaseException, path: str, skillpack: str | None, sess: Session) -> BaseException:
    """`error`, or when it is the server's 404 to submitting `path` and the catalog has no such skill, a
    `SkillNotFound` naming close matches. Runs only on that error path: the catalog cached for `sess`'s server,
    else one quick fetch (when that fails too, the server's own error stands)."""
    if not (isinstance(error, PurasAPIError) and error.status == 404 and error.job_id is None):
        return error
    with _lock:
        skills = _cache.get(sess.api_base)
    if skills is None:
        try:
            skills = await _afetch(sess, QUICK_TIMEOUT)
        except Exception:  # the hint is a courtesy: without a catalog the server's 404 is the answer
            return error
    try:
        resolve(path, skills, skillpack)
    except UnknownSkill as unknown:
        return SkillNotFound(str(unknown), error.detail)
    return error  # the skill exists: the 404 is about something else (a version, say)


def find(path: str) -> Skill:
    """The skill `path` names on the current connection (cached like `catalog`); UnknownSkill naming close
    matches when there is none."""
    return resolve(path, catalog(), current().skillpack)
