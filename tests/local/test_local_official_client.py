"""The official `puras` client (0.20) works against the emulator unchanged."""

from __future__ import annotations

import io

import av
import httpx
import puras
import pytest

from puras_nb import local


@pytest.fixture
def client(emulator: local.LocalServer) -> puras.Client:
    return puras.Client(api_key=emulator.api_key, api_base=emulator.url)


def test_echo_run_and_submit(client: puras.Client) -> None:
    assert client.run("demo/echo", {"hello": "world"}, poll_interval=0.05) == {"hello": "world"}
    assert client.run("local/demo/echo", {"n": 1}, poll_interval=0.05) == {"n": 1}
    job = client.submit("echo", {"x": 1}, skillpack="demo", wait=True, timeout=10)
    assert job["status"] == "succeeded" and job["result"] == {"x": 1}
    assert client.get(job["id"]) == job
    assert client.wait(job["id"], poll_interval=0.05)["status"] == "succeeded"


def test_skillpack_by_uuid_and_version(client: puras.Client, emulator: local.LocalServer) -> None:
    auth = {"Authorization": f"Bearer {emulator.api_key}"}
    demo_id = httpx.get(f"{emulator.url}/v1/skillpacks", headers=auth).json()[0]["id"]
    by_id = puras.Client(api_key=emulator.api_key, api_base=emulator.url, skillpack=demo_id)
    job = by_id.submit("echo", {"v": 1}, version=1, wait=True)
    assert job["result"] == {"v": 1} and job["version"] == 1


def test_ugc_ad(client: puras.Client) -> None:
    result = client.run(
        "demo/ugc-ad", {"product": "https://shop.example/p/trail-runner", "duration": 2}, version=1, poll_interval=0.1
    )
    assert set(result) == {"video", "thumbnail", "script", "voiceover"}
    assert "Trail Runner" in result["script"]
    assert result["video"]["mime"] == "video/mp4" and result["voiceover"]["mime"] == "audio/wav"
    data = httpx.get(result["video"]["url"]).content
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert float(stream.duration * stream.time_base) == pytest.approx(2.0, abs=0.05)


def test_fail_raises_job_error(client: puras.Client) -> None:
    with pytest.raises(puras.JobError) as info:
        client.run("demo/fail", {"message": "nope"}, poll_interval=0.05)
    assert info.value.job["status"] == "failed" and info.value.job["error"] == "nope"
    assert str(info.value).endswith("failed: nope")


def test_unknown_skill_is_api_error_404(client: puras.Client) -> None:
    with pytest.raises(puras.PurasAPIError) as info:
        client.run("demo/does-not-exist")
    assert info.value.status == 404 and "does-not-exist" in info.value.detail
    with pytest.raises(puras.PurasAPIError) as info:
        client.submit("elsewhere/echo")
    assert info.value.status == 404


def test_schema_error_and_feedback(client: puras.Client) -> None:
    with pytest.raises(puras.PurasAPIError) as info:
        client.submit("demo/image", {"width": 10})
    assert info.value.status == 422 and "inputs.prompt" in info.value.detail
    job = client.submit("demo/echo", wait=True)
    row = client.feedback(job["id"], rating=1, comment="great", end_user_id="me")
    assert row["job_id"] == job["id"] and row["rating"] == 1 and row["comment"] == "great"


def test_wrong_key_is_401() -> None:
    with local.start(require_key="right", in_process=True) as server:
        with pytest.raises(puras.PurasAPIError) as info:
            puras.Client(api_key="wrong", api_base=server.url).run("demo/echo")
        assert info.value.status == 401
        assert puras.Client(api_key=server.api_key, api_base=server.url).run("demo/echo", {"a": 1}) == {"a": 1}
