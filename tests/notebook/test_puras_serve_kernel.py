"""The notebook path against the official `puras serve` (puras-runner), in a real ipykernel.

One kernel for the module, pointed at the session's `puras serve` (tests/harness/puras_serve.py: the real server
over a test skillpack, only its skill runner replaced by a deterministic function) through PURAS_API_BASE,
PURAS_API_KEY and PURAS_SKILLPACK, with HOME a temporary directory. Every feature either works or says in one line
what this server lacks: no traceback through puras-nb.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.kernel import Cell, Kernel, short_error
from tests.harness.puras_serve import PurasServe

pytestmark = pytest.mark.kernel

PHOTO = "https://example.com/beach.jpg"


@pytest.fixture(scope="module")
def kernel(puras_serve: PurasServe, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    home = tmp_path_factory.mktemp("home")
    k = Kernel({"PURAS_API_BASE": puras_serve.url, "PURAS_API_KEY": puras_serve.api_key,
                "PURAS_SKILLPACK": "studio", "HOME": str(home), "PURAS_NB_POLL_INTERVAL": "0.3"})
    k.ok("%load_ext puras_nb\nimport json\nimport puras_nb\nfrom puras_nb.views.job import descendants\n"
         "from puras_nb.model.job import jobs")
    yield k
    k.close()


def finals(kernel: Kernel, cell: Cell) -> list[dict]:
    """The last state of each display a cell made (its display_data, updated by update_display_data)."""
    shown: dict[str, dict] = {}
    for _, m in kernel.messages():
        if m["parent_header"].get("msg_id") == cell.msg_id and m["msg_type"] in ("display_data", "update_display_data"):
            display_id = m["content"].get("transient", {}).get("display_id", id(m))
            shown[display_id] = m["content"]["data"]
    return list(shown.values())


def widget_ids(kernel: Kernel, expr: str) -> set[str]:
    return set(json.loads(kernel.printed(f"json.dumps([x.model_id for x in descendants({expr})])")))


# -- magics --------------------------------------------------------------------------------------------------


def test_run_a_dialect_skill_with_its_result_as_the_cells_value(kernel: Kernel) -> None:
    cell = kernel.ok(f'%puras run poster photo={PHOTO} headline="Big sale" accent="#00aa00" -o made')
    assert kernel.printed("made['caption']") == "Big sale (#00aa00)"
    assert kernel.printed("made['poster'][:22]") == "data:image/png;base64,"
    (view, summary) = finals(kernel, cell)
    assert view["text/plain"].startswith("<LiveJob studio/poster succeeded>")
    assert '<img src="data:image/png;base64,' in summary["text/html"], "the poster is shown, saved with the notebook"


def test_a_background_run_updates_its_widget_while_no_cell_runs(kernel: Kernel) -> None:
    cell = kernel.ok("bg = %puras run count n=6 delay=0.25 --bg")
    assert cell.idle - cell.sent < 2.0, "--bg returns at once"
    ids = widget_ids(kernel, "bg.widget")
    idle = kernel.ok("pass").idle
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and kernel.printed("bg.status") != "succeeded":
        time.sleep(0.2)
    assert len(kernel.comm_updates(ids, since=idle)) >= 3, "the widget moved while no cell ran"
    assert kernel.printed("bg.result(), bg.progress") == "{'count': 6} 1.0", "the checklist drove the progress"


def test_cell_magic_with_a_yaml_body_and_a_variable(kernel: Kernel) -> None:
    kernel.ok("words = 'from a variable'")
    cell = kernel.ok("%%puras echo --no-display\nprompt: $words\n")
    assert cell.text == "{'answer': 'You said: from a variable'}"


def test_jobs_logs_get_rerun_and_attach(kernel: Kernel) -> None:
    kernel.ok("%puras run count n=2 delay=0 --bg -o first\nfirst.result()")
    table = kernel.ok("%puras jobs")
    assert "studio/count" in table.displays[-1]["text/plain"]
    logs = kernel.ok("%puras logs $first")
    assert logs.stdout.splitlines()[0].startswith("[1] agent_start")
    assert logs.stdout.strip().endswith("succeeded")
    got = kernel.ok("%puras get $first")
    assert "'status': 'succeeded'" in got.text and "'skill_name': 'count'" in got.text
    kernel.ok("%puras rerun $first n=3 -o second")
    assert kernel.printed("second.result(), second.skill") == "{'count': 3} studio/count"
    job_id = kernel.printed("first.id")
    attached = kernel.ok(f"%puras attach {job_id} -o again")
    assert attached.shown["text/plain"].startswith("<LiveJob studio/count succeeded>")
    assert kernel.printed("len(again.events) == len(first.events) > 3") == "True", "the events, replayed"


def test_a_failed_job_is_one_line_with_its_error_and_id(kernel: Kernel) -> None:
    cell = kernel.run("%puras run flaky fail=true -o broken")
    short_error(cell, "JobError", "studio/flaky failed", "· job ")
    assert any("the risky part failed (exit status 2)" in shown.get("text/plain", "") for shown in finals(kernel, cell))
    assert kernel.printed("broken.status") == "failed"


def test_the_kernel_writes_nothing_under_home(kernel: Kernel) -> None:
    home = Path(kernel.printed("__import__('os').environ['HOME']"))
    assert not (home / ".puras").exists()


# -- what the events say: steps by their labels, subagents, states -------------------------------------------


def test_a_subagents_events_nest_under_it_and_steps_read_by_their_labels(kernel: Kernel) -> None:
    cell = kernel.ok(f'%puras run poster photo={PHOTO} headline="Nest me"\nnested = jobs()[-1]')
    assert kernel.printed("nested.step") == "Deliver the poster"
    assert kernel.printed("[s.name for s in nested.steps][2:4]") == "['Lay out the headline', 'Update the plan']"
    assert kernel.printed("[(s.name, s.level) for s in nested.steps if s.level]") == "[('Lay out the headline', 1)]"
    (_, summary) = finals(kernel, cell)
    saved = summary["text/html"].split('<details class="puras-log-static">', 1)[1]
    group = saved.split('<details class="puras-subagent puras-subagent-succeeded">', 1)[1].split("</details>", 1)[0]
    assert '<b>layout</b> <span class="puras-subagent-status">succeeded · 3 events</span>' in group
    assert "tool_use</span> Lay out the headline (set_output)" in group, "the subagent's own events, inside it"
    assert "Deliver the poster (set_output)" in saved.split(group, 1)[1], "the run's own events after it, outside"
    kernel.ok("nested.widget.log_box.selected_index = 0")
    parts = json.loads(kernel.printed("json.dumps([c.value for c in nested.widget.log_box.children[0].children])"))
    assert len(parts) == 3 and "puras-subagent-succeeded" in parts[1], "live: the group is a part of its own"


def test_a_cost_capped_run_says_how_much_of_its_limit_and_what_to_do(kernel: Kernel) -> None:
    cell = kernel.run("%puras run budget cap_micros=10000 -o capped")
    short_error(cell, "JobError", "studio/budget failed: RuntimeError: This run reached its per-run cost limit",
                "cost capped at $0.0126 of the $0.0100 limit, at step 3 · ")
    shown = finals(kernel, cell)
    text = next(s["text/plain"] for s in shown if s["text/plain"].startswith("<LiveJob"))
    assert text.splitlines()[1] == ("cost capped at $0.0126 of the $0.0100 limit, at step 3 · the run stopped there; "
                                    "raise the per-run cost limit or ask for less, then rerun")
    assert all("puras-pill-cost_capped" in s["text/html"] for s in shown if "puras-static" in s.get("text/html", ""))
    assert kernel.printed("[(s.name, s.state) for s in capped.steps]") == str(
        [(f"Render scene {i}", "done") for i in (1, 2, 3)]), "it stopped between steps"


@pytest.mark.parametrize(("gate", "badge", "wait_words"), [
    ("approval", "needs approval", "approve or deny it in the Puras dashboard"),
    ("confirm", "needs confirmation", "answer y or n in the terminal running the job"),
])
def test_a_run_waiting_for_a_person_says_for_what_and_where_to_answer(
    kernel: Kernel, gate: str, badge: str, wait_words: str
) -> None:
    kernel.ok(f"%puras run gated gate={gate} decision=denied hold=4 --bg -o held")  # shown: its events are followed
    states = "[s.badge for s in held.states]"
    assert wait_for(kernel, states, f"['{badge}']") == f"['{badge}']"
    head = kernel.printed("held.widget.head.value")
    assert "waiting for " in head and "`send_email` {&quot;to&quot;: &quot;client@example.com&quot;" in head
    assert wait_words in head and "▶ Email the client</li>" in head and head.count("Email the client") == 1
    assert kernel.printed("held.result(timeout=20)") == "{'sent': False}"
    after = "['approval denied']" if gate == "approval" else "[]"  # a local console sends no decision event
    assert kernel.printed(states) == after


def test_a_resumed_run_that_succeeded_keeps_one_line_with_its_badge(kernel: Kernel) -> None:
    cell = kernel.ok("%puras run resume from_step=4\nagain = jobs()[-1]")
    (view, summary) = finals(kernel, cell)
    assert view["text/plain"].splitlines()[1] == (
        "resumed from step 4 · its worker restarted; the steps before it were not run again")
    assert "puras-line-details" in summary["text/html"] and "puras-pill-resumed" in summary["text/html"]
    assert "puras-pill-resumed" in kernel.printed("again.widget.head.value")


# -- what the server lacks: one line each -------------------------------------------------------------------


def wait_for(kernel: Kernel, expr: str, expected: str, timeout: float = 10) -> str:
    """Poll `expr` in the kernel until it prints `expected` (or the deadline passes); what it printed last."""
    deadline = time.monotonic() + timeout
    seen = kernel.printed(expr)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = kernel.printed(expr)
    return seen


def test_cancel_names_the_missing_route_in_one_line(kernel: Kernel) -> None:
    kernel.ok("%puras run wait seconds=2 --bg -o slow")
    route = "has no cancel route (POST /v1/jobs/{id}/cancel answered 404)"
    short_error(kernel.run("%puras cancel $slow"), "NotSupported", route, "keeps running")
    short_error(kernel.run("slow.cancel()"), "NotSupported", route)
    kernel.click(kernel.printed("slow.widget.cancel_button.model_id"))
    shown = "slow.widget.cancel_button.description, slow.widget.cancel_button.disabled"
    assert wait_for(kernel, shown, "No cancel on this server True") == "No cancel on this server True"
    assert route in kernel.printed("slow.widget.cancel_button.tooltip")
    assert kernel.printed("slow.result(timeout=20)") == "{'waited': 2.0}", "the job ran on"


def test_a_run_that_times_out_says_it_could_not_cancel(kernel: Kernel) -> None:
    cell = kernel.run("%puras run wait seconds=1.5 --timeout 0.5 -o late")
    short_error(cell, "JobError", "studio/wait still running after 0.5 s", "could not cancel it")
    assert kernel.printed("late.result(timeout=20)") == "{'waited': 1.5}"


def test_feedback_buttons_say_the_server_keeps_no_feedback(kernel: Kernel) -> None:
    kernel.ok("rated = puras_nb.start('echo', {'prompt': 'rate me'})\nrated.result()")
    assert wait_for(kernel, "rated.widget.up is not None", "True") == "True"
    kernel.click(kernel.printed("rated.widget.up.model_id"))
    note = "rated.widget.feedback_note.value"
    expected = '<span title="POST /v1/jobs/{id}/feedback answered 404">no feedback on this server</span>'
    assert wait_for(kernel, note, expected) == expected
    assert kernel.printed("rated.widget.up.disabled, rated.widget.down.disabled") == "True True"
    short_error(kernel.run("rated.feedback(1)"), "NotSupported", "no feedback route")


def test_replay_submits_the_inputs_anew(kernel: Kernel) -> None:
    kernel.ok("echoed = puras_nb.start('echo', {'prompt': 'once more'}, display=False)\nechoed.result()")
    cell = kernel.ok("again = echoed.replay()\nagain.result()")
    assert cell.text == "{'answer': 'You said: once more'}"
    assert kernel.printed("again.id != echoed.id") == "True"


def test_compare_on_a_server_without_versions_compares_inputs_only(kernel: Kernel) -> None:
    cell = kernel.ok("grid = puras_nb.compare('echo', [{'prompt': 'a'}, {'prompt': 'b'}])\nrows = grid.results(20)")
    *_, final = finals(kernel, cell)
    assert final["text/plain"] == "<Comparison echo: 2 inputs; 2 succeeded>"
    assert ">result</th>" in final["text/html"] and ">v1<" not in final["text/html"]
    texts = json.loads(kernel.printed("json.dumps([x.value for x in descendants(grid.widget) if "
                                      "isinstance(getattr(x, 'value', None), str)])"))
    assert "<b>result</b>" in texts and not any(">v1<" in t for t in texts)
    # each cell has Good and Bad, through the job's feedback path: this server keeps none, as the cell's note says
    cell = "[c for c in descendants(grid.widget) if type(c).__name__ == 'CellView'][1]"
    assert wait_for(kernel, f"{cell}.rating is not None", "True") == "True"
    kernel.click(kernel.printed(f"{cell}.rating.down.model_id"))
    expected = '<span title="POST /v1/jobs/{id}/feedback answered 404">no feedback on this server</span>'
    assert wait_for(kernel, f"{cell}.rating.note.value", expected) == expected
    assert kernel.printed(f"{cell}.rating.up.disabled, {cell}.rating.down.disabled") == "True True"


# -- a terminal `puras login`, then a notebook ------------------------------------------------------------------


def test_a_terminal_login_works_in_a_notebook_and_is_never_written(puras_serve: PurasServe, tmp_path: Path) -> None:
    """The official CLI's own `save_auth` (what `puras login` calls once the key checks out) writes the login file
    under a temporary HOME; a kernel with no PURAS_API_* runs jobs with it, and a key typed in the notebook does not
    touch it."""
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import sys; from puras.cli.config import save_auth; "
                    "save_auth(sys.argv[1], sys.argv[2])", puras_serve.url, puras_serve.api_key], env=env, check=True)
    saved = tmp_path / ".puras" / "config.json"
    before = saved.read_bytes()
    k = Kernel({"HOME": str(tmp_path), "PURAS_API_KEY": "", "PURAS_API_BASE": "", "PURAS_SKILLPACK": "studio"})
    try:
        k.ok("%load_ext puras_nb")
        assert k.ok("%puras run echo prompt=logged --no-display").text == "{'answer': 'You said: logged'}"
        config = k.ok("%puras config").stdout
        assert f"api_base             {puras_serve.url}" in config
        assert "api_key_source       ~/.puras/config.json" in config and puras_serve.api_key not in config
        assert "api key    puras_live_…6789   (from ~/.puras/config.json)" in k.ok("%puras whoami").text
        k.ok("%puras login", stdin="puras_live_typed_in_the_notebook_0000")
        assert "api_key_source" not in k.ok("%puras config").stdout
    finally:
        k.close()
    assert saved.read_bytes() == before and sorted(p.name for p in saved.parent.iterdir()) == ["config.json"]


# -- spans ------------------------------------------------------------------------------------------------------


def test_spans_magic_and_method_draw_the_waterfall(kernel: Kernel) -> None:
    kernel.ok("traced = puras_nb.start('count', {'n': 2, 'delay': 0}, display=False)\ntraced.result()")
    cell = kernel.ok("%puras spans $traced")
    assert cell.text.splitlines()[0].startswith("run ") and "run:count" in cell.text
    assert cell.result["text/html"].count('class="puras-span-bar ') == len(cell.text.splitlines())
    assert kernel.ok("traced.spans()").text == cell.text
    assert "%puras spans ID|$var" in kernel.ok("%puras help").displays[0]["text/plain"]
    short_error(kernel.run("%puras spans no-such-job"), "PurasAPIError", "404", "job not found")


def test_whoami_says_in_one_line_that_the_server_keeps_no_balance(kernel: Kernel, puras_serve: PurasServe) -> None:
    cell = kernel.ok("%puras whoami")
    host = puras_serve.url.removeprefix("http://")
    assert cell.text.splitlines() == [
        f"api base   {puras_serve.url}   (from PURAS_API_BASE)",
        "api key    puras_live_…6789   (from PURAS_API_KEY)",
        f"the server at {host} has no balance route (GET /v1/billing/balance answered 404)",
    ]
    assert kernel.printed("puras_nb.whoami()['api_base']") == puras_serve.url


# -- a skill `puras init` could have written, explored through puras serve ---------------------------------------


def test_the_skill_card_heads_with_the_title_and_shows_the_dialect(kernel: Kernel) -> None:
    card = kernel.ok("%puras skills poster").text.splitlines()
    assert card[0] == "<skill Poster maker · studio/poster>"
    assert card[1] == "A poster from a photo, a headline and an accent colour."
    rows = {line.split()[0]: line.split()[1] for line in card if line.startswith("  ") and len(line.split()) > 1}
    assert (rows["photo"], rows["headline"], rows["accent"], rows["width"]) == ("image", "text", "color", "integer")
    assert "returns: poster (image), caption (text)" in card
    html = kernel.ok("%puras run poster --help").result["text/html"]
    assert "Poster maker" in html and "Summer sale" in html and "Launch night" in html, "the examples, one click away"
    overview = kernel.ok("%puras skills")
    assert "studio/poster" in overview.text and "layout" not in overview.text
    assert "Poster maker" in overview.result["text/html"]
    overview = overview.text
    assert "  studio/count   n=… [delay]" in overview.splitlines(), "no lone 'v' where there are no versions"


def test_the_form_takes_a_file_text_and_colour_and_its_examples_run(kernel: Kernel) -> None:
    kernel.ok("f = puras_nb.form('poster')\nf")
    kinds = json.loads(kernel.printed("json.dumps([type(x).__name__ for x in descendants(f.field_box)])"))
    assert {"FileUpload", "Textarea", "ColorPicker", "Text"} <= set(kinds), "width (64–1024 px) is typed"
    texts = kernel.printed("[x.value for x in descendants(f) if isinstance(getattr(x, 'value', None), str)]")
    assert "Poster maker" in texts, "the title heads the form"
    titles = json.loads(kernel.printed("json.dumps([b.description for b in f.examples.children[1:]])"))
    assert titles == ["Summer sale", "Launch night"]
    kernel.click(kernel.printed("f.examples.children[1].model_id"))
    values = "f.values()[0]['headline'], f.values()[0]['accent']"
    assert wait_for(kernel, values, "Summer sale, everything must go #1e90ff") == (
        "Summer sale, everything must go #1e90ff")
    kernel.click(kernel.printed("f.run_button.model_id"))
    assert wait_for(kernel, "len(f.runs)", "1") == "1"
    assert kernel.printed("f.runs[0].result(timeout=20)['caption']") == "Summer sale, everything must go (#1e90ff)"


def test_completion_offers_the_skills_health_lists_and_their_inputs(kernel: Kernel) -> None:
    assert {"poster", "echo", "count", "wait", "flaky"} <= set(kernel.complete("%puras run "))
    assert kernel.complete("%puras run po") == ["poster"]
    assert kernel.complete("%puras run poster acc") == ["accent="]
    assert kernel.complete("%%puras poster\nhea") == ["headline: "]
    assert "layout" not in " ".join(kernel.complete("%puras run ")), "a subskill is not offered"


def test_show_and_map_on_puras_serve(kernel: Kernel) -> None:
    cell = kernel.ok("shown = puras_nb.run('poster', {'photo': 'https://example.com/x.png', 'headline': 'Shown'}, "
                     "display=False)\npuras_nb.show(shown)")
    (view,) = [d for d in cell.displays if "text/html" in d][-1:]
    assert view["text/plain"] == ('<result {"poster": "<image/png>", "caption": "Shown (#ff6600)"}>\n'
                                  'poster: image (image/png, embedded)')  # each media item named on a line
    assert '<img src="data:image/png;base64,' in view["text/html"], "the declared image output, shown as one"
    kernel.ok("rows = [{'n': 1}, {'n': 2}]\n%puras map count $rows -o mapped")
    assert kernel.printed("mapped.wait(30).text()") == "<Batch studio/count: 2 rows; 2 succeeded>"
