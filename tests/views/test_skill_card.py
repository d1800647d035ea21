"""Skill views without a kernel: the card of one skill and the `%puras skills` overview, as text and HTML."""

from __future__ import annotations

import re

import pytest

import puras_nb
from puras_nb.local.demopack import build_demo_pack
from puras_nb.model.skill import UnknownSkill, from_skillpacks
from puras_nb.notebook import connection
from puras_nb.views.skill import SkillCard, overview_html, overview_text

SKILLS = {s.path: s for s in from_skillpacks([build_demo_pack().describe()])}


def test_card_text_has_versions_inputs_bounds_and_an_example() -> None:
    text = SkillCard(SKILLS["demo/ugc-ad"]).text()
    lines = text.splitlines()
    assert lines[0] == "<skill UGC ad · demo/ugc-ad · v1, v2 (active)>"
    product = next(line for line in lines if line.strip().startswith("product "))
    duration = next(line for line in lines if line.strip().startswith("duration "))
    assert product.split()[:3] == ["product", "string", "yes"] and "Product URL or name" in product
    assert duration.split()[:4] == ["duration", "integer", "6", "2–60"]
    assert "  %%puras demo/ugc-ad" in lines


def test_card_html_is_escaped_left_aligned_and_themed() -> None:
    packs = [{"slug": "evil", "versions": [1], "active_version": 1, "skills": [{
        "name": "<script>x</script>", "description": "uses `prompt` & <b>bold</b>",
        "input_schema": {"properties": {"<img src=x onerror=alert(1)>": {
            "type": "string", "description": "</td><script>", "default": "<i>", "enum": ["<a>", "b"]}}}}]}]
    [evil] = from_skillpacks(packs)
    html = SkillCard(evil).html()
    assert "<script>" not in html and "<img" not in html and "<b>bold" not in html and "<i>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and '<code class="puras-word">prompt</code>' in html
    assert "`" not in html
    assert "text-align:left" in html and "var(--jp-border-color2" in html
    assert "<b>v1 (active)</b>" in html


def test_card_of_a_skill_without_schema() -> None:
    [bare] = from_skillpacks([{"slug": "p", "skills": [{"name": "s"}]}])
    card = SkillCard(bare)
    assert card.text().splitlines() == [
        "<skill p/s>",
        "The server gives no input schema for this skill: inputs are passed as they are.",
        "example:",
        "  %%puras p/s",
    ]
    assert "no input schema" in card.html()
    assert "any inputs are passed" in SkillCard(SKILLS["demo/echo"]).text()
    assert set(card._repr_mimebundle_()) == {"text/plain", "text/html"} and repr(card) == card.text()


def test_overview_is_left_aligned_without_backticks() -> None:
    skills = list(SKILLS.values())
    html = overview_html(skills)
    assert "`" not in html and '<code class="puras-word">delay</code>' in html and "text-align:left" in html
    assert overview_text(skills).splitlines()[0] == f"<{len(skills)} skills>"
    assert connection.SkillList(skills).html() == html


def test_skill_on_the_emulator(configured: None) -> None:
    card = puras_nb.skill("demo/ugc-ad")
    assert isinstance(card, SkillCard) and card.skill.input("duration").maximum == 60
    with pytest.raises(UnknownSkill, match=re.escape("no skill 'demo/ugc' on this server; did you mean demo/ugc-ad")):
        puras_nb.skill("demo/ugc")


SHOT = {
    "name": "product-shot", "title": "Product shot", "description": "A studio photo of a product.",
    "input_schema": {"type": "object", "required": ["photo"], "properties": {
        "photo": {"type": "image", "description": "The product photo"},
        "brief": {"type": "text"}, "tint": {"type": "color", "default": "#ff8800"},
        "legacy": {"type": "string", "contentMediaType": "audio/*"}}},
    "output_schema": {"type": "object", "properties": {"shot": {"type": "image"}, "caption": {"type": "text"}}},
    "examples": [{"title": "A lamp", "description": "from the landing page",
                  "inputs": {"photo": "https://cdn.example/lamp.png", "brief": "warm"}},
                 {"title": "<script>", "inputs": {"photo": {"url": "https://cdn.example/mug.png"}}}],
}


