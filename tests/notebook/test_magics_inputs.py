"""Unit tests of puras_nb.notebook.inputs: the key=value, JSON and YAML parsing behind the magics."""

from __future__ import annotations

import base64
import datetime
import io
import time
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
    assert str(info.value) == (
        "bad YAML at line 3: mapping values are not allowed here: 'b: 2: 3'; if it is text, quote it: b: \"2: 3\""
    )
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("body", "line", "fragments"),
    [
        # the '[' opened on line 2 and never closed: PyYAML notices on line 3, the mistake is on line 2
        ("product: [solar lantern\nduration: 4\n", 2,
         ["the '[' on this line is never closed", "'product: [solar lantern'",
          'if it is text, quote it: product: "[solar lantern"']),
        ("a: 1\nprompt: {draft\nn: 2\n", 3, ["the '{' on this line is never closed"]),
        ('prompt: "open\nn: 2\n', 2, ["the quote on this line is never closed"]),
        ("prompt: a cat: cute\n", 2, ['quote it: prompt: "a cat: cute"']),
        ("img: @cat.png\n", 2, ["found character '@'", 'quote it: img: "@cat.png"']),
        ("tags: [#a, #b]\nn: 2\n", 2, ["'[' on this line is never closed", 'quote it: tags: "[#a, #b]"']),
        ("note: `code`\n", 2, ['quote it: note: "`code`"']),
        ("prompt: *bold* text\n", 2, ['quote it: prompt: "*bold* text"']),
        ("prompt: !important sale\n", 2, ['quote it: prompt: "!important sale"']),
        ("prompt: 'it's\n", 2, ["write a quote as two ('it''s')"]),
        ("a: 1\n\tb: 2\n", 3, ["indent with spaces, not tabs"]),
    ],
)
def test_bad_yaml_names_the_line_of_the_mistake_and_says_when_to_quote(body: str, line: int, fragments: list) -> None:
    with pytest.raises(InputError) as info:
        parse_body(body, first_line=2)
    message = str(info.value)
    assert info.value.line == line and message.startswith(f"bad YAML at line {line}: "), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_an_unquoted_hash_value_is_a_comment_and_is_refused_with_its_quotes() -> None:
    with pytest.raises(InputError) as info:
        parse_body("n: 1\ncolor: #ff0000\n", first_line=2)
    assert info.value.line == 3
    assert str(info.value) == (
        "line 3: 'color' has no value: '#' starts a comment in YAML; to send the text, quote it: color: \"#ff0000\""
    )
    assert parse_body("color: '#ff0000'  # red\nseed:\n") == {"color": "#ff0000", "seed": None}


BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_yaml_aliases_are_refused_so_a_billion_laughs_body_ends_at_once() -> None:
    assert len(BILLION_LAUGHS) < 700
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        parse_body(BILLION_LAUGHS, first_line=2)
    assert time.monotonic() - started < 5  # before the fix: 9^8 strings, never done
    assert info.value.line == 3
    assert str(info.value).startswith("line 3: *a is a YAML alias, which inputs do not take")
    with pytest.raises(InputError, match=r"line 1: \*x is a YAML alias"):
        parse_body("a: &x [*x]\n")  # one that holds itself
    assert parse_body("a: &x 1\n") == {"a": 1}  # an anchor alone is harmless


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("n: 1\nwhen: 2024-05-01\n",
         "line 3: 'when' is a date or time (2024-05-01), which JSON cannot carry; quote it to send text: '2024-05-01'"),
        ("at: 2024-05-01 10:00:00\n", "line 2: 'at' is a date or time (2024-05-01T10:00:00)"),
        ("blob: !!binary aGVsbG8=\n", "line 2: 'blob' is bytes (!!binary), which JSON cannot carry"),
        ("tags: !!set {a, b}\n", "line 2: 'tags' is a set, which JSON cannot carry; write a list: [a, b]"),
        ("ratio: .nan\n", "line 2: 'ratio' is nan, which JSON cannot carry"),
        ("scene:\n  shots: [{at: 2024-05-01}]\n", "line 2: 'scene.shots[0].at' is a date or time"),
        ("x: $get_ipython\n", "line 2: 'x' is a Python function object, which JSON cannot carry"),
        ('{"x": $get_ipython}', "line 2: 'x' is a Python function object, which JSON cannot carry"),
    ],
)
def test_values_json_cannot_carry_name_their_key(body: str, message: str) -> None:
    def get_ipython() -> None: ...

    with pytest.raises(InputError) as info:
        build_inputs(body=body, namespace={"get_ipython": get_ipython}, first_line=2)
    assert str(info.value).startswith(message), str(info.value)


def test_values_json_cannot_carry_from_pairs_and_json_name_their_key() -> None:
    with pytest.raises(InputError, match=r"^'n' is nan, which JSON cannot carry"):
        build_inputs(["n=NaN"])
    with pytest.raises(InputError, match=r"^'f' is a Python function object"):
        build_inputs(["f=$f"], namespace={"f": lambda: 1})
    with pytest.raises(InputError, match=r"^'opts.when' is a date or time"):
        build_inputs(json_text='{"opts": "$o"}', namespace={"o": {"when": datetime.date(2024, 5, 1)}})
    with pytest.raises(InputError, match=r"^'m' has a key JSON cannot carry \(tuple\)"):
        build_inputs(["m=$m"], namespace={"m": {(1, 2): 3}})


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("n: 1\ndeep:\n" + "".join(" " * (i + 1) + "-\n" for i in range(3000)),
         "line 3: 'deep' is nested deeper than 64 levels"),
        ("deep: " + "[" * 5000 + "]" * 5000 + "\n", "line 2: 'deep' is nested deeper than 64 levels"),
        ('{"n": 1,\n "deep": ' + "[" * 5000 + "]" * 5000 + "}", "line 3: 'deep' is nested deeper than 64 levels"),
        ('{"deep": ' + "[" * 500 + "]" * 500 + "}", "'deep' is nested deeper than 64 levels"),
        ("x: $deep\n", "line 2: '$deep' is nested deeper than 64 levels"),
        ("x: $loop\n", "line 2: '$loop' is nested deeper than 64 levels"),
    ],
)
def test_bodies_nested_thousands_deep_name_their_key(body: str, message: str) -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(InputError) as info:
        build_inputs(body=body, namespace={"deep": _nested(5000), "loop": loop}, first_line=2)
    assert str(info.value) == message


def test_values_nested_thousands_deep_in_pairs_and_json_name_their_key() -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(InputError, match=r"^'a' is nested deeper than 64 levels$"):
        build_inputs([f"a={deep}"])
    with pytest.raises(InputError, match=r"^'a' is nested deeper than 64 levels$"):
        build_inputs(["a=$v"], namespace={"v": _nested(100)})
    with pytest.raises(InputError, match=r"^--json is nested deeper than 64 levels$"):
        build_inputs(json_text=f'{{"a": {deep}}}')
    with pytest.raises(InputError, match=r"^'a' is nested deeper than 64 levels$"):
        build_inputs(json_text=f'{{"a": {"[" * 100 + "]" * 100}}}')
    assert build_inputs(["a=" + "[" * 63 + "]" * 63]) == {"a": _nested(62)}


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
