"""What the emulator says about its skills: the full catalog on GET /v1/skillpacks (skill.yaml data per skill),
the bundle `puras pull` downloads, and `--catalog bare` (only what the hosted API is known to send)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from puras_nb import local
from puras_nb.local.emulator import Emulator
from puras_nb.local.server import ServerThread
from puras_nb.local.skills import RunContext, SkillPack
from puras_nb.model.skill import from_skillpacks

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
def served() -> Iterator[tuple[httpx.Client, str]]:
    thread = ServerThread(Emulator(api_key="k", packs=[build_pack()]), "127.0.0.1", 0)
    thread.start()
    try:
        with httpx.Client(base_url=thread.url, headers={"Authorization": "Bearer k"}, timeout=30) as client:
            yield client, thread.url
    finally:
        thread.stop()


def test_the_catalog_lists_each_skill_as_its_skill_yaml_declares_it(served: tuple[httpx.Client, str]) -> None:
    http, _ = served
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
