"""What a skill is and takes: the one model of a skill that the card, the form, completion, `%puras skills` and the
app read, parsed from `skill.yaml`-shaped data in the Puras schema dialect (`puras_nb.dialect`).

A skill row (from `GET /v1/skillpacks`, a deployment bundle's or a skillpack directory's `skill.yaml`) has `title`,
`description`, `input_schema`, `output_schema` and `examples`. Each input's dialect type decides its widget: the file
types `image`, `video`, `audio` and `file` take a file reference (a URL, a data URL, a drive path, `{url}` or
`{data}`), `text` is a multi-line string, `color` a hex colour, and the standard types pass through. Values are
validated as the platform does, with `jsonschema` (Draft 2020-12) on `dialect.to_jsonschema(input_schema)`, and the
messages are our own short wording, naming the field.

Schemas are untrusted: a malformed keyword, an absurd bound, ten thousand properties or a line break in a name
degrades that input or that skill alone (`Input.problem`, `Skill.problems`, `Skill.more_inputs`), never the
catalog. Where schemas come from is `puras_nb.model.schemas`. Pure: no I/O here.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import dialect
from ..errors import PurasAPIError, PurasError
from ..strings import cut, flat

if TYPE_CHECKING:  # jsonschema is imported when a schema is first read: its import takes ~2 s of CPU (its format
    # checkers), which starting or following a job never pays
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "MAX_EXAMPLES",
    "MAX_INPUTS",
    "MAX_SCHEMA_PARTS",
    "MISSING",
    "Example",
    "Input",
    "Skill",
    "SkillNotFound",
    "UnknownSkill",
    "from_skillpacks",
    "pack_facts",
    "parse_skill",
    "prepare",
    "resolve",
    "yaml_value",
]

#: Inputs (and output fields) a skill shows, checks and completes at most; the card and the form say how many
#: more its schema declares. Checking a schema's 10 000 properties against the metaschema takes ~15 s.
MAX_INPUTS = 100
#: Parts (objects, lists and values) one input's schema may have to be checked here: one of 10 000 `anyOf`
#: branches took ~7 s to check against the metaschema. A larger one is shown, its values left to the server.
MAX_SCHEMA_PARTS = 2000
#: Examples kept per skill (the playground's one-click starting points).
MAX_EXAMPLES = 20
#: Longest title and description kept; longer text is cut with an ellipsis.
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
#: Characters of a message about a value or a schema problem.
MESSAGE_MAX = 160

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_ARTICLE = {
    "integer": "an integer", "number": "a number", "boolean": "true or false", "array": "an array",
    "object": "an object", "string": "a string", "null": "null", "text": "text",
    "color": "a hex colour such as #ff8800",
}  # fmt: skip
_FILE_WORDS = "a URL, a data URL, a drive path, or {url: …} / {data: …}"
_ACCEPT = {"image": "image/*", "video": "video/*", "audio": "audio/*"}
_CHECKED_ELSEWHERE = ("properties", "required", "additionalProperties")


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
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e16 else f"{value:g}"


def _bound(value: Any) -> float | None:
    """A numeric bound as a finite number (an int kept as it is), else None: strings, bools, NaN and integers
    too large for a float are no bounds."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return value if math.isfinite(float(value)) else None
    except OverflowError:
        return None


