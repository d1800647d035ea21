"""Static renderers: text/plain and text/html views of jobs and results, for saved and exported notebooks.

Everything that comes from a result or an event is untrusted: every string is `html.escape`d, and the
only URLs ever put in an attribute are http(s) and `data:` URLs of media types (see `puras_nb.api.media`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from ..api.media import Media, fetch, safe_url
from ..mime import data_url, media_kind
from ..model.job import job_text
from ..model.media import file_name, find_media, shown_mime
from ..model.protocols import Group, JobState, JobView, Row, Step
from ..model.stills import Still, still
from ..model.text import count, dollars, event_parts, summarize
from ..strings import cut, plain

__all__ = [
    "NEUTRAL",
    "NO_MATH",
    "STYLE",
    "badge",
    "bar_html",
    "checklist_html",
    "details_html",
    "ending_html",
    "error_html",
    "esc",
    "events_html",
    "facts",
    "inline_result",
    "job_html",
    "job_text",
    "json_html",
    "line_html",
    "log_groups_html",
    "log_html",
    "media_html",
    "name_html",
    "one_line",
    "plain",
    "raw_html",
    "result_html",
    "states_html",
    "step_line",
    "steps_html",
    "summarize",
    "text_field_html",
    "thumbnails_html",
    "title_html",
    "words",
]

# Media embedded in static HTML (as data: URLs) up to this size each; beyond, the tag points at the URL.
EMBED_MAX_BYTES = 4_000_000
# A video player shows its still as its poster (a frame before the video loads) up to this size: it is the still's
# second copy in the notebook (PyAV's stills are 10-40 KB; a poster kept as it is, without PyAV, can be larger).
POSTER_MAX_BYTES = 128_000
_STR_MAX = 2_000
#: An error longer than this (or of several lines) shows three lines and "show all".
LONG_ERROR = 300
#: A result whose JSON is at most this long reads inline in a finished job's one line.
INLINE_MAX = 60
_DATA_PREVIEW = 48
NO_MATH = "mathjax_ignore tex2jax_ignore"
"""Classes that keep JupyterLab's MathJax (3, and 2 elsewhere) off a view: it typesets text between two `$` signs
(`$rows, $dataframe` came out as italic math)."""
_BREAKABLE = re.compile(r"\S*[-/]\S*")  # a word a browser may break after its `-` or `/`

# Badge backgrounds, each with at least 4.5:1 contrast against its white text. Cancelled is a neutral,
# expected ending: grey like queued, never the colour of a failure. A submission that made no job (`not sent`,
# `rejected`) failed.
_COLORS = {
    "queued": "#4b5563",
    "submitting": "#4b5563",
    "running": "#1d4ed8",
    "succeeded": "#15803d",
    "failed": "#b91c1c",
    "not sent": "#b91c1c",
    "rejected": "#b91c1c",
    "cancelled": "#4b5563",
}
#: The fill of a stopped job's bar: neutral, yet at least 3:1 against the bar's track in light and dark themes.
NEUTRAL = "var(--jp-ui-font-color3,#6b7280)"
# The fill of a progress bar in each state (JupyterLab's own variables where they exist).
_BAR = {
    "succeeded": "var(--jp-success-color1,#15803d)",
    "failed": "var(--jp-error-color1,#d32f2f)",
    "cancelled": NEUTRAL,
}

_LIVE = (
    ":is(.puras-job,.puras-comparison,.puras-jobs-live,.puras-batch-live,.puras-result-view,.puras-form)"
    ":not(.jupyter-widgets-disconnected)"
)
"""A live view of ours in a widget output (the root classes of our widgets, drawn with a kernel behind them)."""

# Styles for our own markup only (never built from result data).
# - The static final view is hidden wherever a live view of ours (`_LIVE`) rendered, so a live notebook shows it
#   once.
# - A widget output (the one with no data-mime-type) that holds no live view of ours is hidden when our static
#   view follows it, standing in for the widget: ipywidgets' "Loading widget..." that never loads, its
#   "Error displaying widget: model not found" (a saved notebook reopened without a kernel), and a widget drawn
#   from a saved notebook's widget state with no kernel behind it (`.jupyter-widgets-disconnected`: dead buttons,
#   a broken-link mark on each part).
# - Error text uses the theme's error colour (light: --jp-error-color1, dark: the lighter --jp-error-color2),
#   both above 4.5:1 against the page.
STYLE = (
    "<style>"
    ".puras-static{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.4;"
    "text-align:left;max-width:100%;overflow-x:auto}"
    ".puras-gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(200px,100%),max-content));gap:8px;"
    "margin:6px 0;justify-content:start;align-items:start}"
    ".puras-gallery figure,.puras-media{margin:0;max-width:100%}"
    ".puras-caption,.puras-gallery figcaption{font-size:11px;color:var(--jp-ui-font-color2,#4b5563);"
    "display:flex;white-space:nowrap;width:0;min-width:100%}"  # as wide as its media, never wider: see name_html
    ".puras-name{display:inline-flex;min-width:0;max-width:100%}.puras-name>span:first-child{overflow:hidden;"
    "text-overflow:ellipsis;min-width:0}.puras-name>span+span,.puras-open{flex:none}"
    ".puras-word{white-space:nowrap}"
    ".puras-gallery img,.puras-gallery video,.puras-media img,.puras-media video{max-width:100%;height:auto;"
    "width:auto}"
    # narrower than about 200 px, Chrome's audio controls drop the duration ("0:00" instead of "0:00 / 0:03");
    # 260 px also leaves a usable scrubber. A definite width, so that a gallery's column grows to hold it.
    ".puras-gallery audio{width:260px;max-width:100%}"
    ".puras-media audio,audio.puras-media-audio{min-width:min(260px,100%);max-width:100%}"
    # a saved view's players are hidden by an inline style, and their stills shown, for pages that strip this
    # <style> and play no media (GitHub, nbviewer): where this <style> is kept, the players show instead, and a
    # still (or the caption's "video · ") gives way only to a player beside it (a copy may leave the player out)
    "video.puras-player,audio.puras-player{display:block!important}"
    ".puras-player~.puras-still,.puras-player~figcaption .puras-kind{display:none}"
    ".puras-grid img,.puras-grid video{max-height:240px}"
    # a grid whose columns are sized by their media (views/grid.py): a vertical video fills its column, taller
    ".puras-grid.puras-sized img,.puras-grid.puras-sized video{max-height:480px}"
    # in a grid's cell the media stack (one column as wide as the cell), so a row's media share one height
    ".puras-grid .puras-gallery{grid-template-columns:minmax(0,1fr)!important}"
    ".puras-cell .puras-actions{flex-wrap:wrap;align-items:center;gap:4px}"
    # ipywidgets' green for a pressed Good takes its text to 4.1:1 (light) or 3.5:1 (dark); this is 5.1:1 in both
    ".jupyter-widgets.puras-feedback-up.mod-success{background-color:#2e7d32;color:#fff}"
    ".puras-inputs{font-size:12px;line-height:1.4;overflow-wrap:anywhere}"
    ".puras-input-key{color:var(--jp-ui-font-color2,#4b5563)}"
    # no row hover tint under the grid's media and captions (JupyterLab's, which takes their contrast below 4.5:1)
    ".jp-RenderedHTMLCommon .puras-static table.puras-grid tr{background:none}"
    ".puras-text-field{margin:4px 0 8px 0;max-width:80ch}.puras-text-value{white-space:pre-wrap;"
    "overflow-wrap:anywhere;color:var(--jp-content-font-color1,#111827)}"
    ".puras-json details{margin-left:1em}"
    ".puras-json summary,.puras-raw>summary,.puras-log-static>summary{cursor:pointer}"
    ".puras-json pre{white-space:pre-wrap;word-break:break-word;margin:0}"
    ".puras-raw>summary,.puras-log-static>summary{color:var(--jp-ui-font-color2,#4b5563);font-size:12px}"
    # ipywidgets draws a closed Accordion's title in font-color2 on layout-color2: about 4.2:1 in dark themes
    ".puras-log .jupyter-widget-Collapse-header{color:var(--jp-ui-font-color1,#1f2937)}"
    ".puras-error{color:var(--jp-error-color1,#b91c1c)}"
    ".puras-long-error>summary{list-style:none;cursor:pointer}"
    ".puras-long-error>summary::-webkit-details-marker{display:none}"
    ".puras-long-error:not([open]) .puras-clamp{display:-webkit-box;-webkit-line-clamp:3;line-clamp:3;"
    "-webkit-box-orient:vertical;overflow:hidden}"
    ".puras-long-error .puras-clamp{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".puras-show-all,.puras-show-less{font-size:12px;text-decoration:underline;margin-left:2px}"
    ".puras-long-error[open] .puras-show-all,.puras-long-error:not([open]) .puras-show-less{display:none}"
    "[data-jp-theme-light=false] .puras-error{color:var(--jp-error-color2,#e57373)}"
    ".puras-bar{height:6px;border-radius:3px;background:var(--jp-layout-color3,#e5e7eb);margin:4px 0;"
    "overflow:hidden}.puras-bar>div{height:100%;background:var(--jp-brand-color1,#1d4ed8)}"
    ".puras-progress{width:100%}.puras-progress .progress-bar-info{background-image:linear-gradient(45deg,"
    "rgba(255,255,255,.4) 25%,transparent 25%,transparent 50%,rgba(255,255,255,.4) 50%,rgba(255,255,255,.4) 75%,"
    "transparent 75%);background-size:16px 16px;animation:puras-stripes 1s linear infinite}"
    "@keyframes puras-stripes{from{background-position:16px 0}to{background-position:0 0}}"
    ".puras-static table{border-collapse:collapse;margin:4px 0}"
    ".puras-static td code,.puras-static td.puras-wrap{overflow-wrap:anywhere;white-space:normal}"
    ".puras-static td.puras-nowrap{white-space:nowrap}"
    ".puras-job .widget-html-content,.puras-comparison .widget-html-content{line-height:1.4}"
    ".puras-header .puras-message{min-height:1.4em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    ".puras-line{white-space:nowrap}.puras-line code{font-size:12px}"
    ".puras-line-details>summary{cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    ".puras-line-details[open]>summary{margin-bottom:4px}"
    ".puras-job .puras-line-box{align-items:center;gap:4px}"
    ".puras-job .puras-line-box .widget-html,.puras-job .puras-line-box .widget-html-content{margin:0;"
    "overflow:hidden;text-overflow:ellipsis}"
    ".puras-job .puras-line-box button{height:24px;line-height:24px;margin:0}"
    # a state beside the status (cost capped, an approval, resumed): a pill, then what happened and what to do
    ".puras-state{margin:2px 0;white-space:normal;overflow-wrap:anywhere}"
    ".puras-state-hint{color:var(--jp-ui-font-color2,#4b5563)}"
    ".puras-pill{border-radius:9px;padding:0 7px;font-size:11px;font-weight:600;white-space:nowrap;color:#fff;"
    "margin-right:4px}.puras-pill-warn{background:#b45309}.puras-pill-info{background:#0f766e}"
    ".puras-steps .puras-steps-more{color:var(--jp-ui-font-color2,#4b5563)}"
    # Cancel: white on JupyterLab's warning orange reads at 2.7:1; this amber keeps the colour at 5:1
    ".puras-job .puras-cancel.mod-warning{background-color:#b45309;color:#fff}"
    ".puras-job .puras-cancel.mod-warning:hover:enabled{background-color:#92400e}"
    # the log: each subagent's events in a group that folds
    ".puras-events{margin:2px 0;padding-left:3em}.puras-events .puras-events{padding-left:2em}"
    ".puras-events,.jp-RenderedHTMLCommon .puras-events{list-style-type:decimal}"  # not JupyterLab's a, b, c nested
    ".puras-subagent>summary{cursor:pointer}.puras-subagent-status{color:var(--jp-ui-font-color2,#4b5563)}"
    ".puras-log-parts .widget-html,.puras-log-parts .widget-html-content{margin:0}"
    ".puras-static td,.puras-static th,.jp-RenderedHTMLCommon .puras-static td,"
    ".jp-RenderedHTMLCommon .puras-static th{text-align:left;vertical-align:top;padding:4px 8px}"
    f":is(.jp-OutputArea,.output):has({_LIVE}) .puras-final{{display:none}}"
    ".jp-OutputArea-child:has(> .jp-OutputArea-output:not([data-mime-type]))"
    f":not(:has({_LIVE})):has(+ .jp-OutputArea-child .puras-final){{display:none}}"
    "</style>"
)


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too), so it is inert both as text and inside an attribute."""
    return escape(value if isinstance(value, str) else str(value), quote=True)


