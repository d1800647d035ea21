"""Completion of `%puras` / `%%puras` without a kernel: the pure completer over the demo pack's real schemas,
and the IPython matcher that offers its results alone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from IPython.core.completer import IPCompleter, provisionalcompleter

from puras_nb.local.demopack import build_demo_pack
from puras_nb.model.skill import Skill, from_skillpacks
from puras_nb.notebook import live
from puras_nb.notebook.completion import MAX_ITEMS, Completer, install, uninstall
from puras_nb.notebook.magics import RUN_FLAGS, Puras, completer

SKILLS = from_skillpacks([build_demo_pack().describe()])


def make(skills: list[Skill] = SKILLS, skillpack: str | None = None) -> Completer:
    base = completer(lambda: skillpack)
    base.skills = lambda: skills
    return base


def texts(before: str, c: Completer | None = None) -> list[str]:
    found = (c or make()).complete(before)
    return [] if found is None else [text for text, _ in found[1]]


def test_subcommands_skills_and_options() -> None:
    assert texts("%puras ")[:3] == ["run", "jobs", "attach"]
    assert texts("%puras ru") == ["run"]
    assert texts("%puras run demo/")[:3] == ["demo/echo", "demo/count", "demo/fail"]
    assert texts("%puras run demo/c") == ["demo/count"]
    assert texts("%%puras demo/ug") == ["demo/ugc-ad"]
    assert texts("%%puras run demo/ug") == ["demo/ugc-ad"]
    assert texts("%puras run --bg demo/im") == ["demo/image"]
    assert texts("%puras run demo/echo --b") == ["--bg"]
    assert "-o" not in texts("%puras run demo/echo -") and "--out" in texts("%puras run demo/echo -")
    assert texts("%puras skills demo/ug") == ["demo/ugc-ad"]
    assert texts("%puras config ") == []
    assert make().complete("x = 1") is None and make().complete("%pur") is None


def test_bare_names_of_the_default_skillpack() -> None:
    assert texts("%puras run ugc", make(skillpack="demo")) == ["ugc-ad"]
    assert texts("%puras run ugc-ad pro", make(skillpack="local/demo")) == ["product="]
    assert texts("%puras run --skillpack demo ugc") == ["ugc-ad"]
    assert texts("%puras run ugc-ad --skillpack demo pro") == ["product="]
    assert texts("%%puras ugc-ad --skillpack demo\npro") == ["product: "]
    assert texts("%puras run ugc-ad pro") == []


def test_input_keys_values_and_versions_after_the_skill() -> None:
    assert texts("%puras run demo/ugc-ad pro") == ["product="]
    after = texts("%puras run demo/ugc-ad ")
    inputs = ["product=", "duration=", "tone=", "photo=", "color="]
    assert after == [*inputs, *(o for o in RUN_FLAGS if o.startswith("--"))]
    assert texts("%puras run demo/ugc-ad product=x ")[0] == "duration="
    assert texts("%puras run demo/ugc-ad --version ") == ["2", "1"]
    assert texts("%puras run demo/ugc-ad --timeout ") == []
    assert texts("%puras run demo/nope pro") == []
    assert texts("%puras run demo/ugc-ad tone=") == ["tone=friendly", "tone=luxury", "tone=energetic"]
    assert texts("%%puras demo/ugc-ad\ntone: l") == ["luxury"]


def test_enum_and_boolean_values() -> None:
    packs = [{"slug": "p", "skills": [{"name": "s", "input_schema": {"properties": {
        "tone": {"type": "string", "enum": ["calm", "very bold", "yes"]},
        "loud": {"type": "boolean"},
        "n": {"type": "integer", "enum": [1, 2]},
    }}}]}]
    c = make(from_skillpacks(packs))
    assert texts("%puras run p/s tone=", c) == ["tone=calm", "tone='very bold'", "tone=yes"]
    assert texts("%puras run p/s tone=c", c) == ["tone=calm"]
    assert texts("%puras run p/s loud=", c) == ["loud=true", "loud=false"]
    assert texts("%puras run p/s n=", c) == ["n=1", "n=2"]
    assert texts("%%puras p/s\ntone: ", c) == ["calm", "very bold", '"yes"']
    assert texts("%%puras p/s\nloud: t", c) == ["true"]


def test_a_huge_enum_offers_its_first_values_and_typing_narrows_them() -> None:
    packs = [{"slug": "p", "skills": [{"name": "s", "input_schema": {"properties": {
        "font": {"type": "string", "enum": [f"f{i}" for i in range(50_000)]}}}}]}]
    c = make(from_skillpacks(packs))
    offered = texts("%puras run p/s font=", c)
    assert len(offered) == MAX_ITEMS and offered[:2] == ["font=f0", "font=f1"]
    assert texts("%puras run p/s font=f4999", c) == ["font=f4999", *(f"font=f4999{d}" for d in range(10))]
    assert texts("%%puras p/s\nfont: ", c)[-1] == f"f{MAX_ITEMS - 1}"


def test_cell_body_keys() -> None:
    assert texts("%%puras demo/ugc-ad\n") == ["product: ", "duration: ", "tone: ", "photo: ", "color: "]
    assert texts("%%puras demo/ugc-ad\npr") == ["product: "]
    assert texts("%%puras demo/ugc-ad --bg\nproduct: mug\ntone: calm\n") == ["duration: ", "photo: ", "color: "]
    assert texts("%%puras demo/ugc-ad duration=4\n") == ["product: ", "tone: ", "photo: ", "color: "]
    assert make().complete('%%puras demo/ugc-ad\n{"pro') is None
    assert make().complete("%%puras demo/ugc-ad\nproduct: a mug") is None
    assert make().complete("%%puras\nx") is None


def test_job_ids_newest_first() -> None:
    job = live.LiveJob({"id": "job-for-completion", "status": "succeeded"})
    assert texts("%puras logs ")[0] == job.id
    assert texts("%puras cancel job-for") == [job.id]


@pytest.fixture
def ipcompleter() -> IPCompleter:
    shell = SimpleNamespace(Completer=None)
    ip = IPCompleter(shell=None, namespace={"abs_value": 1}, use_jedi=True)
    shell.Completer = ip
    install(shell, make())
    return ip


def test_the_matcher_suppresses_python_names_and_jedi(ipcompleter: IPCompleter) -> None:
    def offered(code: str) -> list[str]:
        with provisionalcompleter():
            return [c.text for c in ipcompleter.completions(code, len(code))]

    assert offered("%puras run demo/") == texts("%puras run demo/")
    assert offered("%puras run demo/ugc-ad pro") == ["product="]
    assert offered("%%puras demo/ugc-ad\npr") == ["product: "]
    assert "abs_value" in offered("abs_v")
    for nothing in ("%puras whoami ", "%puras run demo/ugc-ad product=", "%puras run demo/ugc-ad product=a an"):
        assert offered(nothing) == [], nothing  # no keywords, magics or file names
    with provisionalcompleter():
        [first] = [c for c in ipcompleter.completions("%puras ru", 9)]
    assert (first.start, first.end, first.text) == (7, 9, "run")


def test_the_matcher_never_raises_and_uninstalls(ipcompleter: IPCompleter) -> None:
    shell = SimpleNamespace(Completer=ipcompleter)

    def broken() -> list[Skill]:
        raise RuntimeError("server gone")

    bad = make()
    bad.skills = broken
    install(shell, bad)
    assert len(ipcompleter.custom_matchers) == 1
    with provisionalcompleter():
        assert "run" in [c.text for c in ipcompleter.completions("%puras ru", 9)]
        list(ipcompleter.completions("%puras run demo/", 16))
    uninstall(shell)
    assert ipcompleter.custom_matchers == []


def test_puras_settings_feed_the_default_skillpack() -> None:
    settings = Puras()
    settings.skillpack = "demo"
    try:
        c = completer()
        c.skills = lambda: SKILLS
        assert texts("%puras run ugc", c) == ["ugc-ad"]
    finally:
        settings.skillpack = None


def test_an_unreachable_server_completes_what_is_known_quickly(ipcompleter: IPCompleter,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The server is asked once and its failure is remembered: the next completions answer at once with what is
    known (the subcommands), no skills. (Counted, not timed: a bound on the wall time of three completions
    failed on a loaded machine, where jedi alone took seconds.)"""
    from puras_nb import settings
    from puras_nb.model import schemas

    asked: list[float] = []
    real_fetch = schemas._afetch

    async def fetch(sess: Any, timeout: float) -> list[Skill]:
        asked.append(timeout)
        return await real_fetch(sess, timeout)

    monkeypatch.setattr(schemas, "_afetch", fetch)
    shell = SimpleNamespace(Completer=ipcompleter)
    install(shell, completer(lambda: None))  # the real known()
    before = settings.current()
    try:
        # a key of its own: a failure another test met at this address is remembered for FAILURE_TTL seconds
        key = f"puras_live_nothing_here_{uuid.uuid4().hex}"
        settings.configure(api_key=key, api_base="http://127.0.0.1:9", local=False)
        with provisionalcompleter():
            offered = {code: [c.text for c in ipcompleter.completions(code, len(code))] for code in (
                "%puras ru", "%puras run demo/", "%puras run demo/ugc-ad pro")}
        assert len(asked) == 1, asked
        assert offered["%puras ru"] == ["run"]
        assert not any(s.startswith("demo/") for s in offered["%puras run demo/"])
        assert "product=" not in offered["%puras run demo/ugc-ad pro"]
    finally:
        settings.restore(before)


