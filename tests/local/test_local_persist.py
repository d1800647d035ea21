"""A restart on the same --data-dir loses nothing (issue 22, item 12): jobs, events, feedback, files, the signing
secret and the active deployments survive; a job that was running when the server was killed ends as failed,
saying so; what no job owns is swept; without --data-dir nothing is left behind. Real server processes, killed
with SIGKILL where that is the point."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from puras_nb import local
from puras_nb.local.emulator import Emulator
from puras_nb.local.persist import DB_NAME, DataDirError, lock_dir, sweep_abandoned

KEY = "puras_live_persist_test_key"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")


class Api:
    """The emulator's routes over HTTP with the key."""

    def __init__(self, server: local.LocalServer) -> None:
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)

    def run(self, skill: str, inputs: dict, *, wait: bool = True, **params: str) -> dict:
        query = {"skillpack": "demo", **({"wait": "true", "timeout": "60"} if wait else {}), **params}
        r = self.http.post("/v1/jobs", params=query, json={"skill": skill, "inputs": inputs})
        assert r.status_code == 201, r.text
        return r.json()

    def job(self, job_id: str) -> httpx.Response:
        return self.http.get(f"/v1/jobs/{job_id}")

    def events(self, job_id: str) -> list[dict]:
        return self.http.get(f"/v1/jobs/{job_id}/events").json()

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def start(data_dir: Path, port: int = 0, *, in_process: bool = False) -> tuple[local.LocalServer, Api]:
    server = local.start(port=port, data_dir=str(data_dir), require_key=KEY, in_process=in_process)
    return server, Api(server)


