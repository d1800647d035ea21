"""End to end against `puras-nb serve --catalog bare` (only slug, name, id and active_deployment_id on
/v1/skillpacks, as the hosted API is known to send): the card, the form, its examples and a job's declared outputs
of demo/ugc-ad all come from the deployment bundle the client pulls, as `puras pull` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import puras_nb
from puras_nb import local, settings
from puras_nb.model import schemas
from puras_nb.views.skill import SkillCard

KEY = "puras_live_bare_catalog_key_0123456789"


@pytest.fixture(scope="module")
def bare() -> Iterator[local.LocalServer]:
    with local.start(require_key=KEY, catalog="bare") as server:
        yield server


@pytest.fixture
def on_bare(bare: local.LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no puras.yaml above: nothing but the server describes the skills
    before = settings.current()
    settings.configure(api_key=bare.api_key, api_base=bare.url, local=False, poll_interval=0.1, skills_dir=None)
    yield
    settings.restore(before)


def test_the_card_of_ugc_ad_comes_from_the_pulled_bundle(bare: local.LocalServer, on_bare: None) -> None:
    import httpx

    rows = httpx.get(f"{bare.url}/v1/skillpacks", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).json()
    assert all(set(row) <= {"slug", "name", "id", "active_deployment_id"} for row in rows)
    ad = schemas.find("demo/ugc-ad")
    assert ad.source == "the deployment bundle v2" and ad.title == "UGC ad"
    assert [i.name for i in ad.inputs] == ["product", "duration", "tone", "photo", "color"]
    assert (ad.input("photo").type, ad.input("color").type) == ("image", "color")
    assert ad.output_types() == {"video": "video", "thumbnail": "image", "script": "text", "voiceover": "audio"}
    card = SkillCard(ad).text()
    assert card.splitlines()[0].startswith("<skill UGC ad · demo/ugc-ad")
    assert "schema from the deployment bundle v2" in card and "example: A water bottle, from its shop page" in card
    assert {s.path for s in schemas.catalog()} >= {"demo/echo", "demo/image", "demo/ugc-ad"}


def test_the_app_starts_from_the_first_example_of_the_pulled_schema_and_shows_its_declared_outputs(
    on_bare: None,
) -> None:
    form = puras_nb.app(["demo/ugc-ad"])
    assert form.values() == ({"product": "https://shop.example/p/aero-bottle", "duration": 6, "tone": "friendly"}, {})
    job = form.fill(duration=2).run()  # the shortest ad the schema allows: a third of the frames to render
    assert job is not None
    result = job.result(timeout=120)
    assert job.declared_outputs()["script"] == "text"
    assert [name for name, _ in job.text_fields()] == ["script"] and result["script"]
    kinds = {m.path: m.kind for m in job.find_media()}
    assert kinds["video"] == "video" and kinds["thumbnail"] == "image" and kinds["voiceover"] == "audio"
