"""puras_nb.model.skill: parsing the emulator's real `/v1/skillpacks` schemas, checks, parsing, examples, lookup."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from puras_nb import settings
from puras_nb.local.demopack import build_demo_pack
from puras_nb.local.skills import SchemaError, validate_inputs
from puras_nb.model import schemas
from puras_nb.model import skill as model
from puras_nb.model.skill import MISSING, Input, Skill, UnknownSkill, from_skillpacks, resolve


@pytest.fixture(scope="module")
def demo() -> dict[str, Skill]:
    """The demo pack's skills, parsed from exactly what the emulator answers on GET /v1/skillpacks."""
    return {s.path: s for s in from_skillpacks([build_demo_pack().describe()])}


def test_parses_every_demo_skill_with_versions_and_inputs(demo: dict[str, Skill]) -> None:
    ad = demo["demo/ugc-ad"]
    assert (ad.name, ad.skillpack, ad.pack_path) == ("ugc-ad", "demo", "local/demo")
    assert ad.versions == (1, 2) and ad.active_version == 2
    assert "v2" in ad.description
    product, duration = ad.input("product"), ad.input("duration")
    assert product.required and product.type == "string" and product.default is MISSING
    assert (product.min_length, product.max_length) == (1, 2000)
    assert not duration.required and duration.type == "integer" and duration.default == 6
    assert (duration.minimum, duration.maximum, duration.bounds()) == (2, 60, "2–60")
    echo = demo["demo/echo"]
    assert echo.inputs == () and echo.has_schema and not echo.closed and echo.check({"any": 1}) == {}
    assert ad.closed
    seconds = demo["demo/speech"].input("seconds")
    assert seconds.type == "number" and seconds.nullable and seconds.default is None


def test_unknown_input_is_a_key_error_naming_the_inputs(demo: dict[str, Skill]) -> None:
    with pytest.raises(KeyError, match="inputs: product, duration"):
        demo["demo/ugc-ad"].input("prodcut")


def test_check_agrees_with_the_emulator(demo: dict[str, Skill]) -> None:
    ad = demo["demo/ugc-ad"]
    schema = build_demo_pack().resolve("ugc-ad", None)[0].schema
    cases: list[dict[str, Any]] = [
        {"product": "mug"},
        {"product": "mug", "duration": 1},
        {"product": "mug", "duration": 61},
        {"product": "mug", "duration": "6"},
        {"product": ""},
        {"duration": 6},
        {"product": "mug", "duration": True},
    ]
    for values in cases:
        ours = ad.check(values)
        try:
            validate_inputs(schema, values)
            theirs = True
        except SchemaError:
            theirs = False
        assert (not ours) == theirs, (values, ours)
    assert ad.check({"product": "mug", "duration": 1}) == {"duration": "must be between 2 and 60"}
    assert ad.check({}) == {"product": "is required"}
    assert ad.check({"product": ""}) == {"product": "must not be empty"}
    unknown = ad.check({"product": "x", "prodcut": "y"})
    assert unknown == {"prodcut": "is not an input of demo/ugc-ad; did you mean product, photo?"}


def test_a_skill_without_schema_takes_any_key() -> None:
    packs = [{"slug": "p", "versions": [3], "skills": [{"name": "free"}, {"name": "odd", "input_schema": "nope"}]}]
    free, odd = from_skillpacks(packs)
    assert free.inputs == () and not free.has_schema and free.versions == (3,) and free.active_version is None
    assert free.check({"anything": 1}) == {} and odd.inputs == () and not free.closed
    strict = from_skillpacks([{"slug": "p", "skills": [
        {"name": "none", "input_schema": {"properties": {}, "additionalProperties": False}},
        {"name": "open", "input_schema": {"properties": {"a": {}}, "additionalProperties": True}}]}])
    assert strict[0].check({"x": 1}) == {"x": "is not an input of p/none"} and strict[1].check({"x": 1}) == {}
    assert free.example() == "%%puras p/free"