def _length(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _types(spec: dict) -> list[str]:
    """The type names a schema allows: its `type` (a name or a list), else those of its `anyOf`/`oneOf` branches
    (`anyOf: [{type: image}, {type: null}]` is a nullable image)."""
    raw = spec.get("type")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [t for t in raw if isinstance(t, str)]
    out: list[str] = []
    for key in ("anyOf", "oneOf"):
        branches = spec.get(key)
        if isinstance(branches, list):
            out += [b["type"] for b in branches[:MAX_INPUTS] if isinstance(b, dict) and isinstance(b.get("type"), str)]
    return out


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _one_of(values: tuple) -> str:
    shown = ", ".join(flat(_show(v), 40) for v in values[:12])
    return shown + (", …" if len(values) > 12 else "")


@dataclass(frozen=True)
class Input:
    """One input of a skill (or one field of its output), as its dialect schema describes it."""

    name: str
    #: The dialect type: a standard JSON type, a file type (image, video, audio, file), `text`, `color`, or ""
    #: when the schema names none.
    type: str = ""
    required: bool = False
    default: Any = MISSING
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    enum: tuple | None = None
    description: str = ""
    #: Whether it takes a file reference (a file picker): a dialect file type, or `contentMediaType` /
    #: `format: binary` in plain JSON Schema.
    media: bool = False
    nullable: bool = False
    #: The media types a file picker offers ("image/*"), from the dialect type or `contentMediaType`.
    accept: str = ""
    #: Why this input's schema is not valid JSON Schema (then its values are not checked here), else "".
    problem: str = ""
    #: The input's dialect schema, as given (for validation; never shown raw).
    schema: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_schema(cls, name: str, spec: Any, required: bool = False, problem: str = "") -> Input:
        """An input from one `properties` entry (anything that is not a dict reads as an empty schema)."""
        spec = spec if isinstance(spec, dict) else {}
        types = _types(spec)
        kind = next((t for t in types if t in dialect.TYPES and t != "null"), "")
        enum = spec.get("enum")
        media_type = spec.get("contentMediaType")
        media_type = media_type if isinstance(media_type, str) else ""
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
            description=cut(str(spec.get("description") or ""), DESCRIPTION_MAX),
            media=kind in dialect.FILE_TYPES or bool(media_type) or spec.get("format") == "binary",
            nullable="null" in types,
            accept=_ACCEPT.get(kind, "") or media_type,
            problem=problem,
            schema=spec,
        )

    @property
    def multiline(self) -> bool:
        """Whether its value is prose a text area suits: `type: text`, or a string of no small bound and no list of
        allowed values."""
        return self.type == "text" or (
            self.type == "string" and self.enum is None and (self.max_length is None or self.max_length > 200)
        )

    def bounds(self) -> str:
        """The allowed values in words: "2–60", "≥ 0", "1–2000 chars", "one of: a, b" (empty when free)."""
        if self.enum is not None:
            return "one of: " + _one_of(self.enum)
        lo, hi = _number(self.minimum), _number(self.maximum)
        if lo and hi:
            return f"{lo}–{hi}"
        if lo or hi:
            return f"≥ {lo}" if lo else f"≤ {hi}"
        if self.min_length or self.max_length is not None:
            low = self.min_length or 0
            return f"{low}–{self.max_length} chars" if self.max_length is not None else f"≥ {low} chars"
        if self.type == "color":
            return "hex colour"
        return ""

    @cached_property
    def _validator(self) -> Draft202012Validator | None:
        if self.problem or self.schema is None:
            return None
        try:
            return _validator_for(dialect.to_jsonschema(self.schema))
        except dialect.DialectError:
            return None

    def check(self, value: Any) -> str | None:
        """None when `value` is acceptable, else a short message such as "must be between 2 and 60" (validated
        with jsonschema on the translated schema, as the platform does)."""
        if value is None or value is MISSING:
            return "is required" if self.required and not self.nullable else None
        if self._validator is None:
            return None
        return _first_problem(self._validator, value, self)

    def parse(self, text: str) -> Any:
        """Text typed in a form or a magic as this input's value; empty text of a non-string input is None (not
        given). Raises ValueError with a short message ("must be an integer") when the text is not of the type."""
        if self.media:  # a URL, a data URL or a drive path as typed; `{"url": …}` as JSON
            stripped = text.strip()
            if stripped.startswith("{"):
                try:
                    return json.loads(stripped)
                except ValueError:
                    raise ValueError("must be " + _FILE_WORDS) from None
            return stripped or None
        if self.type in ("string", "text"):
            return text
        stripped = text.strip()
        if not stripped:
            return None
        if self.type == "color":
            return text
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
            if not isinstance(value, list if self.type == "array" else dict):
                raise ValueError(f"must be {_ARTICLE[self.type]} in JSON")
            return value
        try:
            return json.loads(stripped)
        except ValueError:
            return text


