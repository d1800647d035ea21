"""What the emulator says about its skills: the full catalog on GET /v1/skillpacks (skill.yaml data per skill),
the bundle `puras pull` downloads, and `--catalog bare` (only what the hosted API is known to send)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import puras
import pytest
import yaml

from puras_nb import local
from puras_nb.local.demopack import build_demo_pack
from puras_nb.local.skills import RunContext, SkillPack
from puras_nb.model.skill import from_skillpacks
from tests.harness.served import served

parse_bundle_dir = pytest.importorskip("worker.manifest").parse_bundle_dir  # puras-runner's own bundle parser
_SCRIPT = Path(sys.executable).with_name("puras")
PURAS_CLI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "puras.cli"]
SKILL_FIELDS = {"name", "title", "description", "versions", "input_schema", "output_schema", "examples"}
CLI_FIELDS = {"slug", "name", "id", "active_deployment_id"}


def build_pack() -> SkillPack:
    """A user's pack: a skill declared in full at v1 and changed at v2, one declared with nothing, one added at v2."""
    pack = SkillPack("studio", workspace="acme", name="Acme studio")
    poster = {
        "type": "object",
        "required": ["headline"],
        "properties": {"headline": {"type": "text"}, "tint": {"type": "color", "default": "#336699"}},
    }
    out = {"type": "object", "properties": {"poster": {"type": "image"}}}

    def make(ctx: RunContext, inputs: dict) -> dict:
        return {"poster": f"https://example.com/{ctx.version}.png"}

    pack.skill("poster", version=1, title="Poster", description="A poster.", input_schema=poster, output_schema=out,
               examples=[{"title": "Sale", "inputs": {"headline": "Half price"}}])(make)
    bigger = {**poster, "properties": {**poster["properties"], "size": {"type": "integer", "default": 2}}}
    pack.skill("poster", version=2, title="Poster", description="A bigger poster.", input_schema=bigger,
               output_schema=out, examples=[{"title": "Sale", "inputs": {"headline": "Half price", "size": 3}}])(make)

    @pack.skill("plain")
    def plain(ctx: RunContext, inputs: dict) -> dict:
        """Whatever it is given."""
        return inputs

    @pack.skill("later", version=2, description="Only in v2.")
    def later(ctx: RunContext, inputs: dict) -> dict:
        return {}

    return pack


@pytest.fixture
def studio() -> Iterator[tuple[httpx.Client, str]]:
    with served(packs=[build_pack()]) as client:
        yield client, str(client.base_url).rstrip("/")


def test_the_catalog_lists_each_skill_as_its_skill_yaml_declares_it(studio: tuple[httpx.Client, str]) -> None:
    http, _ = studio
    [pack] = http.get("/v1/skillpacks").json()
    assert set(pack) >= CLI_FIELDS and pack["active_version"] == 2
    skills = {s["name"]: s for s in pack["skills"]}
    assert all(set(s) == SKILL_FIELDS for s in skills.values())
    poster = skills["poster"]
    assert (poster["title"], poster["description"], poster["versions"]) == ("Poster", "A bigger poster.", [1, 2])
    assert poster["input_schema"]["properties"]["tint"] == {"type": "color", "default": "#336699"}, "as written"
    assert poster["output_schema"] == {"type": "object", "properties": {"poster": {"type": "image"}}}
    assert poster["examples"] == [{"title": "Sale", "inputs": {"headline": "Half price", "size": 3}}]
    plain = skills["plain"]
    assert (plain["title"], plain["description"], plain["output_schema"], plain["examples"]) == (
        None, "Whatever it is given.", None, [])
    assert plain["input_schema"] == {"type": "object", "properties": {}, "required": []}
    assert skills["later"]["versions"] == [2]
    # activating v1 shows what v1 declares (what unpinned jobs now run)
    v1 = next(d for d in http.get("/v1/skillpacks/acme/studio/deployments").json() if d["version"] == 1)
    http.post(f"/v1/skillpacks/acme/studio/deployments/{v1['id']}/activate").raise_for_status()
    skills = {s["name"]: s for s in http.get("/v1/skillpacks").json()[0]["skills"]}
    assert skills["poster"]["description"] == "A poster."
    assert "size" not in skills["poster"]["input_schema"]["properties"]
    assert skills["poster"]["examples"] == [{"title": "Sale", "inputs": {"headline": "Half price"}}]
    assert skills["later"]["description"] == "Only in v2."


def test_the_clients_reader_still_reads_the_demo_catalog(emulator: local.LocalServer, auth: dict) -> None:
    packs = httpx.get(f"{emulator.url}/v1/skillpacks", headers=auth, timeout=30).json()
    demo = next(p for p in packs if p["path"] == "local/demo")
    assert set(demo) >= CLI_FIELDS and all(set(s) == SKILL_FIELDS for s in demo["skills"])
    ad = next(s for s in from_skillpacks(packs) if s.path == "demo/ugc-ad")
    assert ad.versions == (1, 2) and ad.active_version == 2 and ad.input("product").required
    assert all(s["title"] and s["examples"] and s["output_schema"] for s in demo["skills"])


def pull(http: httpx.Client, ref: str, **params: str) -> httpx.Response:
    return http.get(f"/v1/skillpacks/{ref}/deployments/pull", params=params)


