"""Skill registry for the emulator: skillpacks, versioned skills, input schemas and the run context.

Skills are plain Python functions registered with `@pack.skill(name, version=, schema=)`; a job runs one
of them in a worker thread with a `RunContext` that records progress, events and files.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "JobCancelled",
    "RunContext",
    "SchemaError",
    "Skill",
    "SkillFailed",
    "SkillLookupError",
    "SkillPack",
    "json_problem",
    "validate_inputs",
]

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a job holds (inputs, results, events); far deeper breaks rendering."""

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
_ARTICLE = {"integer": "an integer", "array": "an array", "object": "an object"}


def json_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why `value` cannot be held and answered as JSON (non-finite number, lone surrogate, nesting past
    `max_depth`, a non-JSON type), or None. Iterative, so no depth can overflow the stack here."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth >= max_depth:
                return f"is nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                odd = next((k for k in item if not (k is None or isinstance(k, (str, int, float)))), None)
                if odd is not None:
                    return f"has a {type(odd).__name__} key, which is not JSON"
                stack.extend((key, depth) for key in item if isinstance(key, (str, float)))
                item = item.values()
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"holds {item}: JSON numbers must be finite"
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "holds a string that is not valid Unicode (a lone surrogate such as \\ud800)"
        elif not (item is None or isinstance(item, (bool, int))):
            return f"holds a {type(item).__name__}, which is not JSON"
    return None


class SchemaError(ValueError):
    """Inputs that do not match a skill's schema; the message names the field (answered as 422)."""


class SkillLookupError(LookupError):
    """Unknown skillpack, skill or version (answered as 404)."""


class SkillFailed(Exception):
    """Raise from a skill to fail its job with exactly this message as `error`."""


class JobCancelled(Exception):
    """Raised inside a skill by `ctx.check_cancelled()` once its job was cancelled."""


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def _describe(names: list[str]) -> str:
    return " or ".join(_ARTICLE.get(n, f"a {n}") for n in names)


def validate_inputs(schema: dict | None, inputs: Any) -> dict:
    """Check `inputs` against a JSON-schema-like object schema; return them with defaults filled in.

    Raises `SchemaError` naming the first bad field (`inputs.width must be an integer, got string`).
    """
    if not isinstance(inputs, dict):
        raise SchemaError(f"inputs must be an object, got {type(inputs).__name__}")
    if not schema:
        return dict(inputs)
    props: dict[str, dict] = schema.get("properties", {})
    for name in schema.get("required", []):
        if inputs.get(name) is None:
            raise SchemaError(f"inputs.{name} is required")
    out = dict(inputs)
    for name, spec in props.items():
        types = _as_list(spec.get("type"))
        value = inputs.get(name)
        if value is None and (name not in inputs or "null" not in types):
            if "default" in spec:
                out[name] = spec["default"]
            continue
        if types and not any(_type_ok(value, t) for t in types):
            got = "null" if value is None else type(value).__name__
            raise SchemaError(f"inputs.{name} must be {_describe(types)}, got {got}")
        if "integer" in types and isinstance(value, float):
            value = out[name] = int(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in spec and value < spec["minimum"]:
                raise SchemaError(f"inputs.{name} must be >= {spec['minimum']}, got {value}")
            if "maximum" in spec and value > spec["maximum"]:
                raise SchemaError(f"inputs.{name} must be <= {spec['maximum']}, got {value}")
        if isinstance(value, str):
            if len(value) < spec.get("minLength", 0):
                raise SchemaError(f"inputs.{name} must not be empty")
            if "maxLength" in spec and len(value) > spec["maxLength"]:
                raise SchemaError(f"inputs.{name} must be at most {spec['maxLength']} characters")
        if "enum" in spec and value not in spec["enum"]:
            raise SchemaError(f"inputs.{name} must be one of {spec['enum']}, got {value!r}")
    return out


def _as_list(t: Any) -> list[str]:
    if t is None:
        return []
    return [t] if isinstance(t, str) else list(t)


@dataclass
class Skill:
    """One version of one skill: its function, schema and description."""

    name: str
    version: int
    fn: Callable[[RunContext, dict], Any]
    schema: dict
    description: str


@dataclass
class SkillPack:
    """A named, versioned set of skills (`workspace/slug`, a fixed UUID, a display name defaulting to the slug).

    Each version is one deployment; the highest is active until the server activates another.
    """

    slug: str
    workspace: str = "local"
    id: str = field(default="")
    description: str = ""
    name: str = ""
    _skills: dict[str, dict[int, Skill]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"puras-nb-local/{self.workspace}/{self.slug}"))
        self.name = self.name or self.slug

    @property
    def path(self) -> str:
        """`workspace/slug`, the ref clients use."""
        return f"{self.workspace}/{self.slug}"

    @property
    def versions(self) -> list[int]:
        """Every version any skill of the pack was registered at, ascending."""
        return sorted({v for by_version in self._skills.values() for v in by_version})

    @property
    def active_version(self) -> int:
        """The version a new server runs when a job pins none: the highest (the server may activate another)."""
        return max(self.versions, default=1)

    def deployment_id(self, version: int) -> str:
        """The fixed id of the deployment that is `version` of this pack (the jobs' `deployment_id`)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.id}/v{version}"))

    def names_at(self, version: int) -> list[str]:
        """The skills a job can run at pack `version`, in registration order."""
        return [name for name, by_version in self._skills.items() if min(by_version) <= version]

    def skill(
        self, name: str, *, version: int = 1, schema: dict | None = None, description: str | None = None
    ) -> Callable[[Callable], Callable]:
        """Register `fn(ctx, inputs)` as `name` at `version`; a version without its own entry inherits the last."""

        def register(fn: Callable) -> Callable:
            text = description or next(iter((fn.__doc__ or "").strip().splitlines()), "")
            full = {"type": "object", "properties": {}, "required": [], **(schema or {})}
            self._skills.setdefault(name, {})[version] = Skill(name, version, fn, full, text)
            return fn

        return register

    def names(self) -> list[str]:
        """The pack's skill names in registration order."""
        return list(self._skills)

    def resolve(self, name: str, version: int | None) -> tuple[Skill, int]:
        """The skill to run for `name` at pack `version` (None = active): `(skill, pack_version)`."""
        pack_version = self.active_version if version is None else version
        if pack_version not in self.versions:
            raise SkillLookupError(f"skillpack {self.path} has no version {pack_version} (versions: {self.versions})")
        by_version = self._skills.get(name)
        if not by_version:
            raise SkillLookupError(f"skill {name!r} not found in skillpack {self.path} (skills: {self.names()})")
        eligible = [v for v in by_version if v <= pack_version]
        if not eligible:
            raise SkillLookupError(f"skill {name!r} does not exist in version {pack_version} of {self.path}")
        return by_version[max(eligible)], pack_version

    def describe(self, active_version: int | None = None) -> dict:
        """The `/v1/skillpacks` entry for this pack, with `active_version` (default: the highest) as active."""
        active = self.active_version if active_version is None else active_version
        skills = []
        for name, by_version in self._skills.items():
            latest = by_version[max(by_version)]
            described = [by_version[v].description for v in sorted(by_version, reverse=True)]
            skills.append(
                {
                    "name": name,
                    "description": next((d for d in described if d), ""),
                    "versions": [v for v in self.versions if v >= min(by_version)],
                    "input_schema": latest.schema,
                }
            )
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "workspace": self.workspace,
            "path": self.path,
            "description": self.description,
            "versions": self.versions,
            "active_version": active,
            "active_deployment_id": self.deployment_id(active) if active in self.versions else None,
            "skills": skills,
        }


