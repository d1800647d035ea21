"""The demo skills' media are valid files (Pillow, wave, PyAV), served by signed URLs with Range support."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import av
import httpx
import pytest
from PIL import Image

from puras_nb import local
from puras_nb.api.tls import ssl_context
from puras_nb.local.renders import RenderCache
from tests.harness.served import served


@pytest.fixture
def http(emulator: local.LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=60, verify=ssl_context()) as client:
        yield client


def run(http: httpx.Client, skill: str, inputs: dict, version: int | None = None) -> dict:
    params = {"skillpack": "demo", "wait": "true", "timeout": "60"}
    if version:
        params["version"] = str(version)
    job = http.post("/v1/jobs", params=params, json={"skill": skill, "inputs": inputs}).json()
    assert job["status"] == "succeeded", job
    return job


def fetch(url: str) -> httpx.Response:
    r = httpx.get(url, timeout=30, verify=ssl_context())
    assert r.status_code == 200, r.text
    return r


def h264_duration(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        return float(video.duration * video.time_base)


def test_image_png_decodes_at_requested_size(http: httpx.Client, emulator: local.LocalServer) -> None:
    job = run(http, "image", {"prompt": "a red fox in the snow", "width": 200, "height": 120})
    image = job["result"]["image"]
    assert image["mime"] == "image/png" and (image["width"], image["height"]) == (200, 120)
    assert image["url"].startswith(f"{emulator.url}/files/") and image["drive_path"].endswith(".png")
    r = fetch(image["url"])
    assert r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    img.load()
    assert img.format == "PNG" and img.size == (200, 120)
    assert len(img.convert("RGB").resize((20, 12)).getcolors(240)) > 20, "the picture has visible content"
    assert job["result"]["prompt"] == "a red fox in the snow"
    assert job["cost_micros"] > 0 and job["usage"]["images"] == 1
    assert job["outputs"] == [
        {
            "name": image["name"],
            "drive_path": image["drive_path"],
            "size_bytes": len(r.content),
            "mime": "image/png",
            "url": job["outputs"][0]["url"],
        }
    ]
    assert job["outputs"][0]["url"] == image["url"]
    assert http.get(f"/v1/jobs/{job['id']}").json() == job, "polling a finished job gives the same object"


def test_speech_wav_has_requested_length(http: httpx.Client) -> None:
    job = run(http, "speech", {"text": "Hello from the local emulator.", "seconds": 1.5})
    audio = job["result"]["audio"]
    assert audio["mime"] == "audio/wav" and job["result"]["duration"] == pytest.approx(1.5)
    r = fetch(audio["url"])
    assert r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getnframes() / wav.getframerate() == pytest.approx(1.5, abs=0.01)
        frames = wav.readframes(wav.getnframes())
    assert max(frames[1::2]) > 20, "not silent"


def test_speech_natural_length_grows_with_text(http: httpx.Client) -> None:
    short = run(http, "speech", {"text": "Hi."})["result"]["duration"]
    long = run(http, "speech", {"text": "Hi. This sentence is quite a lot longer than the first one."})["result"]
    assert long["duration"] > short * 3
    with wave.open(io.BytesIO(fetch(long["audio"]["url"]).content)) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(long["duration"], abs=0.01)


def test_video_mp4_is_h264_of_expected_duration_with_poster(http: httpx.Client) -> None:
    job = run(http, "video", {"prompt": "waves", "seconds": 1.5, "fps": 12, "width": 161, "height": 90})
    video = job["result"]["video"]
    assert video["mime"] == "video/mp4" and video["duration"] == pytest.approx(1.5)
    data = fetch(video["url"]).content
    assert h264_duration(data) == pytest.approx(1.5, abs=1 / 12)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
        frames = list(container.decode(stream))
    assert len(frames) == 18
    assert frames[0].to_image().tobytes() != frames[-1].to_image().tobytes(), "it moves"
    poster = Image.open(io.BytesIO(fetch(video["poster"]).content))
    assert poster.format == "PNG" and poster.size == (160, 90)


def test_ugc_ad_result_and_progress(http: httpx.Client) -> None:
    job = run(http, "ugc-ad", {"product": "https://shop.example/p/aero-bottle", "duration": 2}, version=1)
    result = job["result"]
    assert set(result) == {"video", "thumbnail", "script", "voiceover"}
    assert "Aero Bottle" in result["script"]
    assert urlparse(result["thumbnail"]).path.endswith(".png") and result["thumbnail"].startswith("http://")
    data = fetch(result["video"]["url"]).content
    assert h264_duration(data) == pytest.approx(2.0, abs=0.05)
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    with wave.open(io.BytesIO(fetch(result["voiceover"]["url"]).content)) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(2.0, abs=0.01)
    assert Image.open(io.BytesIO(fetch(result["thumbnail"]).content)).format == "PNG"
    events = http.get(f"/v1/jobs/{job['id']}/events").json()
    messages = [e["payload"]["message"] for e in events if e["type"] == "progress"]
    assert ["script" in messages[0], "scenes" in messages[1], "voiceover" in messages[2], "mux" in messages[3]] == [
        True
    ] * 4
    todos = [e["payload"]["todos"] for e in events if e["type"] == "tool_result"]
    assert todos[0][0] == {"content": "Write the script", "status": "in_progress"}
    assert all(t["status"] == "completed" for t in todos[-1])
    assert {o["mime"] for o in job["outputs"]} == {"video/mp4", "image/png", "audio/wav"}
    assert job["cost_micros"] > 0 and job["usage"]["video_seconds"] == 2


def test_ugc_ad_versions_differ_visibly(http: httpx.Client) -> None:
    """v2 renders vertical at a higher resolution and frame rate with one more scene, and costs more for it."""
    inputs = {"product": "Sunny Sneakers", "duration": 2}
    job1, job2 = run(http, "ugc-ad", inputs, version=1), run(http, "ugc-ad", inputs, version=2)
    v1, v2 = job1["result"], job2["result"]
    assert v1["script"] != v2["script"]
    thumb1 = Image.open(io.BytesIO(fetch(v1["thumbnail"]).content))
    thumb2 = Image.open(io.BytesIO(fetch(v2["thumbnail"]).content))
    assert thumb1.width > thumb1.height and thumb2.height > thumb2.width
    assert thumb2.width * thumb2.height > 2 * thumb1.width * thumb1.height
    with av.open(io.BytesIO(fetch(v2["video"]["url"]).content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (540, 960)
        assert len(list(container.decode(stream))) == 60, "2 s at 30 fps"
    assert (v1["video"]["fps"], v2["video"]["fps"]) == (24, 30)
    assert job2["usage"]["scenes"] == job1["usage"]["scenes"] + 1
    assert job2["usage"]["megapixel_frames"] > 2 * job1["usage"]["megapixel_frames"]
    assert job2["cost_micros"] > job1["cost_micros"] * 1.3


def test_ugc_ad_tone_changes_the_script_and_the_colours(http: httpx.Client) -> None:
    base = {"product": "Sunny Sneakers", "duration": 2}
    friendly = run(http, "ugc-ad", base, version=1)
    luxury = run(http, "ugc-ad", {**base, "tone": "luxury"}, version=1)
    assert friendly["inputs"].get("tone", "friendly") == "friendly"
    assert friendly["result"]["script"] != luxury["result"]["script"]

    def brightness(job: dict) -> float:
        img = Image.open(io.BytesIO(fetch(job["result"]["thumbnail"]).content)).convert("RGB")
        return sum(img.resize((1, 1), Image.BOX).getpixel((0, 0))) / 3

    assert brightness(luxury) < brightness(friendly) - 40, "luxury is dark navy and gold, friendly pastel"
    bad = http.post("/v1/jobs", params={"skillpack": "demo"}, json={"skill": "ugc-ad", "inputs": {**base, "tone": "x"}})
    assert bad.status_code == 422 and "tone" in bad.text


def progress(http: httpx.Client, job: dict) -> list[str]:
    """The messages of a job's progress events, in order."""
    events = http.get(f"/v1/jobs/{job['id']}/events").json()
    return [e["payload"]["message"] for e in events if e["type"] == "progress"]


