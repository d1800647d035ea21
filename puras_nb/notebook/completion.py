"""Tab completion for `%puras` and `%%puras`: subcommands, skills, input keys, enum values, options, job ids.

One completer for the line and the cell magic. `Completer.complete(before)` is pure over the text before the
cursor; `install(shell, completer)` registers it as an IPython context matcher that suppresses the other
matchers (Python names, Jedi, file paths) wherever the cursor is in a magic, so after `%puras run demo/`
only the demo skills come back, first and alone, and where the magic has nothing to offer the list is empty.
Completion never raises and never waits long: skills come from `puras_nb.model.schemas.known()`, the same model
the card and the form read (on a server with no catalog, such as `puras serve`, the skill names its `/health`
lists, with their schemas where they can be read), which gives what it knows when the server cannot answer.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model.schemas import known
from ..model.skill import Skill, UnknownSkill, resolve, yaml_value

__all__ = ["Completer", "install", "uninstall"]

MATCHER_ID = "puras_nb.magics"
_LINE_MAGIC = re.compile(r"^\s*%puras(?:\s|$)")
_CELL_MAGIC = re.compile(r"^\s*%%puras(?:\s|$)")
_BODY_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_BODY_VALUE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(\S*)$")

Item = tuple[str, str]
"""One completion: (text to insert, kind shown by the frontend)."""

MAX_ITEMS = 500
"""The most completions one Tab offers, the first in order: a skill's enum of 50 000 values (data a schema may
hold) would otherwise be one reply of megabytes and a list no one scrolls; typing more of the word narrows it."""


@dataclass
class Completer:
    """The vocabulary of the magics (given by `puras_nb.magics`) and where skills and jobs come from."""

    #: Subcommands of `%puras` in the order offered.
    commands: Sequence[str]
    #: The options of `run` / `%%puras`, each mapped to whether it takes a value (the long ones are offered).
    run_options: dict[str, bool]
    #: Subcommands whose one argument is a job id, and the one whose argument is a skill.
    job_commands: Sequence[str] = ()
    skill_commands: Sequence[str] = ()
    skills: Callable[[], list[Skill]] = known
    job_ids: Callable[[], list[str]] = field(default=lambda: [])
    skillpack: Callable[[], str | None] = field(default=lambda: None)

    def complete(self, before: str) -> tuple[str, list[Item]] | None:
        """`(fragment, items)` for a cell whose text up to the cursor is `before`: `fragment` is the end of
        `before` the items replace. None when the cursor is not in a `%puras` / `%%puras` context."""
        lines = before.split("\n")
        current = lines[-1]
        if _CELL_MAGIC.match(lines[0]):
            if len(lines) == 1:
                words, fragment = _words(lines[0])
                return fragment, self._run_args(_cell_args(words), fragment)
            return self._body(lines[0], lines[1:-1], current)
        if _LINE_MAGIC.match(current):
            words, fragment = _words(current)
            return fragment, self._line(words[1:], fragment)
        return None

    # -- the line magic ------------------------------------------------------------------------------------

    def _line(self, words: list[str], fragment: str) -> list[Item]:
        if not words:
            return _starting(fragment, [(c, "subcommand") for c in self.commands])
        command, rest = words[0], words[1:]
        if command == "run":
            return self._run_args(rest, fragment)
        if rest:
            return []
        if command in self.job_commands:
            return _starting(fragment, [(i, "job") for i in self.job_ids()])
        if command in self.skill_commands:
            return _starting(fragment, self._skill_items())
        return []

    # -- run arguments -------------------------------------------------------------------------------------

    def _run_args(self, words: list[str], fragment: str) -> list[Item]:
        """Completions after `%puras run` / `%%puras`: the skill, then its `key=`s and the options."""
        if words and self.run_options.get(words[-1]):
            if words[-1] == "--version":
                skill = self._skill(words[:-1])
                return _starting(fragment, [(str(v), "version") for v in reversed(skill.versions)] if skill else [])
            return []
        options = [(o, "option") for o in self.run_options if o.startswith("--")]
        if fragment.startswith("-"):
            return _starting(fragment, options)
        positional = _positional(words, self.run_options)
        if not positional:
            return _starting(fragment, self._skill_items(_option(words, "--skillpack")))
        skill = self._skill(words)
        if skill is None:
            return _starting(fragment, options) if fragment else []
        key, sep, _ = fragment.partition("=")
        if sep:
            return _starting(fragment, [(f"{key}={_word(v)}", "value") for v in _values(skill, key)])
        given = {w.partition("=")[0] for w in positional[1:]}
        keys = [(f"{i.name}=", "input") for i in skill.inputs if i.name not in given]
        return _starting(fragment, keys + (options if not fragment else []))

    # -- the %%puras body ----------------------------------------------------------------------------------

    def _body(self, first: str, middle: list[str], current: str) -> tuple[str, list[Item]] | None:
        """`key: ` at the start of a body line, then the allowed values after `key: `."""
        words, _ = _words(first + " ")
        args = _cell_args(words)
        positional = _positional(args, self.run_options)
        if not positional or (middle and middle[0].lstrip().startswith("{")):
            return None
        skill = self._skill(args)
        if skill is None:
            return None
        value = _BODY_VALUE.match(current)
        if value:
            key, start = value.groups()
            return start, _starting(start, [(yaml_value(v), "value") for v in _values(skill, key)])
        if current.strip() and not re.fullmatch(r"[A-Za-z_][\w-]*", current):
            return None
        given = {m.group(1) for line in middle if (m := _BODY_KEY.match(line))}
        given |= {w.partition("=")[0] for w in positional[1:]}
        keys = [(f"{i.name}: ", "input") for i in skill.inputs if i.name not in given]
        return current, _starting(current, keys)

    # -- skills --------------------------------------------------------------------------------------------

    def _skill_items(self, skillpack: str | None = None) -> list[Item]:
        """Skill paths, then the bare names of `skillpack` (the line's `--skillpack`, else the default)."""
        skills = self.skills()
        pack = skillpack or self.skillpack()
        return [(s.path, "skill") for s in skills] + [(s.name, "skill") for s in skills if s.in_pack(pack)]

    def _skill(self, words: list[str]) -> Skill | None:
        """The skill the run arguments `words` name (a bare name in their `--skillpack` or the default one)."""
        positional = _positional(words, self.run_options)
        if not positional:
            return None
        try:
            return resolve(positional[0], self.skills(), _option(words, "--skillpack") or self.skillpack())
        except UnknownSkill:
            return None


def _cell_args(words: list[str]) -> list[str]:
    """The run arguments of a `%%puras [run] SKILL …` first line (`run` is optional there)."""
    return words[1:] if words[1:2] != ["run"] else words[2:]


def _words(line: str) -> tuple[list[str], str]:
    """The complete words of `line` and the word being typed (empty after a space)."""
    words = line.split()
    if line and not line[-1].isspace() and words:
        return words[:-1], words[-1]
    return words, ""


def _positional(words: list[str], options: dict[str, bool]) -> list[str]:
    """The words that are not options or option values: the skill, then `key=value`s."""
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = options.get(word, False)
        else:
            out.append(word)
    return out


def _option(words: list[str], name: str) -> str | None:
    """The value given to option `name` in `words`, if any."""
    found = [words[i + 1] for i, word in enumerate(words[:-1]) if word == name]
    return found[-1] if found else None


def _values(skill: Skill, key: str) -> list[Any]:
    """The values worth offering for an input: its enum, true/false for a boolean."""
    try:
        item = skill.input(key)
    except KeyError:
        return []
    if item.enum is not None:
        return list(item.enum)
    return [True, False] if item.type == "boolean" else []


def _word(value: Any) -> str:
    """A value as one word of a magic line (JSON for non-strings, shell-quoted when needed); a string that starts
    with `$` or `@` is written `$$…` / `@@…`, the magic's literal forms, so it never reads a variable or a file."""
    if not isinstance(value, str):
        return json.dumps(value)
    return shlex.quote(value[0] + value if value.startswith(("$", "@")) else value)


def _starting(fragment: str, items: list[Item]) -> list[Item]:
    """The items that extend `fragment`, in order, each once, at most `MAX_ITEMS`; case-insensitive only when
    nothing matches exactly."""
    unique = list(dict((text, (text, kind)) for text, kind in reversed(items)).values())[::-1]
    exact = [i for i in unique if i[0].startswith(fragment)]
    if exact or not fragment:
        return exact[:MAX_ITEMS]
    return [i for i in unique if i[0].lower().startswith(fragment.lower())][:MAX_ITEMS]


class _Nothing:
    """No completion that still suppresses the other matchers: in a `%puras` context with nothing to offer, IPython
    would otherwise fill the list with Python keywords, magics and file names (`and`, `if`, `%`, `puras`), but it
    lets a matcher suppress the rest only when `len()` of its completions is not 0 (`has_any_completions`). This
    counts as one, is false and holds none, so the reply's list is empty."""

    def __len__(self) -> int:
        return 1

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())


def install(shell: Any, completer: Completer) -> None:
    """Register `completer` on `shell` as a context matcher that, in a magic, alone offers anything (or nothing)."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier=MATCHER_ID, priority=50)
    def puras_matcher(context: Any) -> dict:
        try:
            before = "\n".join([*context.full_text.split("\n")[: context.cursor_line], context.text_until_cursor])
            found = completer.complete(before)
        except Exception:  # completion must never raise into the kernel
            found = None
        if found is None:  # not a %puras context: Python completion as usual
            return {"completions": [], "suppress": False}
        fragment, items = found
        return {
            "completions": [SimpleCompletion(text, type=kind) for text, kind in items] if items else _Nothing(),
            "suppress": True,
            "matched_fragment": fragment,
            "ordered": True,
        }

    uninstall(shell)
    shell.Completer.custom_matchers.append(puras_matcher)


def uninstall(shell: Any) -> None:
    """Remove the matcher `install` registered (if any)."""
    matchers = shell.Completer.custom_matchers
    matchers[:] = [m for m in matchers if getattr(m, "matcher_identifier", None) != MATCHER_ID]
