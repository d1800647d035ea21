"""Find media (images, audio, video) anywhere in a job result: URLs, `data:` URLs and file dicts, in order.

Results are untrusted: only what `puras_nb.api.media.safe_url` accepts, of a media type we render, counts. Where
the skill's `output_schema` declares a field `image`, `video` or `audio`, that field is shown as that media even
when its value names no media type: a URL or `{url}` as it is, `{data, media_type}` as a data URL, and a bare drive
path (or `{drive_path}`) only through the URL the server gives for that file in the job's `outputs`. Fields
declared `text` are shown as text (`text_fields`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlsplit

from ..api.media import Media, mime_of, safe_url
from ..dialect import MEDIA_TYPES
from ..mime import media_kind, sniff_mime
from ..strings import cut, plain

__all__ = ["POSTER_KEYS", "describe", "file_name", "find_media", "posters", "shown_mime", "text_fields"]

_URL_KEYS = ("url", "signed_url", "src", "href")
#: Keys that name a video's still image, on the video's own dict or beside it (`{"video": ..., "thumbnail": ...}`).
POSTER_KEYS = ("poster", "poster_url", "thumbnail", "thumbnail_url")
_MIME_KEYS = ("mime", "mime_type", "mimetype", "content_type", "contentType", "type")
_MAX_DEPTH = 12
_MAX_ITEMS = 200


def _first(d: Mapping[str, Any], keys: Iterable[str], *, typed: bool = False) -> str | None:
    """The value of the first of `keys` that `d` holds as a string (`typed`: one that names a type, with a "/")."""
    for key in keys:
        value = d.get(key)
        if isinstance(value, str) and (not typed or "/" in value):
            return value
    return None


def _image_url(value: Any) -> str | None:
    """The URL of an image a value names: a URL (or data: URL) of an image type, or `{url, mime}` of one."""
    if isinstance(value, dict):
        url, mime = _first(value, _URL_KEYS), _first(value, _MIME_KEYS, typed=True)
    else:
        url, mime = value, None
    if not isinstance(url, str) or not safe_url(url):
        return None
    if media_kind(mime_of(url)) == "image":
        return url
    return url if media_kind(mime) == "image" and not url.startswith("data:") else None


def _poster_of(d: dict) -> str | None:
    """The still image a dict names for a video (see `POSTER_KEYS`), if any."""
    return next((url for k in POSTER_KEYS if (url := _image_url(d.get(k))) is not None), None)


def _from_url(
    url: str, mime: str | None, name: str, path: str, size: Any = None, poster: str | None = None
) -> Media | None:
    if not safe_url(url):
        return None
    kind = media_kind(mime)
    if kind is None:
        mime = mime_of(url)
        kind = media_kind(mime)
    if kind is None or mime is None:
        return None
    if url.startswith("data:") and media_kind(mime_of(url)) != kind:
        return None
    return Media(
        url=url,
        kind=kind,
        mime=mime.split(";", 1)[0].strip().lower(),
        name=name,
        path=path,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        poster=poster if kind == "video" else None,
    )


def _from_dict(d: dict, path: str) -> Media | None:
    url = _first(d, _URL_KEYS)
    if url is None:
        return None
    mime = _first(d, _MIME_KEYS, typed=True)
    name = given if isinstance(given := d.get("name"), str) else ""
    if not name and isinstance(d.get("drive_path"), str):
        name = d["drive_path"].rsplit("/", 1)[-1]
    return _from_url(url, mime, name, path, d.get("size_bytes", d.get("size")), _poster_of(d))


def _key(url: str) -> str:
    """Identity of a media URL: signed URLs of one file differ only in their query (expiry, signature)."""
    if url.startswith("data:"):
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _add(media: Media | None, out: list[Media], seen: set[str]) -> None:
    if media is not None and _key(media.url) not in seen:
        seen.add(_key(media.url))
        out.append(media)


def _sibling_posters(value: dict, path: str, out: list[Media], start: int) -> None:
    """A video found directly under `value` (at or after `out[start]`) with no poster of its own takes the one its
    siblings name (`{"video": ..., "thumbnail": ...}`)."""
    poster = _poster_of(value)
    if poster is None:
        return
    children = {f"{path}.{key}" if path else str(key) for key in value}
    for i in range(start, len(out)):
        if out[i].kind == "video" and out[i].poster is None and out[i].path in children:
            out[i] = replace(out[i], poster=poster)


def _walk(value: Any, path: str, depth: int, out: list[Media], seen: set[str]) -> None:
    if len(out) >= _MAX_ITEMS or depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        _add(_from_url(value, None, "", path), out, seen)
    elif isinstance(value, dict):
        start = len(out) if depth else 0  # at the top: the declared fields `find_media` found first are children too
        media = _from_dict(value, path)
        _add(media, out, seen)
        for key, item in value.items():
            if media is not None and (key in (*_URL_KEYS, "poster") or (media.kind == "video" and key in POSTER_KEYS)):
                continue
            _walk(item, f"{path}.{key}" if path else str(key), depth + 1, out, seen)
        _sibling_posters(value, path, out, start)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", depth + 1, out, seen)


def _file_url(value: Any, outputs: list[dict]) -> tuple[str, str | None] | None:
    """(URL, mime or None) of a file reference: a URL, `{url}`, `{data|base64, media_type}`, or a drive path the
    job's `outputs` give a URL for; None when it names no file this kernel may fetch."""
    if isinstance(value, dict):
        mime, url = _first(value, (*_MIME_KEYS, "media_type")), _first(value, _URL_KEYS)
        payload = _first(value, ("data", "base64"))
        if url is None and payload is not None and mime and "," not in payload and ";" not in mime:
            url = f"data:{mime};base64,{payload.strip()}"
        if url is None and isinstance(value.get("drive_path"), str):
            return _file_url(value["drive_path"], outputs)
        return (url, mime) if url is not None else None
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(("http://", "https://", "data:")):
        return value, None
    by_path = next((o for o in outputs if o.get("drive_path") == value and isinstance(o.get("url"), str)), None)
    if by_path is None:
        return None
    return by_path["url"], _first(by_path, _MIME_KEYS)


