"""Unit tests of puras_nb.notebook.inputs: the key=value, JSON and YAML parsing behind the magics."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from puras_nb.mime import sniff_mime
from puras_nb.notebook.inputs import (
    InputError,
    build_inputs,
    data_url,
    parse_body,
    parse_pairs,
    parse_value,
    split_line,
    to_input,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def test_values_parse_like_the_official_cli() -> None:
    assert parse_value("3") == 3
    assert parse_value("1.5") == 1.5
    assert parse_value("true") is True
    assert parse_value("null") is None
    assert parse_value('{"a": [1, 2]}') == {"a": [1, 2]}
    assert parse_value("hello world") == "hello world"
    assert parse_value("") == ""
    assert parse_value("{not json}") == "{not json}"


def test_dollar_name_passes_the_variable_as_it_is() -> None:
    obj = {"nested": [1, {"x": "{braces}"}]}
    assert parse_value("$obj", {"obj": obj}) == obj
    assert parse_value("$n", {"n": 7}) == 7
    assert parse_value("$$literal", {}) == "$literal"
    assert parse_value("price $5", {}) == "price $5"
    with pytest.raises(InputError, match=r"\$nope: no variable named 'nope'"):
        parse_value("$nope", {})


def test_bytes_and_files_become_data_urls(tmp_path: Path) -> None:
    assert parse_value("$b", {"b": PNG}) == "data:image/png;base64," + base64.b64encode(PNG).decode()
    path = tmp_path / "clip.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert parse_value(f"@{path}").startswith("data:audio/")
    assert parse_value("@@handle") == "@handle"
    with pytest.raises(InputError, match="cannot read"):
        parse_value(f"@{tmp_path / 'missing.png'}")
    assert to_input(path).startswith("data:audio/")


def test_pil_images_become_png_data_urls() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    url = to_input({"images": [image_mod.new("RGB", (4, 4), "red")]})["images"][0]
    assert url.startswith("data:image/png;base64,")
    decoded = image_mod.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (4, 4)


def test_mime_sniffing() -> None:
    assert sniff_mime(PNG) == "image/png"
    assert sniff_mime(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_mime(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert sniff_mime(b"plain text") is None and data_url(b"plain text").startswith("data:application/octet-stream;")
    assert data_url(b"hi", "text/plain") == "data:text/plain;base64,aGk="


def test_pairs() -> None:
    assert parse_pairs(["n=3", "prompt=a cat = cute", "v=$v"], {"v": [1]}) == {
        "n": 3,
        "prompt": "a cat = cute",
        "v": [1],
    }
    with pytest.raises(InputError, match="expected key=value, got 'oops'"):
        parse_pairs(["oops"])
    with pytest.raises(InputError, match="expected key=value"):
        parse_pairs(["=3"])


def test_yaml_body_with_variables_and_braces() -> None:
    body = "prompt: $p\nn: 2\nstyle: 'use {curly} braces'\nliteral: $$p\n"
    assert parse_body(body, {"p": "a {cat}"}) == {
        "prompt": "a {cat}",
        "n": 2,
        "style": "use {curly} braces",
        "literal": "$p",
    }


def test_json_body_and_json_with_bare_variables() -> None:
    assert parse_body('{"a": {"b": "{x}"}, "n": 1}') == {"a": {"b": "{x}"}, "n": 1}
    assert parse_body('{"prompt": $p}', {"p": 5}) == {"prompt": 5}


def test_empty_and_comment_bodies() -> None:
    assert parse_body("") == {}
    assert parse_body("  \n# nothing here\n") == {}


def test_syntax_errors_name_the_cell_line() -> None:
    with pytest.raises(InputError) as info:
        parse_body('{"a": 1,\n "b": 2\n "c": 3}', first_line=2)
    assert info.value.line == 4
    assert str(info.value).startswith("bad JSON at line 4: Expecting ',' delimiter")
    with pytest.raises(InputError) as info:
        parse_body("a: 1\nb: 2: 3\n", first_line=2)
    assert info.value.line == 3
    assert str(info.value) == "bad YAML at line 3: mapping values are not allowed here: 'b: 2: 3'"
    assert "\n" not in str(info.value)


def test_missing_variable_in_body_names_the_line() -> None:
    with pytest.raises(InputError) as info:
        parse_body("a: 1\nb: $ghost\n", {}, first_line=2)
    assert info.value.line == 3
    assert str(info.value) == "line 3: $ghost: no variable named 'ghost' in the notebook"


def test_body_must_be_a_mapping() -> None:
    with pytest.raises(InputError, match="not a list"):
        parse_body("- 1\n- 2\n")
    with pytest.raises(InputError, match="not a str"):
        parse_body("just words")


def test_build_inputs_merges_body_then_json_then_pairs() -> None:
    merged = build_inputs(["n=3"], json_text='{"n": 2, "m": "$v"}', body="n: 1\nk: x\n", namespace={"v": True})
    assert merged == {"n": 3, "m": True, "k": "x"}
    with pytest.raises(InputError, match="--json is not valid JSON"):
        build_inputs(json_text="{bad")
    with pytest.raises(InputError, match="--json must be a JSON object"):
        build_inputs(json_text="[1]")


def test_magic_lines_split_like_a_shell_with_trailing_comments() -> None:
    assert split_line("run demo/echo a=1  # it's a note") == ["run", "demo/echo", "a=1"]
    assert split_line("run demo/echo color=#ff0000 b='x # y' c=\"it's\"") == [
        "run", "demo/echo", "color=#ff0000", "b=x # y", "c=it's"
    ]
    assert split_line("# only a comment") == []
    assert split_line(r"run x a=\#1 #c") == ["run", "x", "a=#1"]
    with pytest.raises(ValueError, match="No closing quotation"):
        split_line("run x a='open")
