"""The skill form (`puras_nb.form`, the stakeholder app's form) against the session emulator, outside a kernel:
the widget each schema gets, checks before any request, runs and their history, server refusals, escaping."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as w
import pytest

import puras_nb
from puras_nb.model.skill import from_skillpacks
from puras_nb.notebook.app import EMULATOR_NOTE, app
from puras_nb.notebook.live import LiveJob
from puras_nb.views.form import COMPARE, SkillForm
from puras_nb.views.job import descendants

pytestmark = pytest.mark.usefixtures("configured")

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
PACK = {
    "slug": "demo",
    "path": "local/demo",
    "active_version": 2,
    "versions": [1, 2],
    "skills": [
        {
            "name": "everything",
            "description": XSS,
            "input_schema": {
                "properties": {
                    "style": {"type": "string", "enum": ["flat", "aurora"], "default": "aurora"},
                    "loud": {"type": "boolean", "default": True},
                    "photo": {"type": "string", "contentMediaType": "image/*", "description": XSS},
                    "tags": {"type": "array"},
                    "ratio": {"type": "number", "minimum": 0, "maximum": 1},
                    "seed": {"type": "integer", "minimum": 0},
                    XSS: {"type": "string", "maxLength": 20},
                },
                "required": ["photo"],
            },
        }
    ],
}


def _stats(emulator: Any) -> dict:
    auth = {"Authorization": f"Bearer {emulator.api_key}"}
    return httpx.get(f"{emulator.url}/_emulator/stats", headers=auth, timeout=10).json()


def _never(*_args: Any) -> Any:
    raise AssertionError("the form must not start anything here")


def test_each_schema_type_gets_its_widget_and_everything_is_escaped() -> None:
    form = SkillForm(from_skillpacks([PACK]), start=_never)
    kinds = {name: type(f.widget) for name, f in form.fields.items()}
    assert kinds["style"] is w.Dropdown and form.fields["style"].widget.value == "aurora"
    assert kinds["loud"] is w.Checkbox and form.fields["loud"].widget.value is True
    assert kinds["photo"] is w.FileUpload and form.fields["photo"].widget.accept == "image/*"
    assert kinds["tags"] is w.Textarea and kinds["ratio"] is w.FloatSlider and kinds["seed"] is w.Text
    assert form.fields["ratio"].widget.step == pytest.approx(0.01)
    html = " ".join(getattr(x, "value", "") for x in descendants(form) if isinstance(x, w.HTML))
    assert "<script>" not in html and "<img src=x" not in html and "&lt;script&gt;" in html
    assert [label for label, _ in form.version.options] == ["v2 (active)", "v1"], "compare needs a compare action"


def test_values_are_typed_from_each_widget_and_a_chosen_file_goes_as_a_data_url() -> None:
    form = SkillForm(from_skillpacks([PACK]), start=_never)
    values, problems = form.values()
    assert problems == {"photo": "is required"} and values == {"style": "aurora", "loud": True, "ratio": 0.0}
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
    form.fields["photo"].widget.value = (
        {"name": "a.png", "type": "image/png", "size": len(png), "content": memoryview(png),
         "last_modified": datetime.now(timezone.utc)},
    )
    form.fill(tags='["a", 1]', seed="7", style="flat", loud=False)
    values, problems = form.values()
    assert problems == {} and values["photo"].startswith("data:image/png;base64,")
    assert values["tags"] == ["a", 1] and values["seed"] == 7 and values["style"] == "flat" and values["loud"] is False
    form.fill(tags="{", seed="-1")
    assert form.values()[1] == {"tags": "must be an array in JSON", "seed": "must be at least 0"}
    with pytest.raises(ValueError, match="takes a file"):
        form.fill(photo="x.png")
    with pytest.raises(KeyError, match="no input 'nope'"):
        form.fill(nope=1)


def test_bad_values_are_marked_next_to_their_fields_and_nothing_is_sent(emulator: Any) -> None:
    form = puras_nb.form("demo/slow")
    assert isinstance(form.fields["seconds"].widget, w.Text), "0–3600 s is too wide for a slider"
    before = _stats(emulator)["jobs_created"]
    for typed, message in (("-1", "seconds must be between 0 and 3600"), ("soon", "seconds must be a number")):
        form.fill(seconds=typed)
        assert form.run() is None
        assert message in form.fields["seconds"].message.value
        assert "nothing was sent" in form.message.value
    assert _stats(emulator)["jobs_created"] == before and form.runs == [] and form.history.children == ()
    form.fill(seconds="0.05")
    job = form.run()
    assert job.result(timeout=10) == {"slept": 0.05} and form.fields["seconds"].message.value == ""


def test_runs_go_on_top_of_the_history_and_compare_makes_a_grid() -> None:
    form = puras_nb.form(["demo/count", "demo/image"])
    assert form.picker.layout.display != "none" and repr(form) == "<SkillForm demo/count: n, delay>"
    first = form.fill(n="2", delay=0.01).run()
    form.picker.value = 1
    assert repr(form) == "<SkillForm demo/image: prompt, width, height>"
    assert [label for label, _ in form.version.options][-1] == "compare v1 and v2"
    form.fill(prompt="a <b>fox</b>", width=16, height=16)
    form.version.value = COMPARE
    grid = form.run()
    assert grid.wait(30).done() and sorted(grid.versions) == [1, 2]
    assert form.runs == [grid, first] and first.result(timeout=10) == {"count": 2}
    heads = [entry.children[0].value for entry in form.history.children]
    assert "#2" in heads[0] and "compare" in heads[0] and "a &lt;b&gt;fox&lt;/b&gt;" in heads[0]
    assert "#1" in heads[1] and "demo/count" in heads[1] and "n=2" in heads[1]


def test_a_refusal_by_the_server_is_one_short_line() -> None:
    loose = dict(PACK, skills=[{"name": "ugc-ad", "input_schema": {"properties": {"product": {"type": "string"}}}}])
    form = SkillForm(from_skillpacks([loose]), start=lambda skill, inputs, version: LiveJob.submit(skill.path, inputs))
    form.fill(product="")  # the loose schema lets an empty product through; the server's does not
    assert form.run() is None and form.runs == []
    assert form.message.value.startswith("The server refused these inputs: ")
    assert "Traceback" not in form.message.value and "\n" not in form.message.value


def test_the_app_notes_the_emulator_and_never_shows_the_key(emulator: Any) -> None:
    form = app(["demo/ugc-ad", "demo/count"])
    notes = " ".join(x.value for x in descendants(form) if isinstance(x, w.HTML))
    assert EMULATOR_NOTE not in notes, "a configured API key: no emulator note"
    assert form.run_button.description == "Generate"
    job = form.fill(product="lamp", duration=2).run()
    job.wait(60)
    state = repr([x.get_state() for x in descendants(form)])
    assert emulator.api_key not in state


def test_the_app_takes_one_skill_by_name_like_form() -> None:
    assert [s.path for s in app("demo/echo").skills] == ["demo/echo"]


APP_WITHOUT_KEY = """
import ipywidgets as w
from puras_nb.notebook.app import EMULATOR_NOTE, app
from puras_nb.views.html import esc
from puras_nb.views.job import descendants
form = app(["demo/count"])
job = form.fill(n="2", delay=0.01).run()
assert job.result(timeout=30) == {"count": 2}
notes = [x.value for x in descendants(form) if isinstance(x, w.HTML) and 'class="puras-note"' in x.value]
assert len(notes) == 1 and esc(EMULATOR_NOTE) in notes[0], notes
"""


def test_without_a_key_the_app_runs_on_its_own_emulator_and_says_so_in_a_note_not_a_print() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURAS_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", APP_WITHOUT_KEY], env=env, capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "" and "no PURAS_API_KEY" not in proc.stderr
