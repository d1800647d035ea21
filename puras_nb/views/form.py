"""SkillForm: inputs for any skill drawn from its input schema, a version picker, a Run button, and the runs below.

One implementation for `puras_nb.form(...)` in a notebook and the stakeholder app served by Voilà. The skill's title
heads it, and each input gets the widget its dialect type suggests: a file picker for `image`, `video`, `audio` and
`file` (a URL, a drive path, a data URL or `{"url": …}` typed in, or a file chosen on this computer), a text area
for `text`, a colour picker for `color`, a slider for a short bounded range (`SLIDER_STEPS`), a checkbox, a dropdown
for an enum, a text field otherwise (a wide range too). The skill's examples are buttons that fill the form. A
skill without a schema gets one free YAML/JSON inputs box and the one line that says why. A press checks every
value against the schema first (`Skill.check`) and shows what is wrong next to its field, with no request made; a
valid press starts a job through the `start` callable the entry point gives (the view makes no request itself)
and puts its live widget on top of this form's history. A server that refuses the inputs gets a short message,
never a traceback. Colours are JupyterLab's theme variables with light fallbacks, so the form reads in dark themes
(and Voilà's).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
from traitlets import TraitError

from ..dialect import is_color
from ..errors import PurasAPIError, PurasError
from ..mime import data_url
from ..model.protocols import Change, GridView, JobView, Shown
from ..model.schemas import BundleError, load_yaml
from ..model.skill import MISSING, Example, Input, Skill
from ..model.text import count, input_lines
from ..runtime.kernel import output_of, parent
from ..strings import cut, flat
from .display import static_bundle as static_view
from .display import widget_for
from .html import NO_MATH, STYLE, esc
from .job import Throttle, details_toggle
from .outputs import live_bundle, widget_view

__all__ = ["COMPARE", "ColorField", "Field", "FilePicker", "FreeInputs", "SkillForm"]

#: A slider for a bounded integer input whose range is at most this many steps (on the 640 px track a drag then
#: lands on every value, 6 px or more apart: a count, a duration, a percentage), and for a bounded number input
#: whose range is at most `SLIDER_SPAN` (in steps of a round 1/100 of it or finer); a text field beyond, where a
#: slider could not hit the value a person means (a width of 16–1024 px is typed, and so is its height, whatever
#: its own range).
SLIDER_STEPS = 100
SLIDER_SPAN = 100
#: A dropdown for an input that allows at most this many values; a text field beyond (checked against them), which a
#: browser draws at once where a select of 100 000 options would not.
DROPDOWN_MAX = 500
#: Runs kept in a form's history (the oldest drop off the page; their jobs keep running).
HISTORY_MAX = 30
#: The version picker's value for "compare the two newest versions side by side".
COMPARE = "compare"
MESSAGE_MAX = 300
#: Seconds between two updates of a form's saved view (each carries every run's media): a burst of runs ending
#: sends one.
SAVED_EVERY = 1.0

Starter = Callable[[Skill, dict, "int | None"], JobView]
Comparer = Callable[[Skill, dict, list], GridView]

FORM_STYLE = (
    "<style>"
    ".puras-form{max-width:920px}"
    ".puras-form .puras-field{margin:2px 0 6px 0}"
    ".puras-form .puras-field-label{font-size:13px;line-height:1.3;color:var(--jp-ui-font-color1,#111827)}"
    ".puras-form .puras-field-help{color:var(--jp-ui-font-color2,#4b5563);font-size:12px;margin-left:6px}"
    ".puras-form .puras-field-error,.puras-form .puras-form-message{font-size:12px;min-height:0}"
    ".puras-form .puras-note{background:var(--jp-layout-color2,#eff6ff);color:var(--jp-ui-font-color1,#1e3a8a);"
    "border-left:3px solid var(--jp-brand-color1,#1d4ed8);border-radius:6px;padding:4px 10px;margin-bottom:8px;"
    "font-size:12px}"
    ".puras-form .puras-skill-about{color:var(--jp-ui-font-color1,#374151);font-size:13px}"
    # for people who don't code (the app): a run's log, job id and raw result wait behind its one "details" toggle
    # (a job's own one-line toggle gives way to it)
    ".puras-results-only .puras-run-entry:not(.puras-details-open) :is(.puras-log,.puras-job-id,.puras-json-view)"
    "{display:none}"
    ".puras-results-only .puras-run-entry .puras-job .puras-details-toggle{display:none}"
    ".puras-results-only .puras-details-open .puras-job .puras-details{display:flex!important}"
    ".puras-form .puras-run-head-row{align-items:center;gap:8px;margin-top:10px;border-top:1px solid "
    "var(--jp-border-color2,#e5e7eb);padding-top:4px}"
    ".puras-form .puras-run-head-row .puras-run-head{margin-top:0;border-top:none;padding-top:0}"
    ".puras-form .puras-run-details{height:24px;line-height:24px;flex:none}"
    ".puras-form .puras-examples{align-items:center;flex-wrap:wrap;gap:4px;margin:2px 0 6px 0}"
    ".puras-form .puras-examples .widget-button{width:auto;max-width:100%}"
    ":is(.puras-form,.puras-form-static) .puras-muted{color:var(--jp-ui-font-color2,#4b5563);font-size:12px}"
    ".puras-form .puras-file-picker{align-items:center;flex-wrap:wrap;gap:4px}"
    ".puras-form .puras-file-chosen{font-size:12px;color:var(--jp-ui-font-color2,#4b5563)}"
    ":is(.puras-form,.puras-form-static) .puras-run-head{font-size:12px;color:var(--jp-ui-font-color1,#374151);"
    "margin-top:10px;border-top:1px solid var(--jp-border-color2,#e5e7eb);padding-top:6px;word-break:break-word}"
    "</style>"
)


#: What an empty text field says it takes, for the types whose text has a form to follow (the hint above the field
#: already names the bounds; a string's field says nothing).
PLACEHOLDERS = {"integer": "a whole number", "number": "a number", "array": "a JSON list: [ … ]",
                "object": "a JSON object: { … }"}

#: The finest step a number slider takes: a range whose hundredth is finer (0 to 5e-324, say) gets a text field.
SLIDER_FINEST = 1e-9


def _slider_range(item: Input) -> tuple[float, float] | None:
    """(min, max) of a slider for `item`, or None when its bounds make no sane one."""
    lo, hi = item.minimum, item.maximum
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    if not (hi - lo) / 100 >= SLIDER_FINEST:
        return None
    if item.type == "integer":
        sane = float(lo).is_integer() and float(hi).is_integer() and hi - lo <= SLIDER_STEPS
    else:
        sane = item.type == "number" and hi - lo <= SLIDER_SPAN
    return (lo, hi) if sane else None


def _step(lo: float, hi: float) -> float:
    """A round step for a number slider: the power of ten at or below 1/100 of the range (0–60 → 0.1)."""
    return 10.0 ** math.floor(math.log10((hi - lo) / 100))


def _start_value(item: Input) -> Any:
    """The value a slider starts at: the default when it is within the bounds, else the lower bound."""
    default = item.default
    ok = isinstance(default, (int, float)) and not isinstance(default, bool)
    if ok and item.minimum is not None and item.maximum is not None and item.minimum <= default <= item.maximum:
        return default
    return item.minimum


def _label(value: Any) -> str:
    """An enum value as a dropdown shows it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else _json(value)