def words(text: str) -> str:
    """Escaped text whose lines break at spaces only: a word holding `-` or `/` (`demo/ugc-ad`, `--no-display`),
    where browsers would also break, is kept whole (`.puras-word`)."""
    return _BREAKABLE.sub(r'<span class="puras-word">\g<0></span>', esc(text))


def name_html(name: str) -> str:
    """A file name on one line that, when its media is narrower, loses its middle to an ellipsis and keeps its end
    (`solar-lantern-vo…over.wav`); the full name is the tooltip, and what a copy gets."""
    stem, dot, ext = name.rpartition(".")
    keep = len(ext) + 5 if dot and stem and len(ext) <= 8 else 8
    head, tail = (name[:-keep], name[-keep:]) if len(name) > keep * 2 else (name, "")
    end = f"<span>{esc(tail)}</span>" if tail else ""
    return f'<span class="puras-name" title="{esc(name)}"><span>{esc(head)}</span>{end}</span>'


def badge(status: str) -> str:
    """A status pill (white on a colour of at least 4.5:1 contrast; cancelled neutral like queued)."""
    color = _COLORS.get(status, "#6b7280")
    return (
        f'<span class="puras-badge puras-badge-{esc(status.replace(" ", "-"))}" style="background:{color};color:#fff;'
        f'border-radius:9px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap">{esc(status)}</span>'
    )


