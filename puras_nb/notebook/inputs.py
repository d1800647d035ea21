"""Turn what a notebook user types into a job's `inputs` dict.

Shared by the `%puras` magics and usable directly: `key=value` pairs parsed like
the official CLI's `-i key=value` (JSON if it parses, else a string), `$name`
for a notebook variable's value as it is, `@path` for a file as a data URL, and
cell bodies written as a JSON object or a YAML mapping. Nothing is formatted
with `{}`, so braces in prompts and JSON survive untouched.
"""

from __future__ import annotations

import json
import mimetypes
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..mime import data_url, mime_for_name

__all__ = [
    "InputError",
    "build_inputs",
    "data_url",
    "file_data_url",
    "parse_body",
    "parse_pairs",
    "parse_value",
    "resolve_variables",
    "split_line",
    "to_input",
]

_VAR = re.compile(r"\$([A-Za-z_]\w*)")

class InputError(ValueError):
    """Inputs that cannot be parsed or resolved; `.line` is the offending line number when known."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.line = line


def split_line(line: str) -> list[str]:
    """Split a magic's line like a shell would: quotes group words, and a `#` that starts a word begins a
    comment (`%puras run demo/echo a=1  # it's a note`), while `color=#ff0000` stays a value."""
    quote, escaped = None, False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            line = line[:i]
            break
    return shlex.split(line)


def file_data_url(path: str | Path) -> str:
    """A data URL with a file's bytes; the mime comes from the extension (ours for media, else the system's), else
    from the bytes."""
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    mime = mime_for_name(p.name) or mimetypes.guess_type(p.name)[0]
    return data_url(data, mime)


def _is_pil_image(value: Any) -> bool:
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image" for c in type(value).__mro__)


def to_input(value: Any) -> Any:
    """Make a Python value sendable as a job input: bytes, files and PIL images become data URLs.

    Dicts, lists and tuples are converted item by item; everything else is returned as it is.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return data_url(bytes(value))
    if isinstance(value, Path):
        return file_data_url(value)
    if _is_pil_image(value):
        import io

        buf = io.BytesIO()
        value.save(buf, format="PNG")
        return data_url(buf.getvalue(), "image/png")
    if isinstance(value, Mapping):
        return {k: to_input(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_input(v) for v in value]
    return value


def _lookup(name: str, namespace: Mapping[str, Any] | None, lines: Mapping[str, int] | None = None) -> Any:
    if namespace is None or name not in namespace:
        line = (lines or {}).get(name)
        where = f"line {line}: " if line is not None else ""
        raise InputError(f"{where}${name}: no variable named {name!r} in the notebook", line=line)
    return to_input(namespace[name])


def parse_value(raw: str, namespace: Mapping[str, Any] | None = None) -> Any:
    """One `key=value` value: `$name` -> the variable, `@path` -> a file data URL, JSON if it parses, else the string.

    `$$...` and `@@...` stand for a literal leading `$` or `@`.
    """
    if raw.startswith(("$$", "@@")):
        return raw[1:]
    match = _VAR.fullmatch(raw)
    if match:
        return _lookup(match.group(1), namespace)
    if raw.startswith("@") and len(raw) > 1:
        return file_data_url(raw[1:])
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_pairs(pairs: Iterable[str], namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`["n=3", "prompt=a cat", "img=$pic"]` -> `{"n": 3, "prompt": "a cat", "img": <pic>}`."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputError(f"expected key=value, got {pair!r}")
        inputs[key] = parse_value(raw, namespace)
    return inputs


def resolve_variables(
    value: Any, namespace: Mapping[str, Any] | None, lines: Mapping[str, int] | None = None
) -> Any:
    """Replace every string that is exactly `$name` (inside dicts and lists) with that variable's value.

    `$$name` stands for the literal string `$name`; any other string is left alone. `lines` maps a
    variable name to the source line it came from, for the error when it is missing.
    """
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        match = _VAR.fullmatch(value)
        return _lookup(match.group(1), namespace, lines) if match else value
    if isinstance(value, dict):
        return {k: resolve_variables(v, namespace, lines) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_variables(v, namespace, lines) for v in value]
    return value


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _syntax_error(kind: str, text: str, line: int, problem: str, first_line: int) -> InputError:
    shown = line + first_line - 1
    source = _line_text(text, line)
    near = f": {source!r}" if source else ""
    return InputError(f"bad {kind} at line {shown}: {problem}{near}", line=shown)


def _parse_yaml(text: str, first_line: int) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise _syntax_error("YAML", text, line, exc.problem or exc.context or "syntax error", first_line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"bad YAML: {exc}") from None


def parse_body(text: str, namespace: Mapping[str, Any] | None = None, *, first_line: int = 1) -> dict[str, Any]:
    """A cell body as inputs: a JSON object or a YAML mapping, with `$name` values resolved.

    An empty body gives `{}`. A body that starts with `{` is read as JSON, and as YAML only if
    that fails (so `{"prompt": $p}` works); a syntax error names the line, counted from
    `first_line` (2 for a `%%puras` cell, whose first line is the magic).
    """
    if not text.strip():
        return {}
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as json_exc:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                raise _syntax_error("JSON", text, json_exc.lineno, json_exc.msg, first_line) from None
    else:
        data = _parse_yaml(text, first_line)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"the inputs must be a JSON object or a YAML mapping, not a {type(data).__name__}")
    lines: dict[str, int] = {}
    for number, source in enumerate(text.splitlines(), start=first_line):
        for match in _VAR.finditer(source):
            lines.setdefault(match.group(1), number)
    return {str(k): resolve_variables(v, namespace, lines) for k, v in data.items()}


def build_inputs(
    pairs: Iterable[str] = (),
    *,
    json_text: str | None = None,
    body: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    first_line: int = 1,
) -> dict[str, Any]:
    """Merge a cell body, a `--json` object and `key=value` pairs into one inputs dict (later ones win)."""
    inputs: dict[str, Any] = {}
    if body is not None:
        inputs.update(parse_body(body, namespace, first_line=first_line))
    if json_text is not None:
        try:
            parsed = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise InputError(f"--json is not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(parsed, dict):
            raise InputError("--json must be a JSON object")
        inputs.update(resolve_variables(parsed, namespace))
    inputs.update(parse_pairs(pairs, namespace))
    return inputs
