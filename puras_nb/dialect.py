"""The Puras schema dialect, written once: JSON Schema plus the end-user types `image`, `video`, `audio`, `file`,
`text` and `color`, as skill authors write them in `skill.yaml` (see puras-runner's `worker/schema_dialect.py`).

Views pick widgets from the dialect schema; validators use `to_jsonschema` (inputs) or `to_output_jsonschema`
(outputs, where every declared field is required), which give plain JSON Schema (Draft 2020-12). Shared by the
client's skill model and the emulator, so it imports nothing of puras-nb.
"""

from __future__ import annotations

import pickle
import re
from copy import deepcopy
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "COLOR_PATTERN",
    "FILE_TYPES",
    "MAX_DEPTH",
    "MEDIA_TYPES",
    "REMEMBERED_BYTES",
    "STANDARD_TYPES",
    "TYPES",
    "DialectError",
    "is_color",
    "is_file_reference",
    "metaschema_errors",
    "prune_extras",
    "to_jsonschema",
    "to_output_jsonschema",
]

FILE_TYPES = frozenset({"image", "video", "audio", "file"})
"""Types whose value is a file reference: a URL, a drive path or a data URI, or `{drive_path|url|data|base64}`."""
MEDIA_TYPES = frozenset({"image", "video", "audio"})
"""The file types a view can show as that media."""
STANDARD_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
TYPES = STANDARD_TYPES | FILE_TYPES | {"text", "color"}
"""Every type name the dialect knows."""
COLOR_PATTERN = r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
MAX_DEPTH = 32
"""Deepest nesting of schemas translated; a deeper schema is refused (`DialectError`), never a RecursionError."""
REMEMBERED_BYTES = 64 * 1024
"""The largest schema (pickled) whose metaschema check `metaschema_errors` remembers: 256 of them at the most."""

_FILE_KEYS = ("drive_path", "url", "data", "base64")
_FILE_VALUE_ONEOF: list[dict[str, Any]] = [
    {"type": "string", "minLength": 1},
    {
        "type": "object",
        "additionalProperties": True,
        "anyOf": [{"required": [key]} for key in _FILE_KEYS],
    },
]
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("prefixItems", "oneOf", "anyOf", "allOf")
_SUBSCHEMA_ONE = ("additionalProperties", "items", "not", "if", "then", "else", "contains")
_COLOR = re.compile(COLOR_PATTERN)


def metaschema_errors(schema: Any, *, formats: bool = False) -> tuple[ValidationError, ...]:
    """Where `schema` (plain JSON Schema) breaks Draft 2020-12's metaschema, in jsonschema's order; with `formats`,
    the metaschema's format checks too (a `pattern` must be a regex), as jsonschema's `check_schema` does.

    Remembered by the schema's pickled bytes (equal bytes, equal schema): a catalog fetched again, or a skill pack
    built again, holds the same schemas, and each check costs milliseconds. A schema pickle refuses, or one larger
    than `REMEMBERED_BYTES` pickled (a server's megabyte `enum`), is checked every time."""
    try:
        key: bytes | None = pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # anything pickle refuses: checked, not remembered
        key = None
    if key is None or len(key) > REMEMBERED_BYTES:
        return tuple(_metaschema(formats).iter_errors(schema))
    return _remembered_errors(key, formats)


@lru_cache(maxsize=256)
def _remembered_errors(key: bytes, formats: bool) -> tuple[ValidationError, ...]:
    return tuple(_metaschema(formats).iter_errors(pickle.loads(key)))  # bytes pickled by metaschema_errors


@cache
def _metaschema(formats: bool) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    checker = Draft202012Validator.FORMAT_CHECKER if formats else None
    return Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=checker)


class DialectError(ValueError):
    """A schema the dialect cannot translate (nested deeper than `MAX_DEPTH`)."""


def is_file_reference(value: Any) -> bool:
    """Whether `value` has a shape the platform accepts for a file input: a non-empty string, or an object with
    one of `drive_path`, `url`, `data`, `base64`."""
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, dict) and any(key in value for key in _FILE_KEYS)


def is_color(value: Any) -> bool:
    """Whether `value` is a hex colour as `type: color` accepts (`#1a2b3c`, `fff`)."""
    return isinstance(value, str) and _COLOR.match(value) is not None


def to_jsonschema(schema: Any) -> Any:
    """The dialect schema as plain JSON Schema: a file type becomes a `oneOf` of the file-reference shapes,
    `text` and `color` become `string` (`color` with its pattern). Standard schemas pass through unchanged; the
    input is not mutated. Raises `DialectError` for a schema nested deeper than `MAX_DEPTH`."""
    return _translate(schema, 0, output=False)


def to_output_jsonschema(schema: Any) -> Any:
    """`to_jsonschema` for an output schema: every object that declares `properties` but no `required` requires
    all of them (the platform's contract: a skill returns everything it declares)."""
    return _translate(schema, 0, output=True)


def prune_extras(schema: Any, value: Any) -> Any:
    """`value` without the object properties `schema` does not declare, recursively through declared objects and
    array items (not into file-typed values): what the platform keeps of a skill's result before validating it
    against `to_output_jsonschema`. The input is not mutated."""
    return _prune(schema, value, 0)


def _prune(schema: Any, value: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return value
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {key: _prune(props[key], item, depth + 1) for key, item in value.items() if key in props}
    if kind == "array" and isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(schema["items"], item, depth + 1) for item in value]
    return value


def _translate(schema: Any, depth: int, *, output: bool) -> Any:
    if not isinstance(schema, dict):
        return schema
    if depth > MAX_DEPTH:
        raise DialectError(f"the schema is nested deeper than {MAX_DEPTH} levels")
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str):
        if kind in FILE_TYPES:
            del out["type"]
            if "oneOf" not in out and "anyOf" not in out:
                out["oneOf"] = deepcopy(_FILE_VALUE_ONEOF)
        elif kind == "text":
            out["type"] = "string"
        elif kind == "color":
            out["type"] = "string"
            out.setdefault("pattern", COLOR_PATTERN)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _translate(sub, depth + 1, output=output) for name, sub in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_translate(sub, depth + 1, output=output) for sub in out[key]]
    for key in _SUBSCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = _translate(out[key], depth + 1, output=output)
    if isinstance(out.get("items"), list):
        out["items"] = [_translate(sub, depth + 1, output=output) for sub in out["items"]]
    if output and isinstance(out.get("properties"), dict) and out["properties"] and "required" not in out:
        out["required"] = list(out["properties"])
    return out
