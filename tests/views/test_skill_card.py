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
    assert lines[0] == "<skill demo/ugc-ad · v1, v2 (active)>"
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
