"""The official `puras` CLI (0.20) against the emulator, each command a process of its own as when a user runs it
(forked from one that imported the CLI once: tests/harness/forked.py).

Every command that talks to the job API exits 0 with the text the CLI prints for the hosted API; the
commands that need the platform exit 1 printing the emulator's 501. One emulator for the module (its
deployment state changes here), with a required key that the CLI sends from PURAS_API_KEY.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from puras_nb import local
from tests.harness.forked import Forked

KEY = "puras_live_clitest1.s3cret-part"
MASKED = "puras_live_clitest1.****"
WORKSPACE = "00000000-0000-0000-0000-000000000000"
PLATFORM = "not in the emulator, it needs the hosted Puras platform"
PROGRAM = str(Path(sys.executable).with_name("puras"))  # argv[0], as the console script shows it
Cli = Callable[..., subprocess.CompletedProcess]


def job_id(pattern: str, text: str) -> str:
    """The job id that `pattern`'s first group matches in a command's output."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return found.group(1)


@pytest.fixture(scope="module")
def server() -> Iterator[local.LocalServer]:
    with local.start(require_key=KEY) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def api(server: local.LocalServer) -> Iterator[httpx.Client]:
    """Plain HTTP to the same emulator, to check what the CLI's commands did."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def puras(server: local.LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """Run `puras ARGS…` in an empty directory with its own HOME; returns the finished process."""
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "HOME": str(home), "PURAS_API_KEY": KEY, "PURAS_API_BASE": server.url}
    env["PYTHONIOENCODING"] = "utf-8"

    with Forked(PROGRAM, "puras.cli:main", env) as cli:

        def run(*args: str, cwd: Path = home, expect: int = 0) -> subprocess.CompletedProcess:
            done = cli.run(list(args), cwd=cwd, timeout=90)
            assert done.returncode == expect, f"puras {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}"
            assert "Traceback" not in done.stderr, done.stderr
            return done

        yield run


@pytest.fixture(scope="module")
def demo(api: httpx.Client) -> dict:
    return next(p for p in api.get("/v1/skillpacks").json() if p["path"] == "local/demo")


@pytest.fixture(scope="module")
def counted(puras: Cli) -> str:
    """The id of a finished `count` job run through `puras run`."""
    return job_id(r"job (\S+) · succeeded", puras("run", "demo/count", "-i", "n=3", "-i", "delay=0.02").stdout)


def test_skillpacks(puras: Cli, demo: dict) -> None:
    out = puras("skillpacks").stdout
    assert re.search(rf"^demo\s+Demo skills\s+active\s+{demo['id']}\s*$", out, re.M), out
    assert puras("skills").stdout == out


def test_whoami_and_login(puras: Cli, server: local.LocalServer) -> None:
    out = puras("whoami").stdout
    assert f"api base   {server.url}" in out and f"api key    {MASKED}" in out
    assert f"workspace  {WORKSPACE}" in out and "balance    $0.00" in out
    assert KEY not in out
    assert f"Logged in to {server.url}" in puras("login", "--key", KEY, "--api-base", server.url).stdout
    assert "Logged out" in puras("logout").stdout
    refused = puras("login", "--key", "puras_live_wrong.key", "--api-base", server.url, expect=1)
    assert "that API key was rejected" in refused.stderr


def test_deployments_by_path_slug_and_id(puras: Cli, demo: dict, api: httpx.Client) -> None:
    rows = api.get("/v1/skillpacks/local/demo/deployments").json()
    assert [(r["version"], r["is_active"]) for r in rows] == [(2, True), (1, False)]
    assert rows[0]["id"] == demo["active_deployment_id"] and "ugc-ad" in rows[0]["skills"]
    for ref in ("local/demo", "demo", demo["id"]):
        out = puras("deployments", "--app", ref).stdout
        assert re.search(rf"^v2\s+active\s+0\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\s+{rows[0]['id']}\s*$", out, re.M), out
        assert re.search(rf"^v1\s+0\s+\S+ \S+\s+{rows[1]['id']}\s*$", out, re.M), out
    assert "API error 404" in puras("deployments", "--app", "local/nope", expect=1).stderr


def _run_version(puras: Cli, api: httpx.Client) -> tuple[int, str]:
    ran = job_id(r"job (\S+) · succeeded", puras("run", "demo/echo", "-i", "probe=1").stdout)
    job = api.get(f"/v1/jobs/{ran}").json()
    return job["version"], job["deployment_id"]


def test_activate_changes_the_version_new_jobs_run(puras: Cli, api: httpx.Client) -> None:
    v2, v1 = (r["id"] for r in api.get("/v1/skillpacks/demo/deployments").json())
    try:
        assert "Activated v1" in puras("activate", "1", "--app", "local/demo").stdout
        assert re.search(r"^v1\s+active\s", puras("deployments", "--app", "demo").stdout, re.M)
        pack = api.get("/v1/skillpacks").json()[0]
        assert pack["active_version"] == 1 and pack["active_deployment_id"] == v1
        assert _run_version(puras, api) == (1, v1)
        assert "Activated v2" in puras("activate", v2, "--app", "demo").stdout
        assert _run_version(puras, api) == (2, v2)
    finally:
        api.post(f"/v1/skillpacks/demo/deployments/{v2}/activate").raise_for_status()
    assert "no deployment v9" in puras("activate", "9", "--app", "demo", expect=1).stderr
    missing = puras("activate", str(uuid.uuid4()), "--app", "demo", expect=1).stderr
    assert "API error 404" in missing and "not found in local/demo" in missing


def test_run_logs_spans_feedback(puras: Cli, counted: str) -> None:
    logs = puras("logs", counted, "--interval", "0.05").stdout
    assert re.search(r"agent_start  running local/demo/count v2", logs)
    assert re.search(r"progress  counted 3 of 3", logs) and f"job {counted} · succeeded" in logs
    assert '"count": 3' in logs

    spans = puras("spans", counted).stdout.splitlines()
    assert re.fullmatch(r"run\s+\d+ms  skill count v2", spans[0]), spans
    assert [re.fullmatch(r"  step\s+\d+ms  (.*)", line).group(1) for line in spans[1:]] == [
        f"counted {i} of 3" for i in (1, 2, 3)
    ]
    raw = json.loads(puras("spans", counted, "--json").stdout)
    assert raw[0]["parent_span_id"] is None and {s["parent_span_id"] for s in raw[1:]} == {raw[0]["span_id"]}

    assert f"feedback recorded for job {counted} 👍" in puras("feedback", counted, "--up", "-c", "tidy").stdout
    assert f"feedback recorded for job {counted} 👎" in puras("feedback", counted, "--down").stdout
    assert "API error 404" in puras("feedback", str(uuid.uuid4()), "--up", expect=1).stderr


def test_run_async_then_logs(puras: Cli) -> None:
    out = puras("run", "--async", "count", "--app", "demo", "-i", "n=2", "-i", "delay=0.1").stdout
    submitted = job_id(r"Submitted job (\S+) \((?:queued|running)\)", out)
    assert f"follow with: puras logs {submitted}" in out
    followed = puras("logs", submitted, "--interval", "0.05").stdout
    assert f"job {submitted} · succeeded" in followed
    # `puras logs` fetches the events, then the status, and stops at a finished status without fetching the
    # events once more: the events sent in between (here "counted 2 of 2", on a loaded machine) are not printed.
    # Asked again, the finished job's logs are whole.
    logs = puras("logs", submitted).stdout
    assert "counted 2 of 2" in logs and f"job {submitted} · succeeded" in logs


def test_run_failure_and_bad_inputs(puras: Cli) -> None:
    failed = puras("run", "demo/fail", "-i", "after=0", "-i", "message=nope", expect=1)
    assert re.search(r"job \S+ · failed: nope", failed.stderr)
    bad = puras("run", "demo/count", "-i", "n=-1", expect=1)
    assert "API error 422: inputs.n must be >= 0" in bad.stderr


def test_replay(puras: Cli, api: httpx.Client, counted: str) -> None:
    out = puras("replay", counted).stdout
    new = job_id(rf"Replaying {counted} → new job (\S+) \(", out)
    assert "running against the active deployment" in out and f"follow with: puras logs {new}" in out
    job = api.get(f"/v1/jobs/{new}").json()
    assert job["parent_job_id"] == counted and job["inputs"] == {"n": 3, "delay": 0.02}
    pinned = job_id(r"new job (\S+) \(", puras("replay", counted, "--version", "1").stdout)
    assert api.get(f"/v1/jobs/{pinned}").json()["version"] == 1


@pytest.mark.parametrize(
    ("args", "feature"),
    [
        (["deploy", "--app", "demo"], "deploying bundles"),
        (["init", "--name", "mine", "--no-scaffold"], "creating skillpacks"),
        (["secrets", "set", "TOKEN=x", "--app", "demo"], "secrets"),
        (["secrets", "ls", "--app", "demo"], "secrets"),
        (["secrets", "rm", "TOKEN", "--app", "demo"], "secrets"),
        (["eval", "echo", "--app", "demo"], "eval suites"),
        (["eval-report", "suite-1"], "eval suites"),
        (["eval-diff", "echo", "--app", "demo", "--base", "1", "--head", "2"], "eval suites"),
        (["hindsight", "echo", "--app", "demo"], "Hindsight"),
        (["hindsight-list", "--app", "demo"], "Hindsight"),
        (["hindsight-show", "run-1"], "Hindsight"),
        (["run", "--prompt", "write a haiku"], "inline prompt runs"),
    ],
)
def test_platform_only_commands_print_501(puras: Cli, tmp_path: Path, args: list[str], feature: str) -> None:
    (tmp_path / "my-skill").mkdir()
    (tmp_path / "my-skill" / "skill.yaml").write_text("name: my-skill\n")
    err = puras(*args, cwd=tmp_path, expect=1).stderr
    assert f"API error 501: {feature}: {PLATFORM}" in err, err
