"""Skills in the Puras schema dialect: the demo declares skill.yaml data, and the emulator validates inputs and
results as the platform does (translated, then jsonschema Draft 2020-12), with our wording naming the field."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from puras_nb import dialect, local
from puras_nb.local.demopack import build_demo_pack
from puras_nb.local.skills import RunContext, SchemaError, SkillPack, validate_inputs
from tests.harness.served import served

runner = pytest.importorskip("worker.schema_dialect", reason="puras-runner (the test extra) is the platform's peer")

MEDIA = {
    "type": "object",
    "required": ["photo"],
    "properties": {
        "photo": {"type": "image"},
        "clips": {"type": "array", "items": {"type": "video"}},
        "notes": {"type": "text", "maxLength": 20},
        "tint": {"type": "color"},
        "shots": {
            "type": "array",
            "items": {"type": "object", "required": ["at"], "properties": {"at": {"type": "integer"}}},
        },
    },
}
CASES: list[tuple[dict, str | None]] = [
    ({"photo": "https://example.com/a.png"}, None),
    ({"photo": "data:image/png;base64,iVBORw0KGgo="}, None),
    ({"photo": "jobs/1/a.png"}, None),
    ({"photo": {"url": "https://example.com/a.png"}}, None),
    ({"photo": {"drive_path": "jobs/1/a.png", "mime": "image/png"}}, None),
    ({"photo": {"base64": "iVBO", "media_type": "image/png"}}, None),
    ({"photo": "x", "clips": ["a.mp4", {"data": "AAAA"}], "notes": "line one\nline two", "tint": "#1a2b3c"}, None),
    ({"photo": "x", "tint": "fff"}, None),
    ({}, "inputs.photo is required"),
    ({"photo": 3}, "inputs.photo must be a file reference (a URL, a drive path or a data URL, or an object with"),
    ({"photo": ""}, "inputs.photo must be a file reference"),
    ({"photo": {"name": "a.png"}}, "inputs.photo must be a file reference"),
    ({"photo": "x", "clips": ["a.mp4", 7]}, "inputs.clips[1] must be a file reference"),
    ({"photo": "x", "tint": "red"}, "inputs.tint must be a hex colour such as #1a2b3c, got 'red'"),
    ({"photo": "x", "tint": "#12345"}, "inputs.tint must be a hex colour"),
    ({"photo": "x", "notes": "x" * 21}, "inputs.notes must be at most 20 characters"),
    ({"photo": "x", "notes": 5}, "inputs.notes must be a string, got 5"),
    ({"photo": "x", "shots": [{"at": 1}, {}]}, "inputs.shots[1].at is required"),
    ({"photo": "x", "shots": [{"at": "now"}]}, "inputs.shots[0].at must be an integer, got 'now'"),
]


@pytest.mark.parametrize(("inputs", "message"), CASES)
def test_dialect_inputs_are_judged_as_the_platform_judges_them(inputs: dict, message: str | None) -> None:
    """Accepted exactly when puras-runner's own translation accepts them; refused with a message naming the field."""
    platform_accepts = Draft202012Validator(runner.to_jsonschema(MEDIA)).is_valid(inputs)
    assert platform_accepts == (message is None)
    if message is None:
        assert validate_inputs(MEDIA, inputs) == inputs
    else:
        with pytest.raises(SchemaError) as caught:
            validate_inputs(MEDIA, inputs)
        assert str(caught.value).startswith(message), str(caught.value)


def test_defaults_fill_in_and_whole_floats_become_integers() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "default": 2}, "tags": {"default": ["a"]}}}
    filled = validate_inputs(schema, {})
    assert filled == {"n": 2, "tags": ["a"]}
    filled["tags"].append("b")
    assert validate_inputs(schema, {}) == {"n": 2, "tags": ["a"]}, "a default is copied, never shared"
    assert validate_inputs(schema, {"n": 3.0}) == {"n": 3, "tags": ["a"]}
    assert type(validate_inputs(schema, {"n": 3.0})["n"]) is int


