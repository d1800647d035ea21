"""Who may talk to the emulator (issue 15): a key on every route, Host and Origin checks, JSON-only bodies,
CORS only for named origins; the key kept off the child's command line (issue 12 #3); and an unexpected
error that costs no keep-alive client its next request (issue 12 #4). All over loopback HTTP."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import puras
import pytest

from puras_nb import local
from puras_nb.api.tls import ssl_context
from puras_nb.local.__main__ import main as local_main
from puras_nb.local.guard import Door, new_key, normalize_origin

EVIL = "https://evil.example"
FRONT_END = "http://localhost:3000"
PURAS_CLI = Path(sys.executable).with_name("puras")


@pytest.fixture(scope="module")
def server() -> Iterator[local.LocalServer]:
    """A child-process emulator with a generated key and one allowed browser origin."""
    with local.start(cors=[FRONT_END + "/"]) as handle:
        yield handle


def key(server: local.LocalServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


def job_count(server: local.LocalServer) -> int:
    return len(httpx.get(f"{server.url}/v1/jobs", headers=key(server), verify=ssl_context()).json())


def submit(server: local.LocalServer, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/jobs",
        params={"skillpack": "demo", "wait": "true"},
        json={"skill": "echo", "inputs": {"a": 1}},
        headers={**key(server), **headers},
        verify=ssl_context(),
    )


def test_every_route_but_health_and_files_needs_the_key(server: local.LocalServer) -> None:
    for method, path in [
        ("GET", "/v1/jobs"),
        ("POST", "/v1/jobs?skillpack=demo"),
        ("GET", "/v1/skillpacks"),
        ("GET", "/v1/jobs/x/events"),
        ("POST", "/v1/jobs/x/cancel"),
        ("GET", "/_emulator/stats"),
        ("PUT", "/_emulator/faults"),
        ("POST", "/_emulator/reset-stats"),
        ("GET", "/v1/nothing"),
    ]:
        r = httpx.request(method, server.url + path, verify=ssl_context())
        assert r.status_code == 401, path
        assert "missing API key" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"
        wrong = httpx.request(
            method, server.url + path, headers={"Authorization": "Bearer " + new_key()}, verify=ssl_context()
        )
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
    assert httpx.get(f"{server.url}/health").json()["ok"] is True
    assert httpx.get(f"{server.url}/v1/jobs", headers=key(server)).status_code == 200


def test_each_start_makes_its_own_key() -> None:
    with local.start(in_process=True) as one, local.start(in_process=True) as two:
        assert one.api_key != two.api_key and one.api_key.startswith("puras_local_")
        assert httpx.get(f"{one.url}/v1/jobs", headers=key(two)).status_code == 401
        assert httpx.get(f"{one.url}/v1/jobs", headers=key(one)).status_code == 200
    assert not hasattr(local, "DEFAULT_API_KEY")
    with pytest.raises(ValueError, match="printable ASCII"):
        local.start(require_key="two words", in_process=True)


def test_signed_file_urls_need_no_key_until_they_expire(server: local.LocalServer) -> None:
    job = httpx.post(
        f"{server.url}/v1/jobs",
        params={"skillpack": "demo", "wait": "true"},
        json={"skill": "image", "inputs": {"prompt": "capability", "width": 16, "height": 16}},
        headers=key(server),
    ).json()
    url = job["result"]["image"]["url"]
    r = httpx.get(url)
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert httpx.get(url.split("?")[0]).status_code == 403


def test_foreign_origins_get_no_cors_headers(server: local.LocalServer) -> None:
    r = httpx.get(f"{server.url}/v1/jobs", headers={**key(server), "Origin": EVIL})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    preflight = httpx.options(
        f"{server.url}/v1/jobs",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in httpx.get(f"{server.url}/health", headers={"Origin": EVIL}).headers


def test_named_origin_gets_cors_and_a_keyless_preflight(server: local.LocalServer) -> None:
    preflight = httpx.options(
        f"{server.url}/v1/jobs",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == FRONT_END
    r = submit(server, Origin=FRONT_END)
    assert r.status_code == 201 and r.headers["access-control-allow-origin"] == FRONT_END
    unauthorised = httpx.get(f"{server.url}/v1/jobs", headers={"Origin": FRONT_END})
    assert unauthorised.status_code == 401 and unauthorised.headers["access-control-allow-origin"] == FRONT_END


def test_state_changing_requests_from_a_foreign_origin_are_refused(server: local.LocalServer) -> None:
    before = job_count(server)
    for origin in (EVIL, "null", "http://127.0.0.1:1"):
        r = submit(server, Origin=origin)
        assert r.status_code == 403 and "--cors" in r.json()["detail"], origin
    assert job_count(server) == before
    same_origin = server.url
    assert submit(server, Origin=same_origin).status_code == 201


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"skill": "echo"}'),
        ("application/x-www-form-urlencoded", b"skill=echo"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="skill"\r\n\r\necho\r\n'),
        (None, b'{"skill": "echo"}'),
    ],
)
def test_bodies_that_are_not_json_are_415_and_create_no_job(
    server: local.LocalServer, content_type: str | None, body: bytes
) -> None:
    before = job_count(server)
    headers = key(server) | ({"Content-Type": content_type} if content_type else {})
    r = httpx.post(f"{server.url}/v1/jobs", params={"skillpack": "demo"}, content=body, headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert job_count(server) == before


def test_json_content_types_and_bodyless_posts_pass(server: local.LocalServer) -> None:
    for ctype in ("application/json; charset=utf-8", "application/merge-patch+json"):
        r = httpx.post(
            f"{server.url}/v1/jobs",
            params={"skillpack": "demo"},
            content=b'{"skill": "hang"}',
            headers={**key(server), "Content-Type": ctype},
        )
        assert r.status_code == 201, ctype
        cancelled = httpx.post(f"{server.url}/v1/jobs/{r.json()['id']}/cancel", headers=key(server))
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8787", "127.0.0.1.nip.io", "10.0.0.1"])
def test_hosts_that_are_not_this_server_are_403(server: local.LocalServer, host: str) -> None:
    r = httpx.get(f"{server.url}/v1/jobs", headers={**key(server), "Host": host})
    assert r.status_code == 403 and "host" in r.json()["detail"]
    assert httpx.get(f"{server.url}/health", headers={"Host": host}).status_code == 403


def test_loopback_hosts_are_served(server: local.LocalServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"LOCALHOST.:{port}", "127.0.0.1", "127.1.2.3:80", f"[::1]:{port}"):
        assert httpx.get(f"{server.url}/v1/jobs", headers={**key(server), "Host": host}).status_code == 200, host


def test_host_rules_for_named_and_wildcard_binds() -> None:
    named = Door(None, api_key=None, host="devbox.lan")
    assert named.host_allowed("devbox.lan:8787") and named.host_allowed("localhost")
    assert not named.host_allowed("attacker.example") and not named.host_allowed("192.168.1.5")
    lan = Door(None, api_key=None, host="192.168.1.5")
    assert lan.host_allowed("192.168.1.5:8787") and not lan.host_allowed("192.168.1.6:8787")
    anywhere = Door(None, api_key=None, host="0.0.0.0")
    assert anywhere.host_allowed("192.168.1.5:8787") and anywhere.host_allowed("[fe80::1]:8787")
    assert not anywhere.host_allowed("attacker.example:8787")
    with pytest.raises(ValueError, match="scheme://host"):
        normalize_origin("*")


def test_official_client_and_cli_work_with_the_key(server: local.LocalServer, tmp_path: Path) -> None:
    client = puras.Client(api_key=server.api_key, api_base=server.url)
    job = client.submit("demo/echo", {"cli": 1}, wait=True)
    assert job["result"] == {"cli": 1}
    env = {**os.environ, "HOME": str(tmp_path), "PURAS_API_BASE": server.url, "PURAS_API_KEY": server.api_key}
    replay = subprocess.run([str(PURAS_CLI), "replay", job["id"]], env=env, capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    new_id = re.search(r"new job ([0-9a-f-]{36})", replay.stdout + replay.stderr).group(1)
    assert client.wait(new_id, poll_interval=0.05)["result"] == {"cli": 1}
    run = subprocess.run(
        [str(PURAS_CLI), "run", "demo/echo", "-i", "x=1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    env["PURAS_API_KEY"] = "puras_local_wrong"
    refused = subprocess.run([str(PURAS_CLI), "replay", job["id"]], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "401" in refused.stdout + refused.stderr


ENV_PEEK = """
import os
from puras_nb.local import SkillPack