class FilePicker(w.HBox):
    """A file input: a text box for a URL, a drive path, a data URL or `{"url": …}` in JSON, beside a button that
    chooses a file on this computer (sent as a data URL). Choosing a file clears the text, typing clears the file."""

    def __init__(self, accept: str, text: str = "") -> None:
        self.text = w.Text(value=text, placeholder="URL, drive path or data URL; or choose a file",
                           layout=w.Layout(width="min(420px, 100%)"))
        self.upload = w.FileUpload(accept=accept, multiple=False, description="Choose file")
        self.chosen = w.HTML("", _dom_classes=("puras-file-chosen",))
        self.upload.observe(self._on_file, names="value")
        self.text.observe(self._on_text, names="value")
        super().__init__([self.text, self.upload, self.chosen], _dom_classes=("puras-file-picker",))

    def _on_file(self, change: dict) -> None:
        files = change["new"]
        if files:
            self.text.value = ""
            name, size = str(files[0].get("name") or "file"), int(files[0].get("size") or 0)
            self.chosen.value = f"{esc(cut(name, 60))} · {size / 1000:.0f} kB"
        else:
            self.chosen.value = ""

    def _on_text(self, change: dict) -> None:
        if change["new"] and self.upload.value:
            self.upload.value = ()

    def file(self) -> str | None:
        """The chosen file as a data URL, or None."""
        files = self.upload.value
        if not files:
            return None
        return data_url(bytes(files[0]["content"]), files[0].get("type") or None)