class RunContext:
    """What a running skill sees: its job, progress/event/todo reporting, cancellation and file saving.

    The store supplies the callbacks, so skills stay plain functions that tests can drive directly.
    """

    def __init__(
        self,
        job_id: str,
        version: int,
        *,
        emit: Callable[[str, dict], None],
        save: Callable[[str, bytes, str], dict],
        cancel_event: threading.Event,
    ):
        self.job_id = job_id
        self.version = version
        self.usage: dict[str, Any] = {}
        self.cost_micros = 0
        self.steps = 0
        self._emit = emit
        self._save = save
        self._cancel = cancel_event

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled; long loops should check it (or call `check_cancelled`)."""
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise `JobCancelled` if the job was cancelled; call it between steps."""
        if self._cancel.is_set():
            raise JobCancelled()

    def sleep(self, seconds: float) -> None:
        """Sleep, waking at once (with `JobCancelled`) if the job is cancelled meanwhile."""
        if self._cancel.wait(max(0.0, seconds)):
            raise JobCancelled()

    def progress(self, step: int, total: int, message: str) -> None:
        """Record step `step` of `total` as a `progress` event; stops the skill here if it was cancelled."""
        self.check_cancelled()
        self.steps = max(self.steps, step)
        self._emit("progress", {"step": step, "total": total, "message": message})

    def event(self, type: str, payload: dict | None = None) -> None:
        """Record an event of any type; the payload gets a `message` if it has none."""
        payload = dict(payload or {})
        payload.setdefault("message", type.replace("_", " "))
        self._emit(type, payload)

    def todos(self, items: list[tuple[str, str]] | list[dict]) -> None:
        """Publish the checklist as a planning `tool_result` event: items are `{content, status}`."""
        todos = [i if isinstance(i, dict) else {"content": i[0], "status": i[1]} for i in items]
        done = sum(1 for t in todos if t["status"] == "completed")
        self._emit(
            "tool_result",
            {"tool": "todo_write", "todos": todos, "message": f"checklist: {done}/{len(todos)} done"},
        )

    def add_cost(self, micros: int, **usage: float) -> None:
        """Charge `micros` to the job and add the given counters to its usage."""
        self.cost_micros += int(micros)
        for key, amount in usage.items():
            self.usage[key] = self.usage.get(key, 0) + amount

    def save_file(self, name: str, data: bytes, mime: str) -> dict:
        """Store a produced file; returns `{url, mime, drive_path, name, size_bytes}` with a signed absolute url."""
        self.check_cancelled()
        return self._save(name, data, mime)