def test_values_that_look_like_variables_or_files_are_offered_as_literals() -> None:
    """An enum value "$secret" completed as `key=$secret` would read the notebook variable when the line runs."""
    packs = [{"slug": "p", "skills": [{"name": "s", "input_schema": {"properties": {
        "tone": {"type": "string", "enum": ["$secret", "@/etc/passwd", "calm"]}}}}]}]
    c = make(from_skillpacks(packs))
    assert texts("%puras run p/s tone=", c) == ["tone='$$secret'", "tone=@@/etc/passwd", "tone=calm"]
    assert texts("%%puras p/s\ntone: ", c)[0] == '"$$secret"'
    from puras_nb.notebook.inputs import parse_pairs, split_line

    assert parse_pairs(split_line("tone='$$secret' x=@@/etc/passwd"), {"secret": "TOP"}) == {
        "tone": "$secret", "x": "@/etc/passwd"}


def test_on_puras_serve_completion_offers_the_skills_its_health_lists(
    puras_serve: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No catalog on `puras serve`: the names come from /health and their inputs from its bundle_dir (the same
    model the card and the form read), through the real known()."""
    from puras_nb import settings

    monkeypatch.chdir(tmp_path)
    before = settings.current()
    try:
        settings.configure(api_key=puras_serve.api_key, api_base=puras_serve.url, local=False, skills_dir=None)
        real = completer(lambda: None)

        def tab(line: str, until: Callable[[list[str]], bool]) -> list[str]:
            """Tab again while `until` fails: a load that takes longer than a completion waits (QUICK_TIMEOUT,
            on a loaded machine) fills the cache for a later Tab."""
            offered, deadline = texts(line, real), time.monotonic() + 30
            while not until(offered) and time.monotonic() < deadline:
                time.sleep(0.05)
                offered = texts(line, real)
            return offered

        assert "studio/poster" in tab("%puras run studio/", lambda offered: "studio/poster" in offered)
        assert tab("%puras run studio/poster hea", bool) == ["headline="]
        assert tab("%%puras studio/poster\nacc", bool) == ["accent: "]
        assert "studio/echo" in tab("%puras skills stu", lambda offered: "studio/echo" in offered)
    finally:
        settings.restore(before)