def test_the_same_inputs_reuse_their_video_and_other_inputs_render_their_own() -> None:
    """A run repeated with the same inputs at the same version (a cell run again, a comparison's shared column)
    reuses the video rendered for the first: the same bytes in files of its own, not a frame rendered again. Another
    version renders its own. A server of its own, so no earlier test's run was the first."""
    with served() as http:
        inputs = {"product": "Reused Mug", "duration": 2}
        first, again = (run(http, "ugc-ad", inputs, version=1) for _ in range(2))
        assert any(m.startswith("muxing frame") for m in progress(http, first))
        said = progress(http, again)
        assert not any(m.startswith(("rendering", "muxing")) for m in said), said
        assert "reusing the video muxed earlier from the same inputs" in said
        assert again["result"]["video"]["drive_path"] != first["result"]["video"]["drive_path"]
        for media in ("video", "voiceover"):
            assert fetch(again["result"][media]["url"]).content == fetch(first["result"][media]["url"]).content
        assert fetch(again["result"]["thumbnail"]).content == fetch(first["result"]["thumbnail"]).content
        assert (again["cost_micros"], again["usage"]) == (first["cost_micros"], first["usage"])
        clip = {"prompt": "reused waves", "seconds": 0.5, "fps": 8, "width": 64, "height": 64}
        one, same, two = (run(http, "video", clip, version=v) for v in (1, 1, 2))
        assert progress(http, same)[0] == "reusing the video made earlier from the same inputs"
        assert progress(http, two)[0] == "painting the scene", "v2 renders its own"
        videos = [fetch(job["result"]["video"]["url"]).content for job in (one, same, two)]
        assert videos[0] == videos[1] != videos[2]