pack = SkillPack("peek", workspace="t")

@pack.skill("env", version=1)
def env(ctx, inputs):
    return {"key": os.environ.get("PURAS_NB_LOCAL_KEY")}
"""


def test_the_key_stays_off_the_child_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12 #3: the key reaches the child through its environment, which the child then clears, so
    neither `ps` nor a skill's subprocesses see it."""
    (tmp_path / "env_peek.py").write_text(ENV_PEEK)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    secret = "puras_local_do_not_show_in_ps_0123456789"
    with local.start(require_key=secret, skillpacks=["env_peek:pack"]) as server:
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode()
        assert secret not in cmdline and "--require-key" not in cmdline
        client = puras.Client(api_key=secret, api_base=server.url)
        assert client.run("t/peek/env", poll_interval=0.05) == {"key": None}
        assert httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert "PURAS_NB_LOCAL_KEY" not in os.environ


def serve(*flags: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, list[str]]:
    """`puras-nb serve --port 0 FLAGS` and its stdout up to the 'Ctrl-C' line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "puras_nb.cli", "serve", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    while not lines or not lines[-1].startswith("Ctrl-C"):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    return proc, lines


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    return err


def test_serve_prints_its_generated_key_for_users_to_copy() -> None:
    proc, lines = serve()
    try:
        url = lines[0]
        ready = next(line for line in lines if line.startswith(" or: export"))
        found = re.fullmatch(r" or: export PURAS_API_BASE=(\S+) PURAS_API_KEY=(puras_local_\S+)", ready)
        assert found and found.group(1) == url
        api_key = found.group(2)
        assert f'api_key="{api_key}"' in next(line for line in lines if line.startswith("try:"))
        assert httpx.get(f"{url}/v1/jobs").status_code == 401
        assert puras.Client(api_key=api_key, api_base=url).run("demo/echo", {"k": 1}, poll_interval=0.05) == {"k": 1}
    finally:
        err = stop(proc)
    assert "Traceback" not in err


def test_serve_no_auth_says_so_and_needs_no_key() -> None:
    proc, lines = serve("--no-auth")
    try:
        url = lines[0]
        assert httpx.get(f"{url}/v1/jobs").status_code == 200
        assert httpx.get(f"{url}/v1/jobs", headers={"Host": "attacker.example"}).status_code == 403
    finally:
        err = stop(proc)
    assert "--no-auth: no API key is required" in err


def test_serve_refuses_contradictory_or_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m puras_nb.local`'s main, called as the module runs it (a process of its own is tested in
    test_local_server): the flags are refused with status 2 and a line that says why, before any server starts."""
    for flags, needle in [
        (["--no-auth", "--require-key", "k"], "contradict"),
        (["--cors", "*"], "scheme://host"),
        (["--require-key", "has space"], "printable ASCII"),
    ]:
        assert local_main(["--port", "0", *flags]) == 2, flags
        said = capsys.readouterr()
        assert needle in said.err and said.out == "", flags


