"""The Puras schema dialect: translated exactly as puras-runner translates it, and validated with jsonschema."""

from __future__ import annotations

from typing import Any

import pytest

from puras_nb import dialect

runner = pytest.importorskip("worker.schema_dialect", reason="puras-runner (the test extra) is the reference")


@pytest.fixture(scope="module")
def validator() -> type[Any]:
    """jsonschema's Draft 2020-12 validator, imported on first use: importing jsonschema builds its IRI grammar
    (seconds of CPU), which every pytest worker would pay at collection. Module scope keeps these tests on one
    worker (tests/conftest.py groups them)."""
    import jsonschema

    return jsonschema.Draft202012Validator

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "required": ["photo"], "properties": {"photo": {"type": "image", "description": "A photo"}}},
    {"type": "object", "properties": {"notes": {"type": "text"}, "tint": {"type": "color", "default": "#fff"}}},
    {"type": "object", "properties": {"clips": {"type": "array", "items": {"type": "video"}}}},
    {"type": "object", "properties": {"pair": {"type": "array", "prefixItems": [{"type": "audio"}, {"type": "file"}]}}},
    {"type": "object", "properties": {"x": {"anyOf": [{"type": "image"}, {"type": "null"}]}}},
    {"type": "object", "properties": {"x": {"type": "image", "oneOf": [{"type": "string"}]}}},
    {"type": "object", "additionalProperties": {"type": "text"}, "properties": {}},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 9}}},
    {"type": "object", "properties": {"o": {"type": "object", "properties": {"deep": {"type": "color"}}}}},
    {"type": "object", "properties": {"c": {"type": "color", "pattern": "^#[0-9a-f]{6}$"}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_inputs_translate_as_puras_runner_does(schema: dict[str, Any]) -> None:
    assert dialect.to_jsonschema(schema) == runner.to_jsonschema(schema)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_outputs_translate_as_puras_runner_does(schema: dict[str, Any]) -> None:
    assert dialect.to_output_jsonschema(schema) == runner.to_output_jsonschema(schema)


def test_the_input_is_not_mutated() -> None:
    schema = {"type": "object", "properties": {"p": {"type": "image"}}}
    dialect.to_jsonschema(schema)
    assert schema == {"type": "object", "properties": {"p": {"type": "image"}}}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://x.test/a.png", True),
        ("data:image/png;base64,iVBORw0KGgo=", True),
        ("drive/inputs/a.png", True),
        ({"url": "https://x.test/a.png"}, True),
        ({"drive_path": "a.png"}, True),
        ({"data": "iVBORw0KGgo="}, True),
        ({"base64": "iVBORw0KGgo=", "media_type": "image/png"}, True),
        ("", False),
        ({"href": "https://x.test"}, False),
        (7, False),
    ],
)
def test_file_references_validate_as_the_platform_accepts(value: Any, ok: bool, validator: type[Any]) -> None:
    schema = dialect.to_jsonschema({"type": "object", "properties": {"p": {"type": "image"}}})
    valid = validator(schema).is_valid({"p": value})
    assert valid is ok
    assert dialect.is_file_reference(value) is ok


@pytest.mark.parametrize(("value", "ok"), [("#1a2B3c", True), ("fff", True), ("#ffff", False), ("red", False)])
def test_colours_are_hex(value: str, ok: bool, validator: type[Any]) -> None:
    schema = dialect.to_jsonschema({"type": "object", "properties": {"c": {"type": "color"}}})
    assert validator(schema).is_valid({"c": value}) is ok
    assert dialect.is_color(value) is ok


def test_a_schema_nested_past_the_limit_is_refused_not_a_recursion_error() -> None:
    schema: dict[str, Any] = {"type": "text"}
    for _ in range(10_000):
        schema = {"type": "object", "properties": {"a": schema}}
    with pytest.raises(dialect.DialectError, match="nested deeper"):
        dialect.to_jsonschema(schema)


def test_metaschema_errors_are_remembered_by_value_and_say_where() -> None:
    bad = {"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}}
    first = dialect.metaschema_errors(bad)
    assert [(list(e.absolute_path), e.validator) for e in first] == [(["properties", "n", "minimum"], "type")]
    assert dialect.metaschema_errors(dict(bad)) is first  # an equal schema: the remembered answer
    assert dialect.metaschema_errors({"type": "object"}) == ()
    # 1 and "1" pickle apart, so a schema never gets another's answer
    assert dialect.metaschema_errors({"enum": [1]}) == () and dialect.metaschema_errors({"enum": 1}) != ()


def test_metaschema_errors_check_formats_only_when_asked() -> None:
    broken_regex = {"type": "string", "pattern": "("}
    assert dialect.metaschema_errors(broken_regex) == ()
    (error,) = dialect.metaschema_errors(broken_regex, formats=True)
    assert error.validator == "format" and list(error.absolute_path) == ["pattern"]


def test_a_schema_too_large_or_unpicklable_is_checked_every_time_not_remembered() -> None:
    huge = {"enum": list(range(dialect.REMEMBERED_BYTES)), "minimum": "x"}
    assert dialect.metaschema_errors(huge) is not dialect.metaschema_errors(huge)
    assert [e.validator for e in dialect.metaschema_errors(huge)] == ["type"]
    unpicklable = {"type": "object", "default": (i for i in ())}  # a generator: pickle refuses it
    assert dialect.metaschema_errors(unpicklable) == ()
