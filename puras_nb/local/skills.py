"""Skill registry for the emulator: skillpacks, versioned skills, their skill.yaml data and the run context.

Skills are plain Python functions registered with `@pack.skill(name, version=, input_schema=, ...)`, declaring
what a `skill.yaml` declares (title, description, input_schema, output_schema, examples) in the Puras schema
dialect (`puras_nb.dialect`). Inputs and results are validated as the platform does: translated to JSON Schema
and checked with jsonschema (Draft 2020-12). A job runs one skill in a worker thread with a `RunContext` that
records progress, events and files.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..dialect import (
    FILE_TYPES,
    DialectError,
    metaschema_errors,
    prune_extras,
    to_jsonschema,
    to_output_jsonschema,
)
from ..strings import cut

if TYPE_CHECKING:  # jsonschema is imported when first used: its import can take seconds (format checkers)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "JobCancelled",
    "RunContext",
    "SchemaError",
    "Skill",
    "SkillFailed",
    "SkillLookupError",
    "SkillPack",
    "check_output",
    "compile_schema",
    "json_problem",
    "validate_inputs",
]

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a job holds (inputs, results, events); far deeper breaks rendering."""

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


_SKILL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ARTICLE = {"integer": "an integer", "array": "an array", "object": "an object"}
_FILE_SHAPES = "a URL, a drive path or a data URL, or an object with drive_path, url or data"


def _shown(value: Any) -> str:
    """A wrong value as a message quotes it, short: `'abc'`, `true`, `[1, 2]` (`n=abc` said "got str")."""
    if isinstance(value, str):
        return repr(cut(value, 40))
    return cut(json.dumps(value, ensure_ascii=False, default=str), 40)


def _json_type(value: Any) -> str:
    """The JSON name of a value's type (`True` is a boolean, `3` an integer)."""
    if value is None:
        return "null"
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list)):
        if isinstance(value, types):
            return kind
    return "object" if isinstance(value, dict) else type(value).__name__


def _describe(names: list[str]) -> str:
    return " or ".join(_ARTICLE.get(n, "null" if n == "null" else f"a {n}") for n in names)


def _where(path: Any) -> str:
    """`inputs.a.b[0]` for a jsonschema error path."""
    out = "inputs"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _dialect_node(schema: Any, schema_path: list) -> tuple[Any, bool]:
    """The dialect schema node a translated-schema error belongs to, and whether it is a file type (whose
    translation added the `oneOf` the error may sit in)."""
    node = schema
    for key in schema_path:
        if _is_file_node(node):
            return node, True
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None, False
    return node, _is_file_node(node)


def _is_file_node(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("type"), str) and node["type"] in FILE_TYPES


def _message(error: ValidationError, schema: dict) -> str:
    """Our wording for the jsonschema error the platform would raise: the field first, then what it must be."""
    path = list(error.absolute_path)
    keyword, value = error.validator, error.instance
    expected: Any = error.validator_value
    node, is_file = _dialect_node(schema, list(error.absolute_schema_path)[:-1])
    if is_file:
        return f"{_where(path)} must be a file reference ({_FILE_SHAPES}), got {_shown(value)}"
    if keyword == "required":
        missing = next((name for name in expected if isinstance(value, dict) and name not in value), "?")
        return f"{_where([*path, missing])} is required"
    where = _where(path)
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return f"{where} must be {_describe(names)}, got {_shown(value)}"
    if keyword == "pattern" and isinstance(node, dict) and node.get("type") == "color":
        return f"{where} must be a hex colour such as #1a2b3c, got {value!r}"
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[keyword]
        return f"{where} must be {sign} {expected}, got {value}"
    if keyword == "minLength":
        return f"{where} must not be empty" if expected == 1 else f"{where} must be at least {expected} characters"
    if keyword == "maxLength":
        return f"{where} must be at most {expected} characters"
    if keyword == "enum":
        return f"{where} must be one of {expected}, got {value!r}"
    if keyword == "const":
        return f"{where} must be {expected!r}, got {value!r}"
    return f"{where}: {error.message}"


def compile_schema(schema: dict, what: str = "input_schema") -> Draft202012Validator:
    """A Draft 2020-12 validator for a dialect schema, translated as the platform does (`to_jsonschema`, or
    `to_output_jsonschema` for an `output_schema`). Raises ValueError when the schema itself is not valid."""
    from jsonschema import Draft202012Validator

    try:
        translated = to_output_jsonschema(schema) if what == "output_schema" else to_jsonschema(schema)
    except DialectError as exc:
        raise ValueError(f"{what} {exc}") from None
    errors = metaschema_errors(translated, formats=True)
    if errors:  # the first is named, as jsonschema's check_schema does
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in errors[0].absolute_path)
        raise ValueError(f"{what}{where} is not a valid schema: {errors[0].message}")
    return Draft202012Validator(translated)


