"""The %puras / %%puras magics in a real ipykernel, against the session emulator.

One kernel for the module (PURAS_API_BASE / PURAS_API_KEY point at the emulator). Every cell's reply
status, error name and message and outputs are checked as a notebook user would see them.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness.kernel import Cell, Kernel, short_error

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel(emulator: Any) -> Iterator[Kernel]:
    k = Kernel({"PURAS_API_BASE": emulator.url, "PURAS_API_KEY": emulator.api_key})
    k.ok("%load_ext puras_nb")
    yield k
    k.close()


def usage_error(cell: Cell, *fragments: str) -> None:
    """The cell failed with a one-line UsageError that contains every fragment."""
    assert cell.status == "error", cell
    assert cell.ename == "UsageError", (cell.ename, cell.evalue)
    assert "\n" not in cell.evalue
    for fragment in fragments:
        assert fragment in cell.evalue, (fragment, cell.evalue)


# -- running skills ----------------------------------------------------------------------------


def test_run_blocks_and_the_result_is_the_cells_value(kernel: Kernel) -> None:
    kernel.ok("data = {'k': [1, '{x}']}")
    cell = kernel.ok('%puras run demo/echo n=3 s="a {b} c" t=true obj=$data')
    assert any("application/vnd.jupyter.widget-view+json" in d for d in cell.displays)
    assert cell.result == {}, "the live view shows the result: it is not printed a second time"
    later = kernel.ok("_")  # the cell's value all the same, and shown as a dict from a later cell
    (shown,) = later.displays
    assert shown["text/plain"] == "{'n': 3, 's': 'a {b} c', 't': True, 'obj': {'k': [1, '{x}']}}"
    stored = kernel.ok('%puras run demo/echo n=3 -o r')
    assert stored.result == {} and any("widget-view" in k for d in stored.displays for k in d)
    assert kernel.value("r") == "{'n': 3}"


def test_a_job_that_ends_within_the_hold_is_shown_once_at_its_end(kernel: Kernel) -> None:
    """The server answers the held submission finished: the view is made at the job's end, from this cell, and
    nothing is sent twice (no display updates, no widget state that repeats what its models already hold). The
    wait for the answer is made long, so a loaded machine's late answer does not show the job running first."""
    kernel.ok("import puras_nb\nfrom puras_nb.notebook import live\nshow_after = live.SHOW_AFTER")
    try:
        kernel.ok("live.SHOW_AFTER = 30.0")
        for code in ("%puras run demo/echo once=1", "x = puras_nb.run('demo/echo', {'once': 2})"):
            cell = kernel.ok(code)
            kinds = [m["msg_type"] for m in cell.outputs]
            assert "update_display_data" not in kinds, kinds
            live, static = (m["content"]["data"] for m in cell.outputs if m["msg_type"] == "display_data")
            assert live["text/plain"].startswith("<LiveJob demo/echo succeeded>")
            assert "puras-final" in static["text/html"] and "succeeded" in static["text/html"]
            states: dict[str, dict] = {}
            for m in cell.outputs:
                content = m["content"]
                if m["msg_type"] == "comm_open":
                    states[content["comm_id"]] = dict(content["data"]["state"])
                elif m["msg_type"] == "comm_msg" and content["data"].get("method") == "update":
                    held, update = states[content["comm_id"]], content["data"]["state"]
                    assert any(held.get(k) != v for k, v in update.items()), f"sent again: {update}"
                    held.update(update)
            assert any("puras-badge-succeeded" in str(state.get("value")) for state in states.values())
    finally:
        kernel.ok("live.SHOW_AFTER = show_after")


def test_cell_magic_with_a_yaml_body_and_variables(kernel: Kernel) -> None:
    kernel.ok("who = 'Ada'")
    cell = kernel.ok("%%puras demo/echo --no-display\ngreeting: Hello {name}\nname: $who\nn: 2\nliteral: $$who\n")
    assert cell.text == "{'greeting': 'Hello {name}', 'name': 'Ada', 'n': 2, 'literal': '$who'}"
    assert cell.displays == []


