"""Find media (images, audio, video) anywhere in a job result: URLs, `data:` URLs and file dicts, in order.

Results are untrusted: only what `puras_nb.api.media.safe_url` accepts, of a media type we render, counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..api.media import Media, mime_of, safe_url
from ..mime import media_kind

__all__ = ["find_media"]

_URL_KEYS = ("url", "signed_url", "src", "href")
_MIME_KEYS = ("mime", "mime_type", "mimetype", "content_type", "contentType", "type")
_MAX_DEPTH = 12
_MAX_ITEMS = 200


def _from_url(url: str, mime: str | None, name: str, path: str, size: Any = None, poster: Any = None) -> Media | None:
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
    poster_url = poster if isinstance(poster, str) and safe_url(poster) and media_kind(mime_of(poster)) else None
    return Media(
        url=url,
        kind=kind,
        mime=mime.split(";", 1)[0].strip().lower(),
        name=name,
        path=path,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        poster=poster_url,
    )


def _from_dict(d: dict, path: str) -> Media | None:
    url = next((d[k] for k in _URL_KEYS if isinstance(d.get(k), str)), None)
    if url is None:
        return None
    mime = next((d[k] for k in _MIME_KEYS if isinstance(d.get(k), str) and "/" in d[k]), None)
    name = given if isinstance(given := d.get("name"), str) else ""
    if not name and isinstance(d.get("drive_path"), str):
        name = d["drive_path"].rsplit("/", 1)[-1]
    return _from_url(url, mime, name, path, d.get("size_bytes", d.get("size")), d.get("poster"))


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


def _walk(value: Any, path: str, depth: int, out: list[Media], seen: set[str]) -> None:
    if len(out) >= _MAX_ITEMS or depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        _add(_from_url(value, None, "", path), out, seen)
    elif isinstance(value, dict):
        media = _from_dict(value, path)
        _add(media, out, seen)
        for key, item in value.items():
            if media is not None and key in (*_URL_KEYS, "poster"):
                continue
            _walk(item, f"{path}.{key}" if path else str(key), depth + 1, out, seen)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", depth + 1, out, seen)


def find_media(result: Any, outputs: Iterable[dict] | None = None) -> list[Media]:
    """Every renderable media item in `result` (depth-first, in order), then the job's `outputs` files.

    Recognises http(s) URLs with a media extension, `data:` URLs of media types, and dicts with
    `url`/`signed_url` plus a mime. Duplicates (the same file, even signed twice) are kept once; a video's
    `poster` stays on the video (and is listed on its own only where the result names it elsewhere).
    """
    found: list[Media] = []
    seen: set[str] = set()
    _walk(result, "", 0, found, seen)
    for i, item in enumerate(outputs or ()):
        if isinstance(item, dict):
            _add(_from_dict(item, f"outputs[{i}]"), found, seen)
    return found
