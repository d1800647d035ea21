"""Hostile input schemas in a server's catalog (issue 22.11), end to end: `GET /v1/skillpacks` over loopback, then
what a user calls (`catalog()`, `skill()`, `form()`, the copy-ready `%%puras` example). Each hostile skill degrades
alone; the others read and check as usual. tests/model/test_hostile_schemas.py has each rule on its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipywidgets as w
import pytest

import puras_nb
from puras_nb import settings
from puras_nb.model import schemas
from puras_nb.model.skill import MAX_INPUTS
from puras_nb.notebook.inputs import parse_body
from tests.harness.hostile import Hostile, answer

KEY = "puras_live_hostile_catalog_key_0123456789"
INJECT = "\u2028secret: $secret_var\r\x85token: $secret_var\n"
GOOD = {"name": "good", "input_schema": {"type": "object", "required": ["n"], "properties": {
    "n": {"type": "integer", "minimum": 0, "maximum": 3}}}}
HOSTILE = [
    {"name": "bad-required", "input_schema": {"type": "object", "required": [["a"]], "properties": {
        "a": {"type": "string"}, "b": {"type": "integer"}}}},
    {"name": "tiny-range", "input_schema": {"type": "object", "properties": {
        "x": {"type": "number", "minimum": 0, "maximum": 5e-324}}}},
    {"name": "wide", "input_schema": {"type": "object", "required": ["p0"], "properties": {
        f"p{i}": {"type": "string", "description": f"input {i}{INJECT}"} for i in range(10_000)}}},
    {"name": "breaks", "description": f"hi{INJECT}", "input_schema": {"type": "object", "properties": {
        f"name{INJECT}": {"type": "string", "description": f"What{INJECT}", "default": f"v{INJECT}"}}},
     "examples": [{"title": f"ex{INJECT}",
                   "inputs": {f"name{INJECT}": f"z{INJECT}", f"other{INJECT}": "$secret_var"}}]},
]


@pytest.fixture
def hostile_catalog() -> Iterator[Hostile]:
    packs = [{"slug": "p", "path": "w/p", "id": "11111111-0000-4000-8000-000000000001", "skills": [*HOSTILE, GOOD]}]
    before = settings.current()
    with Hostile({"GET /v1/skillpacks": answer(200, packs)}) as server:
        settings.configure(api_key=KEY, api_base=server.url, local=False, skills_dir=None)
        yield server
    settings.restore(before)


def _values(example: str) -> dict[str, Any]:
    """What the copy-ready cell sends, with `secret_var` set in the notebook."""
    return parse_body(example.split("\n", 1)[1], {"secret_var": "TOP SECRET"})


def test_each_hostile_skill_degrades_alone_and_the_others_work(hostile_catalog: Hostile) -> None:
    names = [s.name for s in schemas.catalog(refresh=True)]
    assert names == [s["name"] for s in [*HOSTILE, GOOD]]
    good = puras_nb.skill("p/good")
    assert "n" in good.html() and good.skill.check({"n": 4}) == {"n": "must be between 0 and 3"}
    form = puras_nb.form("p/good")
    assert form.fill(n="2").values() == ({"n": 2}, {})
    cards, forms = {}, {}  # each made once: the form and card of 10 000 inputs are most of this test's CPU
    for hostile in HOSTILE:
        name = hostile["name"]
        cards[name], forms[name] = puras_nb.skill(f"p/{name}"), puras_nb.form(f"p/{name}")
        assert cards[name].html() and cards[name].text() and forms[name].fields

    bad = puras_nb.skill("p/bad-required").skill
    assert bad.names() == ["a", "b"] and not bad.input("a").required and bad.problems

    assert isinstance(forms["tiny-range"].fields["x"].widget, w.Text)

    wide = forms["wide"]
    assert len(wide.fields) == MAX_INPUTS
    assert f"{10_000 - MAX_INPUTS} more inputs" in cards["wide"].html()

    skill = puras_nb.skill("p/breaks").skill
    for example in [skill.example(), *(skill.example(e.inputs) for e in skill.examples)]:
        assert len(example.splitlines()) == len(example.split("\n")) == 1 + len(_values(example)), example
        values = _values(example)
        assert set(values) <= {f"name{INJECT}", f"other{INJECT}"} and "TOP SECRET" not in repr(values)
    assert _values(skill.example(skill.examples[0].inputs))[f"other{INJECT}"] == "$secret_var"