class ColorField(w.HBox):
    """A colour picker; an optional colour with no default gets a "set" box, unticked (not sent) until a colour
    is picked."""

    def __init__(self, value: str | None, optional: bool) -> None:
        self.optional = optional
        self.picker = w.ColorPicker(concise=False, layout=w.Layout(width="min(240px, 100%)"))
        self.use = w.Checkbox(description="set", indent=False,
                              layout=w.Layout(width="auto", display="" if optional else "none"))
        self.reset(value)
        self.picker.observe(lambda _change: setattr(self.use, "value", True), names="value")
        super().__init__([self.picker, self.use], _dom_classes=("puras-color-field",))

    def reset(self, value: str | None) -> None:
        """Back to `value` (a hex colour; None: black, and unticked where the colour is optional)."""
        self.picker.value = value or "#000000"
        self.use.value = value is not None or not self.optional

    @property
    def value(self) -> str | None:
        return self.picker.value if self.use.value else None


class Field:
    """One input: its widget, a label with its description and bounds, and the message shown when it is wrong."""

    def __init__(self, item: Input) -> None:
        self.item = item
        self.widget = self._make()
        required = ' <span title="required">*</span>' if item.required else ""
        hints = " · ".join(h for h in (flat(item.description, 300), item.bounds()) if h)
        help_html = f'<span class="puras-field-help">{esc(hints)}</span>' if hints else ""
        self.label = w.HTML(
            f'<span class="puras-field-label"><b>{esc(flat(item.name, 80))}</b>{required}{help_html}</span>',
            _dom_classes=("puras-field-label-box",),
        )
        self.message = w.HTML(
            "", _dom_classes=("puras-error", "puras-field-error", f"puras-field-error-{_css(item.name)}")
        )
        self.box = w.VBox(
            [self.label, self.widget, self.message],
            _dom_classes=("puras-field", f"puras-field-{_css(item.name)}"),
        )

    def _make(self) -> w.Widget:
        item, default = self.item, self.item.default
        wide = w.Layout(width="min(640px, 100%)")
        text = _text(default)
        if item.media:
            return FilePicker(item.accept, text)
        if item.type == "color":
            start = _hex(default)
            return ColorField(start, optional=not item.required and start is None)
        if item.enum is not None and len(item.enum) <= DROPDOWN_MAX:
            options = [(_label(v), v) for v in item.enum]
            if not item.required and default is MISSING:
                options.insert(0, ("(default)", None))
            value = default if default in item.enum else options[0][1]
            return w.Dropdown(options=options, value=value, layout=w.Layout(width="min(320px, 100%)"))
        if item.type == "boolean":
            return w.Checkbox(value=bool(default) if default is not MISSING else False, indent=False)
        if item.type in ("integer", "number") and (bounds := _slider_range(item)):
            lo, hi = bounds
            if item.type == "integer":
                return w.IntSlider(value=int(_start_value(item)), min=int(lo), max=int(hi), continuous_update=False,
                                   layout=wide)
            return w.FloatSlider(value=float(_start_value(item)), min=lo, max=hi, step=_step(lo, hi),
                                 continuous_update=False, layout=wide, readout_format=".3g")
        placeholder = PLACEHOLDERS.get(item.type or "", "")  # the bounds are in the hint above: not again
        if item.multiline or item.type in ("array", "object"):
            return w.Textarea(value=text, placeholder=placeholder, rows=4 if item.type == "text" else 2, layout=wide)
        return w.Text(value=text, placeholder=placeholder, layout=wide)

    def value(self) -> Any:
        """The typed value (None: not given, the server's default applies); ValueError with a short message."""
        widget, item = self.widget, self.item
        if isinstance(widget, FilePicker):
            chosen = widget.file()
            return chosen if chosen is not None else item.parse(widget.text.value)
        if isinstance(widget, (w.Text, w.Textarea)):
            text = widget.value
            if item.type in ("string", "text") or not item.type:
                if not text:
                    return None  # untouched: not given (a required one "is required")
                return text if item.type else item.parse(text)
            return item.parse(text)
        return widget.value

    def fill(self, value: Any) -> None:
        """Put `value` in the widget as a person would type or pick it."""
        widget = self.widget
        if isinstance(widget, FilePicker):
            widget.upload.value = ()
            widget.text.value = _text(value)
        elif isinstance(widget, (w.Text, w.Textarea)):
            widget.value = _text(value)
        elif isinstance(widget, ColorField):
            colour = _hex(value)
            if colour is None and value is not None:
                raise ValueError(f"{self.item.name} cannot take {value!r}: it takes a hex colour such as #ff8800")
            if colour is not None:
                widget.picker.value = colour
            widget.use.value = colour is not None
        else:
            try:
                widget.value = value
            except TraitError:
                raise ValueError(f"{self.item.name} cannot take {value!r} in this form") from None

    def reset(self) -> None:
        """Put the field back to where it started: its default, or empty (its widget kept)."""
        widget, item, default = self.widget, self.item, self.item.default
        if isinstance(widget, ColorField):
            widget.reset(_hex(default))
        elif isinstance(widget, (FilePicker, w.Text, w.Textarea)):
            self.fill(None if default is MISSING else default)
        elif isinstance(widget, w.Dropdown):
            widget.value = default if item.enum is not None and default in item.enum else widget.options[0][1]
        elif isinstance(widget, w.Checkbox):
            widget.value = bool(default) if default is not MISSING else False
        elif isinstance(widget, (w.IntSlider, w.FloatSlider)):
            widget.value = _start_value(item)
        self.show(None)

    def show(self, message: str | None) -> None:
        """Show `message` under the field (or clear it)."""
        self.message.value = f"⚠ {esc(flat(self.item.name, 80))} {esc(message)}" if message else ""


