"""Skill views: the card of one skill (`puras_nb.skill`, `%puras skills SKILL`, `%puras run SKILL --help`) and the
overview table of `%puras skills`. HTML with a text fallback; every string from the server is escaped, and the
colours are JupyterLab's theme variables (with light fallbacks), so the views read in dark themes too.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..model.schemas import find
from ..model.skill import MISSING, Input, Skill
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
    return item.default if isinstance(item.default, str) else json.dumps(item.default)


def _type(item: Input) -> str:
    kind = item.type or "any"
    if item.nullable:
        kind += " or null"
    if item.media:
        kind += f" (media{': ' + item.accept if item.accept else ''})"
    return kind


def _versions(skill: Skill) -> list[str]:
    return [f"v{v}" + (" (active)" if v == skill.active_version else "") for v in skill.versions]


class SkillCard:
    """What one skill is and takes: description, versions (active marked), an input table, a `%%puras` example."""

    def __init__(self, skill: Skill) -> None:
        self.skill = skill

    def _rows(self) -> list[list[str]]:
        return [
            [i.name, _type(i), "yes" if i.required else "", _default(i), i.bounds(), i.description]
            for i in self.skill.inputs
        ]

    def _inputs_note(self) -> str:
        if not self.skill.has_schema:
            return "The server gives no input schema for this skill: inputs are passed as they are."
        if self.skill.inputs:
            return ""
        return "Declares no inputs." if self.skill.closed else "Declares no inputs: any inputs are passed as they are."

    def text(self) -> str:
        s = self.skill
        lines = [f"<skill {s.path}{' · ' + ', '.join(_versions(s)) if s.versions else ''}>"]
        if s.description:
            lines.append(s.description)
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
        lines.append("example:")
        lines += ["  " + line for line in s.example().splitlines()]
        return "\n".join(lines)

    def html(self) -> str:
        s = self.skill
        versions = ", ".join(
            f"<b>{esc(v)}</b>" if v.endswith("(active)") else esc(v) for v in _versions(s)
        )
        head = (
            f'<div class="puras-header"><b>{esc(s.path)}</b>'
            f'<span class="puras-muted"> · skillpack {esc(s.pack_path or s.skillpack)}'
            f"{' · versions ' if versions else ''}</span>{versions}</div>"
        )
        about = f'<div class="puras-skill-about">{prose(s.description)}</div>' if s.description else ""
        note = self._inputs_note()
        if note:
            table = f'<div class="puras-muted">{esc(note)}</div>'
        else:
            cells = "".join(
                "<tr>"
                + f"<td><code>{esc(name)}</code></td>"
                + "".join(f"<td>{esc(c)}</td>" for c in (kind, required))
                + (f"<td><code>{esc(default)}</code></td>" if default else "<td></td>")
                + f"<td>{esc(allowed)}</td><td>{prose(about_input)}</td></tr>"
                for name, kind, required, default, allowed, about_input in self._rows()
            )
            table = (
                '<table class="puras-table puras-skill-inputs"><thead><tr><th>input</th><th>type</th>'
                "<th>required</th><th>default</th><th>allowed</th><th>description</th></tr></thead>"
                f"<tbody>{cells}</tbody></table>"
            )
        example = (
            '<div class="puras-muted">Example: copy into a cell and edit</div>'
            f'<pre class="puras-example">{esc(s.example())}</pre>'
        )
        return f'{STYLE}{SKILL_STYLE}<div class="puras-static puras-skill">{head}{about}{table}{example}</div>'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/plain": self.text(), "text/html": self.html()}

    def __repr__(self) -> str:
        return self.text()


def skill(path: str) -> SkillCard:
    """The card of the skill `path` ("demo/ugc-ad") on the current connection: what it does and takes, with a
    ready-to-edit `%%puras` example. An unknown name raises `UnknownSkill` naming close matches."""
    return SkillCard(find(path))


def overview_text(skills: list[Skill]) -> str:
    """`%puras skills` as text: one line per skill with its versions and inputs (`key=…` required)."""
    width = max((len(s.path) for s in skills), default=0)
    lines = [f"<{len(skills)} skills>"]
    for s in skills:
        args = " ".join(f"{i.name}=…" if i.required else f"[{i.name}]" for i in s.inputs)
        versions = ",".join(str(v) for v in s.versions)
        lines.append(f"  {s.path:<{width}}  v{versions}  {args}".rstrip())
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


def overview_html(skills: list[Skill]) -> str:
    """`%puras skills` as a left-aligned table: skill, versions, inputs (* required), description."""
    rows = "".join(
        f'<tr><td><code class="puras-word">{esc(s.path)}</code></td><td>{esc(", ".join(map(str, s.versions)))}</td>'
        f"<td>{words(', '.join(i.name + ('*' if i.required else '') for i in s.inputs))}</td>"
        f"<td>{prose(s.description)}</td></tr>"
        for s in skills
    )
    return (
        f'{STYLE}{SKILL_STYLE}{OVERVIEW_STYLE}<div class="puras-static puras-skills-box {NO_MATH}">'
        '<table class="puras-table puras-skills"><thead><tr>'
        "<th>skill</th><th>versions</th><th>inputs (* required)</th><th>description</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        '<div class="puras-muted">%puras skills SKILL shows what a skill takes</div></div>'
    )