def test_cell_magic_with_a_json_body_options_and_pairs(kernel: Kernel) -> None:
    kernel.ok("who = 'Ada'")
    cell = kernel.ok('%%puras run demo/echo extra=1 --no-display\n{"a": {"b": [1, 2]}, "c": $who}\n')
    assert cell.text == "{'a': {'b': [1, 2]}, 'c': 'Ada', 'extra': 1}"


def test_json_option_version_and_skillpack(kernel: Kernel) -> None:
    cell = kernel.ok("""%puras run echo --skillpack demo --json '{"x": [1, 2]}' y=2 --no-display""")
    assert cell.text == "{'x': [1, 2], 'y': 2}"
    kernel.ok("%puras run demo/slow seconds=0 --version 1 --bg -o old")
    assert kernel.value("old.wait()['version'], old.status") == "(1, 'succeeded')"


def test_bg_returns_a_live_job_at_once(kernel: Kernel) -> None:
    started = time.monotonic()
    cell = kernel.ok("%puras run demo/count n=8 delay=0.25 --bg -o job")
    assert time.monotonic() - started < 1.5
    assert cell.shown["text/plain"].startswith("<LiveJob demo/count ")
    assert "application/vnd.jupyter.widget-view+json" in cell.shown
    assert kernel.value("job.result()") == "{'count': 8}"
    quiet = kernel.ok("%puras run demo/echo --bg --no-display -o quiet")
    assert quiet.result == {} and quiet.displays == []
    assert kernel.value("quiet.result()") == "{}"
    kernel.ok("%puras run demo/hang --bg --timeout 0.2 --no-display -o limited")
    assert kernel.run("limited.result()").ename == "TimeoutError"
    assert kernel.ok("%puras cancel $limited").stdout.endswith(" cancelled\n")


def test_failure_raises_a_short_job_error_and_out_keeps_the_job(kernel: Kernel) -> None:
    cell = kernel.run("%puras run demo/fail after=1 message=kaput -o failed")
    short_error(cell, "JobError", "demo/fail failed: kaput · job ")  # the error once: no last event repeating it
    long = "the upstream renderer rejected the storyboard " * 6
    shown = kernel.run(f"%puras run demo/fail after=1 message='{long}'")
    # a long error once: the view above says it (cut, with "show all"), the line points there
    short_error(shown, "JobError", "demo/fail failed, the error is shown above · job ")
    assert "storyboard" not in shown.evalue
    hidden = kernel.run(f"%puras run demo/fail after=1 message='{long}' --no-display")
    short_error(hidden, "JobError", f"demo/fail failed: {long} · job ")  # no view: the line says it
    assert kernel.value("type(failed).__name__, failed.status, failed.job['error']") == (
        "('LiveJob', 'failed', 'kaput')"
    )
    job_id = kernel.value("failed.id").strip("'")
    assert job_id in cell.evalue


def test_run_all_stops_at_a_failed_magic(kernel: Kernel) -> None:
    cell = kernel.run("%puras run demo/fail after=0 --no-display\nreached = True")
    assert cell.status == "error"
    assert kernel.run("reached").ename == "NameError"


def test_timeout_cancels_the_job(kernel: Kernel) -> None:
    cell = kernel.run("%puras run demo/hang --timeout 0.3 --no-display -o hung")
    short_error(cell, "JobError", "still", "after 0.3 s; cancelled it")
    assert kernel.value("hung.wait(10)['status']") == "'cancelled'"


def test_interrupt_cancels_by_default(kernel: Kernel) -> None:
    cell = kernel.run("%puras run demo/hang -o stuck", interrupt_after=1.2)
    short_error(cell, "JobInterrupted", "cancelled the job")
    assert kernel.value("stuck.wait(10)['status']") == "'cancelled'"


def test_interrupting_logs_stops_following_only(kernel: Kernel) -> None:
    kernel.ok("%puras run demo/hang --bg --no-display -o followed")
    cell = kernel.run("%puras logs $followed", interrupt_after=1.2)
    short_error(cell, "JobInterrupted", "the job keeps running")
    assert "[1] " in cell.stdout
    assert kernel.ok("%puras cancel $followed").stdout.endswith(" cancelled\n")


