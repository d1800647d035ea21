"""The skill model on skill.yaml data in the Puras dialect: types, title, examples, output fields, and validation as
the platform does it (jsonschema Draft 2020-12 on the translated schema), in our own short words."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from puras_nb.model.skill import MISSING, Example, Input, parse_skill
from puras_nb.notebook.inputs import parse_body

runner = pytest.importorskip("worker.schema_dialect", reason="puras-runner (the test extra) is the reference")

SKILL_YAML = """\
title: Product shot
description: >
  A studio photo of a product, with a caption.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [photo, brief]
  properties:
    photo: {type: image, description: The product photo}
    clip: {type: video}
    voice: {type: audio}
    brief: {type: text, description: What the shot should say, minLength: 1}
    tint: {type: color, default: "#ff8800"}
    sheet: {type: file}
    count: {type: integer, minimum: 1, maximum: 4, default: 1}
    tags: {type: array, items: {type: string}}
output_schema:
  type: object
  properties:
    shot: {type: image}
    caption: {type: text}
    score: {type: number}
examples:
  - title: A lamp
    description: The one on the landing page
    inputs: {photo: "https://cdn.example/lamp.png", brief: "Warm, evening light"}
  - inputs: {photo: {url: "https://cdn.example/mug.png"}, brief: Morning, count: 2}
  - "not an example"
  - {title: no inputs}