def validate_inputs(schema: dict | None, inputs: Any, validator: Draft202012Validator | None = None) -> dict:
    """Check `inputs` against a skill's dialect `input_schema` as the platform does (translated, then validated
    with jsonschema Draft 2020-12); return them with the top-level defaults filled in.

    Raises `SchemaError` naming the first bad field (`inputs.width must be an integer, got string`).
    `validator` is the schema's compiled validator (`compile_schema`), when the caller keeps one.
    """
    if not isinstance(inputs, dict):
        raise SchemaError(f"inputs must be an object, got {_json_type(inputs)}")
    if not schema:
        return dict(inputs)
    from jsonschema.exceptions import best_match

    checker = validator or compile_schema(schema)
    error = best_match(checker.iter_errors(inputs))
    if error is not None:
        raise SchemaError(_message(error, schema))
    out = dict(inputs)
    props = schema.get("properties")
    for name, spec in (props if isinstance(props, dict) else {}).items():
        if not isinstance(spec, dict):
            continue
        if name not in out and "default" in spec:
            out[name] = deepcopy(spec["default"])
        elif spec.get("type") == "integer" and isinstance(out.get(name), float):
            out[name] = int(out[name])  # 3.0 is an integer to JSON Schema; skills get the int
    return out


def check_output(schema: dict | None, result: Any, validator: Draft202012Validator | None = None) -> Any:
    """A skill's result as the platform keeps it: fields `output_schema` does not declare dropped, then checked
    against it (every declared field required). Raises `SchemaError` with the platform's wording."""
    if not schema:
        return result
    from jsonschema.exceptions import best_match

    pruned = prune_extras(schema, result)
    error = best_match((validator or compile_schema(schema, "output_schema")).iter_errors(pruned))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "<root>"
        raise SchemaError(f"output validation failed at `{where}`: {error.message}")
    return pruned


def _example_ok(example: Any) -> bool:
    """An example as skill.yaml has it: `inputs` an object; `title` and `description`, when given, strings."""
    return (
        isinstance(example, dict)
        and isinstance(example.get("inputs"), dict)
        and all(isinstance(example.get(key), (str, type(None))) for key in ("title", "description"))
    )