def _scalar_html(value: Any) -> str:
    if isinstance(value, str):
        shown = value
        if value.startswith("data:") and len(value) > _DATA_PREVIEW:
            shown = f"{value[:_DATA_PREVIEW]}… ({len(value)} chars)"
        shown = cut(shown, _STR_MAX)
        return f'<span class="puras-json-str">{esc(json.dumps(shown, ensure_ascii=False))}</span>'
    return f'<span class="puras-json-val">{esc(json.dumps(value, default=str))}</span>'


_JSON_ITEMS = 200
_JSON_DEPTH = 20


def _json_node(value: Any, key: str | None, depth: int, open_depth: int) -> str:
    label = f'<span class="puras-json-key">{esc(key)}</span>: ' if key is not None else ""
    if isinstance(value, (dict, list, tuple)) and value and depth >= _JSON_DEPTH:
        return f"<div>{label}<i>… nested too deep to show</i></div>"
    if isinstance(value, (dict, list, tuple)) and value:
        pairs = list(value.items()) if isinstance(value, dict) else [(f"[{i}]", v) for i, v in enumerate(value)]
        items = "".join(_json_node(v, str(k), depth + 1, open_depth) for k, v in pairs[:_JSON_ITEMS])
        if len(pairs) > _JSON_ITEMS:
            items += f"<div><i>… {len(pairs) - _JSON_ITEMS} more</i></div>"
        opened = " open" if depth < open_depth else ""
        shape = f"{{…}} {count(len(value), 'key')}" if isinstance(value, dict) else f"[…] {count(len(value), 'item')}"
        return f"<details{opened}><summary>{label}{shape}</summary>{items}</details>"
    if isinstance(value, (dict, list, tuple)):
        return f"<div>{label}{'{}' if isinstance(value, dict) else '[]'}</div>"
    return f"<div>{label}{_scalar_html(value)}</div>"


