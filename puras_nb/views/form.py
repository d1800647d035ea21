"""SkillForm: inputs for any skill drawn from its input schema, a version picker, a Run button, and the runs below.

One implementation for `puras_nb.form(...)` in a notebook and the stakeholder app served by Voilà. Each input gets
the widget its schema suggests (text, a slider for a sane bounded number, a checkbox, a dropdown for an enum, a
file picker for a media input). A press checks every value against the schema first (`Input.check`,
`Skill.check`) and shows what is wrong next to its field, with no request made; a valid press starts a job
through the `start` callable the entry point gives (the view makes no request itself) and puts its live widget
on top of this form's history. A server that refuses the inputs gets a short message, never a traceback.
Colours are JupyterLab's theme variables with light fallbacks, so the form reads in dark themes (and Voilà's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
from traitlets import TraitError

from ..errors import PurasAPIError, PurasError
from ..mime import data_url
from ..model.protocols import GridView, JobView, Shown
from ..model.skill import MISSING, Input, Skill
from ..strings import flat
from .display import widget_for
from .html import STYLE, esc

__all__ = ["COMPARE", "Field", "SkillForm"]

#: A slider for a bounded integer input with at most this many values, and for a bounded number input whose range
#: is at most `SLIDER_SPAN` (in steps of a round 1/100 of it or finer); a text field beyond, where a slider could not
#: hit the value a person means.
SLIDER_STEPS = 1000
SLIDER_SPAN = 100
#: Runs kept in a form's history (the oldest drop off the page; their jobs keep running).
HISTORY_MAX = 30
#: The version picker's value for "compare the two newest versions side by side".
COMPARE = "compare"
MESSAGE_MAX = 300

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
    ".puras-form.puras-results-only .puras-json-view{display:none}"
    ".puras-form .puras-run-head{font-size:12px;color:var(--jp-ui-font-color1,#374151);margin-top:10px;"
    "border-top:1px solid var(--jp-border-color2,#e5e7eb);padding-top:6px;word-break:break-word}"
    "</style>"
)


def _slider_range(item: Input) -> tuple[float, float] | None:
    """(min, max) of a slider for `item`, or None when its bounds make no sane one."""
    lo, hi = item.minimum, item.maximum
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
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


class Field:
    """One input: its widget, a label with its description and bounds, and the message shown when it is wrong."""

    def __init__(self, item: Input) -> None:
        self.item = item
        self.widget = self._make()
        required = ' <span title="required">*</span>' if item.required else ""
        hints = " · ".join(h for h in (item.description, item.bounds()) if h)
        help_html = f'<span class="puras-field-help">{esc(hints)}</span>' if hints else ""
        self.label = w.HTML(
            f'<span class="puras-field-label"><b>{esc(item.name)}</b>{required}{help_html}</span>',
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
        if item.media:
            return w.FileUpload(accept=item.accept, multiple=False, description="Choose file")
        if item.enum is not None:
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
        text = "" if default is MISSING or default is None else \
            default if isinstance(default, str) else _json(default)
        placeholder = item.bounds() or item.type or "value"
        long_text = item.type in ("array", "object") or (
            item.type == "string" and (item.max_length is None or item.max_length > 200)
        )
        if long_text:
            return w.Textarea(value=text, placeholder=placeholder, rows=2, layout=wide)
        return w.Text(value=text, placeholder=placeholder, layout=wide)

    def value(self) -> Any:
        """The typed value (None: not given, the server's default applies); ValueError with a short message."""
        widget, item = self.widget, self.item
        if isinstance(widget, w.FileUpload):
            files = widget.value
            if not files:
                return None
            upload = files[0]
            return data_url(bytes(upload["content"]), upload.get("type") or None)
        if isinstance(widget, (w.Text, w.Textarea)):
            text = widget.value
            if item.type == "string" or not item.type:
                if not text and not item.required:
                    return None
                return text if item.type == "string" else item.parse(text)
            return item.parse(text)
        return widget.value

    def fill(self, value: Any) -> None:
        """Put `value` in the widget as a person would type or pick it (a file picker takes no value)."""
        widget = self.widget
        if isinstance(widget, (w.Text, w.Textarea)):
            widget.value = value if isinstance(value, str) else "" if value is None else _json(value)
        elif isinstance(widget, w.FileUpload):
            raise ValueError(f"{self.item.name} takes a file: choose one in the form")
        else:
            try:
                widget.value = value
            except TraitError:
                raise ValueError(f"{self.item.name} cannot take {value!r} in this form") from None

    def show(self, message: str | None) -> None:
        """Show `message` under the field (or clear it)."""
        self.message.value = f"⚠ {esc(self.item.name)} {esc(message)}" if message else ""


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _css(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


class SkillForm(w.VBox):
    """A form for one skill, or for a picker of `skills`; each press of Run starts a live job shown below.

    `start(skill, inputs, version)` returns a LiveJob; `compare(skill, inputs, versions)` (optional) a Comparison
    of the same inputs on two versions, offered as "compare vA and vB" in the version picker. `runs` holds this
    form's jobs and comparisons, newest first. `results_only` shows each result's media without its raw JSON tree
    (for people who watch rather than code).
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
    ) -> None:
        if not skills:
            raise ValueError("a form needs at least one skill")
        self.skills = list(skills)
        self._start = start
        self._compare = compare
        self.runs: list[Shown] = []
        self._count = 0
        self.fields: dict[str, Field] = {}
        self.skill = self.skills[0]
        self.picker = w.Dropdown(
            options=[(s.path, i) for i, s in enumerate(self.skills)], value=0, description="Skill",
            style={"description_width": "initial"},  # flush left, like the fields' own labels
            layout=w.Layout(width="min(420px, 100%)", display="" if len(self.skills) > 1 else "none"),
            _dom_classes=("puras-skill-picker",),
        )  # fmt: skip
        self.about = w.HTML(_dom_classes=("puras-skill-about",))
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
            [w.HTML(STYLE + FORM_STYLE), note_html, self.picker, self.about, self.field_box, controls, self.message,
             self.history],
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
        self.fields = {item.name: Field(item) for item in skill.inputs}
        self.field_box.children = [f.box for f in self.fields.values()]
        about = skill.description or ""
        if not skill.has_schema:
            about = (about + " " if about else "") + "(The server gives no input schema for this skill.)"
        self.about.value = f"<b>{esc(skill.path)}</b> {esc(about)}" if about else f"<b>{esc(skill.path)}</b>"
        self.message.value = ""

    # -- the person's actions -----------------------------------------------------------------------------

    def fill(self, **values: Any) -> SkillForm:
        """Set fields as a person would (`form.fill(duration=6)`); returns the form."""
        for name, value in values.items():
            if name not in self.fields:
                raise KeyError(f"{self.skill.path} has no input {name!r} (inputs: {', '.join(self.fields)})")
            self.fields[name].fill(value)
        return self

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the inputs to send, {input: problem}) from the fields as they are; nothing is sent."""
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
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
        if problems:
            stray = [f"{k} {v}" for k, v in problems.items() if k not in self.fields]
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
        self.runs.insert(0, started)
        del self.runs[HISTORY_MAX:]
        self._count += 1
        shown = ", ".join(f"{k}={_one_line(v if isinstance(v, str) else _json(v), 60)}" for k, v in values.items()
                          if not (isinstance(v, str) and v.startswith("data:")))
        which = "compare" if choice == COMPARE else f"v{choice}" if choice is not None else "active version"
        head = w.HTML(
            f'<div class="puras-run-head">#{self._count} · <b>{esc(self.skill.path)}</b> '
            f"{esc(which)}{' · ' + esc(shown) if shown else ''}</div>"
        )
        entry = w.VBox([head, widget_for(started)], _dom_classes=("puras-run-entry",))
        self.history.children = (entry, *self.history.children)[:HISTORY_MAX]

    def __repr__(self) -> str:
        names = ", ".join(self.fields) or "no inputs"
        return f"<SkillForm {self.skill.path}: {names}>"


def _one_line(text: Any, limit: int = MESSAGE_MAX) -> str:
    """One line of at most `limit` characters, control characters and runs of space folded."""
    return flat(text, limit)