def test_interrupt_can_leave_the_job_running_then_cancel_it(kernel: Kernel) -> None:
    cell = kernel.run("%puras run demo/hang --no-cancel-on-interrupt --no-display -o kept", interrupt_after=1.2)
    short_error(cell, "JobInterrupted", "the job keeps running")
    assert kernel.value("kept.status") == "'running'"
    job_id = kernel.value("kept.id").strip("'")
    assert kernel.ok(f"%puras cancel {job_id}").stdout == f"job {job_id} cancelled\n"
    assert kernel.value("kept.wait(10)['status']") == "'cancelled'"


# -- bad input ---------------------------------------------------------------------------------


def test_unknown_option(kernel: Kernel) -> None:
    usage_error(kernel.run("%puras run demo/echo --bogus 1"), "unrecognized arguments: --bogus", "usage: %puras run")


def test_missing_skill(kernel: Kernel) -> None:
    usage_error(kernel.run("%puras run"), "required: SKILL", "usage: %puras run SKILL")
    usage_error(kernel.run("%%puras\na: 1\n"), "required: SKILL", "usage: %%puras SKILL")


def test_unknown_skill(kernel: Kernel) -> None:
    cell = kernel.run("%puras run demo/nope text=hi")
    short_error(cell, "SkillNotFound", "no skill 'demo/nope' on this server; did you mean", "demo/hang")
    assert "\n" not in cell.evalue and "404" not in cell.evalue


def test_bad_json_and_yaml_bodies_name_the_line(kernel: Kernel) -> None:
    usage_error(kernel.run('%%puras demo/echo\n{"a": 1,\n "b": 2\n "c": 3}\n'), "bad JSON at line 4")
    usage_error(kernel.run("%%puras demo/echo\na: 1\nb: 2: 3\n"), "bad YAML at line 3", "'b: 2: 3'")
    usage_error(kernel.run("%%puras demo/echo\nx: $ghost\n"), "line 2: $ghost: no variable named 'ghost'")
    usage_error(kernel.run("%puras run demo/echo --json '[1]'"), "--json must be a JSON object")
    usage_error(kernel.run("%puras run demo/echo oops"), "expected key=value, got 'oops'")
    usage_error(kernel.run("%puras run demo/echo -o 1x"), "-o/--out needs a variable name")
    # the mistake is on line 2 (a '[' never closed), where PyYAML only notices on line 3
    usage_error(kernel.run("%%puras demo/echo\nproduct: [solar lantern\nduration: 4\n"),
                "bad YAML at line 2: the '[' on this line is never closed", 'quote it: product: "[solar lantern"')


BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (BILLION_LAUGHS, ["line 3: *a is a YAML alias, which inputs do not take"]),
        ("when: 2024-05-01\n", ["line 2: 'when' is a date or time (2024-05-01)", "quote it"]),
        ("blob: !!binary aGVsbG8=\n", ["line 2: 'blob' is bytes (!!binary)"]),
        ("tags: !!set {a, b}\n", ["line 2: 'tags' is a set"]),
        ("shell: $get_ipython\n", ["line 2: 'shell' is a Python method object, which JSON cannot carry"]),
        ("deep: " + "[" * 5000 + "]" * 5000 + "\n", ["line 2: 'deep' is nested deeper than 64 levels"]),
        ('{"deep": ' + "[" * 5000 + "]" * 5000 + "}\n", ["line 2: 'deep' is nested deeper than 64 levels"]),
    ],
)
def test_a_body_that_cannot_be_sent_stops_run_all(kernel: Kernel, body: str, fragments: list) -> None:
    """Run All: the failing %%puras cell ends at once with one UsageError line, and the queued cell after it is
    never run (the kernel aborts it). Before: a raw TypeError/RecursionError, or a billion-laughs body that never
    ended."""
    kernel.ok("reached = False")
    # Run All queues every cell at once: a busy cell first, so both are queued before the failing one runs (the
    # kernel aborts only what is queued when a cell fails; a failure within microseconds could beat `after`)
    kernel.kc.execute("import time; time.sleep(0.3)")
    failing = kernel.kc.execute("%%puras demo/echo\n" + body)
    after = kernel.kc.execute("reached = True")
    replies: dict[str, dict] = {}
    deadline = time.monotonic() + 30
    while len(replies) < 2:
        assert time.monotonic() < deadline, f"the body never ended: {replies}"
        try:
            msg = kernel.kc.get_shell_msg(timeout=0.5)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") in (failing, after):
            replies[msg["parent_header"]["msg_id"]] = msg["content"]
    error = replies[failing]
    assert (error["status"], error["ename"]) == ("error", "UsageError"), error
    assert "\n" not in error["evalue"] and all(f in error["evalue"] for f in fragments), error["evalue"]
    assert replies[after]["status"] == "aborted"
    assert kernel.value("reached") == "False"