"""


@pytest.fixture(scope="module")
def shot() -> Any:
    return parse_skill("product-shot", yaml.safe_load(SKILL_YAML), skillpack="studio", source="test")


def test_the_dialect_types_title_examples_and_outputs(shot: Any) -> None:
    assert (shot.path, shot.title, shot.heading) == ("studio/product-shot", "Product shot", "Product shot")
    assert shot.description == "A studio photo of a product, with a caption."
    kinds = {i.name: (i.type, i.media, i.accept) for i in shot.inputs}
    assert kinds == {
        "photo": ("image", True, "image/*"), "clip": ("video", True, "video/*"), "voice": ("audio", True, "audio/*"),
        "brief": ("text", False, ""), "tint": ("color", False, ""), "sheet": ("file", True, ""),
        "count": ("integer", False, ""), "tags": ("array", False, ""),
    }
    assert shot.input("brief").multiline and not shot.input("tint").multiline
    assert shot.input("photo").required and shot.input("tint").default == "#ff8800"
    assert shot.input("clip").default is MISSING
    assert shot.examples == (
        Example("A lamp", {"photo": "https://cdn.example/lamp.png", "brief": "Warm, evening light"},
                "The one on the landing page"),
        Example("Example 2", {"photo": {"url": "https://cdn.example/mug.png"}, "brief": "Morning", "count": 2}),
    )
    assert shot.output_types() == {"shot": "image", "caption": "text", "score": "number"}
    assert shot.has_schema and shot.closed and shot.problems == ()


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"photo": "https://cdn.example/a.png", "brief": "x"}, {}),
        ({"photo": "data:image/png;base64,iVBORw0KGgo=", "brief": "x"}, {}),
        ({"photo": "drive/inputs/a.png", "brief": "x"}, {}),
        ({"photo": {"url": "https://x.example/a"}, "brief": "x"}, {}),
        ({"photo": {"data": "iVBORw0KGgo="}, "brief": "x", "sheet": {"drive_path": "a.pdf"}}, {}),
        ({"photo": 7, "brief": "x"}, {"photo": "must be a URL, a data URL, a drive path, or {url: …} / {data: …}"}),
        ({"photo": {"href": "x"}, "brief": "x"},
         {"photo": "must be a URL, a data URL, a drive path, or {url: …} / {data: …}"}),
        ({"photo": "", "brief": "x"}, {"photo": "must be a URL, a data URL, a drive path, or {url: …} / {data: …}"}),
        ({"photo": "a", "brief": ""}, {"brief": "must not be empty"}),
        ({"photo": "a", "brief": 5}, {"brief": "must be text"}),
        ({"photo": "a", "brief": "x", "tint": "red"}, {"tint": "must be a hex colour such as #ff8800"}),
        ({"photo": "a", "brief": "x", "tint": "#abc"}, {}),
        ({"photo": "a", "brief": "x", "count": 5}, {"count": "must be between 1 and 4"}),
        ({"photo": "a", "brief": "x", "tags": ["a", 2]}, {"tags": "at [1]: must be a string"}),
        ({"brief": "x"}, {"photo": "is required"}),
        ({"photo": "a", "brief": "x", "tnit": "#fff"},
         {"tnit": "is not an input of studio/product-shot; did you mean tint?"}),
    ],
)
def test_validation_says_what_is_wrong_in_our_words(shot: Any, values: dict, problems: dict) -> None:
    assert shot.check(values) == problems


SCHEMAS = [
    yaml.safe_load(SKILL_YAML)["input_schema"],
    {"type": "object", "properties": {
        "n": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
        "o": {"type": "object", "required": ["k"], "properties": {"k": {"type": "color"}}},
        "e": {"enum": [1, "two", None]}}},
    {"type": "object", "properties": {"x": {"anyOf": [{"type": "image"}, {"type": "null"}]},
                                      "l": {"type": "array", "minItems": 1, "uniqueItems": True}}},
]
VALUES: list[dict[str, Any]] = [
    {"photo": "a", "brief": "x"}, {"photo": 1, "brief": "x"}, {"photo": "a", "brief": "x", "tint": "#12345"},
    {"n": 0}, {"n": 1.5}, {"n": 0.7}, {"o": {}}, {"o": {"k": "fff"}}, {"o": {"k": "#ggg"}}, {"e": "two"}, {"e": 3},
    {"x": None}, {"x": "https://a.example/b.png"}, {"x": 5}, {"l": []}, {"l": [1, 1]}, {"l": [1, 2]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_check_agrees_with_the_platforms_validation(schema: dict) -> None:
    """Our check finds a problem exactly when puras-runner's validation (jsonschema Draft 2020-12 on its own
    translation of the dialect) refuses the inputs."""
    skill = parse_skill("s", {"input_schema": schema}, skillpack="p")
    theirs = jsonschema.Draft202012Validator(runner.to_jsonschema(schema))
    for values in VALUES:
        relevant = {k: v for k, v in values.items() if k in schema["properties"]}
        if not relevant:
            continue
        ours = skill.check(relevant)
        assert (not ours) == theirs.is_valid(relevant), (relevant, ours)
        assert all(isinstance(m, str) and "\n" not in m and len(m) <= 160 for m in ours.values())


def test_an_input_checks_its_own_value() -> None:
    tint = Input.from_schema("tint", {"type": "color"})
    assert tint.check("#fff") is None and tint.check("blue") == "must be a hex colour such as #ff8800"
    assert tint.bounds() == "hex colour" and tint.parse(" #fff") == " #fff"
    photo = Input.from_schema("photo", {"type": "image"}, required=True)
    assert photo.check(None) == "is required" and photo.check({"url": "https://a"}) is None
    assert photo.parse(" https://a.example/p.png ") == "https://a.example/p.png"
    assert photo.parse('{"url": "https://a.example/p.png"}') == {"url": "https://a.example/p.png"}
    with pytest.raises(ValueError, match="must be a URL"):
        photo.parse("{nope")
    nullable = Input.from_schema("x", {"anyOf": [{"type": "video"}, {"type": "null"}]})
    assert (nullable.type, nullable.nullable, nullable.media) == ("video", True, True)


def test_an_example_fills_the_cell_and_reads_back_as_its_inputs(shot: Any) -> None:
    lamp = shot.examples[0]
    cell = shot.example(lamp.inputs)
    first, body = cell.split("\n", 1)
    assert first == "%%puras studio/product-shot"
    assert parse_body(body) == lamp.inputs
    mug = shot.examples[1]
    assert parse_body(shot.example(mug.inputs).split("\n", 1)[1]) == mug.inputs
    assert parse_body(shot.example().split("\n", 1)[1])["tint"] == "#ff8800"


def test_a_skill_yaml_without_input_schema_keeps_its_title_and_examples() -> None:
    free = parse_skill("free", {"title": "Free", "examples": [{"inputs": {"any": 1}}]}, skillpack="p")
    assert not free.has_schema and free.title == "Free" and free.examples[0].inputs == {"any": 1}
    assert free.check({"whatever": 1}) == {}
    assert parse_body(free.example({"any": 1}).split("\n", 1)[1]) == {"any": 1}
    assert parse_skill("x", "not a mapping", skillpack="p").has_schema is False