class FreeInputs:
    """The inputs of a skill without a schema: one YAML or JSON box (`prompt: a lamp`, or `{"prompt": …}`)."""

    def __init__(self) -> None:
        self.widget = w.Textarea(placeholder="inputs as YAML (key: value, one a line) or JSON", rows=4,
                                 layout=w.Layout(width="min(640px, 100%)"), _dom_classes=("puras-free-inputs",))
        self.message = w.HTML("", _dom_classes=("puras-error", "puras-field-error"))
        label = w.HTML('<span class="puras-field-label"><b>inputs</b><span class="puras-field-help">YAML or JSON'
                       "</span></span>")
        self.box = w.VBox([label, self.widget, self.message], _dom_classes=("puras-field", "puras-field-inputs"))

    def values(self) -> dict[str, Any]:
        """The inputs typed; ValueError with a short message when they are not a YAML/JSON mapping."""
        if not self.widget.value.strip():
            return {}
        try:
            data = load_yaml(self.widget.value)
        except BundleError as exc:
            raise ValueError(str(exc).replace("it is", "is", 1)) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError("must be a mapping of input names to values (key: value)")
        return {str(k): v for k, v in data.items()}

    def fill(self, values: dict[str, Any]) -> None:
        self.widget.value = _json(values) if values else ""


def _hex(value: Any) -> str | None:
    """A colour as the picker takes it (`#ff8800`), or None when it is no hex colour."""
    if not is_color(value):
        return None
    return value if value.startswith("#") else "#" + value