def test_a_value_of_the_wrong_type_is_quoted_in_the_servers_answer(kernel: Kernel) -> None:
    """`n=abc` for an integer said "got str"; it names what was typed."""
    cell = kernel.run("%puras run demo/count n=abc --no-display")
    assert cell.status == "error" and "inputs.n must be an integer, got 'abc'" in cell.evalue, cell.evalue


def test_bad_subcommands(kernel: Kernel) -> None:
    usage_error(kernel.run("%puras frobnicate"), "unknown subcommand 'frobnicate'", "run, jobs, attach")
    usage_error(kernel.run("%puras"), "usage: %puras run")
    usage_error(kernel.run("%puras attach"), "required: ID", "usage: %puras attach ID")
    usage_error(kernel.run("%puras run demo/echo s='unclosed"), "cannot parse the line")


# -- subcommands -------------------------------------------------------------------------------


def test_attach_get_and_logs(kernel: Kernel) -> None:
    kernel.ok("%puras run demo/count n=3 delay=0.2 --bg --no-display -o counting")
    job_id = kernel.value("counting.id").strip("'")
    kernel.ok("job_id_text = counting.id")
    logs = kernel.ok("%puras logs $counting").stdout.splitlines()
    assert logs[-1] == f"job {job_id} succeeded"
    assert sum("progress" in line for line in logs) == 3
    attached = kernel.ok("%puras attach $job_id_text -o again")
    assert attached.shown["text/plain"].startswith("<LiveJob demo/count succeeded>"), "named as it was started"
    assert kernel.value("again.result()") == "{'count': 3}"
    got = kernel.ok(f"%puras get {job_id}")
    assert f"'id': '{job_id}'" in got.text and "'status': 'succeeded'" in got.text
    short_error(kernel.run("%puras get 00000000-0000-0000-0000-000000000000"), "PurasAPIError", "404")
    usage_error(kernel.run("%puras get $nothing_here"), "no variable named 'nothing_here'")
    kernel.ok("data = {'a': 1}")  # made here: under xdist no other test's variables are there
    usage_error(kernel.run("%puras get $data"), "$data is not a job")


def test_rerun_changes_one_input_and_keeps_the_rest(kernel: Kernel) -> None:
    # demo/image at a few pixels: what is rerun is the inputs and the version, not the render (an ad takes seconds)
    kernel.ok("%puras run demo/image prompt='an acme mug' width=32 height=24 --version 1 --bg --no-display -o ad")
    kernel.ok("ad.result(60)")
    again = kernel.ok("again = ad.rerun(width=48, display=False)\nagain.result(120)\nagain.job['inputs']")
    assert again.text == "{'prompt': 'an acme mug', 'width': 48, 'height': 24}"
    assert kernel.value("again.version, again.id != ad.id") == "(1, True)"
    magic = kernel.ok("%puras rerun $ad width=40 --version 2 -o third")
    assert magic.shown["text/plain"].startswith("<LiveJob demo/image")
    assert kernel.value("third.wait(120)['inputs'], third.version") == (
        "({'prompt': 'an acme mug', 'width': 40, 'height': 24}, 2)"
    )
    replayed = kernel.value("r = ad.replay(version=2, display=False)\nr.wait(120)['parent_job_id'] == ad.id, r.version")
    assert replayed == "(True, 2)"
    short_error(kernel.run("%puras rerun 00000000-0000-0000-0000-000000000000 duration=3"), "PurasAPIError", "404")
    usage_error(kernel.run("%puras rerun"), "required: ID", "usage: %puras rerun ID")
    usage_error(kernel.run("%puras rerun $ad oops"), "expected key=value, got 'oops'")