@dataclass(frozen=True)
class Example:
    """One of a skill's examples: real inputs offered as a one-click starting point."""

    title: str
    inputs: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Skill:
    """One skill of a skillpack: what it is, its versions, what it takes and returns, and its examples."""

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
    #: False when no input schema was found (then `inputs` is empty and any key may be right; `note` says why).
    has_schema: bool = True
    #: Whether keys that are not inputs are errors: the schema says `additionalProperties: false`, or declares
    #: inputs without allowing others (so a typo such as `prodcut=` is caught before a request).
    closed: bool = False
    #: The display name (`title:` in skill.yaml); `heading` falls back to the path.
    title: str = ""
    examples: tuple[Example, ...] = ()
    #: The fields its result declares (`output_schema`), which decide how a result field is shown.
    outputs: tuple[Input, ...] = ()
    #: Inputs the schema declares beyond the `MAX_INPUTS` shown and checked here.
    more_inputs: int = 0
    #: What is wrong with the schema, one line each (a malformed `required`, an input that is not valid JSON
    #: Schema): those parts are left out of the checks made here, the rest still apply.
    problems: tuple[str, ...] = ()
    #: Where the schema came from ("the catalog", "bundle v3", "skills dir /path"), or "".
    source: str = ""
    #: One line for a skill without a schema: why there is none (the form then takes free YAML/JSON inputs).
    note: str = ""
    #: The JSON Schema values are validated with (the translated input schema, bounded and with its broken parts
    #: taken out), None when there is nothing to check.
    validation: Any = field(default=None, compare=False, repr=False)

    @property
    def heading(self) -> str:
        """What heads the card and the form: the title, else the path."""
        return self.title or self.path

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

    def output_types(self) -> dict[str, str]:
        """`{result field: dialect type}` of the declared output fields that have a type."""
        return {o.name: o.type for o in self.outputs if o.type}

    @cached_property
    def _validator(self) -> Draft202012Validator | None:
        return _validator_for(self.validation) if isinstance(self.validation, dict) else None

    def check(self, values: dict[str, Any]) -> dict[str, str]:
        """`{input name: message}` for every problem: a required input missing, an unknown key (when the skill is
        `closed`), a bad value (jsonschema on the translated schema). Empty when the values are fine; a problem
        with no one input (a rule over several) is under "inputs"."""
        problems: dict[str, str] = {}
        by_name = {i.name: i for i in self.inputs}
        if self.closed and not self.more_inputs:
            for key in values:
                if key not in by_name:
                    problems[key] = "is not an input of " + self.path + _hint(key, self.names())
        given = {k: v for k, v in values.items() if v is not None or (k in by_name and by_name[k].nullable)}
        for item in self.inputs:
            if item.required and item.name not in given and not item.nullable:
                problems[item.name] = "is required"
        if self._validator is None:
            return problems
        from jsonschema.exceptions import best_match

        try:
            errors = list(self._validator.iter_errors(given))
        except Exception:  # a schema jsonschema cannot apply (a bad $ref, say): the server still checks the values
            return problems
        by_field: dict[str, list[ValidationError]] = {}
        for error in errors:
            key = str(error.absolute_path[0]) if error.absolute_path else "inputs"
            by_field.setdefault(key, []).append(error)
        for key, found in by_field.items():
            if key not in problems:
                problems[key] = _say(best_match(found), by_name.get(key), nested=key != "inputs")
        return problems

    def example(self, values: dict[str, Any] | None = None) -> str:
        """A ready-to-edit `%%puras` cell, each input described in a comment: with `values` (an example's
        inputs), those values; else each default, required inputs left empty to fill in. Any other input is a
        commented-out line, so that the cell sends only what it shows. Names and values are quoted so that
        nothing from the schema can add a line (a line `key: $var` would read a notebook variable)."""
        lines = [f"%%puras {shlex.quote(flat(self.path))}"]
        keys = [(_yaml_key(i.name), i) for i in self.inputs]
        width = max((len(k) for k, _ in keys), default=0)
        for key, item in keys:
            if values is not None:
                value, sent = values.get(item.name, item.default), item.name in values
            else:
                value, sent = item.default, item.required or item.default is not MISSING
            shown = "" if value is MISSING else yaml_value(value)
            notes = [n for n in ("required" if item.required else "", item.bounds(), item.description) if n]
            comment = "  # " + flat(" · ".join(notes), 200) if notes else ""
            line = f"{key + ':':<{width + 1}} {shown}".rstrip() + comment
            lines.append(line if sent else "# " + line)
        names = set(self.names())
        lines += [f"{_yaml_key(str(k))}: {yaml_value(v)}" for k, v in (values or {}).items() if k not in names]
        if self.more_inputs:
            lines.append(f"# … and {self.more_inputs} more inputs (see the skill's schema)")
        return "\n".join(lines)