def poll(check, timeout: float = 60.0):
    """`check()` once it is truthy, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def same_signed_url(url: str, server: local.LocalServer) -> str:
    """`url` (signed by an earlier server) on `server`: the same path and signature, the new host and port."""
    parts = urlsplit(url)
    return f"{server.url}{parts.path}?{parts.query}"


def test_a_restart_on_the_same_data_dir_loses_nothing(data_dir: Path) -> None:
    """Served from this process (a clean stop closes the database as a process's exit does; a child process on a
    data dir is tested in test_local_server, killed ones below)."""
    server, api = start(data_dir, in_process=True)
    try:
        image = api.run("image", {"prompt": "a kept lighthouse", "width": 64, "height": 48})
        counted = api.run("count", {"n": 30, "delay": 0})
        failed = api.run("fail", {"after": 1, "message": "kept failure"})
        rated = api.http.post(f"/v1/jobs/{image['id']}/feedback", json={"rating": 1, "end_user_id": "ada"}).json()
        v1 = next(d for d in api.http.get("/v1/skillpacks/demo/deployments").json() if d["version"] == 1)
        api.http.post(f"/v1/skillpacks/demo/deployments/{v1['id']}/activate").raise_for_status()
        before = {j["id"]: j for j in api.http.get("/v1/jobs").json()}
        events = {job_id: api.events(job_id) for job_id in before}
        png = httpx.get(image["result"]["image"]["url"]).content
        health, balance = api.http.get("/health").json(), api.http.get("/v1/billing/balance").json()
        port = int(urlsplit(server.url).port or 0)
    finally:
        api.close()
        server.stop()

    server, api = start(data_dir, port=port, in_process=True)
    try:
        assert {j["id"]: j for j in api.http.get("/v1/jobs").json()} == before
        assert [j["id"] for j in api.http.get("/v1/jobs").json()] == list(before), "newest first, as before"
        assert {job_id: api.events(job_id) for job_id in before} == events
        assert len(events[counted["id"]]) == 31 and api.job(failed["id"]).json()["error"] == "kept failure"
        # the signed URLs a client already holds still work: same secret, same files
        assert httpx.get(image["result"]["image"]["url"]).content == png
        again = api.http.post(f"/v1/jobs/{image['id']}/feedback", json={"rating": -1, "end_user_id": "ada"}).json()
        assert (again["id"], again["created_at"], again["rating"]) == (rated["id"], rated["created_at"], -1)
        after = api.http.get("/health").json()
        assert (after["jobs"], after["file_bytes"]) == (health["jobs"], health["file_bytes"]) and after["file_bytes"]
        assert after["json_bytes"] == health["json_bytes"]
        assert api.http.get("/v1/billing/balance").json()["jobs_cost_micros"] == balance["jobs_cost_micros"]
        assert api.run("echo", {"a": 1})["version"] == 1, "v1 is still the active deployment"
        replayed = api.http.post(f"/v1/jobs/{counted['id']}/replay", params={"wait": "true"}).json()
        assert replayed["parent_job_id"] == counted["id"] and replayed["inputs"] == {"n": 30, "delay": 0}
    finally:
        api.close()
        server.stop()
    assert not list(data_dir.rglob(f"*{'.part'}")) and not (data_dir / "tmp").exists()


def test_a_killed_server_leaves_no_partial_file_and_its_running_jobs_end_as_failed(data_dir: Path) -> None:
    server, api = start(data_dir)
    try:
        done = api.run("image", {"prompt": "made before the kill", "width": 32, "height": 32})
        hang = api.run("hang", {}, wait=False)
        video = api.run("video", {"prompt": "cut short", "seconds": 30, "fps": 30, "width": 1280, "height": 720},
                        wait=False)

        def rendering() -> bool:
            return any("rendering" in e["payload"]["message"] for e in api.events(video["id"]))

        assert poll(rendering), "the video is being rendered"
        poll(lambda: list((data_dir / "tmp" / video["id"]).rglob("video.mp4")))
        poster = api.job(video["id"]).json()["outputs"][0]
        port = int(urlsplit(server.url).port or 0)
        os.kill(server.pid or 0, signal.SIGKILL)
        poll(lambda: not server.running)
    finally:
        api.close()
        server.stop()
    # what the kill left: the video half-encoded in the job's temporary folder; plus a partial file and files of
    # no known job, as a kill in the middle of writing them would leave
    assert list((data_dir / "tmp").rglob("video.mp4")), "the kill came mid-render"
    partial = data_dir / "jobs" / done["id"] / ".late.png.1234abcd.part"
    partial.write_bytes(b"\x89PNG half")
    stray = data_dir / "jobs" / "not-a-job" / "x.png"
    stray.parent.mkdir()
    stray.write_bytes(b"nobody's")
    unrecorded = data_dir / "jobs" / done["id"] / "unrecorded.png"
    unrecorded.write_bytes(b"never recorded")

    server, api = start(data_dir, port=port)
    try:
        for job in (hang, video):
            body = api.job(job["id"]).json()
            assert body["status"] == "failed" and body["finished_at"], body
            assert body["error"].startswith("the server restarted while this job was running; it did not finish")
            last = api.events(job["id"])[-1]
            assert last["type"] == "error" and last["payload"]["message"] == body["error"]
        assert api.job(done["id"]).json()["status"] == "succeeded"
        assert httpx.get(done["result"]["image"]["url"]).status_code == 200
        assert httpx.get(poster["url"]).status_code == 200, "a file saved before the kill is kept, at its URL"
        assert not partial.exists() and not stray.parent.exists() and not unrecorded.exists()
        assert not (data_dir / "tmp").exists()
        kept = sorted(p.relative_to(data_dir).as_posix() for p in (data_dir / "jobs").rglob("*") if p.is_file())
        assert kept == sorted([done["result"]["image"]["drive_path"], poster["drive_path"]])
        assert api.http.get("/health").json()["file_bytes"] == sum((data_dir / k).stat().st_size for k in kept)
    finally:
        api.close()
        server.stop()


def test_a_running_job_at_a_clean_stop_is_recorded_as_failed(data_dir: Path) -> None:
    emu = Emulator(api_key=None, data_dir=str(data_dir))
    pack = emu.packs[0]
    skill, version = pack.resolve("hang", None)
    job = emu.store.create(pack, skill, version, {}, {}, base_url="http://127.0.0.1:1")
    assert poll(lambda: emu.store.get(job["id"])["status"] == "running")
    emu.close()
    emu = Emulator(api_key=None, data_dir=str(data_dir))
    try:
        stopped = emu.store.get(job["id"])
        assert stopped["status"] == "failed" and stopped["error"].startswith("the server stopped while this job was")
    finally:
        emu.close()


def test_restored_jobs_count_against_the_limits_and_are_evicted_with_their_files(data_dir: Path) -> None:
    emu = Emulator(api_key=None, data_dir=str(data_dir))
    pack = emu.packs[0]
    made = []
    for prompt in ("one", "two", "three"):
        skill, version = pack.resolve("image", None)
        job = emu.store.create(pack, skill, version, {"prompt": prompt},
                               {"prompt": prompt, "width": 16, "height": 16}, base_url="http://127.0.0.1:1")
        made.append(job["id"])
        assert poll(lambda jid=job["id"]: emu.store.get(jid)["status"] == "succeeded")
    emu.close()
    emu = Emulator(api_key=None, data_dir=str(data_dir), max_finished=2)
    try:
        assert emu.store.get(made[0]) is None and emu.store.events(made[0]) is None
        assert not (data_dir / "jobs" / made[0]).exists() and (data_dir / "jobs" / made[2]).is_dir()
        assert emu.store.counts()["jobs"] == 2
        with sqlite3.connect(data_dir / DB_NAME) as db:
            assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 2
            assert db.execute("SELECT COUNT(*) FROM events WHERE job_id = ?", (made[0],)).fetchone()[0] == 0
    finally:
        emu.close()


def test_one_data_dir_serves_one_emulator_at_a_time(data_dir: Path) -> None:
    first = Emulator(api_key=None, data_dir=str(data_dir))
    try:
        in_use = rf"{data_dir} is in use by another puras-nb emulator \(pid {os.getpid()}\)"
        with pytest.raises(DataDirError, match=in_use):
            Emulator(api_key=None, data_dir=str(data_dir))
        cmd = [sys.executable, "-m", "puras_nb.cli", "serve", "--port", "0", "--data-dir", str(data_dir)]
        refused = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "is in use by another puras-nb emulator" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        first.close()
    Emulator(api_key=None, data_dir=str(data_dir)).close()  # free again once the first stopped


def test_a_database_it_cannot_read_is_refused_saying_so(tmp_path: Path) -> None:
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataDirError, match="is not a puras-nb database"):
        Emulator(api_key=None, data_dir=str(tmp_path / "garbage"))
    (tmp_path / "newer").mkdir()
    with sqlite3.connect(tmp_path / "newer" / DB_NAME) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(DataDirError, match="written by another version of puras-nb"):
        Emulator(api_key=None, data_dir=str(tmp_path / "newer"))
    emu = Emulator(api_key=None, data_dir=str(tmp_path / "fresh"))
    emu.close()
    assert oct((tmp_path / "fresh" / DB_NAME).stat().st_mode & 0o777) == oct(0o600)


def test_without_a_data_dir_nothing_is_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the child's temporary directory goes here
    with local.start(require_key=KEY) as server:
        api = Api(server)
        api.run("image", {"prompt": "gone after", "width": 16, "height": 16})
        api.close()
        assert [p.name.startswith("puras-nb-local-") for p in tmp_path.iterdir()] == [True]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    yield tmp_path


def test_the_temporary_folders_of_killed_servers_are_swept(temp_root: Path) -> None:
    abandoned, held, foreign = temp_root / "puras-nb-local-dead", temp_root / "puras-nb-local-live", temp_root / "x"
    for folder in (abandoned, held, foreign):
        folder.mkdir()
        (folder / ".lock").write_text("1")
    holder = lock_dir(held)
    try:
        sweep_abandoned("puras-nb-local-", min_age=0)
        assert not abandoned.exists() and held.is_dir() and foreign.is_dir()
        young = temp_root / "puras-nb-local-young"
        young.mkdir()
        (young / ".lock").write_text("")
        sweep_abandoned("puras-nb-local-")
        assert young.is_dir(), "a folder made a moment ago may belong to a server that is starting"
        os.utime(young, (time.time() - 120, time.time() - 120))
        Emulator(api_key=None).close()  # a server without a data dir sweeps as it starts
        assert not young.exists() and held.is_dir()
        assert [p.name for p in temp_root.iterdir() if p.name.startswith("puras-nb-local-")] == [held.name]
    finally:
        holder.close()