def test_form_marks_an_out_of_bounds_number_and_sends_no_request(kernel: Kernel, emulator: Any) -> None:
    auth = {"Authorization": f"Bearer {emulator.api_key}"}

    def created() -> int:
        return httpx.get(f"{emulator.url}/_emulator/stats", headers=auth, timeout=10).json()["jobs_created"]

    shown = kernel.ok("import puras_nb\nf = puras_nb.form('demo/slow')\nf")
    assert shown.shown["text/plain"] == "<SkillForm demo/slow: seconds>"
    assert "application/vnd.jupyter.widget-view+json" in shown.shown
    before = created()
    kernel.ok("f.fill(seconds='4000')\nstarted = f.run()")
    assert kernel.value("started is None, f.fields['seconds'].message.value") == (
        "(True, '⚠ seconds must be between 0 and 3600')"
    )
    assert kernel.value("len(f.runs), f.history.children") == "(0, ())" and created() == before
    kernel.ok("f.fill(seconds='0.1')\nstarted = f.run()\nstarted.result(30)")
    assert created() == before + 1 and kernel.value("f.runs[0] is started") == "True"


def test_jobs_lists_this_kernels_jobs(kernel: Kernel) -> None:
    kernel.ok("%puras run demo/echo tag=listed --no-display")
    assert kernel.run("%puras run demo/fail after=0 message=listed-failure --no-display").ename == "JobError"
    kernel.ok("import puras_nb\npuras_nb.start('demo/echo', {'tag': 'from-python'}, display=False).wait(10)")
    cell = kernel.ok("%puras jobs")
    live, static = cell.displays  # the live widget, then the static view a saved notebook keeps
    lines = static["text/plain"].splitlines()
    assert lines[0].startswith("<JobsTable jobs: ") and " done" in lines[0]
    assert any("demo/echo v2  succeeded" in line and "listed" in line for line in lines)
    assert any("demo/fail" in line and "failed" in line for line in lines)
    assert any("from-python" in line for line in lines)
    assert "application/vnd.jupyter.widget-view+json" in live and "<table" not in live["text/html"]
    assert "<table" in static["text/html"] and "puras-final" in static["text/html"]


def test_skills_and_completion(kernel: Kernel) -> None:
    text = kernel.ok("%puras skills").text
    assert "demo/ugc-ad" in text and "product=…" in text
    assert kernel.complete("%puras run demo/ec") == ["demo/echo"]
    assert kernel.complete("%%puras demo/ugc") == ["demo/ugc-ad"]
    assert {"run", "jobs", "attach", "skills"} <= set(kernel.complete("%puras "))
    assert kernel.complete("%puras run demo/echo --no-d") == ["--no-display"]


def test_skill_cards(kernel: Kernel) -> None:
    for code in ("%puras skills demo/ugc-ad", "%puras run demo/ugc-ad --help", "%%puras demo/ugc-ad --help\nx: 1",
                 "import puras_nb; puras_nb.skill('demo/ugc-ad')"):
        cell = kernel.ok(code)
        product = next(line.split() for line in cell.text.splitlines() if line.strip().startswith("product "))
        duration = next(line.split() for line in cell.text.splitlines() if line.strip().startswith("duration "))
        assert product[:3] == ["product", "string", "yes"], code
        assert duration[:4] == ["duration", "integer", "6", "2–60"], code
        html = cell.result["text/html"]
        assert "<code>product</code>" in html and "2–60" in html and "%%puras demo/ugc-ad" in html
        assert "one of: friendly, luxury, energetic" in cell.text
    cell = kernel.run("%puras skills demo/nope")
    short_error(cell, "UnknownSkill", "no skill 'demo/nope'", "did you mean", "demo/hang")
    assert "\n" not in cell.evalue
    short_error(kernel.run("%puras run demo/nop --help"), "UnknownSkill", "did you mean")
    for code in ("import puras_nb; puras_nb.form('demo/nope')", "puras_nb.skill('demo/nope')",
                 "puras_nb.run('demo/nope', {'text': 'hi'})"):
        short_error(kernel.run(code), "SkillNotFound" if "run" in code else "UnknownSkill", "did you mean demo/")
    overview = kernel.ok("%puras skills").result["text/html"]
    assert "text-align:left" in overview and "`" not in overview


