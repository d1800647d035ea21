"""Skill views: the card of one skill (`puras_nb.skill`, `%puras skills SKILL`, `%puras run SKILL --help`) and the
overview table of `%puras skills`. HTML with a text fallback; every string from the server is escaped, and the
colours are JupyterLab's theme variables (with light fallbacks), so the views read in dark themes too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..dialect import FILE_TYPES
from ..model.schemas import find
from ..model.skill import MISSING, Input, Skill
from ..strings import flat
from .html import NO_MATH, STYLE, esc, words

__all__ = ["SkillCard", "overview_html", "overview_text", "skill"]

_TICKS = re.compile(r"`([^`\n]+)`")

# Our own markup's styles (never built from server data), on top of widgets/html.py's STYLE (which also
# left-aligns every .puras-static table: JupyterLab and Notebook right-align `td` in rendered HTML).
SKILL_STYLE = (
    "<style>"
    ".puras-static table.puras-table{border-collapse:collapse;margin:4px 0 8px}"
    ".puras-static table.puras-table th,.puras-static table.puras-table td{"
    "padding:2px 10px 2px 0;border:none;border-bottom:1px solid var(--jp-border-color2,#e5e7eb)}"
    ".puras-static table.puras-table th{font-weight:600;color:var(--jp-ui-font-color1,#111827)}"
    ".puras-muted{color:var(--jp-ui-font-color2,#4b5563)}"
    ".puras-static code,.puras-static pre.puras-example{font-family:var(--jp-code-font-family,monospace);"
    "background:var(--jp-layout-color2,#f3f4f6);color:var(--jp-content-font-color1,#111827);border-radius:3px}"
    ".puras-static code{padding:0 3px}"
    # code in these tables wraps at spaces, never inside a word (html.py's STYLE lets result values break anywhere)
    ".puras-static table.puras-table td code{overflow-wrap:normal}"
    ".puras-static pre.puras-example{padding:6px 8px;margin:4px 0;white-space:pre;overflow-x:auto}"
    ".puras-static details.puras-skill-example>summary{cursor:pointer;margin-top:2px}"
    ".puras-static .puras-skill-fact{font-size:12px}"
    "</style>"
)


def prose(text: str) -> str:
    """Escaped text where `name` spans become <code>name</code> (descriptions use them for input names); lines
    break at spaces only (`words`)."""
    parts = _TICKS.split(text)  # plain text, then what a pair of backticks held, then plain text, ...
    return "".join(
        f'<code class="puras-word">{esc(part)}</code>' if i % 2 else words(part) for i, part in enumerate(parts)
    )


def _default(item: Input) -> str:
    if item.default is MISSING:
        return ""
    return flat(item.default if isinstance(item.default, str) else json.dumps(item.default, default=str), 200)


def _type(item: Input) -> str:
    kind = item.type or "any"
    if item.nullable:
        kind += " or null"
    if item.media and item.type not in FILE_TYPES:
        kind += f" (file{': ' + item.accept if item.accept else ''})"
    return kind


def _versions(skill: Skill) -> list[str]:
    return [f"v{v}" + (" (active)" if v == skill.active_version else "") for v in skill.versions]


def _outputs(skill: Skill) -> str:
    """ "poster (image), caption (text)": the fields the skill returns."""
    return ", ".join(f"{flat(o.name, 60)} ({o.type})" if o.type else flat(o.name, 60) for o in skill.outputs)


class SkillCard:
    """What one skill is, takes and returns: its title, description, versions (active marked), an input table, its
    examples as ready `%%puras` cells (one click opens each), and where its schema came from."""

    def __init__(self, skill: Skill) -> None:
        self.skill = skill

    def _rows(self) -> list[list[str]]:
        return [
            [flat(i.name, 80), _type(i), "yes" if i.required else "", _default(i), i.bounds(), flat(i.description)]
            for i in self.skill.inputs
        ]

    def _inputs_note(self) -> str:
        s = self.skill
        if not s.has_schema:
            return flat(s.note or "The server gives no input schema for this skill: inputs are passed as they are.")
        if s.inputs:
            return ""
        return "Declares no inputs." if s.closed else "Declares no inputs: any inputs are passed as they are."

    def _more(self) -> str:
        return f"… and {self.skill.more_inputs} more inputs not shown" if self.skill.more_inputs else ""

    def _facts(self) -> list[str]:
        """One line each: what it returns, where the schema came from, and what is wrong with the schema."""
        s = self.skill
        lines = [f"returns: {_outputs(s)}"] if s.outputs else []
        if s.source and s.has_schema:
            lines.append(f"schema from {flat(s.source, 200)}")
        lines += [f"schema problem: {flat(p, 200)}" for p in s.problems[:5]]
        return lines

    def text(self) -> str:
        s = self.skill
        title = f"{flat(s.title, 100)} · " if s.title else ""
        lines = [f"<skill {title}{flat(s.path)}{' · ' + ', '.join(_versions(s)) if s.versions else ''}>"]
        if s.description:
            lines.append(flat(s.description))
        note = self._inputs_note()
        if note:
            lines.append(note)
        else:
            header = ["input", "type", "required", "default", "allowed", "description"]
            rows = [header, *self._rows()]
            widths = [max(len(r[c]) for r in rows) for c in range(len(header) - 1)]
            lines.append("inputs:")
            for row in rows:
                cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
                lines.append("  " + "  ".join(cells).rstrip())
            if self._more():
                lines.append("  " + self._more())
        lines += self._facts()
        for example in s.examples:
            lines.append(f"example: {example.title}" + (f" ({example.description})" if example.description else ""))
            lines += ["  " + line for line in s.example(example.inputs).splitlines()]
        lines.append("every input:" if s.examples else "example:")
        lines += ["  " + line for line in s.example().splitlines()]
        return "\n".join(lines)

    def html(self) -> str:
        s = self.skill
        versions = ", ".join(
            f"<b>{esc(v)}</b>" if v.endswith("(active)") else esc(v) for v in _versions(s)
        )
        title = f"<b>{esc(flat(s.title, 200))}</b> <span class=\"puras-muted\">{esc(s.path)}</span>" if s.title \
            else f"<b>{esc(s.path)}</b>"
        head = (
            f'<div class="puras-header puras-skill-title">{title}'
            f'<span class="puras-muted"> · skillpack {esc(s.pack_path or s.skillpack)}'
            f"{' · versions ' if versions else ''}</span>{versions}</div>"
        )
        about = f'<div class="puras-skill-about">{prose(s.description)}</div>' if s.description else ""
        note = self._inputs_note()
        if note:
            table = f'<div class="puras-muted puras-no-schema">{esc(note)}</div>'
        else:
            cells = "".join(
                "<tr>"
                + f"<td><code>{esc(name)}</code></td>"
                + "".join(f"<td>{esc(c)}</td>" for c in (kind, required))
                + (f"<td><code>{esc(default)}</code></td>" if default else "<td></td>")
                + f"<td>{esc(allowed)}</td><td>{prose(about_input)}</td></tr>"
                for name, kind, required, default, allowed, about_input in self._rows()
            )
            more = f'<div class="puras-muted">{esc(self._more())}</div>' if self._more() else ""
            table = (
                '<table class="puras-table puras-skill-inputs"><thead><tr><th>input</th><th>type</th>'
                "<th>required</th><th>default</th><th>allowed</th><th>description</th></tr></thead>"
                f"<tbody>{cells}</tbody></table>{more}"
            )
        facts = "".join(f'<div class="puras-muted puras-skill-fact">{esc(line)}</div>' for line in self._facts())
        return (f'{STYLE}{SKILL_STYLE}<div class="puras-static puras-skill {NO_MATH}">{head}{about}{table}{facts}'
                f"{self._examples_html()}</div>")

    def _examples_html(self) -> str:
        """Each example as a ready cell behind its title (the first one open: one click opens another), then every
        input with its default; without examples, that cell alone."""
        s = self.skill
        if not s.examples:
            return ('<div class="puras-muted">Example: copy into a cell and edit</div>'
                    f'<pre class="puras-example">{esc(s.example())}</pre>')
        parts = ['<div class="puras-muted">Examples: copy one into a cell and edit</div>']
        for i, example in enumerate(s.examples):
            about = f' <span class="puras-muted">{esc(example.description)}</span>' if example.description else ""
            parts.append(
                f'<details class="puras-skill-example"{" open" if i == 0 else ""}><summary>{esc(example.title)}{about}'
                f'</summary><pre class="puras-example">{esc(s.example(example.inputs))}</pre></details>'
            )
        parts.append('<details class="puras-skill-example"><summary>Every input, with its default</summary>'
                     f'<pre class="puras-example">{esc(s.example())}</pre></details>')
        return "".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/plain": self.text(), "text/html": self.html()}

    def __repr__(self) -> str:
        return self.text()


def skill(path: str) -> SkillCard:
    """The card of the skill `path` ("demo/ugc-ad") on the current connection: what it does and takes, with a
    ready-to-edit `%%puras` example. An unknown name raises `UnknownSkill` naming close matches."""
    return SkillCard(find(path))


#: The overview names a skill's first this many inputs, and says how many more it takes.
OVERVIEW_INPUTS = 8


def _more_inputs(skill: Skill) -> str:
    """"+N more": the inputs the overview leaves out (past the first `OVERVIEW_INPUTS`, and those the model did not
    keep); "" when there are none."""
    more = max(0, len(skill.inputs) - OVERVIEW_INPUTS) + skill.more_inputs
    return f"+{more} more" if more else ""


def _input_names(skill: Skill) -> list[str]:
    """Its inputs for the overview (* marks a required one), the first `OVERVIEW_INPUTS` of them and how many more."""
    names = [flat(i.name, 40) + ("*" if i.required else "") for i in skill.inputs[:OVERVIEW_INPUTS]]
    return names + ([more] if (more := _more_inputs(skill)) else [])


def overview_text(skills: list[Skill], notes: Sequence[str] = ()) -> str:
    """`%puras skills` as text: one line per skill with its versions and inputs (`key=…` required), then what
    the server did not say (`notes`, one line each). (The HTML table names each skill's title too.)"""
    width = max((len(flat(s.path)) for s in skills), default=0)
    # the versions column, as wide as its widest entry; none at all where the server knows no versions (puras serve)
    versions = ["v" + ",".join(str(v) for v in s.versions) if s.versions else "" for s in skills]
    vwidth = max((len(v) for v in versions), default=0)
    lines = [f"<{len(skills)} skills>"]
    for s, shown in zip(skills, versions, strict=True):
        names = [flat(f"{i.name}=…" if i.required else f"[{i.name}]", 40) for i in s.inputs[:OVERVIEW_INPUTS]]
        args = " ".join(names + ([more] if (more := _more_inputs(s)) else []))
        column = f"{shown:<{vwidth}}  " if vwidth else ""
        lines.append(f"  {flat(s.path):<{width}}  {column}{args}".rstrip())
    lines += [flat(note) for note in notes]
    return "\n".join(lines)


# The overview in an output too narrow for four columns (JupyterLab beside its file browser, a phone): one block
# per skill, its name and versions, then its inputs and description below.
OVERVIEW_STYLE = (
    "<style>"
    ".puras-skills-box{container-type:inline-size}"
    "@container (max-width:560px){"
    ".puras-skills thead{display:none}"
    ".puras-static table.puras-skills,.puras-skills tbody,.puras-skills tr{display:block}"
    ".puras-static table.puras-skills tr{text-align:left;padding:4px 0;"
    "border-bottom:1px solid var(--jp-border-color2,#e5e7eb)}"
    ".puras-static table.puras-skills td{display:inline;border:none;padding:0 8px 0 0}"
    ".puras-static table.puras-skills td:nth-child(n+3){display:block;padding-left:1.5em}"
    ".puras-skills td:nth-child(2)::before{content:'versions '}"
    ".puras-skills td:nth-child(3):not(:empty)::before{content:'inputs: '}"
    "}"
    "</style>"
)


def overview_html(skills: list[Skill], notes: Sequence[str] = ()) -> str:
    """`%puras skills` as a left-aligned table: skill (with its title), versions, inputs (* required),
    description; then what the server did not say (`notes`)."""
    rows = "".join(
        f'<tr><td><code class="puras-word">{esc(s.path)}</code>{"<br>" + esc(flat(s.title, 80)) if s.title else ""}'
        f'</td><td>{esc(", ".join(map(str, s.versions)))}</td>'
        f"<td>{words(', '.join(_input_names(s)))}</td>"
        f"<td>{prose(s.description)}</td></tr>"
        for s in skills
    )
    said = "".join(f'<div class="puras-muted puras-skills-note">{esc(flat(n))}</div>' for n in notes)
    return (
        f'{STYLE}{SKILL_STYLE}{OVERVIEW_STYLE}<div class="puras-static puras-skills-box {NO_MATH}">'
        '<table class="puras-table puras-skills"><thead><tr>'
        "<th>skill</th><th>versions</th><th>inputs (* required)</th><th>description</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{said}"
        '<div class="puras-muted">%puras skills SKILL shows what a skill takes</div></div>'
    )