# -- a copy-ready cell: YAML that reads back exactly, one line per key --------------------------------------

_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
_YAML_PLAIN = re.compile(r"[A-Za-z](?:[\w .-]*[\w.-])?")
# Characters JSON leaves raw that YAML or an editor reads as a line break or refuses: C1 controls (NEL), DEL,
# the line and paragraph separators, and the byte order mark.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff]")


def _quoted(value: Any) -> str:
    """JSON (a YAML flow scalar that reads back unchanged) with every line-breaking character escaped."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def yaml_value(value: Any) -> str:
    """A value as a YAML scalar of a `%%puras` body: plain words stay bare, anything else is JSON (which YAML
    reads back unchanged); a string that starts with `$` is written `$$…`, the magic's literal dollar, so that it
    is never read as a notebook variable."""
    if isinstance(value, str) and value.startswith("$"):
        value = "$" + value
    plain = isinstance(value, str) and _YAML_PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
    return value if plain else _quoted(value)


def _yaml_key(name: str) -> str:
    """An input name as a YAML key on one line: bare when it is a plain word, else quoted."""
    return name if re.fullmatch(r"[A-Za-z_][\w-]*", name) and name.lower() not in _YAML_WORDS else _quoted(name)


# -- validation wording ---------------------------------------------------------------------------------------


def _say(error: ValidationError, item: Input | None, nested: bool = True) -> str:
    """A jsonschema error in our own short words; where it is deeper than the input itself, where it is."""
    depth = 1 if nested else 0
    inner = list(error.absolute_path)[depth:]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in inner).lstrip(".")
    message = _words(error, item if not inner else None)
    return cut(f"at {where}: {message}" if where else message, MESSAGE_MAX)


def _words(error: ValidationError, item: Input | None) -> str:
    keyword, expected, schema = error.validator, error.validator_value, error.schema
    schema = schema if isinstance(schema, dict) else {}
    if item is not None and item.type in dialect.FILE_TYPES:  # any shape error at a file input's top
        return "must be " + _FILE_WORDS
    if keyword == "type":
        kind = item.type if item is not None and item.type in ("text", "color") else None
        names = [kind] if kind else expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_ARTICLE.get(str(n), f"a {n}") for n in names)
    if keyword in ("minimum", "maximum") and _bound(schema.get("minimum")) is not None \
            and _bound(schema.get("maximum")) is not None:
        return f"must be between {_number(schema['minimum'])} and {_number(schema['maximum'])}"
    bounds = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
              "exclusiveMaximum": "less than"}
    if keyword in bounds:
        return f"must be {bounds[keyword]} {_number(_bound(expected))}"
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
    if keyword == "maxLength":
        return f"must be at most {expected} characters"
    if keyword == "enum" and isinstance(expected, list):
        return "must be one of: " + _one_of(tuple(expected))
    if keyword == "const":
        return "must be " + flat(_show(expected), 40)
    if keyword == "pattern":
        if expected == dialect.COLOR_PATTERN or (item is not None and item.type == "color"):
            return "must be " + _ARTICLE["color"]
        return "must match " + flat(str(expected), 60)
    counts = {"minItems": "at least {} items", "maxItems": "at most {} items",
              "minProperties": "at least {} keys", "maxProperties": "at most {} keys"}
    if keyword in counts:
        return "must have " + counts[keyword].format(expected)
    if keyword == "multipleOf":
        return f"must be a multiple of {_number(_bound(expected))}"
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword == "required":
        return "needs " + flat(error.message.split(" is a required", 1)[0], 60)
    return flat(error.message, MESSAGE_MAX)


def _first_problem(validator: Draft202012Validator, value: Any, item: Input) -> str | None:
    from jsonschema.exceptions import best_match

    try:
        error = best_match(validator.iter_errors(value))
    except Exception:  # a schema jsonschema cannot apply: the server still checks the value
        return None
    return None if error is None else _say(error, item, nested=False)


def _hint(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


# -- parsing ------------------------------------------------------------------------------------------------


def _versions(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool))


def _validator_for(schema: dict) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema)


def prepare() -> None:
    """Import the schema validator ahead of need: `jsonschema` compiles grammars on import (seconds on a busy
    machine), which the first completion would otherwise wait for."""
    dialect.metaschema_errors({})


_VALUES = ("enum", "const", "default", "examples")


def _parts(schema: Any, limit: int) -> int:
    """How many subschemas, lists and keywords `schema` holds, counted up to just past `limit` (then it stops).
    The values a keyword lists (`enum`, `default`, …) count as one: they are data, cheap to check."""
    count, stack = 0, [schema]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack += (v for k, v in item.items() if k not in _VALUES)
        elif isinstance(item, list):
            stack += item
    return count


def _schema_problems(schema: dict) -> Iterator[tuple[list, str]]:
    """(path, message) of each place `schema` is not valid JSON Schema (Draft 2020-12's metaschema)."""
    for error in dialect.metaschema_errors(schema):
        yield list(error.absolute_path), flat(error.message, 100)


def _inputs(schema: Any) -> tuple[tuple[Input, ...], int, tuple[str, ...], dict | None]:
    """The inputs an object schema declares (at most `MAX_INPUTS`), how many more, its problems, and the
    JSON Schema to validate with: the translated schema over those inputs, without its broken parts."""
    if not isinstance(schema, dict):
        return (), 0, (), None
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    shown = dict(list(props.items())[:MAX_INPUTS])
    raw_required = schema.get("required")
    problems: list[str] = []
    if raw_required is not None and not (
        isinstance(raw_required, list) and all(isinstance(n, str) for n in raw_required)
    ):
        problems.append("its `required` is not a list of input names, so no input is marked required")
    required = {n for n in raw_required if isinstance(n, str)} if isinstance(raw_required, list) else set()
    try:
        translated = dialect.to_jsonschema({**schema, "properties": shown})
    except dialect.DialectError as exc:
        return (), 0, (f"its input schema cannot be read: {exc}",), None
    broken: dict[str, str] = {
        str(name): f"its schema has more than {MAX_SCHEMA_PARTS} parts"
        for name, spec in translated.get("properties", {}).items() if _parts(spec, MAX_SCHEMA_PARTS) > MAX_SCHEMA_PARTS
    }
    top: dict[str, Any] = {k: v for k, v in translated.items() if k not in _CHECKED_ELSEWHERE}
    if _parts(top, MAX_SCHEMA_PARTS) > MAX_SCHEMA_PARTS:
        problems.append(f"its schema beside `properties` has more than {MAX_SCHEMA_PARTS} parts: not checked here")
        top = {}
    checked = {k: v for k, v in translated.get("properties", {}).items() if str(k) not in broken}
    for path, message in _schema_problems({**top, "properties": checked}):
        if len(path) >= 2 and path[0] == "properties":
            broken.setdefault(str(path[1]), message)
        elif path:
            top.pop(str(path[0]), None)
            problems.append(f"its `{flat(path[0], 40)}` is not valid JSON Schema ({message}): not checked here")
    inputs = tuple(
        Input.from_schema(name, spec, name in required, broken.get(str(name), "")) for name, spec in shown.items()
    )
    problems += [f"input {flat(i.name, 40)}: {i.problem}; its values are not checked here" for i in inputs
                 if i.problem]
    translated_props = translated.get("properties", {})
    properties = {i.name: translated_props[key] for key, i in zip(shown, inputs, strict=True) if not i.problem}
    validation = {**top, "properties": properties}
    return inputs, len(props) - len(shown), tuple(problems), validation


def _examples(value: Any) -> tuple[Example, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for i, raw in enumerate(value[:MAX_EXAMPLES], start=1):
        if isinstance(raw, dict) and isinstance(raw.get("inputs"), dict):
            title = flat(raw.get("title") or "", TITLE_MAX) or f"Example {i}"
            out.append(Example(title, dict(raw["inputs"]), flat(raw.get("description") or "", TITLE_MAX)))
    return tuple(out)


def parse_skill(
    name: str,
    data: Any,
    *,
    skillpack: str,
    pack_path: str = "",
    pack_id: str = "",
    versions: tuple[int, ...] = (),
    active_version: int | None = None,
    source: str = "",
    note: str = "",
) -> Skill:
    """One skill from `skill.yaml`-shaped data (`title`, `description`, `input_schema`, `output_schema`,
    `examples`; anything else is ignored). Never raises: whatever cannot be read degrades to a skill without a
    schema whose `note` says why."""
    base = Skill(path=f"{skillpack}/{name}", name=str(name), skillpack=skillpack, versions=versions,
                 active_version=active_version, pack_path=pack_path or skillpack, pack_id=pack_id, source=source,
                 has_schema=False, note=note)  # fmt: skip
    if not isinstance(data, dict):
        return base
    try:
        return _parse(base, data)
    except Exception as exc:  # one skill's unreadable schema must not take the catalog down with it
        return replace(base, note=f"its schema could not be read ({type(exc).__name__}); inputs are passed as given")


def _parse(base: Skill, data: dict) -> Skill:
    schema = data.get("input_schema")
    inputs, more, problems, validation = _inputs(schema)
    outputs, _, _, _ = _inputs(data.get("output_schema"))
    extra = schema.get("additionalProperties") if isinstance(schema, dict) else None
    has_schema = isinstance(schema, dict) and validation is not None
    return replace(
        base,
        title=flat(data.get("title") or "", TITLE_MAX),
        description=cut(str(data.get("description") or "").strip(), DESCRIPTION_MAX),
        inputs=inputs,
        outputs=outputs,
        examples=_examples(data.get("examples")),
        more_inputs=more,
        problems=problems,
        has_schema=has_schema,
        closed=has_schema and (extra is False or (bool(inputs) and extra is None)),
        validation=validation,
        note="" if has_schema else base.note or _unreadable(base.path, problems),
    )


def _unreadable(path: str, problems: tuple[str, ...]) -> str:
    reason = problems[0].removeprefix("its input schema cannot be read: ") if problems else ""
    return f"The input schema of {path} cannot be read ({reason}): inputs are passed as given." if reason else ""


def from_skillpacks(packs: list[dict]) -> list[Skill]:
    """Every skill of every pack in a `GET /v1/skillpacks` answer whose rows name their skills, in the server's
    order (pure, no I/O). A skill row without an `input_schema` gives a skill without a schema."""
    out: list[Skill] = []
    for pack in packs if isinstance(packs, list) else []:
        if not isinstance(pack, dict):
            continue
        slug, facts = pack_facts(pack)
        rows = pack.get("skills")
        for raw in rows if isinstance(rows, list) else []:
            if not isinstance(raw, dict) or not raw.get("name") or not isinstance(raw["name"], (str, int)):
                continue
            out.append(parse_skill(str(raw["name"]), raw, skillpack=slug, source="the catalog",
                                   **{**facts, "versions": _versions(raw.get("versions")) or facts["versions"]}))
    return out


def pack_facts(pack: dict) -> tuple[str, dict[str, Any]]:
    """A `/v1/skillpacks` row's slug and the facts its skills share (path, id, versions, active version)."""
    slug = str(pack.get("slug") or pack.get("path") or pack.get("id") or "")
    active = pack.get("active_version")
    return slug, {
        "pack_path": str(pack.get("path") or slug),
        "pack_id": str(pack.get("id") or ""),
        "versions": _versions(pack.get("versions")),
        "active_version": active if isinstance(active, int) and not isinstance(active, bool) else None,
    }


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
    raise UnknownSkill(f"no skill {flat(path, 200)!r} on this server; {hint}")
