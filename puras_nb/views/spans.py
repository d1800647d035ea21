"""The latency waterfall of a job's spans (`job.spans()`, `%puras spans`): static HTML, escaped, no widget.

One row per span, indented by depth as `puras spans` prints them: what it is, how long it took, and a bar placed
where in the run it fell, in theme colours (a run, a step, a model call, a tool: each its own; a failed span the
error colour), readable in light and dark themes. The text/plain beside it is `puras spans`' own text.
"""

from __future__ import annotations

from ..model.spans import Row, Spans
from .html import NO_MATH, STYLE, esc

__all__ = ["spans_html"]

#: Known span kinds get their own bar colour; any other kind the server sends is drawn neutral.
KINDS = ("run", "step", "llm", "tool", "subagent")

# Bars are graphics: each fill is at least 3:1 against the track in light and dark themes (JupyterLab's own
# variables where they exist). Text is in the theme's first font colour: JupyterLab stripes table rows, and its
# second font colour falls just under 4.5:1 on a stripe.
SPANS_STYLE = (
    "<style>"
    ".puras-spans table{border-collapse:collapse;width:100%;table-layout:fixed;margin:4px 0}"
    ".puras-spans td,.puras-spans th,.jp-RenderedHTMLCommon .puras-spans td,"
    ".jp-RenderedHTMLCommon .puras-spans th{padding:1px 8px 1px 0;vertical-align:middle;border:none;"
    "text-align:left}"
    ".puras-spans th{font-weight:600;color:var(--jp-ui-font-color1,#111827);"
    "border-bottom:1px solid var(--jp-border-color2,#e5e7eb)}"
    ".puras-spans .puras-span-name{overflow-wrap:anywhere;color:var(--jp-content-font-color1,#111827)}"
    ".puras-spans .puras-span-line{display:flex;gap:.5em;align-items:baseline}"
    ".puras-spans .puras-span-kind{flex:none;min-width:4em;font-family:var(--jp-code-font-family,"
    "monospace);font-size:12px;color:var(--jp-content-font-color1,#111827)}"
    ".puras-spans .puras-span-tag{font-style:italic;color:var(--jp-content-font-color1,#111827)}"
    ".jp-RenderedHTMLCommon .puras-spans .puras-span-ms,.puras-spans .puras-span-ms{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap;color:var(--jp-content-font-color1,#111827)}"
    ".puras-spans .puras-span-track{position:relative;height:10px;border-radius:2px;"
    "background:var(--jp-layout-color2,#eef0f3)}"
    ".puras-spans .puras-span-bar{position:absolute;top:0;bottom:0;min-width:2px;border-radius:2px}"
    ".puras-span-run{background:#1d4ed8}.puras-span-step{background:#6b7280}"
    ".puras-span-llm{background:#7c3aed}.puras-span-tool{background:#0f766e}"
    ".puras-span-subagent{background:#b45309}.puras-span-other{background:#6b7280}"
    ".puras-span-err{background:var(--jp-error-color1,#b91c1c)}"
    "[data-jp-theme-light=false] .puras-span-run{background:#60a5fa}"
    "[data-jp-theme-light=false] .puras-span-step{background:#9ca3af}"
    "[data-jp-theme-light=false] .puras-span-llm{background:#a78bfa}"
    "[data-jp-theme-light=false] .puras-span-tool{background:#2dd4bf}"
    "[data-jp-theme-light=false] .puras-span-subagent{background:#fbbf24}"
    "[data-jp-theme-light=false] .puras-span-other{background:#9ca3af}"
    "[data-jp-theme-light=false] .puras-span-err{background:var(--jp-error-color2,#e57373)}"
    ".puras-spans .puras-span-err-mark{color:var(--jp-error-color1,#b91c1c);font-weight:600}"
    "[data-jp-theme-light=false] .puras-spans .puras-span-err-mark{color:var(--jp-error-color2,#e57373)}"
    ".puras-spans .puras-muted{color:var(--jp-content-font-color2,#374151)}"
    "</style>"
)

INDENT_EM = 1.1


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:.0f} ms"


def _row(row: Row, total: float) -> str:
    kind = row.kind if row.kind in KINDS else "other"
    fill = "err" if row.ok is False else kind
    left = 100 * row.start_ms / total if total else 0.0
    width = 100 * (row.duration_ms or 0.0) / total if total else 0.0
    left, width = min(left, 100.0), min(width, 100.0 - min(left, 100.0))
    # `puras spans` appends the tool or model even where the name says it ("tool:bash bash"); drawn, once is enough
    tag = f' <span class="puras-span-tag">{esc(row.tag)}</span>' if row.tag and row.tag not in row.name else ""
    err = ' <span class="puras-span-err-mark">[err]</span>' if row.ok is False else ""
    title = esc(row.line().strip())
    return (
        f'<tr title="{title}"><td class="puras-span-name"><div class="puras-span-line" '
        f'style="padding-left:{row.depth * INDENT_EM:.1f}em"><span class="puras-span-kind">{esc(row.kind)}</span>'
        f"<span>{esc(row.name)}{tag}{err}</span></div></td>"
        f'<td class="puras-span-ms">{esc(_ms(row.duration_ms))}</td>'
        f'<td><div class="puras-span-track"><div class="puras-span-bar puras-span-{fill}" '
        f'style="left:{left:.2f}%;width:{width:.2f}%"></div></div></td></tr>'
    )


def spans_html(spans: Spans) -> str:
    """The waterfall as a static table: span (indented), duration, and its bar on the run's time line."""
    job = f" · job <code>{esc(spans.job_id)}</code>" if spans.job_id else ""
    if not spans.rows:
        body = f'<div class="puras-muted">{esc(spans.empty_note())}</div>'
        return f'{STYLE}{SPANS_STYLE}<div class="puras-static puras-spans {NO_MATH}"><b>spans</b>{job}{body}</div>'
    rows = "".join(_row(row, spans.total_ms) for row in spans.rows)
    more = f'<div class="puras-muted">… {spans.more} more spans</div>' if spans.more else ""
    return (
        f'{STYLE}{SPANS_STYLE}<div class="puras-static puras-spans {NO_MATH}"><b>spans</b>{job} · '
        f"{len(spans.rows) + spans.more} spans over {esc(_ms(spans.total_ms))}"
        f"{' · the job is still running' if spans.running else ''}"
        '<table><colgroup><col style="width:45%"><col style="width:6.5em"><col></colgroup>'
        '<thead><tr><th>span</th><th class="puras-span-ms">took</th><th>when</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{more}</div>"
    )
