"""The result view reads the skill's output schema: a field declared image is shown as an image even when its value
is a bare URL without a type, and `text` fields are shown as text (line breaks kept, escaped), live and saved."""

from __future__ import annotations

import base64

import ipywidgets as w

from puras_nb.model.media import find_media
from puras_nb.views import ResultView
from puras_nb.views.html import result_html
from puras_nb.views.job import descendants

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
DECLARED = {"poster": "image", "caption": "text"}
RESULT = {"poster": {"url": "https://cdn.example/p"}, "caption": "Line one\n<b>Line</b> two"}


def test_a_declared_image_and_text_fields_show_as_themselves() -> None:
    media = find_media(RESULT, None, DECLARED)
    texts = [("caption", RESULT["caption"])]
    view = ResultView(RESULT, media=media, data={"https://cdn.example/p": PNG}, fetch=False, texts=texts)
    [image] = [x for x in descendants(view) if isinstance(x, w.Image)]
    assert image.format == "png" and bytes(image.value) == PNG
    [shown] = [x.value for x in descendants(view) if isinstance(x, w.HTML) and "class=\"puras-text-value\"" in x.value]
    assert "Line one\n&lt;b&gt;Line&lt;/b&gt; two" in shown and "<b>Line" not in shown
    static = view.static_bundle()["text/html"]
    assert 'src="data:image/png;base64,' in static and 'class="puras-text-value"' in static
    assert "<b>Line" not in static
    assert "raw result" in static  # the JSON tree is one click away, folded


def test_without_a_declaration_the_result_is_its_json() -> None:
    html = result_html(RESULT)
    assert "class=\"puras-text-value\"" not in html and "<img" not in html and "raw result" not in html