def json_html(value: Any, *, open_depth: int = 2) -> str:
    """A collapsible tree (`<details>`) of a JSON value; every key and string escaped, data: URLs shortened."""
    return f'<div class="puras-json">{_json_node(value, None, 0, open_depth)}</div>'


# A figure's own margins, for pages without our STYLE (browsers indent a figure by 40 px), as longhands: JupyterLab's
# sanitizer (an untrusted notebook) keeps those and drops the `margin` shorthand.
_FIGURE = "margin-top:0;margin-right:0;margin-bottom:8px;margin-left:0"


def _still_html(still: Still, kind: str, label: str) -> str:
    """The image standing in for a video or an audio where no player plays (`puras-still`, hidden by STYLE where the
    player shows): its size as attributes when known, so that it reads the same without any stylesheet."""
    what = "Waveform" if still.what == "waveform" else f"Still frame ({still.what})"
    size = f' width="{still.width}" height="{still.height}"' if still.width and still.height else ""
    fit = "" if size else ";max-height:480px;width:auto"
    src = esc(data_url(still.data, still.mime))
    return (f'<img class="puras-still" src="{src}" alt="{esc(f"{what} of {label}")}" title="{esc(f"{kind}: {label}")}"'
            f'{size} style="max-width:100%;height:auto{fit}">')