def _choice(skill: Skill) -> str:
    """A skill as the picker lists it: its title and path."""
    return f"{flat(skill.title, 60)} ({skill.path})" if skill.title else skill.path


def _about(skill: Skill) -> str:
    """The form's head: the title (else the path), the path beside a title, the description, and one line for a
    skill without a schema (why) or with a schema that has problems."""
    head = f"<b>{esc(skill.heading)}</b>"
    if skill.title:
        head += f' <span class="puras-muted">{esc(skill.path)}</span>'
    parts = [f'<div class="puras-skill-heading">{head}</div>']
    if skill.description:
        parts.append(f"<div>{esc(cut(skill.description, 600))}</div>")
    if not skill.has_schema:
        note = skill.note or f"The server gives no input schema for {skill.path}: inputs are passed as given."
        parts.append(f'<div class="puras-muted puras-no-schema">{esc(flat(note, 300))}</div>')
    if skill.problems:
        shown = "; ".join(skill.problems[:3]) + (" …" if len(skill.problems) > 3 else "")
        parts.append(f'<div class="puras-muted">Schema problems: {esc(flat(shown, 400))}</div>')
    return "".join(parts)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> str:
    """A value as a text field shows it: nothing for none, strings as they are, anything else as JSON."""
    return "" if value is MISSING or value is None else value if isinstance(value, str) else _json(value)


