"""A small, seeded fuzz of every emulator route (issue 12 #7): no valid HTTP request may get a 500, every
error is JSON with a detail, and afterwards every job, its events and the listing still render.

Bounded: about 600 requests against an in-process emulator, a few seconds. Only instant skills run, and
server-side waits are kept short, so no request can hang the run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import httpx
import pytest

from puras_nb import local

SEED = 20261129
N = 600

# JSON fragments: raw bytes, so the corpus can hold what json.dumps refuses to write.
SCALARS = [
    b"null", b"true", b"false", b"0", b"-0", b"1", b"-1", b"1.5", b"1e308", b"-1e308", b"1e-400", b"2e999",
    b"9" * 400, b"-" + b"9" * 1200, b"NaN", b"Infinity", b"-Infinity", b'""', b'"x"', b'"\\u0000"',
    b'"\\ud800"', b'"\\udc00x"', b'"\\ud83d\\ude00"', '"ω ünïcødé 💥"'.encode(), b'"' + b"a" * 5000 + b'"',
    b'"../../etc/passwd"', b'"<script>alert(1)</script>"', b"[]", b"{}",
]
SKILLS = ["echo", "fail", "image", "demo/echo", "local/demo/echo", "nope", "", "/", "///", "demo/", "ω", "../echo",
          "echo\u0000", "a/b/c/d/e/echo", "x" * 300]
KEYS = [b'"width"', b'"height"', b'"prompt"', b'"n"', b'"delay"', b'"after"', b'"message"', b'"seconds"', b'"text"',
        '"ω"'.encode(), b'""', b'"\\ud800"']


def scalar(rng: random.Random) -> bytes:
    return rng.choice(SCALARS)


def value(rng: random.Random, depth: int = 0) -> bytes:
    """A random JSON value (as bytes), now and then nested very deep."""
    roll = rng.random()
    if roll < 0.03:
        levels = rng.choice([63, 64, 65, 200, 960, 5000])
        return b"[" * levels + scalar(rng) + b"]" * levels
    if depth > 3 or roll < 0.55:
        return scalar(rng)
    if roll < 0.75:
        return b"[" + b",".join(value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + b"]"
    return obj({rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randint(0, 3))})


def obj(members: dict[bytes, bytes]) -> bytes:
    """A JSON object from raw key and value bytes."""
    return b"{" + b",".join(k + b":" + v for k, v in members.items()) + b"}"


def job_body(rng: random.Random) -> bytes:
    members: dict[bytes, bytes] = {}
    if rng.random() < 0.9:
        members[b'"skill"'] = json.dumps(rng.choice(SKILLS)).encode() if rng.random() < 0.8 else value(rng)
    if rng.random() < 0.8:
        if rng.random() < 0.6:
            members[b'"inputs"'] = obj({rng.choice(KEYS): value(rng) for _ in range(2)})
        else:
            members[b'"inputs"'] = value(rng)
    body = obj(members)
    return rng.choice([body, body, body, b"", b"   ", b"{", body[: len(body) // 2], b"[1]", b'"s"', b"\xff\xfe{"])


def query(rng: random.Random, names: list[str]) -> dict[str, str]:
    pool = ["", "0", "1", "-1", "2", "abc", "1.5", "1e3", "nan", "inf", "-inf", "99999999999999999999999",
            "9" * 5000, "-" + "9" * 30, " 1", "١", "true", "ω", "\x00", "demo", "local/demo", "../..", "%2F"]
    return {name: rng.choice(pool) for name in names if rng.random() < 0.5}


@pytest.fixture(scope="module")
def server() -> Iterator[local.LocalServer]:
    with local.start(in_process=True) as handle:
        yield handle


def requests(rng: random.Random, jobs: list[str], files: list[str]) -> Iterator[tuple[str, str, dict, bytes | None]]:
    """(method, path, params, body) for N random requests over every route."""
    known = [*jobs, "nope", "00000000-0000-0000-0000-000000000000", "ω", "x" * 2000, "%00", "..", "a/b"]
    for _ in range(N):
        job = rng.choice(known)
        route = rng.randrange(12)
        if route < 3:
            params = query(rng, ["skillpack", "skillpack_id", "version", "wait"])
            if rng.random() < 0.5:
                params["timeout"] = rng.choice(["0", "0.01", "abc", "nan", "-5", ""])
            elif params.get("wait"):
                params["timeout"] = "0.05"
            yield "POST", "/v1/jobs", params, job_body(rng)
        elif route == 3:
            yield "GET", "/v1/jobs", query(rng, ["status", "skill", "limit", "after"]), None
        elif route == 4:
            yield "GET", f"/v1/jobs/{job}", {}, None
        elif route == 5:
            yield "GET", f"/v1/jobs/{job}/events", query(rng, ["after"]), None
        elif route == 6:
            yield "GET", f"/v1/jobs/{job}/spans", {}, None
        elif route == 7:
            yield "POST", f"/v1/jobs/{job}/cancel", {}, rng.choice([None, b"{}", b"[", b""])
        elif route == 8:
            members = {b'"rating"': value(rng), b'"comment"': value(rng), b'"end_user_id"': value(rng)}
            body = obj({k: v for k, v in members.items() if rng.random() < 0.7})
            yield "POST", f"/v1/jobs/{job}/feedback", {}, rng.choice([body, body, b"", b"[]"])
        elif route == 9:
            yield "POST", f"/v1/jobs/{job}/replay", query(rng, ["version"]), None
        elif route == 10:
            url = rng.choice(files)
            path, _, signed = url.partition("?")
            params = dict(p.split("=", 1) for p in signed.split("&"))
            params.update(query(rng, ["exp", "sig"]))
            yield "GET", path, params, None
        else:
            names = rng.sample(["seed", "kinds", "methods", "paths", "retry_after", "delay", "colour"], 2)
            spec = obj({b'"rate"': b"0", **{json.dumps(name).encode(): value(rng) for name in names}})
            yield "PUT", "/_emulator/faults", {}, spec


def test_no_request_gets_a_500(server: local.LocalServer) -> None:
    rng = random.Random(SEED)
    auth = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as http:
        image = {"prompt": "p", "width": 16, "height": 16}
        seeds = [{"skill": "echo", "inputs": {"a": 1}}, {"skill": "image", "inputs": image}]
        made = [http.post("/v1/jobs", params={"skillpack": "demo", "wait": "true"}, json=body).json() for body in seeds]
        jobs = [job["id"] for job in made]
        files = [made[1]["result"]["image"]["url"].removeprefix(server.url)]
        statuses: dict[int, int] = {}
        for method, path, params, body in requests(rng, jobs, files):
            headers = {"Content-Type": "application/json"} if body else {}
            r = http.request(method, path, params=params, content=body, headers=headers)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, (method, path, params, body[:200] if body else body, r.text[:300])
            if r.status_code >= 400 and not path.startswith("/files/"):
                assert isinstance(r.json()["detail"], str) and r.json()["detail"]
        ranges = ["bytes=abc", "bytes=5-1", "bytes=-0", "bytes=0-0," * 200, "items=0-1", "bytes=99-"]
        for range_header in [*ranges, "bytes=" + "9" * 999 + "-", "bytes=ω".encode(), b"bytes=\xff-"]:
            r = http.get(files[0], headers={"Range": range_header})
            assert r.status_code in (200, 206, 400, 416), range_header
        assert http.put("/_emulator/faults", json={}).status_code == 200
        listing = http.get("/v1/jobs")
        assert listing.status_code == 200
        for job in listing.json():
            assert http.get(f"/v1/jobs/{job['id']}/events").status_code == 200
    assert set(statuses) & {200, 201} and set(statuses) & {400, 404, 422}, statuses


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Authorization", b"Bearer \xff\xfe"),
        ("Host", b"\xffodd"),
        ("Origin", b"\xff://x"),
        ("Content-Type", b"application/json; charset=\xff"),
        ("Content-Type", b";;;"),
    ],
)
def test_odd_header_bytes_are_no_500(server: local.LocalServer, header: str, value: bytes) -> None:
    auth = {"Authorization": f"Bearer {server.api_key}".encode()}
    r = httpx.post(
        f"{server.url}/v1/jobs",
        params={"skillpack": "demo"},
        content=b'{"skill": "echo"}',
        headers={"Content-Type": b"application/json", **auth, header: value},
    )
    assert r.status_code in (201, 401, 403, 415), r.text
