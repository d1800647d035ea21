"""A skill's output_schema decides how a result field is shown: a field declared image/video/audio is that media
even when its value names no type (a URL, `{url}`, `{data, media_type}`, or a drive path the job's outputs give a
URL for), and `text` fields are text. Results stay untrusted: nothing here makes a drive path or an internal
address fetchable."""

from __future__ import annotations

import base64

from puras_nb.api.media import Media, fetch
from puras_nb.model.media import find_media, shown_mime, text_fields

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
DECLARED = {"shot": "image", "thumb": "image", "clip": "video", "voice": "audio", "caption": "text", "n": "integer"}
OUTPUTS = [{"name": "shot.png", "drive_path": "jobs/1/shot", "mime": "image/png",
            "url": "https://files.example/jobs/1/shot?sig=1"}]


def test_declared_media_fields_are_that_media_whatever_their_value_announces() -> None:
    result = {
        "shot": "jobs/1/shot",
        "thumb": {"url": "https://cdn.example/t", "name": "thumb"},
        "clip": {"data": base64.b64encode(MP4).decode(), "media_type": "video/mp4"},
        "voice": {"drive_path": "jobs/1/unknown.wav"},
        "caption": "Warm light,\nevening.",
        "n": 3,
    }
    found = {m.path: m for m in find_media(result, OUTPUTS, DECLARED)}
    assert set(found) == {"shot", "thumb", "clip"}
    assert (found["shot"].url, found["shot"].mime) == ("https://files.example/jobs/1/shot?sig=1", "image/png")
    assert (found["thumb"].mime, found["thumb"].kind, found["thumb"].name) == ("image/*", "image", "thumb")
    assert found["clip"].url.startswith("data:video/mp4;base64,") and fetch(found["clip"]) == MP4
    assert text_fields(result, DECLARED) == [("caption", "Warm light,\nevening.")]
    undeclared = find_media(result, OUTPUTS)
    assert [m.path for m in undeclared] == ["outputs[0]"], "undeclared, none of these values names a media type"


def test_a_bare_drive_path_is_never_fetched_without_the_servers_url() -> None:
    assert [m.path for m in find_media({"shot": "jobs/1/other.png"}, OUTPUTS, DECLARED)] == ["outputs[0]"]
    assert find_media({"shot": "/etc/passwd"}, [], DECLARED) == []


def test_declared_fields_stay_untrusted() -> None:
    html = "data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode()
    svg = {"data": base64.b64encode(b"<svg onload=alert(1)>").decode(), "media_type": "image/svg+xml"}
    assert find_media({"shot": html, "thumb": svg, "clip": "javascript:alert(1)"}, [], DECLARED) == []
    [internal] = find_media({"shot": {"url": "http://127.0.0.1:9/admin"}}, [], DECLARED)
    assert internal.kind == "image" and fetch(internal) is None  # found, but the address policy refuses it
    [audio_as_image] = find_media({"thumb": "https://cdn.example/a.mp3"}, [], DECLARED)
    assert audio_as_image.mime == "image/*"  # its bytes decide: a fetch keeps only bytes that are an image


def test_the_shown_type_comes_from_the_bytes_when_only_the_kind_is_known() -> None:
    media = Media(url="https://cdn.example/t", kind="image", mime="image/*")
    assert shown_mime(media, PNG) == "image/png" and shown_mime(media, None) == "image/*"
    assert shown_mime(media, MP4) == "image/*"  # not an image: nothing better to say
    assert shown_mime(Media(url="https://x/a.png", kind="image", mime="image/png"), MP4) == "image/png"