def _declared_media(value: Any, kind: str, path: str, outputs: list[dict]) -> Media | None:
    """The media a field declared `kind` holds, whatever its value announces (its mime unknown: `kind/*`)."""
    found = _file_url(value, outputs)
    if found is None:
        return None
    url, mime = found
    if not safe_url(url):
        return None
    mime = mime if media_kind(mime) == kind else mime_of(url) if media_kind(mime_of(url)) == kind else None
    if url.startswith("data:") and mime is None:
        return None
    name = str(value.get("name") or "") if isinstance(value, dict) and isinstance(value.get("name"), str) else ""
    return Media(url=url, kind=kind, mime=(mime or f"{kind}/*").split(";", 1)[0].strip().lower(), name=name,
                 path=path)


def find_media(
    result: Any, outputs: Iterable[dict] | None = None, declared: Mapping[str, str] | None = None
) -> list[Media]:
    """Every renderable media item in `result` (depth-first, in order), then the job's `outputs` files.

    Recognises http(s) URLs with a media extension, `data:` URLs of media types, and dicts with
    `url`/`signed_url` plus a mime. Duplicates (the same file, even signed twice) are kept once; a video's
    poster (a `POSTER_KEYS` image on its dict, or beside it) stays on the video, listed on its own only where the
    result names it elsewhere (never again from `outputs`).
    `declared` (`{field: dialect type}` from the skill's output schema) makes a top-level field declared
    image/video/audio that media, first.
    """
    found: list[Media] = []
    seen: set[str] = set()
    files = [o for o in outputs or () if isinstance(o, dict)]
    if isinstance(result, dict) and declared:
        for key, kind in list(declared.items())[:_MAX_ITEMS]:
            if kind in MEDIA_TYPES and key in result:
                _add(_declared_media(result[key], kind, str(key), files), found, seen)
    _walk(result, "", 0, found, seen)
    seen |= {_key(m.poster) for m in found if m.poster}
    for i, item in enumerate(outputs or ()):
        if isinstance(item, dict):
            _add(_from_dict(item, f"outputs[{i}]"), found, seen)
    return found


def posters(media: Iterable[Media]) -> list[Media]:
    """The poster images of the videos in `media` that are not among them: fetched with the previews, so that a
    saved notebook shows each video's still (`puras_nb.model.stills`)."""
    items = list(media)
    listed = {_key(m.url) for m in items}
    out: list[Media] = []
    for m in items:
        if m.kind == "video" and m.poster and _key(m.poster) not in listed:
            listed.add(_key(m.poster))
            poster = Media(url=m.poster, kind="image", mime=mime_of(m.poster) or "image/*",
                           path=f"{m.path}.poster" if m.path else "poster")
            out.append(replace(poster, name=file_name(poster)))
    return out


def file_name(media: Media) -> str:
    """The name of a media item's file: the one the result gives, else the last part of its URL's path ("" for a
    data: URL without a name)."""
    return media.name or ("" if media.is_data else unquote(urlsplit(media.url).path.rsplit("/", 1)[-1]))


def describe(media: Media) -> str:
    """One plain line naming a media item, for text/plain (what VS Code's untrusted mode and terminals show):
    `video: ad.mp4 (video/mp4)`. No URL: signed URLs expire, and a saved notebook's text is compared by nbval."""
    name = file_name(media)
    where = media.path or media.kind
    label = f"{where}: {name} ({media.mime})" if name else f"{where}: {media.kind} ({media.mime}, embedded)"
    return plain(cut(label, 160))


def shown_mime(media: Media, data: bytes | None) -> str:
    """The type to show `media` as: its own, or where only its kind is known (`image/*`, a field the output
    schema declares), what its bytes are."""
    if not media.mime.endswith("/*"):
        return media.mime
    sniffed = sniff_mime(data) if data is not None else None
    return sniffed if media_kind(sniffed) == media.kind and sniffed is not None else media.mime


def text_fields(result: Any, declared: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """`(field, text)` of each top-level field the output schema declares `text` whose value is a string, in
    declared order: shown as text (line breaks kept), not as a quoted JSON string."""
    if not isinstance(result, dict) or not declared:
        return []
    return [(k, result[k]) for k, kind in declared.items() if kind == "text" and isinstance(result.get(k), str)]
