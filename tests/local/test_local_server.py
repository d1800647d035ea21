"""Starting and stopping the emulator: start() handles, auth, eviction, `puras-nb serve`, dying with the parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from puras_nb import local
from puras_nb.api.tls import ssl_context
from puras_nb.local.__main__ import main as local_main
from puras_nb.local.emulator import Emulator
from puras_nb.local.server import ServerThread

CONSOLE_SCRIPT = Path(sys.executable).with_name("puras-nb")


def submit(url: str, skill: str, inputs: dict | None = None, key: str = "k", **params: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/jobs",
        params={"skillpack": "demo", "wait": "true", "timeout": "30", **params},
        json={"skill": skill, "inputs": inputs or {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=40,
        verify=ssl_context(),
    )


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (Linux /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_handle_url_key_data_dir_and_stop(tmp_path: Path) -> None:
    """A child process (its key given by require_key is every session emulator's: tests/conftest.py)."""
    server = local.start(data_dir=str(tmp_path))
    try:
        assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith("/")
        assert server.api_key.startswith("puras_local_") and len(server.api_key) > 40
        assert server.running and server.pid
        assert httpx.get(f"{server.url}/health").json()["ok"] is True
        assert submit(server.url, "echo", {"a": 1}, key=server.api_key).json()["result"] == {"a": 1}
        assert submit(server.url, "echo").status_code == 401
        job = submit(server.url, "speech", {"text": "kept on disk"}, key=server.api_key).json()
        assert (tmp_path / job["result"]["audio"]["drive_path"]).is_file()
    finally:
        server.stop()
    assert not server.running
    server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/health", timeout=2)


def test_in_process_handle() -> None:
    with local.start(in_process=True) as server:
        assert server.pid is None and server.emulator is not None and "in-process" in repr(server)
        assert submit(server.url, "echo", {"a": 1}, key=server.api_key).json()["result"] == {"a": 1}
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/health", timeout=2)


def test_require_key() -> None:
    with local.start(require_key="sekrit", in_process=True) as server:
        assert server.api_key == "sekrit"
        missing = httpx.get(f"{server.url}/v1/jobs")
        assert missing.status_code == 401 and missing.json()["detail"].startswith("missing API key")
        wrong = submit(server.url, "echo", key="nope")
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
        ok = submit(server.url, "image", {"prompt": "p", "width": 16, "height": 16}, key="sekrit")
        assert ok.status_code == 201
        assert httpx.get(f"{server.url}/health").status_code == 200
        assert httpx.get(ok.json()["result"]["image"]["url"]).status_code == 200
        assert httpx.get(f"{server.url}/_emulator/stats").status_code == 401
        assert httpx.get(f"{server.url}/_emulator/stats", headers={"Authorization": "Bearer sekrit"}).status_code == 200


def test_the_emulator_process_leaves_the_client_side_unimported() -> None:
    """`python -m puras_nb.local` imports the package, whose exceptions derive from httpx's: they are imported when
    first asked for, as the client side is, so the server starts without httpx (with rich and click, 0.2 s of CPU
    of each start)."""
    code = (
        "import sys, puras_nb.local.entry, puras_nb.local.emulator, puras_nb.local.server\n"
        "print(sorted(m for m in sys.modules if m.startswith('httpx') or m in ('puras_nb.errors', 'puras_nb.api')))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout == "[]\n"


def test_eviction_keeps_memory_bounded() -> None:
    thread = ServerThread(Emulator(api_key="k", max_finished=3, max_file_bytes=10**9), "127.0.0.1", 0)
    thread.start()
    try:
        url = thread.url
        hang = httpx.post(
            f"{url}/v1/jobs",
            params={"skillpack": "demo"},
            json={"skill": "hang"},
            headers={"Authorization": "Bearer k"},
        ).json()
        image = submit(url, "image", {"prompt": "old", "width": 16, "height": 16}).json()
        image_url = image["result"]["image"]["url"]
        assert httpx.get(image_url).status_code == 200
        jobs = [submit(url, "echo", {"i": i}).json() for i in range(4)]
        held = httpx.get(f"{url}/v1/jobs", headers={"Authorization": "Bearer k"}).json()
        assert [j["id"] for j in held] == [j["id"] for j in reversed(jobs[1:])] + [hang["id"]]
        assert httpx.get(f"{url}/v1/jobs/{image['id']}", headers={"Authorization": "Bearer k"}).status_code == 404
        assert httpx.get(image_url).status_code == 404
        assert not list((thread.emu.store.files_dir / "jobs").glob(f"{image['id']}*"))
    finally:
        thread.stop()


def test_eviction_by_file_bytes() -> None:
    thread = ServerThread(Emulator(api_key="k", max_file_bytes=6000), "127.0.0.1", 0)
    thread.start()
    try:
        for i in range(5):
            submit(thread.url, "image", {"prompt": f"picture {i}", "width": 48, "height": 48})
        health = httpx.get(f"{thread.url}/health").json()
        assert 0 < health["file_bytes"] <= 6000 and health["jobs"] < 5
    finally:
        thread.stop()


def test_eviction_by_json_bytes() -> None:
    thread = ServerThread(Emulator(api_key="k", max_json_bytes=50_000), "127.0.0.1", 0)
    thread.start()
    try:
        for i in range(5):
            assert submit(thread.url, "echo", {"blob": str(i) * 10_000}).json()["status"] == "succeeded"
        health = httpx.get(f"{thread.url}/health").json()
        assert 0 < health["json_bytes"] <= 50_000 and health["jobs"] == 2
    finally:
        thread.stop()


def test_start_reports_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = local.importlib.util.find_spec
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: None if name == "av" else real(name))
    with pytest.raises(ImportError, match=r"pip install 'puras-nb\[local\]'"):
        local.start()


def test_start_failure_includes_child_stderr() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"cannot serve on 127.0.0.1:{port}") as info:
            local.start(port=port)
    assert "failed to start" in str(info.value) and "exited with code 1" in str(info.value)


def test_child_dies_with_its_parent() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from puras_nb import local
        server = local.start()
        print(server.pid, server.url, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid_text, url = parent.stdout.readline().split()
        assert httpx.get(f"{url}/health").status_code == 200
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while pid_alive(int(pid_text)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(int(pid_text)), "the emulator outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_cli_answers_health_quickly_and_exits_cleanly(sig: signal.Signals) -> None:
    cmd = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "puras_nb.cli"]
    proc = subprocess.Popen([*cmd, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        health = httpx.get(f"{url}/health", timeout=3)
        # Quick to start: it serves once it printed its URL, on little work (no media made before it listens).
        # Counted in the server's CPU seconds, not wall time: under load 13 a start took more than 3 s of wall.
        assert cpu_seconds(proc.pid) < 1.5  # 0.4 s here
        assert health.json()["ok"] is True
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert "local/demo" in lines[0] and lines[1] == "skills:" and lines[2].startswith("demo/echo ")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_cli_rejects_bad_faults(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m puras_nb.local`'s main, as the module runs it: refused before any server starts."""
    assert local_main(["--port", "0", "--faults", "rate=5"]) == 2
    assert "bad --faults" in capsys.readouterr().err