def test_completion_offers_only_what_fits_the_magic(kernel: Kernel) -> None:
    """Skills, subcommands, options, input keys and values come alone: no Python builtins or keywords."""
    skills = kernel.complete("%puras run demo/")
    assert skills[:2] == ["demo/echo", "demo/count"] and "demo/ugc-ad" in skills
    assert all(s.startswith("demo/") and s.count("/") == 1 for s in skills), skills
    reply = kernel.complete_reply("%puras run demo/")
    assert (reply["cursor_start"], reply["cursor_end"]) == (len("%puras run "), len("%puras run demo/"))
    assert kernel.complete("%puras run demo/c") == ["demo/count"]
    assert kernel.complete("%puras ru") == ["run"]
    assert kernel.complete("%puras ")[0] == "run" and "abs" not in kernel.complete("%puras ")
    assert kernel.complete("%%puras demo/ug") == ["demo/ugc-ad"]
    options = kernel.complete("%puras run demo/echo --")
    assert options[0] == "--json" and "--no-display" in options and all(o.startswith("--") for o in options)
    assert kernel.complete("%puras run demo/ugc-ad pro") == ["product="]
    after_skill = kernel.complete("%puras run demo/ugc-ad ")
    assert after_skill[:2] == ["product=", "duration="] and "--bg" in after_skill
    assert kernel.complete("%%puras demo/ugc-ad\npr") == ["product: "]
    assert kernel.complete("%%puras demo/ugc-ad --bg\nproduct: mug\n") == ["duration: ", "tone: ", "photo: ", "color: "]
    assert kernel.complete("%puras run demo/ugc-ad tone=") == ["tone=friendly", "tone=luxury", "tone=energetic"]
    assert kernel.complete("%puras run demo/ugc-ad product=mug tone=lu") == ["tone=luxury"]
    assert kernel.complete("%%puras demo/ugc-ad\nproduct: mug\ntone: ") == ["friendly", "luxury", "energetic"]
    assert kernel.complete("%puras skills demo/ug") == ["demo/ugc-ad"]
    assert kernel.complete("%puras run demo/ugc-ad --version ") == ["2", "1"]
    assert "abs" in kernel.complete("ab"), "Python completion elsewhere is untouched"


@pytest.mark.parametrize(
    "code",
    [
        "%puras whoami ",  # a subcommand that takes nothing
        "%puras run demo/ugc-ad product=",  # a free text value
        "%puras run demo/ugc-ad product=mug an",  # no input key starts so
        "%puras run demo/ugc-ad --skillpack ",  # an option's value
        "%puras run demo/nope ",  # a skill nobody knows
        "%%puras demo/ugc-ad\nproduct: ",  # a free text value in a body
        "%puras i",  # no subcommand starts so
    ],
)
def test_completion_with_nothing_to_offer_offers_nothing(kernel: Kernel, code: str) -> None:
    """Where the magic has nothing to offer, the kernel answers an empty list: no Python keywords (`and`, `if`), no
    magics (`%`, `puras`), no file names."""
    reply = kernel.complete_reply(code)
    assert reply["status"] == "ok" and reply["matches"] == [], reply["matches"][:10]


def test_config_traits_feed_the_live_settings(kernel: Kernel) -> None:
    kernel.ok("%config Puras.poll_interval = 0.5")
    kernel.ok("%config Puras.skillpack = 'demo'")
    assert kernel.value("import puras_nb.notebook.live as L; L.settings().poll_interval, L.settings().skillpack") == (
        "(0.5, 'demo')"
    )
    assert kernel.ok("%puras run echo short=name --no-display").text == "{'short': 'name'}"
    kernel.ok("%config Puras.timeout = 0.3")
    short_error(kernel.run("%puras run demo/hang --no-display"), "JobError", "after 0.3 s")
    kernel.ok("%config Puras.timeout = 60.0")
    kernel.ok("%config Puras.preview_max_bytes = 100000")
    out = kernel.ok("%puras config").stdout
    assert "skillpack" in out and "demo" in out and "0.5" in out and "100000" in out


