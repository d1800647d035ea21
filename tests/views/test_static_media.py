"""The static view of media reads where a saved notebook has no player and none of our `<style>` (GitHub, nbviewer):
a video's still and an audio's waveform as images, each item named and linked; the players show where our STYLE is
kept. How it looks is checked in Chromium by tests/browser/test_github_view.py."""

from __future__ import annotations

import re

import pytest

from puras_nb.api.media import Media
from puras_nb.local.mediagen import encode_png, make_image, make_speech
from puras_nb.model.media import find_media
from puras_nb.views.html import STYLE, media_html, result_html, thumbnails_html

POSTER = encode_png(make_image("a kite", 320, 180))
WAV, _ = make_speech("Hello there.", 1.0)
VIDEO = Media(url="https://cdn.example/f/kite.mp4?sig=1", kind="video", mime="video/mp4", name="kite.mp4",
              path="video", poster="https://cdn.example/f/kite.png?sig=2")
AUDIO = Media(url="https://cdn.example/f/hello.wav?sig=3", kind="audio", mime="audio/wav", path="voiceover")
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 64  # the bytes of a video too broken to decode


def _tag(html: str, name: str) -> str:
    found = re.search(rf"<{name}\b[^>]*>", html)
    assert found, f"no <{name}> in {html[:300]}"
    return found.group(0)


def test_a_video_is_its_hidden_player_its_still_and_a_caption_that_names_and_links_it() -> None:
    html = media_html(VIDEO, MP4, previews={VIDEO.poster: POSTER})
    player, still = _tag(html, "video"), _tag(html, "img")
    assert 'class="puras-player"' in player and 'style="display:none' in player and "src=\"data:video/mp4" in player
    assert re.search(r'poster="data:image/(jpeg|png);base64,', player), "the still is the player's poster too"
    assert 'class="puras-still"' in still and re.search(r'src="data:image/(jpeg|png);base64,', still)
    assert 'alt="Still frame (poster) of kite.mp4"' in still and "max-width:100%" in still
    caption = html.split("<figcaption", 1)[1]
    assert '<span class="puras-kind">video · </span>' in caption
    assert '<a href="https://cdn.example/f/kite.mp4?sig=1"' in caption and ">open</a>" in caption
    assert "video.puras-player,audio.puras-player{display:block!important}" in STYLE, "the player, where STYLE is"
    assert ".puras-player~.puras-still,.puras-player~figcaption .puras-kind{display:none}" in STYLE, "beside one"


def test_an_audio_gets_a_waveform_and_where_nothing_can_be_drawn_a_line_says_so() -> None:
    html = media_html(AUDIO, WAV)
    still = _tag(html, "img")
    assert 'src="data:image/png;base64,' in still and 'width="260" height="40"' in still
    assert 'alt="Waveform of hello.wav"' in still, "named after its file, from its URL"
    bare = media_html(VIDEO, None)  # nothing fetched: the player points at the URL, and no still
    assert "<img" not in bare and '<span class="puras-kind">video, no still image · </span>' in bare
    assert 'src="https://cdn.example/f/kite.mp4?sig=1"' in _tag(bare, "video") and ">open</a>" in bare


def test_an_embedded_media_item_has_no_link_and_an_image_reads_unstyled() -> None:
    embedded = Media(url="data:audio/wav;base64,UklGRg==", kind="audio", mime="audio/wav", path="clip")
    html = media_html(embedded, WAV)
    assert "<a " not in html and "data:image/png" in html
    image = media_html(Media(url="https://cdn.example/a.png", kind="image", mime="image/png"), POSTER)
    assert 'style="max-width:100%;height:auto"' in _tag(image, "img") and "puras-kind" not in image


def test_a_static_result_has_no_ids_and_no_name_breaks_out() -> None:
    hostile = Media(url="https://cdn.example/x.mp4", kind="video", mime="video/mp4",
                    name='"><img src=x onerror=alert(1)>.mp4', poster="https://cdn.example/x.png")
    html = media_html(hostile, MP4, previews={hostile.poster: POSTER})
    assert "<img src=x" not in html and "onerror=alert(1)&gt;" in html
    result = {"video": {"url": VIDEO.url, "mime": "video/mp4", "poster": VIDEO.poster}, "script": "a\nb"}
    page = result_html(result, data={VIDEO.url: MP4, VIDEO.poster: POSTER}, texts=[("script", "a\nb")])
    assert not re.search(r"\sid=", page), "GitHub strips ids: nothing may depend on them"
    assert 'class="puras-text-value" style="white-space:pre-wrap"' in page, "line breaks kept without our STYLE"


@pytest.mark.parametrize("with_poster", [True, False])
def test_a_table_row_shows_a_video_still_as_its_thumbnail(with_poster: bool) -> None:
    media = find_media({"video": {"url": VIDEO.url, "mime": "video/mp4", "poster": VIDEO.poster}})
    data = {VIDEO.url: MP4, **({VIDEO.poster: POSTER} if with_poster else {})}
    shown = thumbnails_html(media, data)
    assert ("<img" in shown) is with_poster and ("max-height:48px" in shown) is with_poster