@dataclass
class Skill:
    """One version of one skill: its function and its skill.yaml data (schemas in the Puras dialect)."""

    name: str
    version: int
    fn: Callable[[RunContext, dict], Any]
    schema: dict
    description: str
    title: str = ""
    output_schema: dict = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)
    _inputs: Draft202012Validator | None = field(default=None, repr=False)
    _outputs: Draft202012Validator | None = field(default=None, repr=False)
    _verified: bool = field(default=False, repr=False)

    def verify(self) -> None:
        """Compile both schemas (once) and check every example against the input schema; ValueError saying what
        is wrong. Packs served by reference are verified when the server starts, the rest on first use."""
        if self._verified:
            return
        inputs = compile_schema(self.schema)
        outputs = compile_schema(self.output_schema, "output_schema") if self.output_schema else None
        for index, example in enumerate(self.examples):
            try:
                validate_inputs(self.schema, example.get("inputs"), inputs)
            except SchemaError as exc:
                raise ValueError(f"examples[{index}] does not fit the input_schema: {exc}") from None
        self._inputs, self._outputs, self._verified = inputs, outputs, True

    def declaration(self) -> dict[str, Any]:
        """What this skill's skill.yaml declares: `title` (None when not given), `description`, `input_schema`,
        `output_schema` (None when not declared) and `examples`, schemas in the dialect as written."""
        return {
            "title": self.title or None,
            "description": self.description,
            "input_schema": self.schema,
            "output_schema": self.output_schema or None,
            "examples": [dict(example) for example in self.examples],
        }

    def validate(self, inputs: Any) -> dict:
        """`validate_inputs` with this skill's compiled schema (ValueError when the schema itself is not valid)."""
        self.verify()
        return validate_inputs(self.schema, inputs, self._inputs)

    def check_result(self, result: Any) -> Any:
        """`check_output` with this skill's compiled output schema (unchanged when it declares none)."""
        self.verify()
        return check_output(self.output_schema, result, self._outputs)


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
        self,
        name: str,
        *,
        version: int = 1,
        schema: dict | None = None,
        input_schema: dict | None = None,
        output_schema: dict | None = None,
        title: str | None = None,
        description: str | None = None,
        examples: list[dict] | None = None,
    ) -> Callable[[Callable], Callable]:
        """Register `fn(ctx, inputs)` as `name` at `version`; a version without its own entry inherits the last.

        The keywords are a `skill.yaml`'s (`**yaml.safe_load(text)` works): `input_schema` (alias `schema`) and
        `output_schema` in the Puras dialect, `title`, `description` (default: the function's first docstring
        line) and `examples` (`[{title, inputs}]`). `verify()` checks the schemas and that each example fits.
        """
        if schema is not None and input_schema is not None:
            raise ValueError(f"skill {name!r}: pass input_schema or its alias schema, not both")
        declared = input_schema if input_schema is not None else schema
        if not _SKILL_NAME.match(name):
            raise ValueError(f"skill name {name!r} must be slug-style (a-z, 0-9, - and _), as a skill.yaml folder")
        for key, value in (("input_schema", declared), ("output_schema", output_schema)):
            if value is not None and not isinstance(value, dict):
                raise ValueError(f"skill {name!r}: {key} must be an object schema, got {type(value).__name__}")
        if examples is not None and not (isinstance(examples, list) and all(map(_example_ok, examples))):
            raise ValueError(f"skill {name!r}: examples must be a list of {{title, inputs}} objects")

        def register(fn: Callable) -> Callable:
            text = description or next(iter((fn.__doc__ or "").strip().splitlines()), "")
            full = {"type": "object", "properties": {}, "required": [], **(declared or {})}
            made = Skill(
                name, version, fn, full, text, title=title or "", output_schema=dict(output_schema or {}),
                examples=[dict(e) for e in examples or []],
            )
            self._skills.setdefault(name, {})[version] = made
            return fn

        return register

    def verify(self) -> None:
        """Check every skill's schemas and examples (`Skill.verify`); ValueError naming the skill and version."""
        for name, by_version in self._skills.items():
            for version, skill in by_version.items():
                try:
                    skill.verify()
                except ValueError as exc:
                    raise ValueError(f"skill {name!r} v{version} of {self.path}: {exc}") from None

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

    def shown(self, name: str, version: int) -> Skill:
        """The declaration of `name` that pack `version` shows: the one it runs, or the skill's first version when
        it was added after `version`."""
        by_version = self._skills[name]
        eligible = [v for v in by_version if v <= version]
        return by_version[max(eligible) if eligible else min(by_version)]

    def describe(self, active_version: int | None = None) -> dict:
        """The `/v1/skillpacks` entry for this pack, with `active_version` (default: the highest) as active.

        Each skill row holds what its skill.yaml declares at the active version (`title`, `description`,
        `input_schema` and `output_schema` in the dialect as written, `examples`) and the versions it exists in;
        the fields the official CLI reads (`slug`, `name`, `id`, `active_deployment_id`) head the pack row."""
        active = self.active_version if active_version is None else active_version
        skills = []
        for name, by_version in self._skills.items():
            shown = self.shown(name, active)
            others = [by_version[v].description for v in sorted(by_version, reverse=True)]
            skills.append(
                {
                    "name": name,
                    "versions": [v for v in self.versions if v >= min(by_version)],
                    **shown.declaration(),
                    "description": shown.description or next((d for d in others if d), ""),
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
        read: Callable[[Any], bytes] | None = None,
        temp_dir: Callable[[], Path] | None = None,
    ):
        self.job_id = job_id
        self.version = version
        self.usage: dict[str, Any] = {}
        self.cost_micros = 0
        self.steps = 0
        self._emit = emit
        self._save = save
        self._read = read
        self._temp_dir = temp_dir
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

    def worker_event(self, type: str, payload: dict) -> None:
        """Record an event as the hosted worker emits it: its payload as is, with no `message` (the run's own events,
        `tool_use`, `subagent_start`, `cost_capped`, ..., say what they are in their fields)."""
        self._emit(type, dict(payload))

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

    def temp_dir(self) -> Path | None:
        """A folder for this job's temporary files (a video being encoded), removed when the job ends and swept
        when the server starts, so a killed server leaves no partial file; None where the server gives none."""
        return self._temp_dir() if self._temp_dir is not None else None

    def read_file(self, ref: Any, *, name: str = "file") -> bytes:
        """The bytes of a file input (`type: image|video|audio|file`), in any shape the platform accepts: a data
        URL, `{data}` or `{base64}`, or the drive path or signed URL of a file this server made (`{drive_path}`,
        `{url}`, or bare). The emulator works offline, so any other URL fails the job (`SkillFailed` naming
        `inputs.<name>` and what to pass instead)."""
        self.check_cancelled()
        if self._read is None:
            raise SkillFailed(f"inputs.{name}: this run cannot read files")
        try:
            return self._read(ref)
        except ValueError as exc:
            raise SkillFailed(f"inputs.{name}: {exc}") from None