def _css(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


@dataclass
class _Saved:
    """What a form keeps of one run for its saved view: the run's head (HTML, text), its unsubscribe, and its static
    view once the run ended (drawn once, not at every update, until the run changes again)."""

    head: str
    text: str
    unsubscribe: Callable[[], None]
    changes: int = 0
    view: dict[str, str] | None = None


class SkillForm(w.VBox):
    """A form for one skill, or for a picker of `skills`; each press of Run starts a live job shown below.

    `start(skill, inputs, version)` returns a LiveJob; `compare(skill, inputs, versions)` (optional) a Comparison
    of the same inputs on two versions, offered as "compare vA and vB" in the version picker. `runs` holds this
    form's jobs and comparisons, newest first. `results_only` shows each result's media without its raw JSON tree,
    log or job id (for people who watch rather than code), those behind one "details" toggle per run;
    `first_example` fills each skill's first example in when it is shown, so the first press of Run works.
    """

    def __init__(
        self,
        skills: Sequence[Skill],
        *,
        start: Starter,
        compare: Comparer | None = None,
        run_label: str = "Run",
        note: str = "",
        results_only: bool = False,
        first_example: bool = False,
    ) -> None:
        if not skills:
            raise ValueError("a form needs at least one skill")
        self.skills = list(skills)
        self._start = start
        self._compare = compare
        self.runs: list[Shown] = []
        self._count = 0
        # the saved view: each run's entry (its head, unsubscribe, static view once it ended); the static outputs
        # shown, each with the request (cell) it answers
        self._heads: dict[int, _Saved] = {}
        self._slots: list[tuple[Any, dict]] = []
        self._slot_lock = threading.Lock()
        self._saved = Throttle(self._publish, SAVED_EVERY)
        self.fields: dict[str, Field] = {}
        self.free: FreeInputs | None = None
        self._first_example = first_example
        self._results_only = results_only
        self.skill = self.skills[0]
        self.picker = w.Dropdown(
            options=[(_choice(s), i) for i, s in enumerate(self.skills)], value=0, description="Skill",
            style={"description_width": "initial"},  # flush left, like the fields' own labels
            layout=w.Layout(width="min(420px, 100%)", display="" if len(self.skills) > 1 else "none"),
            _dom_classes=("puras-skill-picker",),
        )  # fmt: skip
        self.about = w.HTML(_dom_classes=("puras-skill-about",))
        self.examples = w.HBox(_dom_classes=("puras-examples",))
        self.field_box = w.VBox(_dom_classes=("puras-fields",))
        self.version = w.Dropdown(description="Version", layout=w.Layout(width="min(300px, 100%)"),
                                  style={"description_width": "initial"}, _dom_classes=("puras-version",))
        self.run_button = w.Button(description=run_label, button_style="primary", icon="play",
                                   _dom_classes=("puras-run",))
        self.message = w.HTML("", _dom_classes=("puras-error", "puras-form-message"))
        self.history = w.VBox(_dom_classes=("puras-history",))
        note_html = w.HTML(f'<div class="puras-note">{esc(note)}</div>' if note else "", _dom_classes=("puras-notes",))
        self.picker.observe(lambda change: self.choose(self.skills[change["new"]]), names="value")
        self.run_button.on_click(lambda _b: self.run())
        controls = w.HBox([self.version, self.run_button], _dom_classes=("puras-controls",))
        super().__init__(
            [w.HTML(STYLE + FORM_STYLE), note_html, self.picker, self.about, self.examples, self.field_box, controls,
             self.message, self.history],
            _dom_classes=("puras-form", "puras-results-only") if results_only else ("puras-form",),
        )  # fmt: skip
        self.choose(self.skill)

    # -- building -----------------------------------------------------------------------------------------

    def choose(self, skill: Skill) -> None:
        """Show the inputs and versions of `skill` (the picker calls this; the history stays)."""
        self.skill = skill
        if self.skills.index(skill) != self.picker.value:
            self.picker.value = self.skills.index(skill)
            return
        versions = sorted(skill.versions, reverse=True)
        options: list[tuple[str, Any]] = [
            (f"v{v} (active)" if v == skill.active_version else f"v{v}", v) for v in versions
        ] or [("active version", None)]
        if self._compare is not None and len(versions) >= 2:
            options.append((f"compare v{versions[1]} and v{versions[0]}", COMPARE))
        self.version.options = options
        self.version.value = skill.active_version if skill.active_version in versions else options[0][1]
        self._build_fields()
        self.about.value = _about(skill)
        buttons = []
        for i, example in enumerate(skill.examples):
            button = w.Button(description=cut(example.title, 60), tooltip=example.description or example.title,
                              icon="magic" if i == 0 else "", _dom_classes=("puras-example",))
            button.on_click(lambda _b, i=i: self.use_example(i))
            buttons.append(button)
        label = w.HTML('<span class="puras-muted">Examples:</span>')
        self.examples.children = [label, *buttons] if buttons else []
        self.message.value = ""
        if self._first_example and skill.examples:
            self.use_example(0)

    def _build_fields(self) -> None:
        """Fields for the chosen skill's inputs, each at its default (one free box when it has no schema)."""
        skill = self.skill
        self.fields = {item.name: Field(item) for item in skill.inputs}
        self.free = None if skill.has_schema else FreeInputs()
        boxes = [f.box for f in self.fields.values()] + ([self.free.box] if self.free else [])
        if skill.more_inputs:
            boxes.append(w.HTML(f'<div class="puras-muted">… and {skill.more_inputs} more inputs this form does not '
                                "show (a %%puras cell can set them)</div>"))
        self.field_box.children = boxes

    # -- the person's actions -----------------------------------------------------------------------------

    def fill(self, **values: Any) -> SkillForm:
        """Set fields as a person would (`form.fill(duration=6)`); returns the form. A skill without a schema
        takes any names, into its free inputs box."""
        if self.free is not None:
            self.free.fill({**self.free_values(), **values})
            return self
        for name, value in values.items():
            if name not in self.fields:
                raise KeyError(f"{self.skill.path} has no input {name!r} (inputs: {', '.join(self.fields)})")
            self.fields[name].fill(value)
        return self

    def free_values(self) -> dict[str, Any]:
        """What the free inputs box holds now ({} when it is empty or not valid)."""
        try:
            return self.free.values() if self.free is not None else {}
        except ValueError:
            return {}

    def use_example(self, index: int) -> SkillForm:
        """Start over from the skill's example `index` (what its button does): every field back to its default,
        then the example's inputs filled in. An example value a field cannot take is said on the form."""
        example: Example = self.skill.examples[index]
        for field in self.fields.values():
            field.reset()
        if self.free is not None:
            self.free.fill({})
        problems = []
        for name, value in example.inputs.items():
            try:
                self.fill(**{name: value})
            except (KeyError, ValueError) as exc:
                problems.append(flat(exc.args[0] if exc.args else exc, 120))
        self.message.value = esc("The example does not fit this form: " + "; ".join(problems)) if problems else ""
        return self

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the inputs to send, {input: problem}) from the fields as they are; nothing is sent."""
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        if self.free is not None:
            try:
                values.update(self.free.values())
            except ValueError as exc:
                problems["inputs"] = str(exc)
        for name, field in self.fields.items():
            try:
                value = field.value()
            except ValueError as exc:
                problems[name] = str(exc)
                continue
            if value is not None:
                values[name] = value
        for name, problem in self.skill.check(values).items():
            problems.setdefault(name, problem)
        return values, problems

    def run(self) -> Shown | None:
        """Press Run: check the fields, then start the job (or the comparison) and put it on top of the history.
        Returns it, or None when a field is wrong or the server refused (the reason is shown on the form)."""
        values, problems = self.values()
        for name, field in self.fields.items():
            field.show(problems.get(name))
        if self.free is not None:
            self.free.message.value = f"⚠ inputs {esc(problems['inputs'])}" if "inputs" in problems else ""
        if problems:
            stray = [f"{flat(k, 80)} {v}" for k, v in problems.items() if k not in self.fields and k != "inputs"]
            self.message.value = esc("; ".join(stray) if stray else "Fix the marked field(s) first; nothing was sent.")
            return None
        self.message.value = ""
        choice = self.version.value
        try:
            started: Shown
            if choice == COMPARE and self._compare is not None:
                newest = sorted(self.skill.versions, reverse=True)[:2]
                started = self._compare(self.skill, values, sorted(newest))
            else:
                started = self._start(self.skill, values, choice)
        except PurasAPIError as exc:
            refused = exc.status in (400, 422)
            what = "The server refused these inputs" if refused else f"The server answered {exc.status}"
            self.message.value = esc(f"{what}: {_one_line(exc.detail)}")
            return None
        except (PurasError, OSError, ValueError) as exc:
            self.message.value = esc(f"Could not start the job: {_one_line(str(exc))}")
            return None
        self._add_run(started, values, choice)
        return started

    def _add_run(self, started: Shown, values: dict, choice: Any) -> None:
        self._count += 1
        shown = ", ".join(f"{key}={value}" for key, value in input_lines(values))
        which = "compare" if choice == COMPARE else f"v{choice}" if choice is not None else "active version"
        more = f" · {shown}" if shown else ""
        text = f"#{self._count} · {self.skill.path} {which}{more}"
        head = f'<div class="puras-run-head">#{self._count} · <b>{esc(self.skill.path)}</b> {esc(which + more)}</div>'
        view = widget_for(started)
        entry = w.VBox([w.HTML(head), view], _dom_classes=("puras-run-entry",))
        if self._results_only:
            entry.children = (w.HBox([entry.children[0], _details_toggle(entry, view)],
                                     _dom_classes=("puras-run-head-row",)), view)
        self.history.children = (entry, *self.history.children)[:HISTORY_MAX]
        with self._slot_lock:
            self.runs.insert(0, started)
            for gone in self.runs[HISTORY_MAX:]:
                self._heads.pop(id(gone)).unsubscribe()
            del self.runs[HISTORY_MAX:]
            self._heads[id(started)] = _Saved(head, text, started.subscribe(self._run_changed))
        self._saved()

    # -- the saved view: what a notebook keeps, reopened without a kernel, exported or on GitHub ------------------

    def _run_changed(self, run: Shown, changed: frozenset[Change]) -> None:
        """A run ended or its previews arrived: bring the saved view up to date (at most once a `SAVED_EVERY`); a
        cell that waited for it (`settle`) gets the update as its own output too (nbclient keeps only those). Any
        change makes its kept static view stale (late events of an ended job, say)."""
        with self._slot_lock:
            saved = self._heads.get(id(run))
            if saved is not None:
                saved.changes, saved.view = saved.changes + 1, None
        if Change.SETTLE in changed:
            self._publish(here=True)
        elif Change.DONE in changed or Change.MEDIA in changed:
            self._saved()

    def static_bundle(self) -> dict[str, str]:
        """text/plain and text/html of the form as a saved notebook keeps it: the skill, its inputs, and each run
        (newest first) with its status and media, as each job's or grid's own static view shows it."""
        with self._slot_lock:
            runs = [(saved, saved.changes, saved.view, run) for run in self.runs
                    if (saved := self._heads.get(id(run))) is not None]
        skill = self.skill
        names = ", ".join(flat(item.name, 40) for item in skill.inputs) or "free inputs"
        others = [s.path for s in self.skills if s is not skill]
        parts = [_about(skill), f'<div class="puras-muted">Inputs: {esc(names)}</div>']
        if others:
            parts.append(f'<div class="puras-muted">Also offered: {esc(", ".join(others))}</div>')
        counted = f"{count(len(runs), 'run')} below, newest first" if runs else "no runs yet"
        how = f"A form: run this cell with a kernel to use it ({counted})."
        parts.append(f'<div class="puras-muted"><i>{esc(how)}</i></div>')
        texts = [repr(self), how]
        for saved, changes, shown, run in runs:
            if shown is None:
                ended = run.done()
                shown = static_view(run)
                if ended:
                    with self._slot_lock:
                        if saved.changes == changes:  # else it changed while it was drawn: draw it again next time
                            saved.view = shown
            texts += [saved.text, shown["text/plain"]]
            parts.append(saved.head + shown["text/html"].removeprefix(STYLE))
        root = f"puras-static puras-final puras-form-static {NO_MATH}"
        html = f'{STYLE}{FORM_STYLE}<div class="{root}">{"".join(parts)}</div>'
        return {"text/plain": "\n".join(texts), "text/html": html}

    def _publish(self, *, here: bool = False) -> None:
        """Update every static output of this form, each as output of the cell that showed it (JupyterLab routes
        it there even after a click); `here`: also as output of the running cell, where that is another one."""
        with self._slot_lock:
            slots = list(self._slots)
        if not slots:
            return
        data = self.static_bundle()
        now = parent()
        for handle, shown_in in slots:
            with output_of(shown_in):
                handle.update(data, raw=True)
            if here and now.get("header") != shown_in.get("header"):
                handle.update(data, raw=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        return {**widget_view(self), "text/plain": repr(self)}

    def _ipython_display_(self) -> None:
        """The widget, then its static view beside it (`puras-final`): two outputs, as a job's, so that a saved
        notebook keeps the form's runs; the static one is brought up to date as runs start and end."""
        from IPython.display import display

        display(live_bundle(self._repr_mimebundle_()), raw=True)
        handle = display(self.static_bundle(), raw=True, display_id=True)
        if handle is not None:
            with self._slot_lock:
                self._slots.append((handle, parent()))

    def __repr__(self) -> str:
        names = ", ".join(self.fields) or "no inputs"
        return f"<SkillForm {self.skill.path}: {names}>"


def _details_toggle(entry: w.VBox, view: w.Widget) -> w.ToggleButton:
    """The one "details" toggle of a run in the app: it shows the run's log, job id and raw result (CSS on `entry`),
    and opens a one-line job's own details, so its log is fetched."""

    def follow(_change: object = None) -> None:
        inner = getattr(view, "details_toggle", None)  # a job that ended as one line folds its log and result
        if isinstance(inner, w.ToggleButton):
            inner.value = toggle.value

    def toggled(opened: bool) -> None:
        (entry.add_class if opened else entry.remove_class)("puras-details-open")
        follow()

    toggle = details_toggle("the log, the job id and the raw result", "puras-run-details", toggled)
    view.observe(follow, names="children")  # opened while it ran: the line it ends as opens its details too
    return toggle


def _one_line(text: Any, limit: int = MESSAGE_MAX) -> str:
    """One line of at most `limit` characters, control characters and runs of space folded."""
    return flat(text, limit)