def test_every_demo_skill_declares_skill_yaml_data_in_the_dialect() -> None:
    pack = build_demo_pack()
    pack.verify()  # every schema compiles and every example fits it
    types: set[str] = set()

    def collect(schema: Any) -> None:
        if isinstance(schema, dict):
            if isinstance(schema.get("type"), str):
                types.add(schema["type"])
            for value in schema.values():
                collect(value)

    for name in pack.names():
        skill, _ = pack.resolve(name, None)
        assert skill.title and skill.description, name
        assert skill.examples, f"{name} has no example"
        for example in skill.examples:
            assert example["title"] and skill.validate(example["inputs"]) is not None
            Draft202012Validator(runner.to_jsonschema(skill.schema)).validate(example["inputs"])
        assert skill.output_schema.get("type") == "object", name
        collect(skill.schema)
        collect(skill.output_schema)
    assert {"image", "video", "audio", "text", "color"} <= types
    ad = pack.resolve("ugc-ad", None)[0]
    assert ad.schema["properties"]["photo"]["type"] == "image" and "photo" not in ad.schema["required"]
    assert ad.schema["properties"]["color"]["type"] == "color"
    assert ad.output_schema["properties"]["video"]["type"] == "video"


def test_bad_declarations_are_refused_with_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fn(ctx: RunContext, inputs: dict) -> dict:
        return {}

    shape = SkillPack("shape")
    with pytest.raises(ValueError, match="slug-style"):
        shape.skill("Big Name")(fn)
    with pytest.raises(ValueError, match="not both"):
        shape.skill("c", schema={}, input_schema={})(fn)
    with pytest.raises(ValueError, match=r"examples must be a list of \{title, inputs\}"):
        shape.skill("d", examples=[{"title": "no inputs"}])(fn)
    assert shape.names() == []
    deep: dict = {"type": "object"}
    for _ in range(dialect.MAX_DEPTH + 2):
        deep = {"type": "object", "properties": {"x": deep}}
    cases = [
        ({"input_schema": {"required": [["x"]]}}, r"skill 'a' v1 of local/bad: input_schema.required\[0\] is not a"),
        (
            {
                "input_schema": {"properties": {"n": {"type": "integer"}}},
                "examples": [{"inputs": {"n": 1}}, {"inputs": {"n": "one"}}],
            },
            r"skill 'a' v1 of local/bad: examples\[1\] does not fit the input_schema: inputs.n must be an integer",
        ),
        ({"output_schema": {"properties": {"x": {"type": "picture"}}}}, r"output_schema.properties.x.type is not a"),
        ({"input_schema": deep}, "nested deeper"),
    ]
    for declared, message in cases:
        pack = SkillPack("bad")
        pack.skill("a", **declared)(fn)
        with pytest.raises(ValueError, match=message):
            pack.verify()
    # a pack served by reference is checked as the server starts, which then says what is wrong
    (tmp_path / "bad_pack.py").write_text(
        "from puras_nb.local import SkillPack\n"
        "pack = SkillPack('bad')\n"
        "pack.skill('a', input_schema={'properties': {'n': {'type': 'integer', 'minimum': 'one'}}})(lambda c, i: {})\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    with pytest.raises(RuntimeError, match=r"bad --skillpack: skill 'a' v1 of local/bad: input_schema.properties.n"):
        local.start(skillpacks=["bad_pack:pack"])


def test_a_pack_made_in_code_with_a_bad_schema_answers_why_it_cannot_run() -> None:
    pack = SkillPack("bad")
    pack.skill("a", input_schema={"required": [["x"]]})(lambda ctx, inputs: {})
    with local.start(in_process=True, skillpacks=[]) as server:
        server.emulator.packs.insert(0, pack)
        r = httpx.post(f"{server.url}/v1/jobs", params={"skillpack": "local/bad"}, json={"skill": "a", "inputs": {}},
                       headers={"Authorization": f"Bearer {server.api_key}"}, timeout=30)
    assert r.status_code == 500
    assert r.json()["detail"].startswith("skill 'a' v1 of local/bad cannot run: input_schema.required[0] is not a")


def build_pack() -> SkillPack:
    pack = SkillPack("typed", workspace="acme")
    out = {"type": "object", "properties": {"picture": {"type": "image"}, "caption": {"type": "text"}}}

    @pack.skill("declared", input_schema={"properties": {"drop": {"type": "boolean", "default": False}}},
                output_schema=out)
    def declared(ctx: RunContext, inputs: dict) -> dict:
        result: dict = {"picture": {"url": "https://example.com/p.png", "width": 3}, "caption": "hi", "extra": 1}
        if inputs["drop"]:
            del result["caption"]
        return result

    return pack


@pytest.fixture
def typed() -> Iterator[httpx.Client]:
    with served(packs=[build_pack()]) as client:
        yield client


def test_results_keep_what_the_output_schema_declares_and_must_hold_all_of_it(typed: httpx.Client) -> None:
    params = {"skillpack": "acme/typed", "wait": "true"}
    job = typed.post("/v1/jobs", params=params, json={"skill": "declared", "inputs": {}}).json()
    assert job["status"] == "succeeded"
    assert job["result"] == {"picture": {"url": "https://example.com/p.png", "width": 3}, "caption": "hi"}
    job = typed.post("/v1/jobs", params=params, json={"skill": "declared", "inputs": {"drop": True}}).json()
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"] == "output validation failed at `<root>`: 'caption' is a required property"
    bad = typed.post("/v1/jobs", params=params, json={"skill": "declared", "inputs": {"drop": "yes"}})
    assert bad.status_code == 422 and bad.json()["detail"] == "inputs.drop must be a boolean, got 'yes'"


@pytest.fixture
def http(emulator: local.LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=60) as client:
        yield client


def ad(http: httpx.Client, **inputs: Any) -> dict:
    params = {"skillpack": "demo", "wait": "true", "timeout": "60", "version": "1"}
    return http.post("/v1/jobs", params=params, json={"skill": "ugc-ad", "inputs": {"duration": 2, **inputs}}).json()


def thumbnail(job: dict) -> Image.Image:
    assert job["status"] == "succeeded", job
    return Image.open(io.BytesIO(httpx.get(job["result"]["thumbnail"], timeout=30).content)).convert("RGB")


def png_url(color: tuple[int, int, int], size: tuple[int, int] = (120, 90)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_ugc_ad_shows_the_product_photo_and_the_brand_colour(http: httpx.Client) -> None:
    plain = thumbnail(ad(http, product="Photo Mug"))
    red = (230, 10, 20)
    with_photo = thumbnail(ad(http, product="Photo Mug", photo=png_url(red), color="#00c853"))
    middle = with_photo.getpixel((320, 120))
    assert middle == pytest.approx(red, abs=12) and plain.getpixel((320, 120)) != middle, "the photo is in the scene"
    bar = with_photo.getpixel((2, 358))
    assert bar == pytest.approx((0, 200, 83), abs=12), "the progress bar has the brand colour"
    # a file this emulator made is read from disk, by drive path or by its signed URL
    made = http.post("/v1/jobs", params={"skillpack": "demo", "wait": "true"},
                     json={"skill": "image", "inputs": {"prompt": "a mug", "width": 64, "height": 64}}).json()
    image = made["result"]["image"]
    for ref in (image["drive_path"], {"drive_path": image["drive_path"]}, image["url"], image):
        assert ad(http, product="Photo Mug", photo=ref)["status"] == "succeeded", ref


@pytest.mark.parametrize(
    ("photo", "error"),
    [
        ("https://example.com/mug.png", "inputs.photo: the emulator works offline and fetches no URL"),
        ("jobs/nope/mug.png", "inputs.photo: no file 'jobs/nope/mug.png' here"),
        ("data:image/png;base64," + base64.b64encode(b"not a png").decode(), "inputs.photo: it is not an image"),
        ("data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode(), "inputs.photo: it is not an image"),
        ({"data": "%%%"}, "inputs.photo: it is not an image"),
    ],
)
def test_ugc_ad_photo_that_cannot_be_read_fails_the_job_saying_why(http: httpx.Client, photo: Any, error: str) -> None:
    job = ad(http, product="Photo Mug", photo=photo)
    assert job["status"] == "failed" and job["error"].startswith(error), job["error"]


def test_a_signed_url_with_a_forged_signature_is_not_read(http: httpx.Client) -> None:
    made = http.post("/v1/jobs", params={"skillpack": "demo", "wait": "true"},
                     json={"skill": "image", "inputs": {"prompt": "a mug", "width": 32, "height": 32}}).json()
    forged = made["result"]["image"]["url"].replace("sig=", "sig=0")
    job = ad(http, product="Photo Mug", photo=forged)
    assert job["status"] == "failed" and "fetches no URL" in job["error"]