def media_html(
    media: Media,
    data: bytes | None,
    *,
    embed_max: int = EMBED_MAX_BYTES,
    previews: Mapping[str, bytes | None] | None = None,
) -> str:
    """One media item as a `<figure>` that reads wherever a saved notebook is shown, styled or not.

    An image is an `<img>`; a video or an audio is its player *and* a still image (the video's poster or first
    frame, also the player's poster when small; the audio's waveform: `puras_nb.model.stills`, from the bytes in
    `previews`, `{url: bytes}`). The player
    is hidden by an inline style that our STYLE overrides, and the still is hidden by STYLE: where our `<style>` is
    kept (JupyterLab, nbconvert, the demo page) the player shows; where it is stripped and no media plays (GitHub,
    nbviewer) the still does, or where none could be made, a line saying so. Bytes are embedded as data: URLs
    within `embed_max`, else the tag points at the URL; the caption names the item and links to its URL.
    """
    kind = media.kind if media_kind(media.mime) is not None or media.mime == f"{media.kind}/*" else None
    if kind is None or not safe_url(media.url):
        return ""
    if data is None and media.is_data:  # decoded here (no network), and checked as fetched bytes are
        data = fetch(media, embed_max)
    if data is not None and len(data) <= embed_max:
        src = data_url(data, shown_mime(media, data))
    elif media.is_data:  # shown only from its checked bytes, never as the result gave it
        note = f"{esc(media.path)}: {esc(media.mime)} not shown (too large, or not {esc(kind)} bytes)"
        return f'<figure class="puras-media" style="{_FIGURE}"><figcaption>{note}</figcaption></figure>'
    else:
        src = media.url
    label = file_name(media) or media.path or media.mime
    alt = esc(label)
    stand_in = ""
    if kind == "image":
        tag = f'<img src="{esc(src)}" alt="{alt}" loading="lazy" style="max-width:100%;height:auto">'
    else:
        made = still(media, {**(previews or {}), media.url: data})
        stand_in = _still_html(made, kind, label) if made is not None else ""
        # hidden twice, for sanitizers that drop one or the other (JupyterLab's, for an untrusted notebook, keeps
        # `hidden` and drops `display`), and shown again by STYLE (`.puras-player`)
        hidden = ' hidden style="display:none;max-width:100%"'
        poster = ""
        if kind == "video" and made is not None and len(made.data) <= POSTER_MAX_BYTES:
            poster = f' poster="{esc(data_url(made.data, made.mime))}"'
        tag = f'<{kind} class="puras-player" controls preload="metadata" src="{esc(src)}"{poster}{hidden}></{kind}>'
    link = ""
    if not media.is_data:
        anchor = f'<a href="{esc(media.url)}" target="_blank" rel="noopener noreferrer">open</a>'
        link = f'<span class="puras-open">&nbsp;· {anchor}</span>'
    told = ""
    if kind != "image":  # said only where the still (or nothing) stands in for the player: STYLE hides it
        told = f"{kind} · " if stand_in else f"{kind}, no {'waveform' if kind == 'audio' else 'still image'} · "
        told = f'<span class="puras-kind">{told}</span>'
    caption_html = f'<figcaption class="puras-caption">{told}{name_html(label)}{link}</figcaption>'
    return (f'<figure class="puras-media puras-media-{kind}" style="{_FIGURE};max-width:100%">'
            f"{tag}{stand_in}{caption_html}</figure>")


def thumbnails_html(media: list[Media], data: dict[str, bytes | None], limit: int = 3) -> str:
    """Small embedded previews of a result's images and of its videos' stills (where their bytes were fetched), for
    table rows."""
    shown: list[str] = []
    for m in media:
        if len(shown) >= limit:
            break
        raw = data.get(m.url)
        made = still(m, data) if m.kind == "video" else None
        if made is not None:
            src = data_url(made.data, made.mime)
        elif m.kind == "image" and raw is not None and len(raw) <= EMBED_MAX_BYTES:
            src = data_url(raw, shown_mime(m, raw))
        else:
            continue
        shown.append(f'<img src="{esc(src)}" alt="{esc(m.name or m.path or m.kind)}" '
                     'style="max-height:48px;max-width:96px;margin-right:4px">')
    return "".join(shown)


def result_html(
    result: Any,
    *,
    outputs: list[dict] | None = None,
    media: list[Media] | None = None,
    data: dict[str, bytes | None] | None = None,
    texts: list[tuple[str, str]] | None = None,
) -> str:
    """A result as static HTML: its media as a gallery, its `texts` (the fields its output schema declares
    `text`) as text, then the whole value as a collapsible JSON tree (folded away behind "raw result" when there
    are media or texts to look at: they are the result people look at)."""
    found = media if media is not None else find_media(result, outputs)
    data = data or {}
    gallery = "".join(media_html(m, data.get(m.url), previews=data) for m in found)
    parts = [f'<div class="puras-gallery">{gallery}</div>'] if gallery else []
    parts += [text_field_html(name, text) for name, text in texts or ()]
    parts.append(raw_html(result) if gallery or texts else json_html(result))
    return f'<div class="puras-result">{"".join(parts)}</div>'


