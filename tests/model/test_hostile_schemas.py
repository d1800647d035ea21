"""Hostile input schemas (issue 22.11): each degrades for that input or that skill alone, never for the catalog."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from puras_nb.model.skill import MAX_INPUTS, MAX_SCHEMA_PARTS, from_skillpacks
from puras_nb.notebook.inputs import parse_body


def _pack(*skills: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"slug": "p", "path": "w/p", "skills": list(skills)}]


GOOD = {"name": "good", "input_schema": {"type": "object", "required": ["n"],
                                         "properties": {"n": {"type": "integer", "maximum": 3}}}}


def test_a_malformed_required_degrades_that_skill_alone() -> None:
    bad = {"name": "bad", "input_schema": {"type": "object", "required": [["a"], "b"],
                                           "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}
    skills = {s.name: s for s in from_skillpacks(_pack(bad, GOOD, {"name": "worse", "input_schema": {
        "required": "a", "properties": {"a": {}}}}))}
    assert set(skills) == {"bad", "good", "worse"}
    assert skills["good"].check({}) == {"n": "is required"}
    assert skills["good"].check({"n": 4}) == {"n": "must be at most 3"}
    b = skills["bad"]
    assert b.names() == ["a", "b"] and not b.input("a").required and b.input("b").required
    assert any("required" in p for p in b.problems)
    assert b.check({"b": "x"}) == {"b": "must be an integer"} and b.check({"b": 1}) == {}
    assert skills["worse"].names() == ["a"] and any("required" in p for p in skills["worse"].problems)


def test_an_input_whose_schema_is_not_json_schema_is_left_unchecked_and_named() -> None:
    odd = {"name": "odd", "input_schema": {"type": "object", "properties": {
        "broken": {"type": 7, "minimum": "low"}, "fine": {"type": "integer", "minimum": 1}}}}
    [skill] = from_skillpacks(_pack(odd))
    assert skill.input("broken").problem and not skill.input("fine").problem
    assert any(p.startswith("input broken:") for p in skill.problems)
    assert skill.check({"broken": "anything", "fine": 0}) == {"fine": "must be at least 1"}
    assert skill.input("broken").check(object()) is None  # not checked here: the server still checks it


def test_an_unresolvable_ref_or_a_bad_pattern_never_raises() -> None:
    refs = {"name": "refs", "input_schema": {"type": "object", "properties": {
        "a": {"$ref": "https://evil.example/schema.json"}, "b": {"type": "string", "pattern": "("}}}}
    [skill] = from_skillpacks(_pack(refs))
    assert skill.check({"a": 1, "b": "x"}) in ({}, {"a": skill.check({"a": 1}).get("a")})
    assert skill.input("b").check("x") is None


@pytest.mark.parametrize("bound", [5e-324, 1e308, 10**400, float("nan"), "5"])
def test_absurd_numeric_bounds_read_as_no_bound_or_as_themselves(bound: Any) -> None:
    [skill] = from_skillpacks(_pack({"name": "tiny", "input_schema": {"type": "object", "properties": {
        "x": {"type": "number", "minimum": 0, "maximum": bound}}}}))
    item = skill.input("x")
    assert item.maximum is None or item.maximum == bound
    assert isinstance(item.bounds(), str) and isinstance(skill.check({"x": 1}), dict)


def test_ten_thousand_properties_are_bounded_to_the_first_inputs_and_counted() -> None:
    many = {f"p{i}": {"type": "string", "description": "d"} for i in range(10_000)}
    [skill] = from_skillpacks(_pack({"name": "wide", "input_schema": {"type": "object", "properties": many,
                                                                       "required": ["p0", "p9999"]}}))
    assert len(skill.inputs) == MAX_INPUTS and skill.more_inputs == 10_000 - MAX_INPUTS
    assert skill.check({"p0": "x"}) == {} and skill.check({}) == {"p0": "is required"}
    assert skill.check({"p0": "x", "p5000": "y"}) == {}  # not a typo: it is one of the inputs not shown
    assert f"and {10_000 - MAX_INPUTS} more inputs" in skill.example()


BREAKS = ["\r", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r\n"]


@pytest.mark.parametrize("brk", BREAKS)
def test_line_breaks_in_descriptions_and_names_cannot_add_lines_to_the_example(brk: str) -> None:
    """Lines injected into the copy-ready `%%puras` example would resolve notebook variables when run."""
    inject = f"{brk}secret: $secret_var{brk}"
    schema = {"type": "object", "properties": {
        "prompt": {"type": "string", "description": f"What to draw{inject}"},
        f"name{inject}": {"type": "string", "default": f"x{inject}"},
        "tone": {"type": "string", "enum": [f"a{inject}", "b"], "default": "$secret_var"},
    }}
    [skill] = from_skillpacks(_pack({"name": f"s{brk}x: $secret_var", "input_schema": schema}))
    example = skill.example()
    assert len(example.splitlines()) == 4, example  # the magic's line and one per input, however it is split
    assert len(example.split("\n")) == 4
    body = example.split("\n", 1)[1]
    values = parse_body(body, {"secret_var": "TOP SECRET"})
    assert "secret" not in values and "TOP SECRET" not in repr(values)
    assert values["tone"] == "$secret_var" and values[f"name{inject}"] == f"x{inject}"
    assert yaml.safe_load(body)["tone"] == "$$secret_var"


def test_a_skill_row_that_is_junk_beside_good_ones_is_skipped_or_degraded() -> None:
    rows: list[Any] = [GOOD, {"name": ["x"]}, {"name": "deep", "input_schema": _deep(200)},
                       {"name": "types", "input_schema": {"properties": {"a": {"type": ["null", 7]}}}}]
    skills = {s.name: s for s in from_skillpacks(_pack(*rows))}
    assert set(skills) == {"good", "deep", "types"}
    assert not skills["deep"].has_schema and skills["deep"].note
    assert skills["good"].check({"n": 1}) == {}


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema



def test_an_input_schema_too_large_to_check_is_shown_and_left_to_the_server() -> None:
    """10 000 `anyOf` branches took ~7 s against the metaschema (and again for every value checked)."""
    huge = {"anyOf": [{"type": "string", "minLength": i} for i in range(10_000)]}
    schema = {"type": "object", "required": ["big"], "allOf": [{"required": ["n"]}] * 5_000,
              "properties": {"big": huge, "n": {"type": "integer", "maximum": 3}}}
    [skill] = from_skillpacks(_pack({"name": "big", "input_schema": schema}))
    assert skill.has_schema and skill.names() == ["big", "n"]
    assert f"more than {MAX_SCHEMA_PARTS} parts" in skill.input("big").problem
    assert any("beside `properties`" in p for p in skill.problems)
    assert skill.check({"big": 7, "n": 4}) == {"n": "must be at most 3"}  # the rest is checked as usual
    assert skill.check({"n": 1}) == {"big": "is required"}


def test_a_long_enum_is_data_not_schema() -> None:
    [skill] = from_skillpacks(_pack({"name": "fonts", "input_schema": {"type": "object", "properties": {
        "font": {"type": "string", "enum": [f"font {i}" for i in range(50_000)]}}}}))
    font = skill.input("font")
    assert not font.problem and not font.multiline and len(font.enum or ()) == 50_000
    assert skill.check({"font": "font 49999"}) == {} and "font" in skill.check({"font": "nope"})
