"""`puras_nb.form(skill)` and `puras_nb.app(skills)`: a form for any skill, and the stakeholder app built on it.

Entry points over the skill model (`puras_nb.model.skill`), the live-job model and the form view
(`puras_nb.views.form.SkillForm`): they look the skills up, hand the view the actions that start jobs, and,
for the app, say in a small note when jobs run on the built-in emulator.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import PurasError, one_line
from ..model.comparison import Comparison
from ..model.job import LiveJob
from ..model.schemas import find
from ..model.skill import Skill
from ..runtime.endpoint import endpoint
from ..settings import uses_emulator
from ..views.form import SkillForm

__all__ = ["EMULATOR_NOTE", "app", "form"]

#: What a visitor reads when the page's kernel started its own emulator (each visitor's kernel starts one).
EMULATOR_NOTE = (
    "No PURAS_API_KEY is set, so this page runs on its own copy of puras-nb's built-in demo server: "
    "the results are made offline, on this machine, and no other visitor sees them."
)


def _start(skill: Skill, inputs: dict, version: int | None) -> LiveJob:
    return LiveJob.submit(skill.path, inputs, version=version)


def _compare(skill: Skill, inputs: dict, versions: list[int]) -> Comparison:
    from .compare import compare

    return compare(skill.path, [inputs], versions, display=False)


def form(
    skill: str | Sequence[str],
    *,
    run_label: str = "Run",
    note: str = "",
    results_only: bool = False,
    first_example: bool = False,
) -> SkillForm:
    """A form for `skill` (or a picker over several), built from its input schema: press Run to start a live job,
    shown below with this form's earlier runs. Values the schema rejects are marked before any request is sent.
    The skill's examples are buttons that fill the form in (`first_example=True`: the first one is filled in from
    the start). The version picker also offers "compare" (the two newest versions side by side) when there are
    two."""
    paths = [skill] if isinstance(skill, str) else list(skill)
    if not paths:
        raise ValueError("form() needs a skill name, such as demo/ugc-ad")
    try:
        skills = [find(p) for p in paths]
    except PurasError as exc:  # the server unreachable or refusing: one line, as the magics say it
        raise one_line(exc) from None
    return SkillForm(
        skills, start=_start, compare=_compare, run_label=run_label, note=note, results_only=results_only,
        first_example=first_example,
    )


def app(skills: str | Sequence[str], *, run_label: str = "Generate") -> SkillForm:
    """The stakeholder app: `form` over the `skills` the notebook allows, with a Generate button, each skill's first
    example filled in (so the first press of Generate works), results shown as media without their raw JSON, and,
    when no API key is set, a small note that jobs run on this kernel's own emulator (instead of the kernel's
    printed notice)."""
    note = ""
    if uses_emulator():
        endpoint(announce=False)  # start it now, quietly: the note says it on the page
        note = EMULATOR_NOTE
    return form(skills, run_label=run_label, note=note, results_only=True, first_example=True)