def text_field_html(name: str, text: str, limit: int = 20_000) -> str:
    """A result field declared `text`: its name, then its text as written (line breaks kept, escaped)."""
    return (f'<div class="puras-text-field"><div class="puras-caption">{esc(cut(plain(name), 80))}</div>'
            f'<div class="puras-text-value" style="white-space:pre-wrap">{esc(cut(text, limit))}</div></div>')


def raw_html(result: Any) -> str:
    """The raw result one click away: a closed `<details>` holding its JSON tree."""
    return f'<details class="puras-raw"><summary>raw result</summary>{json_html(result, open_depth=1)}</details>'


def error_html(text: str, extra: str = "", limit: int = 2000) -> str:
    """A job's error as a block in the theme's error colour (AA contrast in JupyterLab's light and dark themes). A long
    one (`LONG_ERROR` characters, or several lines) shows its first three lines and a "show all" that opens the
    rest: one `<details>` whose summary is the whole text, clamped by our style (without it, all of it reads)."""
    shown = esc(cut(text, limit))
    if len(text) <= LONG_ERROR and "\n" not in text:
        return f'<div class="puras-error"><b>{shown}</b>{extra}</div>'
    return (
        f'<div class="puras-error"><details class="puras-long-error"><summary><b class="puras-clamp">{shown}</b>'
        '<span class="puras-show-all">show all</span><span class="puras-show-less">show less</span></summary>'
        f"</details>{extra}</div>"
    )


def ending_html(job: JobView, limit: int = 2000) -> str:
    """How a job that did not succeed ended: an error in the error colour, or a neutral note for a cancel."""
    if job.status == "cancelled" and job.exception is None:  # the badge says cancelled: only a reason adds to it
        reason = job.error_text if job.error_text != "cancelled" else ""
        return f'<div class="puras-cancelled">{esc(cut(reason, limit))}</div>' if reason else ""
    return error_html(job.error_text, limit=limit)


def bar_html(fraction: float | None, status: str) -> str:
    """A thin progress bar in plain HTML (no `<progress>`, whose colour the page cannot theme), coloured by status."""
    frac = 1.0 if fraction is None else min(max(fraction, 0.0), 1.0)
    fill = _BAR.get(status, "")
    style = f"width:{frac * 100:.0f}%" + (f";background:{fill}" if fill else "")
    return f'<div class="puras-bar" title="{frac:.0%}"><div style="{style}"></div></div>'


def outcome_bar(counts: dict[str, int]) -> str:
    """One bar split by outcome (succeeded, failed, cancelled, running, queued), each part as wide as its
    share, with the counts as its tooltip."""
    total = sum(counts.values()) or 1
    colors = {**_COLORS, **_BAR, "running": _COLORS["running"], "queued": "transparent"}
    parts = "".join(
        f'<div style="width:{n / total * 100:.2f}%;background:{colors.get(name, "")};height:100%" '
        f'title="{n} {esc(name)}"></div>'
        for name, n in counts.items() if n
    )
    tip = " · ".join(f"{n} {name}" for name, n in counts.items() if n)
    return f'<div class="puras-bar puras-outcomes" style="display:flex" title="{esc(tip)}">{parts}</div>'


_MARKS = {"completed": "✓", "in_progress": "▶", "stopped": "■"}
_STOPPED = ' <i class="puras-stopped">stopped</i>'


def checklist_html(todos: list[dict]) -> str:
    """The skill's live todo list, one escaped line per item, marked done / in progress / stopped / pending."""
    items = "".join(
        f"<li>{_MARKS.get(str(t.get('status')), '○')} {esc(str(t.get('content', ''))[:200])}"
        f"{_STOPPED if t.get('status') == 'stopped' else ''}</li>"
        for t in todos[:20]
    )
    return f'<ul class="puras-todos" style="list-style:none;margin:2px 0;padding-left:4px">{items}</ul>'


_STEP_MARKS = {"done": "✓", "running": "▶", "failed": "✗", "stopped": "■"}
#: The steps list shows the newest steps up to this many.
STEPS_SHOWN = 5


def steps_html(steps: list[Step], limit: int = STEPS_SHOWN) -> str:
    """The run's labelled steps (for a skill that keeps no checklist), the newest `limit`, as the checklist looks:
    done, running, failed or stopped where the job ended; a subagent's steps indented under the step that ran it."""
    if not steps:
        return ""
    shown = steps[-limit:]
    more = len(steps) - len(shown)
    items = [f'<li class="puras-steps-more">… {count(more, "earlier step")}</li>'] if more else []
    for step in shown:
        indent = f' style="padding-left:{min(step.level, 4) * 1.2:.1f}em"' if step.level else ""
        stopped = _STOPPED if step.state == "stopped" else ""
        items.append(f"<li{indent}>{_STEP_MARKS.get(step.state, '○')} {esc(step.name)}{stopped}</li>")
    return (f'<ul class="puras-todos puras-steps" style="list-style:none;margin:2px 0;padding-left:4px">'
            f'{"".join(items)}</ul>')