def extract(data: bytes, where: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert all(not n.startswith("/") and ".." not in Path(n).parts for n in archive.namelist())
        archive.extractall(where)
    return where


def test_pull_answers_a_signed_url_of_the_active_deployments_bundle(
    studio: tuple[httpx.Client, str], tmp_path: Path
) -> None:
    http, url = studio
    answer = pull(http, "acme/studio", ttl="600").json()
    assert set(answer) == {"download_url", "version"} and answer["version"] == 2
    link = answer["download_url"]
    assert link.startswith(f"{url}/files/bundles/") and "sig=" in link
    before = time.time()
    expires = int(parse_qs(urlsplit(link).query)["exp"][0])
    assert before + 590 <= expires <= before + 610
    zipped = httpx.get(link, timeout=30)  # no key: the signature is the permission
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    assert httpx.get(link, timeout=30).content == zipped.content, "the same deployment zips to the same bytes"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert sorted(archive.namelist()) == [
            "later/SKILL.md", "later/skill.yaml", "plain/SKILL.md", "plain/skill.yaml",
            "poster/SKILL.md", "poster/skill.yaml", "puras.yaml",
        ]
        binding = yaml.safe_load(archive.read("puras.yaml"))
        assert binding["skillpack_id"] == http.get("/v1/skillpacks").json()[0]["id"] and binding["slug"] == "studio"
    manifest = parse_bundle_dir(extract(zipped.content, tmp_path / "v2"))
    catalog = {s["name"]: s for s in http.get("/v1/skillpacks").json()[0]["skills"]}
    assert sorted(s.name for s in manifest.skills) == sorted(catalog)
    for decl in manifest.skills:
        shown = catalog[decl.name]
        assert (decl.title, decl.description, decl.input_schema) == (
            shown["title"], shown["description"], shown["input_schema"])
        assert decl.output_schema == (shown["output_schema"] or {"type": "object"})
        assert [e.to_dict()["inputs"] for e in decl.examples] == [e["inputs"] for e in shown["examples"]]
        assert decl.entrypoint == "SKILL.md" and not list((tmp_path / "v2" / decl.name).glob("*.py"))
    # after activating v1, a pull gets v1's bundle: no `later`, v1's poster
    v1 = next(d for d in http.get("/v1/skillpacks/acme/studio/deployments").json() if d["version"] == 1)
    http.post(f"/v1/skillpacks/{v1['skillpack_id']}/deployments/{v1['id']}/activate").raise_for_status()
    answer = pull(http, v1["skillpack_id"]).json()
    assert answer["version"] == 1
    manifest = parse_bundle_dir(extract(httpx.get(answer["download_url"]).content, tmp_path / "v1"))
    assert [s.name for s in manifest.skills] == ["plain", "poster"]
    assert manifest.skill("poster").description == "A poster."


def test_pull_refusals(studio: tuple[httpx.Client, str]) -> None:
    http, url = studio
    for ttl in ("0", "29", "2592001", "ten", "-5", "1.5"):
        r = pull(http, "studio", ttl=ttl)
        assert r.status_code == 400 and "ttl must be a whole number of seconds from 30 to 2592000" in r.text, ttl
    assert pull(http, "nope").status_code == 404
    assert httpx.get(f"{url}/v1/skillpacks/studio/deployments/pull").status_code == 401, "the route needs the key"
    link = pull(http, "studio").json()["download_url"]
    assert httpx.get(link.replace("sig=", "sig=0")).status_code == 403
    assert httpx.get(link.replace("/v2.zip", "/v9.zip")).status_code == 403, "the signature covers the version"
    assert httpx.get(link.split("?")[0]).status_code == 403


def test_the_official_puras_pull_extracts_the_demo_bundle_that_puras_runner_reads(tmp_path: Path) -> None:
    with local.start(catalog="bare") as server:  # a child process, so `--catalog bare` is passed as a flag
        env = {**os.environ, "HOME": str(tmp_path), "PURAS_API_KEY": server.api_key, "PURAS_API_BASE": server.url}
        done = subprocess.run([*PURAS_CLI, "pull", "--app", "local/demo", "--out", str(tmp_path / "demo")],
                              env=env, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Pulled v2 → {tmp_path / 'demo'}" in done.stdout
        bare = httpx.get(f"{server.url}/v1/skillpacks", headers={"Authorization": f"Bearer {server.api_key}"}).json()
    assert [set(row) for row in bare] == [CLI_FIELDS]
    manifest = parse_bundle_dir(tmp_path / "demo")
    demo = build_demo_pack()
    assert [s.name for s in manifest.skills] == sorted(demo.names())
    ad = manifest.skill("ugc-ad")
    assert ad.title == "UGC ad" and ad.input_schema["properties"]["photo"]["type"] == "image"
    assert ad.output_schema["properties"]["video"]["type"] == "video" and len(ad.examples) == 2
    assert yaml.safe_load((tmp_path / "demo" / "puras.yaml").read_text())["slug"] == "demo"


def test_a_bare_catalog_still_serves_the_official_cli_and_every_job_route() -> None:
    with local.start(catalog="bare", in_process=True) as server:
        client = puras.Client(api_key=server.api_key, api_base=server.url)
        assert client.run("demo/echo", {"a": 1}, poll_interval=0.05) == {"a": 1}
        auth = {"Authorization": f"Bearer {server.api_key}"}
        [row] = httpx.get(f"{server.url}/v1/skillpacks", headers=auth).json()
        assert list(row) == ["slug", "name", "id", "active_deployment_id"]
        assert from_skillpacks([row]) == [], "the client finds no skills here: it has to pull"
        rows = httpx.get(f"{server.url}/v1/skillpacks/{row['id']}/deployments", headers=auth).json()
        assert rows[0]["id"] == row["active_deployment_id"]
    with pytest.raises(ValueError, match="catalog must be 'full' or 'bare'"):
        local.start(catalog="partial")