def test_config_api_base_and_cancel_on_interrupt(kernel: Kernel, emulator: Any) -> None:
    same_server = emulator.url.replace("127.0.0.1", "localhost")
    kernel.ok(f"%config Puras.api_base = {same_server!r}")
    assert kernel.value("import puras_nb.notebook.live as L; L.settings().api_base") == repr(same_server)
    assert kernel.ok("%puras run demo/echo via=1 --no-display").text == "{'via': 1}"
    kernel.ok("%config Puras.cancel_on_interrupt = False")
    cell = kernel.run("%puras run demo/hang --no-display -o left", interrupt_after=1.2)
    short_error(cell, "JobInterrupted", "the job keeps running")
    assert kernel.ok("%puras cancel $left").stdout.endswith(" cancelled\n")
    kernel.ok("%config Puras.cancel_on_interrupt = True")


def test_login_without_a_prompt_says_how(kernel: Kernel) -> None:
    usage_error(kernel.run("%puras login"), "cannot prompt for a key")


def test_login_keeps_the_key_masked(kernel: Kernel, emulator: Any) -> None:
    key = emulator.api_key  # the emulator requires its key; the kernel must send the one typed in
    cell = kernel.ok("%puras login", stdin=key)
    assert f"puras_live_…{key[-4:]}" in cell.stdout
    out = kernel.ok("%puras config").stdout
    assert f"…{key[-4:]}" in out and key[11:-4] not in out
    assert kernel.ok("%puras run demo/echo ok=1 --no-display").text == "{'ok': 1}"


def test_local_starts_an_emulator_for_this_kernel(kernel: Kernel, emulator: Any) -> None:
    cell = kernel.ok("%puras local")
    assert cell.stdout.startswith("local Puras emulator at http://127.0.0.1:")
    assert "demo/ugc-ad" in cell.stdout
    assert emulator.url not in cell.stdout
    assert kernel.ok("%puras run demo/echo here=1 --no-display").text == "{'here': 1}"
    assert kernel.value("import puras_nb.notebook.live as L; L.settings().api_base") != repr(emulator.url)


def test_help_and_unload(kernel: Kernel) -> None:
    cell = kernel.ok("%puras help")
    assert cell.stdout == "" and len(cell.displays) == 1  # HTML that wraps at spaces, with the text beside it
    out, html = cell.displays[0]["text/plain"], cell.displays[0]["text/html"]
    for sub in ("run SKILL", "%%puras SKILL", "jobs", "attach ID", "cancel ID", "logs ID", "get ID", "skills",
                "local", "config", "login", "help", "%config Puras."):
        assert sub in out
    assert 'class="puras-static puras-help-box mathjax_ignore' in html
    assert '<span class="puras-word">[--version N]' in html
    kernel.ok("%unload_ext puras_nb")
    assert kernel.run("%puras help").ename == "UsageError"
    kernel.ok("%load_ext puras_nb")


def test_the_first_tab_after_load_ext_answers_within_jupyterlabs_second(tmp_path: Any) -> None:
    """JupyterLab drops a completion that answers after 1 s. Right after `%load_ext`, with the embedded emulator
    still to start and the schema validator still to import, every reply comes within that second (the work goes
    on off the cell), and the skills are offered as soon as they are known."""
    k = Kernel({"HOME": str(tmp_path), "PURAS_API_KEY": "", "PURAS_API_BASE": ""}, cold_jsonschema=True)
    try:
        k.ok("%load_ext puras_nb")
        deadline = time.monotonic() + 60
        while True:
            began = time.monotonic()
            offered = k.complete("%puras run demo/")
            took = time.monotonic() - began
            assert took < 1.0, f"a completion took {took:.2f} s"
            if offered:
                break
            assert time.monotonic() < deadline, "the skills were never offered"
        assert "demo/ugc-ad" in offered and all(s.startswith("demo/") for s in offered)
    finally:
        k.close()