def pill(state: JobState) -> str:
    """A state's badge (white on a colour of at least 4.5:1), with what happened and what to do as its tooltip."""
    return (f'<span class="puras-pill puras-pill-{esc(state.tone)} puras-pill-{esc(state.kind)}" '
            f'title="{esc(state.line)}">{esc(state.badge)}</span>')


def states_html(states: list[JobState], *, pills: bool = True) -> str:
    """The states a job is in beside its status, one line each: its badge (not where a line above shows it: `pills`),
    what happened, what to do."""
    return "".join(
        f'<div class="puras-state puras-state-{esc(s.kind)}">{pill(s) if pills else ""}<b>{esc(s.text)}</b>'
        f'{f" <span class=puras-state-hint>· {esc(s.hint)}</span>" if s.hint else ""}</div>'
        for s in states
    )


def progress_html(job: JobView) -> str:
    """What the job did so far: its checklist when the skill keeps one, else its labelled steps."""
    todos = job.todos
    return checklist_html(todos) if todos else steps_html(job.steps)


def step_line(job: JobView) -> str:
    """The current step line (`job.message`), or "" where the steps list above it ends with those very words (a step
    in a subagent keeps its line: it names the subagent)."""
    message = job.message
    if message and not job.todos:
        steps = job.steps
        if steps and steps[-1].name == message:
            return ""
    return message


def title_html(job: JobView, *, short_id: bool = True) -> str:
    """A job's title: its skill, version and short id (no id before the server named the job), then a space."""
    version = f" · v{esc(job.version)}" if job.version is not None else ""
    shown = job.short_id and short_id
    short = f'<span class="puras-job-id"> · <code>{esc(job.short_id)}</code></span>' if shown else ""
    return f"<b>{esc(job.skill or 'job')}</b>{version}{short} "


def one_line(job: JobView) -> bool:
    """Whether a job shows as one line, as small as a finished tqdm bar: it succeeded and has no media to look at
    (its log and raw result stay one click away)."""
    return job.done() and job.status == "succeeded" and job.exception is None and not job.find_media()


def inline_result(result: Any) -> str:
    """A result as it reads inline in a job's one line: its JSON when that is at most `INLINE_MAX` characters, else
    its shape (`{…} 3 keys`); escaped."""
    text = summarize(result, INLINE_MAX + 1)
    if len(text) <= INLINE_MAX:
        return f'<code class="puras-inline-result">{esc(text)}</code>'
    shape = f"{{…}} {count(len(result), 'key')}" if isinstance(result, dict) else (
        f"[…] {count(len(result), 'item')}" if isinstance(result, list) else "…")
    return f'<span class="puras-inline-result">{esc(shape)}</span>'


def line_html(job: JobView) -> str:
    """The one line of a job that succeeded with no media: skill, version, status, time, cost, the result inline."""
    parts = [p for p in (facts(job), inline_result(job.job.get("result"))) if p]
    pills = "".join(f" {pill(s)}" for s in job.states)
    return (
        f'<span class="puras-line">{title_html(job, short_id=False)}<span class="puras-status">{badge(job.status)}'
        f'</span>{pills} <span class="puras-summary">{" · ".join(parts)}</span></span>'
    )


def details_html(job: JobView) -> str:
    """What a job's one line folds away: what its states mean (their badges are on the line), its raw result (an open
    JSON tree) and its id."""
    return (f'{states_html(job.states, pills=False)}{json_html(job.job.get("result"))}'
            f'<div class="puras-caption">job {esc(job.id or "")}</div>')



def facts(job: JobView) -> str:
    """ "2.5 s · $0.0040": a finished job's duration and cost, whichever are known."""
    parts = [f"{job.duration:.1f} s" if job.duration is not None else "", dollars(job.job.get("cost_micros"))]
    return " · ".join(p for p in parts if p)


def _row_html(row: Row, skip: str) -> str:
    kind, message = event_parts(row.event)
    if skip and message == skip.strip():
        return ""
    return f'<li value="{row.position}"><span class="puras-event-type">{esc(kind)}</span> {esc(cut(message, 500))}</li>'