def test_the_render_cache_is_bounded_and_drops_the_least_recently_used_first() -> None:
    cache = RenderCache(max_bytes=400)
    for key in "abcd":
        cache.put(key, (key.encode() * 100, 2.0))
    assert cache.get("a") == (b"a" * 100, 2.0)
    cache.put("e", (b"e" * 100,))
    assert cache.get("b") is None and all(cache.get(key) for key in "acde"), "b was the least recently used"
    cache.put("big", (b"x" * 101,))
    assert cache.get("big") is None and cache.get("c"), "more than a quarter of the budget is not kept"


def test_gallery_lists_n_distinct_pngs(http: httpx.Client) -> None:
    images = run(http, "gallery", {"prompt": "tiny houses", "n": 3})["result"]["images"]
    assert len(images) == 3 and all(i["mime"] == "image/png" for i in images)
    blobs = [fetch(i["url"]).content for i in images]
    assert len(set(blobs)) == 3
    assert all(Image.open(io.BytesIO(b)).format == "PNG" for b in blobs)


def test_file_route_range_and_signatures(http: httpx.Client, emulator: local.LocalServer) -> None:
    job = run(http, "video", {"prompt": "range", "seconds": 0.5, "fps": 8, "width": 64, "height": 64})
    url = job["result"]["video"]["url"]
    full = fetch(url).content
    r = httpx.get(url, headers={"Range": "bytes=10-29"})
    assert r.status_code == 206 and r.content == full[10:30]
    assert r.headers["content-range"] == f"bytes 10-29/{len(full)}"
    assert fetch(url).headers["accept-ranges"] == "bytes"
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    base = f"{emulator.url}{parsed.path}"
    bad_sig = httpx.get(base, params={"exp": query["exp"][0], "sig": "0" * 32})
    assert bad_sig.status_code == 403 and "signature" in bad_sig.json()["detail"]
    longer = httpx.get(base, params={"exp": str(int(query["exp"][0]) + 10), "sig": query["sig"][0]})
    assert longer.status_code == 403
    assert httpx.get(base).status_code == 403
    other = base.replace(".mp4", "-poster.png")
    assert httpx.get(other, params={"exp": query["exp"][0], "sig": query["sig"][0]}).status_code == 403


def test_expired_and_missing_files(tmp_path: object) -> None:
    with local.start(in_process=True) as server:
        emu = server.emulator
        auth = {"Authorization": f"Bearer {server.api_key}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
            job = run(client, "image", {"prompt": "expiring", "width": 16, "height": 16})
        drive_path = job["result"]["image"]["drive_path"]
        exp = int(time.time()) - 5
        expired = httpx.get(
            f"{server.url}/files/{drive_path}", params={"exp": exp, "sig": emu.signer.signature(drive_path, exp)}
        )
        assert expired.status_code == 403 and "expired" in expired.json()["detail"]
        gone = "jobs/00000000-0000-0000-0000-000000000000/x.png"
        exp = int(time.time()) + 60
        r = httpx.get(f"{server.url}/files/{gone}", params={"exp": exp, "sig": emu.signer.signature(gone, exp)})
        assert r.status_code == 404 and r.json()["detail"]


@pytest.mark.parametrize(
    ("skill", "inputs"),
    [
        ("video", {"prompt": "long", "seconds": 30, "fps": 30}),
        ("speech", {"text": "a long long reading. " * 100, "seconds": 300}),
    ],
)
def test_media_jobs_cancel_promptly(http: httpx.Client, skill: str, inputs: dict) -> None:
    job = http.post("/v1/jobs", params={"skillpack": "demo"}, json={"skill": skill, "inputs": inputs}).json()
    deadline = time.monotonic() + 10
    while not http.get(f"/v1/jobs/{job['id']}/events").json()[1:] and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.perf_counter()
    cancelled = http.post(f"/v1/jobs/{job['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and time.perf_counter() - started < 1.5
    assert http.get(f"/v1/jobs/{job['id']}/events").json()[-1]["type"] == "cancelled"
