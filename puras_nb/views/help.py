"""`%puras help` as HTML: each subcommand's usage beside what it does, lines broken at spaces only.

A printed stream wraps anywhere in JupyterLab ("vers|ion", "--no|-display"); here an option group such as
`[--version N]` and a word such as `--no-display` stay whole. The text stays as the fallback (a terminal, a log).
"""

from __future__ import annotations

import re

from .html import NO_MATH, STYLE, esc, words

__all__ = ["help_html"]

_TOKEN = re.compile(r"\[[^\]]*\]|\S+")  # an option group in brackets, else a word

HELP_STYLE = (
    "<style>"
    ".puras-help-box{container-type:inline-size}"
    ".puras-help{display:grid;grid-template-columns:fit-content(50%) 1fr;gap:2px 16px}"
    ".puras-help code{font-family:var(--jp-code-font-family,monospace);font-size:12px;"
    "color:var(--jp-content-font-color1,#111827)}"
    ".puras-help>div{min-width:0}"
    ".puras-help>.puras-help-note{grid-column:1/-1;color:var(--jp-ui-font-color2,#4b5563);margin-top:4px}"
    # too narrow for two columns: each description goes under its usage, indented
    "@container (max-width:560px){.puras-help{grid-template-columns:1fr}"
    ".puras-help>.puras-help-what{padding-left:2em;margin-bottom:4px}}"
    "</style>"
)


def _usage(text: str) -> str:
    """Usage whose lines break between options: a short group (`[--version N]`) stays whole, a long one
    (`[--cancel-on-interrupt | --no-cancel-on-interrupt]`) breaks at its spaces, so narrow outputs fit it too."""
    tokens = [part for token in _TOKEN.findall(text) for part in ([token] if len(token) <= 24 else token.split())]
    return " ".join(f'<span class="puras-word">{esc(token)}</span>' for token in tokens)


def help_html(rows: list[tuple[str, str]], note: str) -> str:
    """The subcommands' `(usage, what it does)` rows in two columns (one below 560 px), then `note`."""
    cells = "".join(
        f'<div class="puras-help-usage"><code>{_usage(usage)}</code></div><div class="puras-help-what">{words(what)}'
        "</div>"
        for usage, what in rows
    )
    note_html = f'<div class="puras-help-note">{words(note)}</div>'
    grid = f'<div class="puras-help">{cells}{note_html}</div>'
    return f'{STYLE}{HELP_STYLE}<div class="puras-static puras-help-box {NO_MATH}">{grid}</div>'