def _group_html(group: Group, skip: str) -> str:
    """A subagent's events as a `<details>` in the log: its label, status and how many events; open while it runs
    and where it failed or stopped (to see why), folded once it ended well."""
    sub = group.subagent
    opened = sub.status in ("running", "failed", "stopped")
    inner = "".join(_item_html(item, skip) for item in group.items)
    status = "running" if sub.status == "running" else sub.status
    summary = (f'<span class="puras-event-type">subagent</span> <b>{esc(sub.label)}</b> '
               f'<span class="puras-subagent-status">{esc(status)} · {count(group.size, "event")}</span>')
    return (f'<li value="{group.position}"><details class="puras-subagent puras-subagent-{esc(status)}"'
            f'{" open" if opened else ""}><summary>{summary}</summary><ol class="puras-events">{inner}</ol>'
            "</details></li>")


def _item_html(item: Row | Group, skip: str) -> str:
    return _group_html(item, skip) if isinstance(item, Group) else _row_html(item, skip)


def events_html(items: list[Row | Group], *, skip: str = "") -> str:
    """The log's events (`JobView.log_items`) as an escaped numbered list, newest last, each subagent's inside a
    group that folds; an event saying only `skip` (the error already shown above it) is left out, so an error
    reads once."""
    return f'<ol class="puras-events">{"".join(_item_html(item, skip) for item in items)}</ol>'


def log_groups_html(items: list[Row | Group], *, skip: str = "") -> list[tuple[str, str]]:
    """The live log in parts, each an HTML of its own, so that a subagent's group whose events did not change keeps
    the state a person gave it (open or folded) while new events re-render the rest: `(key, html)`, one part per
    run of top-level rows and one per top-level subagent, keyed by that subagent (rows by the one before them)."""
    parts: list[tuple[str, str]] = []
    rows: list[Row | Group] = []
    after = ""
    for item in items:
        if isinstance(item, Group):
            if rows:
                parts.append((f"rows:{after}", events_html(rows, skip=skip)))
                rows = []
            parts.append((f"group:{item.subagent.sid}", events_html([item], skip=skip)))
            after = item.subagent.sid
        else:
            rows.append(item)
    if rows or not parts:
        parts.append((f"rows:{after}", events_html(rows, skip=skip)))
    return parts


def log_html(job: JobView, limit: int = 50) -> str:
    """An ended job's last `limit` events, folded (`<details>`), for its saved view; the error shown above the
    log is not repeated in it. Empty when there are none."""
    items = job.log_items(limit)
    if not items:
        return ""
    return (
        f'<details class="puras-log-static"><summary>Log (last {limit} events)</summary>'
        f"{events_html(items, skip=job.error_text)}</details>"
    )


def job_html(
    job: JobView, *, data: dict[str, bytes | None] | None = None, final: bool = False, compact: bool = False
) -> str:
    """A LiveJob (any JobView) as static HTML: header, progress, result or error.

    `compact`: header and summary only, for the live view's own fallback (the full result, media
    embedded, lives once, in the static summary output beside it).
    """
    status = job.status
    if one_line(job) and not compact:  # one line; the raw result and the log one click away
        inner = f"{details_html(job)}{log_html(job)}"
        line = f'<details class="puras-line-details"><summary>{line_html(job)}</summary>{inner}</details>'
        return f'{STYLE}<div class="{"puras-static puras-final" if final else "puras-static"} {NO_MATH}">{line}</div>'
    head = f'<div class="puras-header">{title_html(job)}{badge(status)}</div>'
    body = [states_html(job.states)]
    if not job.done():
        frac = job.progress
        if frac is not None:
            body.append(bar_html(frac, status) + f'<span class="puras-progress-label">{esc(job.progress_label)}</span>')
        if not compact:
            body.append(progress_html(job))
        if message := job.message if compact else step_line(job):  # compact: no steps list to say it
            body.append(f'<div class="puras-message">{esc(cut(message, 500))}</div>')
    else:
        if not compact:  # what the skill did, and where it stopped
            body.append(progress_html(job))
        if job.id:  # a submission that made no job has no run time or cost to tell
            body.append(f'<div class="puras-summary">{esc(facts(job))}</div>')
        if status == "succeeded" and not compact:
            body.append(result_html(job.job.get("result"), media=job.find_media(), data=data, texts=job.text_fields()))
        elif not compact:
            body.append(ending_html(job))
        if not compact:
            body.append(log_html(job))
    cls = "puras-static puras-final" if final else "puras-static"  # no math: "$0.0168 of the $0.0160 limit"
    return f'{STYLE}<div class="{cls} {NO_MATH}">{head}{"".join(body)}</div>'