def test_junk_in_the_answer_is_skipped_not_raised() -> None:
    packs: Any = [None, {"slug": "p", "skills": [None, {"description": "nameless"}, {"name": "ok", "input_schema": {
        "properties": {"a": None, "b": {"type": ["null", 7, "integer"], "minimum": "low", "enum": "x"}},
        "required": "a"}}]}]
    [ok] = from_skillpacks(packs)
    a, b = ok.inputs
    assert (a.type, a.required, b.type, b.nullable, b.minimum, b.enum) == ("", False, "integer", True, None, None)
    assert from_skillpacks("nonsense") == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        ({"type": "integer"}, " 7 ", 7),
        ({"type": "integer"}, "6.0", 6),
        ({"type": "number"}, "2.5", 2.5),
        ({"type": "number"}, "3", 3),
        ({"type": "boolean"}, "Yes", True),
        ({"type": "boolean"}, "off", False),
        ({"type": "array"}, "[1, 2]", [1, 2]),
        ({"type": "object"}, '{"a": 1}', {"a": 1}),
        ({"type": "string"}, " 12 ", " 12 "),
        ({"type": "integer"}, "  ", None),
        ({"type": "color"}, "", None),
        ({}, "12", 12),
        ({}, "a cat", "a cat"),
    ],
)
def test_parse_text(spec: dict, text: str, value: Any) -> None:
    assert Input.from_schema("x", spec).parse(text) == value


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        ({"type": "integer"}, "6.5", "must be an integer"),
        ({"type": "integer"}, "six", "must be an integer"),
        ({"type": "number"}, "many", "must be a number"),
        ({"type": "boolean"}, "maybe", "must be true or false"),
        ({"type": "array"}, '{"a": 1}', "must be an array in JSON"),
    ],
)
def test_parse_refuses_with_a_short_message(spec: dict, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Input.from_schema("x", spec).parse(text)


def test_check_messages_and_bounds_text() -> None:
    tone = Input.from_schema("tone", {"type": "string", "enum": ["calm", "bold"], "default": "calm"})
    assert tone.check("loud") == "must be one of: calm, bold" and tone.check("bold") is None
    assert tone.bounds() == "one of: calm, bold"
    low = Input.from_schema("n", {"type": "number", "minimum": 0.5})
    assert low.check(0) == "must be at least 0.5" and low.bounds() == "≥ 0.5"
    assert Input.from_schema("n", {"type": "integer", "maximum": 3}).check(4) == "must be at most 3"
    text = Input.from_schema("t", {"type": "string", "minLength": 3, "maxLength": 5})
    assert text.check("ab") == "must be at least 3 characters"
    assert text.check("abcdef") == "must be at most 5 characters"
    assert text.bounds() == "3–5 chars"
    assert Input.from_schema("b", {"type": "boolean"}).check(1) == "must be true or false"


def test_media_marker() -> None:
    picture = Input.from_schema("img", {"type": "string", "contentMediaType": "image/*"})
    assert picture.media and picture.accept == "image/*"
    assert Input.from_schema("f", {"type": "string", "format": "binary"}).media
    assert not Input.from_schema("product", {"type": "string", "description": "Product URL or name"}).media


def test_example_is_a_cell_that_parses_to_the_defaults(demo: dict[str, Skill]) -> None:
    example = demo["demo/video"].example()
    first, *body = example.splitlines()
    assert first == "%%puras demo/video"
    assert body[0].startswith("prompt:") and "# required · 1–2000 chars · What to draw" in body[0]
    values = yaml.safe_load("\n".join(body))
    assert values == {"prompt": None, "seconds": 3, "fps": 24, "width": 640, "height": 360}
    assert yaml.safe_load("\n".join(demo["demo/speech"].example().splitlines()[1:]))["seconds"] is None
    assert "\ntone:     friendly  # one of: friendly, luxury, energetic" in demo["demo/ugc-ad"].example()


@pytest.mark.parametrize(
    "value",
    ["calm", "very bold", "yes", "No", "1.5", "", "a: b", "#x", "a ", "x-y.z", 3, 2.5, True, None, [1], {"a": 1}],
)
def test_yaml_value_reads_back_as_itself(value: object) -> None:
    assert yaml.safe_load(f"k: {model.yaml_value(value)}") == {"k": value}


def test_resolve_by_path_full_path_and_default_pack(demo: dict[str, Skill]) -> None:
    skills = list(demo.values())
    assert resolve("demo/ugc-ad", skills).path == "demo/ugc-ad"
    assert resolve("local/demo/ugc-ad", skills).path == "demo/ugc-ad"
    assert resolve("ugc-ad", skills, "local/demo").path == "demo/ugc-ad"
    with pytest.raises(UnknownSkill, match=r"no skill 'demo/nope' on this server; did you mean .*demo/hang"):
        resolve("demo/nope", skills)
    with pytest.raises(UnknownSkill, match="did you mean demo/ugc-ad"):
        resolve("ugc-ad", skills)
    with pytest.raises(UnknownSkill, match="which skill"):
        resolve(" ", skills)
    with pytest.raises(UnknownSkill, match="the server lists no skills"):
        resolve("a/b", [])


def test_catalog_and_find_on_the_emulator(configured: None) -> None:
    ad = schemas.find("demo/ugc-ad")
    assert ad.input("product").required
    assert schemas.catalog()[0] is not None and ad in schemas.catalog()
    assert schemas.known() == schemas.catalog()


def test_known_never_raises_and_remembers_an_unreachable_server() -> None:
    before = settings.current()
    try:
        settings.configure(api_key="puras_live_nothing_here_0000", api_base="http://127.0.0.1:9", local=False)
        began = time.monotonic()
        assert schemas.known() == []
        assert schemas.known() == []
        assert time.monotonic() - began < schemas.QUICK_TIMEOUT + 1
        with pytest.raises(Exception, match=r"127\.0\.0\.1|within"):
            schemas.catalog()
    finally:
        settings.restore(before)


def test_submitting_an_unknown_skill_names_close_matches(configured: None) -> None:
    """The server's 404 to `start` (answer awaited) and `run` (held submission) becomes one line naming close
    matches, still a PurasAPIError with status 404 and the server's own words in `.detail`."""
    import puras_nb
    from puras_nb.errors import PurasAPIError

    for submit in (puras_nb.start, puras_nb.run):
        with pytest.raises(model.SkillNotFound) as caught:
            submit("demo/ugc", {"product": "a lamp"})
        assert str(caught.value).startswith("no skill 'demo/ugc' on this server; did you mean demo/ugc-ad")
        assert isinstance(caught.value, PurasAPIError) and isinstance(caught.value, UnknownSkill)
        assert caught.value.status == 404 and "ugc" in caught.value.detail
    with pytest.raises(model.SkillNotFound, match="did you mean demo/echo"):
        puras_nb.start("elsewhere/echo", {"text": "hi"})


def test_a_404_about_something_else_stays_the_servers_error(configured: None) -> None:
    import puras_nb
    from puras_nb.errors import PurasAPIError

    with pytest.raises(PurasAPIError, match="no version 99") as caught:
        puras_nb.start("demo/echo", {"text": "hi"}, version=99)
    assert not isinstance(caught.value, UnknownSkill)


def test_a_known_skill_is_submitted_without_asking_for_the_catalog(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint costs a round trip only on the error path: a good submission never lists the skills."""
    import puras_nb
    from puras_nb.runtime.session import Session

    asked: list[str] = []

    def spying(name: str) -> Any:
        real = getattr(Session, name)

        def spy(self: Session, *args: Any, **kwargs: Any) -> Any:
            asked.append(name)
            return real(self, *args, **kwargs)

        return spy

    for name in ("submit", "submit_here", "skillpacks"):
        monkeypatch.setattr(Session, name, spying(name))
    assert puras_nb.run("demo/echo", {"text": "hi"}) is not None  # a foreground run: sent by this thread
    puras_nb.start("demo/echo", {"text": "hi"}).result(30)
    assert "skillpacks" not in asked and asked == ["submit_here", "submit"], asked
    with pytest.raises(model.SkillNotFound):
        puras_nb.start("demo/nope", {"text": "hi"})
    assert asked.count("skillpacks") <= 1