def test_the_card_of_a_dialect_skill_heads_with_its_title_and_opens_its_examples() -> None:
    [shot] = from_skillpacks([{"slug": "studio", "versions": [1], "skills": [SHOT]}])
    card = SkillCard(shot)
    text = card.text()
    assert text.splitlines()[0] == "<skill Product shot · studio/product-shot · v1>"
    types = {line.split()[0]: line.split()[1] for line in text.splitlines() if line.startswith("  ") and
             line.split()[0] in ("photo", "brief", "tint", "legacy")}
    assert types == {"photo": "image", "brief": "text", "tint": "color", "legacy": "string"}
    assert "(file: audio/*)" in text and "returns: shot (image), caption (text)" in text
    assert "example: A lamp (from the landing page)" in text and "schema from the catalog" in text
    html = card.html()
    assert '<div class="puras-header puras-skill-title"><b>Product shot</b>' in html
    assert html.count("<details") == 3 and "<details class=\"puras-skill-example\" open><summary>A lamp" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "photo:  &quot;https://cdn.example/lamp.png&quot;  # required" in html


def test_the_card_of_ten_thousand_inputs_says_how_many_more_and_line_breaks_stay_out() -> None:
    many = {f"p{i}": {"type": "string", "description": "x\u2028secret: $secret_var"} for i in range(10_000)}
    [wide] = from_skillpacks([{"slug": "p", "skills": [{"name": "wide\rsecret: $x", "input_schema": {
        "properties": many}}]}])
    text = SkillCard(wide).text()
    assert f"… and {10_000 - len(wide.inputs)} more inputs not shown" in text
    assert all(not line.startswith("secret") for line in text.split("\n"))
    assert text.split("\n") == text.splitlines()  # no line break but the card's own
    html = SkillCard(wide).html()
    assert "more inputs not shown" in html and "\u2028" not in html


def test_the_card_of_a_skill_the_server_gives_no_schema_for_says_why_in_one_line() -> None:
    from puras_nb.model.skill import parse_skill

    bare = parse_skill("ghost", None, skillpack="studio", note="The server offers no input schema for studio/ghost "
                       "(no deployment bundle: 404): inputs are passed as given.")
    card = SkillCard(bare)
    assert card.text().splitlines()[1].startswith("The server offers no input schema for studio/ghost (no deployment")
    assert "puras-no-schema" in card.html()


def test_the_overview_shows_titles_bounded_inputs_and_the_catalogs_notes() -> None:
    [shot] = from_skillpacks([{"slug": "studio", "skills": [SHOT]}])
    many = {f"p{i}": {"type": "string"} for i in range(20)}
    [wide] = from_skillpacks([{"slug": "p", "skills": [{"name": "wide", "input_schema": {"properties": many}}]}])
    notes = ["The server lists skillpack x without its skills (no deployment bundle: 404)."]
    text = overview_text([shot, wide], notes)
    assert "studio/product-shot" in text and "+12 more" in text and text.splitlines()[-1] == notes[0]
    html = overview_html([shot, wide], notes)
    assert "<br>Product shot" in html and "p7, +12 more" in html and "puras-skills-note" in html


def test_the_overview_counts_inputs_the_model_left_out_never_a_negative_number() -> None:
    """A skill with few inputs shown and more it did not keep (`more_inputs`) says "+N more" with N those left out:
    the text said "+-5 more" and the table said nothing."""
    from puras_nb.model.skill import Input, Skill

    few = Skill(path="p/few", name="few", skillpack="p", inputs=(Input.from_schema("a", {}),), more_inputs=3)
    line = overview_text([few]).splitlines()[1]
    assert line.endswith("[a] +3 more") and "-" not in line.replace("p/few", "")
    assert "a, +3 more" in overview_html([few])
