"""Turn what a notebook user types into a job's `inputs` dict.

Shared by the `%puras` magics and usable directly: `key=value` pairs parsed like
the official CLI's `-i key=value` (JSON if it parses, else a string), `$name`
for a notebook variable's value as it is, `@path` for a file as a data URL, and
cell bodies written as a JSON object or a YAML mapping. Nothing is formatted
with `{}`, so braces in prompts and JSON survive untouched.

What cannot be sent is refused with an `InputError` naming the key, before anything is sent: a value JSON
cannot carry (a YAML date, `!!binary`, `!!set`, NaN, a variable holding a function), nesting deeper than
`MAX_DEPTH`, and YAML aliases (`*name`), which can expand a tiny body without limit ("billion laughs").
"""

from __future__ import annotations

import datetime
import json
import math
import mimetypes
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..mime import data_url, mime_for_name
from ..strings import cut

__all__ = [
    "MAX_DEPTH",
    "InputError",
    "build_inputs",
    "check_sendable",
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

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings in an input value; deeper is refused (never a RecursionError)."""


class InputError(ValueError):
    """Inputs that cannot be parsed or resolved; `.line` is the offending line number when known."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.line = line


class _TooDeep(InputError):
    """A value nested deeper than `MAX_DEPTH`."""


def _too_deep(key: str) -> _TooDeep:
    return _TooDeep(f"{_name(key)} is nested deeper than {MAX_DEPTH} levels")


def _name(key: str) -> str:
    """How an error names an input: `'prompt'`, `'scenes[2].text'`."""
    return repr(cut(key, 60)) if key else "the value"


def _child(key: str, part: Any) -> str:
    return f"{key}[{part}]" if isinstance(part, int) else f"{key}.{part}" if key else str(part)


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

    Dicts, lists and tuples are converted item by item; everything else is returned as it is (`check_sendable`
    says whether JSON can carry it). Nesting deeper than `MAX_DEPTH` (or a list that holds itself) is an
    `InputError`.
    """
    return _to_input(value, "", 0)


def _to_input(value: Any, name: str, depth: int) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return data_url(bytes(value))
    if isinstance(value, Path):
        return file_data_url(value)
    if _is_pil_image(value):
        import io

        buf = io.BytesIO()
        value.save(buf, format="PNG")
        return data_url(buf.getvalue(), "image/png")
    if isinstance(value, (Mapping, list, tuple)) and depth >= MAX_DEPTH:
        raise _too_deep(name)
    if isinstance(value, Mapping):
        return {k: _to_input(v, name, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_input(v, name, depth + 1) for v in value]
    return value


def _unsendable(value: Any) -> str | None:
    """Why JSON cannot carry this one (non-container) value, with what to write instead; None when it can."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"is {value}, which JSON cannot carry"
    if isinstance(value, (datetime.date, datetime.time)):
        text = value.isoformat()
        return f"is a date or time ({text}), which JSON cannot carry; quote it to send text: '{text}'"
    if isinstance(value, (bytes, bytearray)):
        return "is bytes (!!binary), which JSON cannot carry; a $variable that holds bytes is sent as a data URL"
    if isinstance(value, (set, frozenset)):
        return "is a set, which JSON cannot carry; write a list: [a, b]"
    return f"is a Python {type(value).__name__} object, which JSON cannot carry"


def _key_ok(key: Any) -> bool:
    return key is None or isinstance(key, (str, int)) or (isinstance(key, float) and math.isfinite(key))


def check_sendable(value: Any, key: str = "") -> None:
    """Raise an `InputError` naming the key (`'scenes[2].at'`) when JSON cannot carry `value`: a date, bytes, a
    set, NaN, an object, a mapping key that is not text or a number, or nesting deeper than `MAX_DEPTH` (named
    by its top key). Iterative, so no depth overflows the stack."""
    stack: list[tuple[Any, str, str, int]] = [(value, key, key, 0)]
    while stack:
        item, where, top, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                raise _too_deep(top)
            if isinstance(item, dict):
                odd = next((k for k in item if not _key_ok(k)), None)
                if odd is not None:
                    raise InputError(f"{_name(where)} has a key JSON cannot carry ({type(odd).__name__})")
                pairs: Iterable[tuple[Any, Any]] = item.items()
            else:
                pairs = enumerate(item)
            for part, child in reversed(list(pairs)):
                path = _child(where, part)
                stack.append((child, path, top or path, depth + 1))
        else:
            problem = _unsendable(item)
            if problem:
                raise InputError(f"{_name(where)} {problem}")


def _lookup(name: str, namespace: Mapping[str, Any] | None, lines: Mapping[str, int] | None = None) -> Any:
    line = (lines or {}).get(name)
    where = f"line {line}: " if line is not None else ""
    if namespace is None or name not in namespace:
        raise InputError(f"{where}${name}: no variable named {name!r} in the notebook", line=line)
    try:
        return _to_input(namespace[name], f"${name}", 0)
    except _TooDeep as exc:
        raise _TooDeep(f"{where}{exc}", line=line) from None


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
    except RecursionError:
        raise _too_deep("") from None
    except ValueError:
        return raw


def parse_pairs(pairs: Iterable[str], namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`["n=3", "prompt=a cat", "img=$pic"]` -> `{"n": 3, "prompt": "a cat", "img": <pic>}`."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputError(f"expected key=value, got {pair!r}")
        try:
            inputs[key] = parse_value(raw, namespace)
        except _TooDeep:
            raise _too_deep(key) from None
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


class _BadSyntax(InputError):
    """A body that is not JSON or YAML at all."""


def _syntax_error(kind: str, text: str, line: int, problem: str, first_line: int, hint: str = "") -> InputError:
    shown = line + first_line - 1
    source = _line_text(text, line)
    near = f": {cut(source, 80)!r}" if source else ""
    return _BadSyntax(f"bad {kind} at line {shown}: {problem}{near}{hint}", line=shown)


class _Refused(Exception):
    """Valid YAML that a job's inputs do not take (an alias, too deep), and the line (in the body) it is on."""

    def __init__(self, problem: str, line: int) -> None:
        super().__init__(problem)
        self.line = line


def _line_of(mark: Any) -> int:
    """A YAML mark's line, counted from 1 (marks count from 0)."""
    return mark.line + 1 if mark is not None else 1


class _BodyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases (`*name`: a 0.6 KB "billion laughs" body expands to 10^9
    values) and nesting deeper than `MAX_DEPTH` as it composes (its composer recurses once a level), and
    notes the line of each top-level key."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.key = ""
        self.key_lines: dict[str, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:  # index: the key node
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"*{event.anchor} is a YAML alias, which inputs do not take (aliases can expand without "
                           "limit); write the value out, use a $variable, or quote it if it is text",
                           _line_of(event.start_mark))
        if self.depth == 1 and isinstance(index, yaml.ScalarNode):
            self.key = index.value
            self.key_lines.setdefault(index.value, _line_of(index.start_mark))
        if self.depth >= MAX_DEPTH and isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            raise _Refused(f"{_name(self.key)} is nested deeper than {MAX_DEPTH} levels",
                           self.key_lines.get(self.key, _line_of(event.start_mark)))
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# YAML that opened something it never closed: the mistake is where it opened, not where the parser noticed.
_OPENED = {
    "while parsing a flow sequence": "the '[' on this line is never closed",
    "while parsing a flow mapping": "the '{' on this line is never closed",
    "while scanning a quoted scalar": "the quote on this line is never closed",
}
# What cannot start a plain (unquoted) YAML value, or makes the rest of it something else.
_SPECIAL_START = tuple("[]{}#&*!|>%@`,?-")


def _quote_hint(source: str) -> str:
    """What to write instead when a `key: value` line failed because the value needs quotes: it starts with a
    YAML indicator (`[`, `*`, `@`, `!`, `%`, ...) or holds `: ` or ` #`."""
    if "\t" in source[: len(source) - len(source.lstrip())]:
        return "; indent with spaces, not tabs"
    key, sep, value = source.strip().removeprefix("- ").partition(": ")
    value = value.strip()
    if not sep or not value or not key.strip():
        return ""
    if value.startswith("'"):
        return "; inside '...' write a quote as two ('it''s'), or use double quotes"
    if value.startswith('"'):
        return ""
    if value.startswith(_SPECIAL_START) or ": " in value or value.endswith(":") or " #" in value:
        return f"; if it is text, quote it: {key.strip()}: {cut(json.dumps(value, ensure_ascii=False), 60)}"
    return ""


def _load_yaml(text: str, first_line: int) -> tuple[Any, dict[str, int]]:
    """The YAML body's data and the line of each top-level key in `text`; a syntax error names the line of the
    mistake (counted from `first_line`), with a hint when the value needed quotes."""
    loader = _BodyLoader(text)
    try:
        data = loader.get_single_data()
    except _Refused as exc:
        shown = exc.line + first_line - 1
        raise InputError(f"line {shown}: {exc}", line=shown) from None
    except yaml.MarkedYAMLError as exc:
        mark, problem = exc.problem_mark or exc.context_mark, exc.problem or exc.context or "syntax error"
        opened = exc.context_mark if exc.context in _OPENED else None
        if opened is not None and (mark is None or opened.line < mark.line):
            problem, mark = f"{_OPENED[str(exc.context)]} ({problem})", opened
        line = _line_of(mark)
        hint = _quote_hint("".join(text.splitlines()[line - 1 : line]))
        raise _syntax_error("YAML", text, line, problem, first_line, hint) from None
    except yaml.YAMLError as exc:
        raise InputError(f"bad YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, loader.key_lines


def _check_body(data: dict, text: str, key_lines: Mapping[str, int], first_line: int) -> None:
    """Each top-level value of a body JSON can carry; a YAML `key: #text` (a comment, so no value) is refused
    with the quotes it needs. Errors name the key and, when known, its line."""
    for key, value in data.items():
        at = key_lines.get(str(key))
        line = at + first_line - 1 if at is not None else None
        where = f"line {line}: " if line is not None else ""
        try:
            check_sendable(value, str(key))
        except InputError as exc:
            raise InputError(f"{where}{exc}", line=line) from None
        comment = re.search(r":\s+(#\S.*)$", _line_text(text, at)) if at is not None and value is None else None
        if comment:
            raise InputError(f"{where}{_name(str(key))} has no value: '#' starts a comment in YAML; to send the "
                             f"text, quote it: {key}: {json.dumps(comment.group(1), ensure_ascii=False)}", line=line)


def parse_body(text: str, namespace: Mapping[str, Any] | None = None, *, first_line: int = 1) -> dict[str, Any]:
    """A cell body as inputs: a JSON object or a YAML mapping, with `$name` values resolved.

    An empty body gives `{}`. A body that starts with `{` is read as JSON, and as YAML only if
    that fails (so `{"prompt": $p}` works); a syntax error names the line, counted from
    `first_line` (2 for a `%%puras` cell, whose first line is the magic). A value JSON cannot carry,
    nesting deeper than `MAX_DEPTH` and YAML aliases are refused, naming the key.
    """
    if not text.strip():
        return {}
    key_lines: dict[str, int] = {}
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except RecursionError:  # JSON is YAML's flow style: the YAML loader names the deep key and its line
            try:
                data, key_lines = _load_yaml(text, first_line)
            except _BadSyntax:
                raise InputError(f"the body is nested deeper than {MAX_DEPTH} levels") from None
        except json.JSONDecodeError as json_exc:
            try:
                data, key_lines = _load_yaml(text, first_line)
            except _BadSyntax:
                raise _syntax_error("JSON", text, json_exc.lineno, json_exc.msg, first_line) from None
    else:
        data, key_lines = _load_yaml(text, first_line)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"the inputs must be a JSON object or a YAML mapping, not a {type(data).__name__}")
    _check_body(data, text, key_lines, first_line)  # what was written (so resolving it cannot recurse too deep)
    lines: dict[str, int] = {}
    for number, source in enumerate(text.splitlines(), start=first_line):
        for match in _VAR.finditer(source):
            lines.setdefault(match.group(1), number)
    inputs = {str(k): resolve_variables(v, namespace, lines) for k, v in data.items()}
    _check_body(inputs, text, key_lines, first_line)  # and the variables' values
    return inputs


def build_inputs(
    pairs: Iterable[str] = (),
    *,
    json_text: str | None = None,
    body: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    first_line: int = 1,
) -> dict[str, Any]:
    """Merge a cell body, a `--json` object and `key=value` pairs into one inputs dict (later ones win).

    Raises `InputError` naming the key of any value JSON cannot carry (see `check_sendable`)."""
    inputs: dict[str, Any] = {}
    if body is not None:
        inputs.update(parse_body(body, namespace, first_line=first_line))
    if json_text is not None:
        try:
            parsed = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise InputError(f"--json is not valid JSON: {exc.msg} (column {exc.colno})") from None
        except RecursionError:
            raise InputError(f"--json is nested deeper than {MAX_DEPTH} levels") from None
        if not isinstance(parsed, dict):
            raise InputError("--json must be a JSON object")
        check_sendable(parsed)
        inputs.update(resolve_variables(parsed, namespace))
    inputs.update(parse_pairs(pairs, namespace))
    for key, value in inputs.items():
        check_sendable(value, key)
    return inputs
