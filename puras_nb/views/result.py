"""The result view: media as Image/Audio/Video widgets (a grid gallery when several), the rest as JSON.

Media bytes are fetched by the kernel (so previews work where the browser cannot reach the API host)
up to a per-kind cap; beyond it, or when a fetch fails, the item is a link. Every string is escaped.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from ..api.media import Media, max_bytes_for
from ..api.media import fetch as fetch_now
from ..model.media import describe, find_media, posters, shown_mime
from ..model.stills import warm
from ..runtime import loop as rt
from ..runtime.session import session
from ..settings import current
from .html import NO_MATH, STYLE, esc, json_html, name_html, raw_html, result_html, summarize, text_field_html
from .outputs import live_bundle, widget_view
from .parts import part

__all__ = ["STATIC_WAIT", "ResultView", "media_widget"]

# How long showing a ResultView waits for its previews, so that its static view (what a saved notebook,
# nbconvert and GitHub keep) embeds the media rather than links to a host that may be gone by then.
STATIC_WAIT = 3.0

_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mpeg",
    "audio/mp3": "mpeg",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/aac": "aac",
    "audio/mp4": "mp4",
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/ogg": "ogg",
    "video/quicktime": "quicktime",
}


def _link(media: Media, why: str) -> w.HTML:
    label = esc(media.name or media.path or media.mime)
    if media.is_data:
        return part(w.HTML, value=f"<div>{label}: {esc(why)}</div>")
    link = f'<a href="{esc(media.url)}" target="_blank" rel="noopener noreferrer">open</a>'
    return part(w.HTML, value=f"<div>{label}: {esc(why)} · {link}</div>")


def media_widget(media: Media, data: bytes | None, *, pending: bool = False) -> w.Widget:
    """An Image/Audio/Video widget holding `data`, captioned; a link when there are no bytes."""
    if data is None:
        return _link(media, f"{media.mime}: loading preview…" if pending else f"{media.mime} not previewed "
                     "(too large, past this job's preview budget, or unreachable)")
    mime = shown_mime(media, data)
    fmt = _FORMATS.get(mime, mime.split("/", 1)[-1])
    # flex-start: a flex column stretches its children to its width, which would upscale a small image
    layout = {"max_width": "100%", "height": "auto", "width": "auto", "align_self": "flex-start"}
    classes = (f"puras-media-{media.kind}",)
    if media.kind == "image":
        view: w.Widget = part(w.Image, value=data, format=fmt, layout=layout, _dom_classes=classes)
    elif media.kind == "audio":
        view = part(w.Audio, value=data, format=fmt, autoplay=False, loop=False, controls=True, _dom_classes=classes)
    else:
        view = part(
            w.Video, value=data, format=fmt, autoplay=False, loop=False, controls=True, layout=layout,
            _dom_classes=classes,
        )
    name = name_html(media.name or media.path or media.mime)
    caption = part(w.HTML, value=f'{STYLE}<div class="puras-caption">{name}</div>')
    return part(w.VBox, children=[view, caption], _dom_classes=("puras-media",))


class ResultView(w.VBox):
    """A result: media gallery on top, then `texts` (its fields declared `text`, as text), collapsible JSON below
    (folded when there are media or texts to look at). Static text/html and text/plain fallbacks.

    Media bytes given in `data` show at once; the others are fetched in the background (never on the
    kernel's thread) when `fetch` is on, showing as links until they arrive. Shown as a cell's value it
    is two outputs like a job: the widget, and a static view (see `puras_nb.views.display`).
    """

    def __init__(
        self,
        result: Any,
        *,
        outputs: list[dict] | None = None,
        media: list[Media] | None = None,
        data: dict[str, bytes | None] | None = None,
        max_bytes: int | dict[str, int] | None = None,
        fetch: bool = True,
        texts: list[tuple[str, str]] | None = None,
    ) -> None:
        self.result = result
        self.texts = list(texts or [])
        self.media = media if media is not None else find_media(result, outputs)
        self.data = dict(data or {})
        caps = max_bytes if max_bytes is not None else current().preview_max_bytes
        for m in self.media:  # data: URLs decode here and now: no network involved
            if m.is_data and m.url not in self.data:
                self.data[m.url] = fetch_now(m, max_bytes_for(m.kind, caps))
        super().__init__(self._views(), _dom_classes=("puras-result-view",))  # opened with its children: no update
        self._previews = threading.Event()
        missing = [m for m in [*self.media, *posters(self.media)] if m.url not in self.data]
        if fetch and missing:
            rt.spawn(self._fetch(missing, caps))
        else:
            self._previews.set()

    async def _fetch(self, missing: list[Media], max_bytes: int | dict[str, int] | None) -> None:
        try:
            self.data.update(await session().fetch_previews(missing, max_bytes))
            await warm(self.media, self.data)  # the stills of its saved view, off the loop
        finally:
            self._previews.set()
        self._render()

    def _render(self) -> None:
        self.children = self._views()

    def _views(self) -> list[w.Widget]:
        """The media (one, or a gallery) and the result's JSON below them."""
        children: list[w.Widget] = []
        views = [media_widget(m, self.data.get(m.url), pending=m.url not in self.data) for m in self.media]
        if len(views) == 1:
            children.append(views[0])
        elif views:
            layout = {
                "grid_template_columns": "repeat(auto-fill, minmax(200px, max-content))", "grid_gap": "8px",
                "align_items": "flex-start",
            }
            children.append(part(w.GridBox, children=views, layout=layout, _dom_classes=("puras-gallery",)))
        if self.texts:
            shown = "".join(text_field_html(name, text) for name, text in self.texts)
            children.append(part(w.HTML, value=STYLE + shown, _dom_classes=("puras-text-fields",)))
        tree = raw_html(self.result) if self.media or self.texts else json_html(self.result)
        children.append(part(w.HTML, value=STYLE + tree, _dom_classes=("puras-json-view",)))
        return children

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        data = widget_view(self)
        data["text/plain"] = self.text()
        data["text/html"] = STYLE + result_html(self.result, media=self.media, data=self.data, texts=self.texts)
        return data

    def static_bundle(self) -> dict:
        """The static view (`puras-final`), with the previews fetched within `STATIC_WAIT` seconds embedded."""
        self._previews.wait(STATIC_WAIT)
        html = result_html(self.result, media=self.media, data=self.data, texts=self.texts)
        final = f'{STYLE}<div class="puras-static puras-final {NO_MATH}">{html}</div>'
        return {"text/plain": self.text(), "text/html": final}

    def text(self) -> str:
        """text/plain: a short summary of the result, and a line naming each of its media."""
        return "\n".join([f"<result {summarize(self.result)}>", *map(describe, self.media)])

    def _ipython_display_(self) -> None:
        """The widget, then its static view: two outputs, so a saved notebook keeps the result (with media)."""
        from IPython.display import display

        display(live_bundle(self._repr_mimebundle_()), raw=True)
        display(self.static_bundle(), raw=True)
