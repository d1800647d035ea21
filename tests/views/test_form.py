"""The skill form (`puras_nb.form`, the stakeholder app's form) against the session emulator, outside a kernel:
the widget each schema gets, checks before any request, runs and their history, server refusals, escaping."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import ipywidgets as w
import pytest

import puras_nb
from puras_nb import settings
from puras_nb.model.skill import from_skillpacks
from puras_nb.notebook.app import EMULATOR_NOTE, app
from puras_nb.notebook.live import LiveJob
from puras_nb.runtime import endpoint as runtime_endpoint
from puras_nb.runtime import session as runtime_session
from puras_nb.views.form import COMPARE, ColorField, FilePicker, FreeInputs, SkillForm
from puras_nb.views.html import esc
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
    assert kinds["photo"] is FilePicker and form.fields["photo"].widget.upload.accept == "image/*"
    assert kinds["tags"] is w.Textarea and kinds["ratio"] is w.FloatSlider and kinds["seed"] is w.Text
    assert form.fields["ratio"].widget.step == pytest.approx(0.01)
    assert form.fields[XSS].label.value.count("0–20 chars") == 1 and form.fields[XSS].widget.placeholder == "", \
        "the hint names the bounds; the placeholder does not repeat them"
    assert form.fields["seed"].widget.placeholder == "a whole number" and "≥ 0" in form.fields["seed"].label.value
    assert form.fields["tags"].widget.placeholder == "a JSON list: [ … ]"
    html = " ".join(getattr(x, "value", "") for x in descendants(form) if isinstance(x, w.HTML))
    assert "<script>" not in html and "<img src=x" not in html and "&lt;script&gt;" in html
    assert [label for label, _ in form.version.options] == ["v2 (active)", "v1"], "compare needs a compare action"


def test_values_are_typed_from_each_widget_and_a_chosen_file_goes_as_a_data_url() -> None:
    form = SkillForm(from_skillpacks([PACK]), start=_never)
    values, problems = form.values()
    assert problems == {"photo": "is required"} and values == {"style": "aurora", "loud": True, "ratio": 0.0}
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
    form.fields["photo"].widget.upload.value = (
        {"name": "a.png", "type": "image/png", "size": len(png), "content": memoryview(png),
         "last_modified": datetime.now(timezone.utc)},
    )
    form.fill(tags='["a", 1]', seed="7", style="flat", loud=False)
    values, problems = form.values()
    assert problems == {} and values["photo"].startswith("data:image/png;base64,")
    assert values["tags"] == ["a", 1] and values["seed"] == 7 and values["style"] == "flat" and values["loud"] is False
    form.fill(tags="{", seed="-1")
    assert form.values()[1] == {"tags": "must be an array in JSON", "seed": "must be at least 0"}
    form.fill(photo="drive/inputs/x.png")
    assert form.values()[0]["photo"] == "drive/inputs/x.png" and not form.fields["photo"].widget.upload.value
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
    saved = form.static_bundle()
    text, html = saved["text/plain"], saved["text/html"]
    assert text.splitlines()[:3] == ["<SkillForm demo/image: prompt, width, height>",
                                     "A form: run this cell with a kernel to use it (2 runs below, newest first).",
                                     "#2 · demo/image compare · prompt=a <b>fox</b>, width=16, height=16"]
    assert "<Comparison demo/image: " in text and "; 2 succeeded>" in text
    assert '#1 · demo/count v2 · n=2, delay=0.01\n<LiveJob demo/count succeeded>\nresult: {"count": 2}' in text
    root = 'class="puras-static puras-final puras-form-static mathjax_ignore tex2jax_ignore"'  # never typeset
    assert root in html and "2 runs below, newest first" in html
    assert html.index("#2 · ") < html.index("#1 · ") and "Also offered: demo/count" in html
    assert "a &lt;b&gt;fox&lt;/b&gt;" in html and "<b>fox</b>" not in html
    assert html.count("<style>") == 1 + 1, "the views' style and the form's, once each"


def test_a_form_s_saved_view_names_its_skill_and_escapes_what_the_server_wrote() -> None:
    form = SkillForm(from_skillpacks([PACK]), start=_never)
    html = form.static_bundle()["text/html"]
    assert "&lt;script&gt;" in html and "<script>" not in html and "<img src=x" not in html
    assert "no runs yet" in html and "run this cell with a kernel" in html


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
    form.version.value = 1  # v1's landscape frames: a quarter of v2's rendering, the same kinds of media
    job = form.fill(product="lamp", duration=2).run()
    job.wait(60)
    state = repr([x.get_state() for x in descendants(form)])
    assert emulator.api_key not in state


def test_the_app_takes_one_skill_by_name_like_form() -> None:
    assert [s.path for s in app("demo/echo").skills] == ["demo/echo"]


def test_without_a_key_the_app_runs_on_its_own_emulator_and_says_so_in_a_note_not_a_print(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing configured (no PURAS_* variables, no settings made): the app starts the embedded emulator,
    runs on it, and says so once, in a note of its own, not a print."""
    for name in [n for n in os.environ if n.startswith("PURAS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(settings, "_settings", None)
    monkeypatch.setattr(runtime_endpoint, "_emulator", None)
    monkeypatch.setattr(runtime_session, "_current", None)
    try:
        form = app(["demo/count"])
        job = form.fill(n="2", delay=0.01).run()
        assert job is not None and job.result(timeout=30) == {"count": 2}
        notes = [x.value for x in descendants(form) if isinstance(x, w.HTML) and 'class="puras-note"' in x.value]
        assert len(notes) == 1 and esc(EMULATOR_NOTE) in notes[0], notes
        said = capsys.readouterr()
        assert said.out == "" and "no PURAS_API_KEY" not in said.err
    finally:
        if runtime_endpoint.embedded_emulator() is not None:
            runtime_endpoint.embedded_emulator().stop()


def _one(schema: dict, **row: Any) -> Any:
    return from_skillpacks([{"slug": "p", "skills": [{"name": "s", "input_schema": schema, **row}]}])


@pytest.mark.parametrize("bounds", [(0, 5e-324), (-1e308, 1e308), (0, 1e-300), (5, 5.0000000000000001)])
def test_a_number_range_no_slider_can_step_through_gets_a_text_field(bounds: tuple[float, float]) -> None:
    """Issue 22.11: a range of 5e-324 crashed the slider (its step came out as 0)."""
    lo, hi = bounds
    form = SkillForm(_one({"properties": {"x": {"type": "number", "minimum": lo, "maximum": hi}}}), start=_never)
    assert isinstance(form.fields["x"].widget, w.Text)
    assert form.fill(x=str(lo)).values() == ({"x": lo}, {})


def test_a_slider_only_where_a_drag_lands_on_every_value(emulator: Any) -> None:
    """Issue 23.10: sliders went up to 1 000 values, so demo/video's height (16–720) was a slider whose drag skipped
    pixels while its width (16–1280) was a text box; a range of pixels is typed, a short count or duration slid."""
    video = puras_nb.form("demo/video")
    kinds = {name: type(field.widget) for name, field in video.fields.items()}
    assert kinds["width"] is w.Text and kinds["height"] is w.Text, kinds
    assert kinds["fps"] is w.IntSlider and kinds["seconds"] is w.FloatSlider, kinds
    image = puras_nb.form("demo/image")
    assert isinstance(image.fields["width"].widget, w.Text) and isinstance(image.fields["height"].widget, w.Text)
    assert image.fields["width"].widget.value == "512" and "16–1024" in image.fields["width"].label.value
    percent = SkillForm(_one({"properties": {"x": {"type": "integer", "minimum": 0, "maximum": 100}}}), start=_never)
    assert isinstance(percent.fields["x"].widget, w.IntSlider), "0–100 is a slider"
    wider = SkillForm(_one({"properties": {"x": {"type": "integer", "minimum": 0, "maximum": 101}}}), start=_never)
    assert isinstance(wider.fields["x"].widget, w.Text)


def test_ten_thousand_inputs_show_the_first_and_say_how_many_more() -> None:
    """Issue 22.11: 10 000 properties took 17 s and 400 MB; the form shows the model's first inputs."""
    from puras_nb.model.skill import MAX_INPUTS

    many = {f"p{i}": {"type": "string"} for i in range(10_000)}
    form = SkillForm(_one({"properties": many}), start=_never)
    assert len(form.fields) == MAX_INPUTS
    notes = [c.value for c in form.field_box.children if isinstance(c, w.HTML)]
    assert any(f"{10_000 - MAX_INPUTS} more inputs" in n for n in notes)


def test_an_input_with_more_values_than_a_dropdown_shows_gets_a_checked_text_field() -> None:
    from puras_nb.views.form import DROPDOWN_MAX

    fonts = [f"font {i}" for i in range(DROPDOWN_MAX + 1)]
    form = SkillForm(_one({"properties": {"font": {"type": "string", "enum": fonts}, "few": {"enum": fonts[:3]}}}),
                     start=_never)
    assert type(form.fields["font"].widget) is w.Text and isinstance(form.fields["few"].widget, w.Dropdown)
    assert form.fill(font="font 500").values()[1] == {}
    assert "font" in form.fill(font="no such font").values()[1]


DIALECT = {
    "type": "object",
    "required": ["photo", "brief"],
    "properties": {
        "photo": {"type": "image", "description": "The product photo"},
        "brief": {"type": "text", "minLength": 1},
        "tint": {"type": "color", "default": "#ff8800"},
        "accent": {"type": "color"},
        "clip": {"type": "video"},
    },
}
EXAMPLES = [{"title": "A lamp", "inputs": {"photo": "https://cdn.example/lamp.png", "brief": "Warm light",
                                           "accent": "0af"}},
            {"title": "<b>Bad</b>", "inputs": {"photo": {"url": "https://cdn.example/mug.png"}, "brief": "Mug",
                                                "tint": "red"}}]


def test_dialect_inputs_get_a_file_picker_a_text_area_and_a_colour_picker() -> None:
    [skill] = _one(DIALECT, title="Product shot", examples=EXAMPLES)
    form = SkillForm([skill], start=_never)
    kinds = {name: type(f.widget) for name, f in form.fields.items()}
    assert kinds == {"photo": FilePicker, "brief": w.Textarea, "tint": ColorField, "accent": ColorField,
                     "clip": FilePicker}
    assert form.fields["clip"].widget.upload.accept == "video/*" and form.fields["brief"].widget.rows == 4
    tint, accent = form.fields["tint"].widget, form.fields["accent"].widget
    assert (tint.value, tint.use.layout.display) == ("#ff8800", "none")
    assert accent.value is None and accent.use.layout.display == ""  # optional, no default: not sent until picked
    [must] = _one({"required": ["c"], "properties": {"c": {"type": "color"}}})
    assert SkillForm([must], start=_never).values() == ({"c": "#000000"}, {})  # required: always sent
    assert "<b>Product shot</b>" in form.about.value and "p/s" in form.about.value
    values, problems = form.values()
    assert values == {"tint": "#ff8800"} and problems == {"photo": "is required", "brief": "is required"}
    accent.picker.value = "#123456"
    form.fill(photo='{"url": "https://cdn.example/a.png"}', brief="x")
    assert form.values() == ({"photo": {"url": "https://cdn.example/a.png"}, "brief": "x", "tint": "#ff8800",
                              "accent": "#123456"}, {})
    form.fill(photo="drive/inputs/a photo.png", tint="abc")
    assert form.values()[1] == {} and form.values()[0]["tint"] == "#abc"
    with pytest.raises(ValueError, match="takes a hex colour"):
        form.fill(tint="red")


def test_examples_are_buttons_that_fill_the_form() -> None:
    [skill] = _one(DIALECT, examples=EXAMPLES)
    form = SkillForm([skill], start=_never)
    buttons = [b for b in form.examples.children if isinstance(b, w.Button)]
    assert [b.description for b in buttons] == ["A lamp", "<b>Bad</b>"]  # a button's text is never HTML
    buttons[0].click()
    values, problems = form.values()
    assert problems == {} and values == {"photo": "https://cdn.example/lamp.png", "brief": "Warm light",
                                         "tint": "#ff8800", "accent": "#0af"}
    buttons[1].click()  # starts over: the first example's accent is gone, and "red" is no colour
    assert form.fields["accent"].widget.value is None
    assert "does not fit this form" in form.message.value and "tint" in form.message.value
    assert form.values()[0]["photo"] == {"url": "https://cdn.example/mug.png"}


def test_a_skill_without_a_schema_gets_one_free_inputs_box_and_says_why() -> None:
    [bare] = from_skillpacks([{"slug": "p", "skills": [{"name": "free", "examples": [
        {"title": "Hi", "inputs": {"text": "hello", "n": 2}}]}]}])
    started: list[dict] = []
    form = SkillForm([bare], start=lambda skill, inputs, version: started.append(inputs))  # type: ignore[func-returns-value,arg-type]
    assert form.fields == {} and isinstance(form.free, FreeInputs)
    assert "no input schema" in form.about.value
    form.examples.children[1].click()
    assert form.values() == ({"text": "hello", "n": 2}, {})
    form.free.widget.value = "prompt: a lamp\nsteps: 3\n"
    assert form.values() == ({"prompt": "a lamp", "steps": 3}, {})
    form.free.widget.value = "- not\n- a mapping\n"
    assert form.run() is None and "must be a mapping" in form.free.message.value and not started
    form.free.widget.value = "a: [1,\n"
    assert "not valid YAML" in form.values()[1]["inputs"]
    form.fill(text="hi")
    assert form.values()[0] == {"text": "hi"}


def test_the_app_form_opens_with_the_first_example_filled_in_so_the_first_press_works() -> None:
    skills = from_skillpacks([{"slug": "p", "skills": [
        {"name": "s", "input_schema": DIALECT, "examples": EXAMPLES},
        {"name": "t", "input_schema": {"properties": {"n": {"type": "integer"}}, "required": ["n"]},
         "examples": [{"inputs": {"n": 3}}]}]}])
    started: list[tuple[str, dict]] = []

    def start(skill: Any, inputs: dict, version: Any) -> Any:
        started.append((skill.path, inputs))
        return LiveJob.submit("demo/echo", {})

    form = SkillForm(skills, start=start, first_example=True, results_only=True)
    assert form.run() is not None and started[-1] == ("p/s", {"photo": "https://cdn.example/lamp.png",
                                                              "brief": "Warm light", "tint": "#ff8800",
                                                              "accent": "#0af"})
    form.picker.value = 1
    assert form.run() is not None and started[-1] == ("p/t", {"n": 3})
    assert SkillForm(skills, start=_never).values()[1]  # a plain form starts from the defaults


def test_the_app_keeps_each_run_s_log_id_and_raw_result_behind_one_details_toggle() -> None:
    """People who don't code see the result; the log, the job id and the raw result wait behind one toggle per run
    (a one-line job's own toggle gives way to it and follows it, so its log is fetched)."""
    from puras_nb.views.form import FORM_STYLE

    form = SkillForm(from_skillpacks([PACK]), start=lambda *_: LiveJob.submit("demo/slow", {"seconds": 0.05}),
                     results_only=True)
    form.fill(photo="https://cdn.example/a.png")
    job = form.run()
    job.result(timeout=20)
    entry = form.history.children[0]
    row, view = entry.children
    head, toggle = row.children
    assert "#1 · " in head.value and toggle.description == "details" and not toggle.value
    assert "puras-details-open" not in entry._dom_classes
    hidden = ":not(.puras-details-open) :is(.puras-log,.puras-job-id,.puras-json-view)"
    assert hidden in FORM_STYLE and ".puras-run-entry .puras-job .puras-details-toggle{display:none}" in FORM_STYLE
    deadline = time.monotonic() + 10
    while view.details_toggle is None and time.monotonic() < deadline:  # the job's own, once it is one line
        time.sleep(0.05)
    toggle.value = True
    assert "puras-details-open" in entry._dom_classes and view.details_toggle.value is True
    toggle.value = False
    assert "puras-details-open" not in entry._dom_classes and view.details_toggle.value is False
    plain = SkillForm(from_skillpacks([PACK]), start=lambda *_: LiveJob.submit("demo/slow", {"seconds": 0.05}))
    plain.fill(photo="https://cdn.example/a.png").run()
    assert isinstance(plain.history.children[0].children[0], w.HTML), "a notebook's form shows everything, no toggle"


def test_details_opened_while_the_run_goes_on_stay_open_once_it_ends_as_one_line() -> None:
    """A stakeholder opens "details" while the job runs; when it ends as one line, that line's own details open too,
    so its log is fetched and shown (it stayed empty until the toggle was closed and opened again)."""
    form = SkillForm(from_skillpacks([PACK]), start=lambda *_: LiveJob.submit("demo/slow", {"seconds": 0.5}),
                     results_only=True)
    form.fill(photo="https://cdn.example/a.png")
    job = form.run()
    entry = form.history.children[0]
    row, view = entry.children
    toggle = row.children[1]
    assert not job.done() and view.details_toggle is None
    toggle.value = True
    job.result(timeout=20)
    deadline = time.monotonic() + 10
    while view.details_toggle is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert view.details_toggle is not None and view.details_toggle.value is True


def test_the_saved_view_draws_an_ended_run_once_until_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each publish (up to once a second) carries every run: a run that ended is drawn (its media base64-encoded)
    once, not at each one; a later change (its last events, its previews) draws it again."""
    from puras_nb.model.protocols import Change
    from puras_nb.views import form as form_view

    form = puras_nb.form("demo/count")
    job = form.fill(n="2", delay=0.01).run()
    job.result(timeout=20)
    assert job.wait_previews(10)
    drawn: list[Any] = []
    real = form_view.static_view
    monkeypatch.setattr(form_view, "static_view", lambda run: drawn.append(run) or real(run))
    first = form.static_bundle()
    assert form.static_bundle() == first and drawn == [job]
    form._run_changed(job, frozenset({Change.EVENTS}))  # what the model says when the last events arrive
    assert form.static_bundle() == first and drawn == [job, job]