def test_an_unexpected_error_closes_its_connection_and_costs_no_next_request(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store fault (which no request can cause) stands in for a bug: a 500 with Connection: close and
    one log line; the pooled client's next POST on a fresh connection creates its job."""
    with local.start(in_process=True) as srv, httpx.Client(base_url=srv.url, headers=key(srv)) as http:
        real_list = srv.emulator.store.list
        monkeypatch.setattr(srv.emulator.store, "list", lambda **kw: 1 / 0)
        with caplog.at_level(logging.ERROR, logger="puras_nb.local"):
            broken = http.get("/v1/jobs")
            deadline = time.monotonic() + 5
            while not caplog.records and time.monotonic() < deadline:  # logged once the answer is out
                time.sleep(0.01)
        assert broken.status_code == 500 and broken.headers["connection"] == "close"
        assert broken.json() == {"detail": "internal error: ZeroDivisionError"}
        [line] = [r.getMessage() for r in caplog.records]
        assert line.startswith("puras-nb local: GET /v1/jobs failed: ZeroDivisionError: division by zero (")
        assert "\n" not in line and "Traceback" not in line
        monkeypatch.setattr(srv.emulator.store, "list", real_list)
        created = http.post("/v1/jobs", params={"skillpack": "demo"}, json={"skill": "echo"})
        assert created.status_code == 201
        assert [j["id"] for j in http.get("/v1/jobs").json()] == [created.json()["id"]]
