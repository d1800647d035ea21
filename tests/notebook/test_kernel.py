"""A real ipykernel 7 driven through jupyter_client: live jobs poll in the background of the kernel.

One kernel for the module, pointed at the session emulator through PURAS_API_BASE / PURAS_API_KEY.
The harness (tests/harness/kernel.py) is shared with test_magics and bench/.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from puras_nb.local.entry import IRI_CHECKER_OFF
from tests.harness.kernel import Cell, Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel(emulator: Any) -> Iterator[Kernel]:
    harness = Kernel({"PURAS_API_BASE": emulator.url, "PURAS_API_KEY": emulator.api_key})
    harness.ok("import json\nimport puras_nb\nfrom puras_nb.views.job import descendants")
    yield harness
    harness.close()


def _ids(kernel: Kernel, expr: str) -> set[str]:
    """Model ids of every widget in the tree of `expr` (a JobWidget)."""
    out = kernel.printed(f"json.dumps([x.model_id for x in descendants({expr})])")
    return set(json.loads(out))


def test_start_returns_at_once_and_the_widget_updates_with_no_cell_running(kernel: Kernel) -> None:
    cell1 = kernel.ok("job = puras_nb.start('demo/count', {'n': 8, 'delay': 0.15})")
    views = [m for m in cell1.outputs if m["msg_type"] == "display_data"]
    assert len(views) == 2 and "application/vnd.jupyter.widget-view+json" in views[0]["content"]["data"]
    assert views[1]["content"]["data"]["text/plain"] == "<LiveJob demo/count in progress>", "the static summary"
    assert 'class="puras-static puras-final mathjax_ignore' in views[1]["content"]["data"]["text/html"]
    assert views[0]["content"]["data"]["text/plain"] == "<LiveJob demo/count in progress>"
    cell2 = kernel.ok("print(job.status, 6 * 7)")
    assert cell2.stdout.split() in (["queued", "42"], ["running", "42"])
    ids = _ids(kernel, "job.widget")
    idle = kernel.ok("pass").idle

    def ended() -> list[dict]:  # the updates sent while no cell ran, once one of them says the job ended
        updates = kernel.comm_updates(ids, since=idle)
        states = [m["content"]["data"]["state"] for m in updates]
        return updates if any("succeeded" in str(s.get("value", "")) for s in states) else []

    background = _poll(ended, 30)
    assert background, "the widget never said the job ended while no cell ran"
    assert len(background) >= 3, "the widget stopped updating while no cell ran"
    finals = [
        m["content"]["data"]["text/plain"]
        for _, m in kernel.messages()
        if m["msg_type"] == "update_display_data" and m["parent_header"].get("msg_id") == cell1.msg_id
    ]
    assert finals == ['<LiveJob demo/count succeeded>\nresult: {"count": 8}'] * 2, "live view and summary slot"
    assert kernel.printed("job.status, job.result(), job.progress") == "succeeded {'count': 8} 1.0"


def test_fifty_concurrent_live_jobs_all_finish(kernel: Kernel) -> None:
    kernel.ok("jobs = [puras_nb.start('demo/count', {'n': 3, 'delay': 0.1, 'i': i}) for i in range(50)]")
    out = kernel.printed("sorted({json.dumps(j.result(timeout=40)) for j in jobs}), sum(j.done() for j in jobs)")
    assert out == """['{"count": 3}'] 50"""


def test_blocking_result_lets_other_live_jobs_update(kernel: Kernel) -> None:
    kernel.ok("others = [puras_nb.start('demo/count', {'n': 12, 'delay': 0.2}) for _ in range(3)]")
    ids: set[str] = set()
    for i in range(3):
        ids |= _ids(kernel, f"others[{i}].widget")
    cell = kernel.ok("blocker = puras_nb.start('demo/slow', {'seconds': 1.5}, display=False); print(blocker.result())")
    assert cell.stdout.strip() == "{'slept': 1.5}"
    during = kernel.comm_updates(ids, since=cell.sent + 0.2, until=cell.idle - 0.05)
    assert len(during) >= 3, f"only {len(during)} widget updates while result() blocked"
    assert kernel.printed("[o.result(timeout=10) for o in others]") == str([{"count": 12}] * 3)


def test_cancel_click_cancels_the_job_on_the_server(kernel: Kernel, emulator: Any) -> None:
    kernel.ok("hung = puras_nb.start('demo/hang', {})")
    button = kernel.printed("hung.widget.cancel_button.model_id")
    job_id = kernel.printed("hung.id")
    time.sleep(0.3)
    kernel.click(button)
    deadline = time.monotonic() + 5
    status = ""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    while time.monotonic() < deadline and status != "cancelled":
        status = httpx.get(f"{emulator.url}/v1/jobs/{job_id}", headers=headers, timeout=5).json()["status"]
        time.sleep(0.1)
    assert status == "cancelled"
    assert kernel.printed("hung.wait(5)['status'], hung.status") == "cancelled cancelled"


def test_cancel_click_while_a_cell_awaits_the_job(kernel: Kernel) -> None:
    kernel.ok("awaited = puras_nb.start('demo/hang', {})")
    button = kernel.printed("awaited.widget.cancel_button.model_id")
    timer = threading.Timer(0.5, kernel.click, (button,))
    timer.start()
    cell = kernel.run("await awaited", timeout=20)
    timer.join()
    assert cell.reply["content"]["ename"] == "JobError"
    assert cell.idle - cell.sent < 3 and kernel.printed("awaited.status") == "cancelled"


XSS = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(2)>",
    "link": "javascript:alert(3)",
    "media": {"url": "javascript:alert(4)//x.png", "mime": "image/png"},
    "<b onmouseover=alert(5)>key</b>": "value",
}


def _unsafe(html: str) -> list[str]:
    lowered = html.lower()
    markers = ("<script>alert", "<img src=x", "onerror=alert(2)>", '="javascript:', "<b onmouseover")
    return [bad for bad in markers if bad in lowered]


def test_xss_payload_in_a_result_renders_as_inert_text(kernel: Kernel) -> None:
    cell = kernel.ok(f"xss = puras_nb.start('demo/echo', {XSS!r}); xss_result = xss.result()")
    htmls = [m["content"]["data"].get("text/html", "") for m in cell.outputs if "data" in m["content"]]
    assert htmls and all(not _unsafe(h) for h in htmls)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in h for h in htmls)
    values = json.loads(
        kernel.printed(
            "json.dumps([x.value for x in descendants(xss.widget) if isinstance(getattr(x, 'value', None), str)])"
        )
    )
    joined = "\n".join(values)
    assert "&lt;img src=x onerror=alert(2)&gt;" in joined
    assert not _unsafe(joined)
    ids = _ids(kernel, "xss.widget")
    for update in kernel.comm_updates(ids):
        assert not _unsafe(json.dumps(update["content"]["data"]["state"]))


def test_executed_and_exported_notebook_shows_final_state_and_media(emulator: Any, monkeypatch: Any) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    monkeypatch.setenv("PURAS_API_BASE", emulator.url)
    monkeypatch.setenv("PURAS_API_KEY", emulator.api_key)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import puras_nb"),
        nbformat.v4.new_code_cell("ad = puras_nb.run('demo/ugc-ad', {'product': 'a red mug', 'duration': 2})"),
        nbformat.v4.new_code_cell("bg = puras_nb.start('demo/count', {'n': 3, 'delay': 0.1})"),
        nbformat.v4.new_code_cell("bg.result()"),
    ]
    # its kernel starts as the harness's do (tests/harness/kernel.py): jsonschema without its IRI format checker
    lean = [f"--IPKernelApp.exec_lines={IRI_CHECKER_OFF}"]
    NotebookClient(nb, timeout=60, kernel_name="python3", extra_arguments=lean).execute()
    plain = [o["data"]["text/plain"] for o in nb.cells[1].outputs if "data" in o]
    summary = '{"video": "<video/mp4>", "thumbnail": "<image/png>", "script": "'
    assert len(plain) == 2, "the live view, then the final static summary"
    assert all(p.startswith(f"<LiveJob demo/ugc-ad succeeded>\nresult: {summary}") for p in plain)
    background = nb.cells[2].outputs[0]["data"]
    assert background["text/plain"] == '<LiveJob demo/count succeeded>\nresult: {"count": 3}', "updated from cell 4"
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    line = state[background["application/vnd.jupyter.widget-view+json"]["model_id"]]["state"]["children"][0]
    line = state[line.removeprefix("IPY_MODEL_")]["state"]
    assert "puras-line-box" in line["_dom_classes"], "a job that succeeded with no media ends as one line"
    head = state[line["children"][0].removeprefix("IPY_MODEL_")]["state"]
    assert "puras-badge-succeeded" in head["value"]
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "succeeded" in html
    assert emulator.api_key not in html and emulator.api_key not in nbformat.writes(nb)
    for tag, mime in (("img", "image/png"), ("video", "video/mp4"), ("audio", "audio/wav")):
        assert re.search(f'<{tag} [^>]*src="data:{mime};base64,', html), tag
    assert len(re.findall(r"<video ", html)) == 1, "the widget's own output adds nothing: the video is shown once"


def test_compare_fills_a_grid_of_inputs_by_versions(kernel: Kernel) -> None:
    cell = kernel.ok(
        "cmp = puras_nb.compare('demo/image', [{'prompt': 'a cat'}, {'prompt': 'a dog'}], versions=[1, 2])\n"
        "rows = cmp.results()"
    )
    data = [m["content"]["data"] for m in cell.outputs if m["msg_type"] == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in data[0]
    assert data[0]["text/plain"] == "<Comparison demo/image: 2 inputs x v1, v2; in progress>"
    final = [m["content"]["data"] for m in cell.outputs if m["msg_type"] == "update_display_data"][-1]
    assert final["text/plain"].splitlines()[0] == "<Comparison demo/image: 2 inputs x v1, v2; 4 succeeded>"
    assert final["text/plain"].count(".png (image/png)") == 4, "a line names each cell's image"
    assert final["text/html"].count('<img src="data:image/png;base64,') == 4
    assert kernel.printed("[[r['image']['mime'] for r in row] for row in rows]") == str([["image/png"] * 2] * 2)


def test_interrupting_a_blocking_result_raises_job_interrupted_and_can_cancel(kernel: Kernel) -> None:
    kernel.ok("stuck = puras_nb.start('demo/hang', {}, display=False, cancel_on_interrupt=True)")
    job_id = kernel.printed("stuck.id")
    timer = threading.Timer(0.5, kernel.km.interrupt_kernel)
    timer.start()
    cell = kernel.run("stuck.result()")
    timer.join()
    assert cell.reply["content"]["ename"] == "JobInterrupted"
    assert job_id in cell.reply["content"]["evalue"] and "cancelled the job" in cell.reply["content"]["evalue"]
    assert kernel.printed("stuck.wait(5)['status']") == "cancelled"
    kept = kernel.ok("kept = puras_nb.start('demo/count', {'n': 2, 'delay': 0.05}); print(kept.result())")
    assert kept.stdout.strip() == "{'count': 2}", "the kernel's loop and pollers still work after the interrupt"


def test_a_job_as_a_cells_value_gets_live_outputs_that_reach_the_end_state(kernel: Kernel) -> None:
    cell = kernel.ok("value = puras_nb.start('demo/count', {'n': 3, 'delay': 0.1}, display=False)\nvalue")
    shown = [m for m in cell.outputs if m["msg_type"] in ("display_data", "execute_result")]
    assert [m["msg_type"] for m in shown] == ["display_data", "display_data"]
    ids = {m["content"]["transient"]["display_id"] for m in shown}
    deadline = time.monotonic() + 10
    updates: list[dict] = []
    while time.monotonic() < deadline and len(updates) < 2:
        time.sleep(0.1)
        updates = [
            m
            for _, m in kernel.messages()
            if m["msg_type"] == "update_display_data" and m["content"]["transient"]["display_id"] in ids
        ]
    assert {m["content"]["transient"]["display_id"] for m in updates} == ids
    assert all(m["content"]["data"]["text/plain"].startswith("<LiveJob demo/count succeeded>") for m in updates)



def _widget_views(cell: Cell) -> int:
    """How many widget views a cell's outputs hold."""
    return sum("application/vnd.jupyter.widget-view+json" in m["content"].get("data", {}) for m in cell.outputs)


def test_start_or_compare_as_a_cells_last_line_shows_it_once(kernel: Kernel) -> None:
    assert _widget_views(kernel.ok("puras_nb.start('demo/echo', {'once': True})")) == 1
    assert _widget_views(kernel.ok("job = puras_nb.start('demo/echo', {}, display=False)\ndisplay(job)\njob")) == 1
    assert _widget_views(kernel.ok("puras_nb.compare('demo/echo', [{'grid': 1}], versions=[1])")) == 1
    assert _widget_views(kernel.ok("display(job)")) == 1


# -- the runtime thread: a busy kernel, and a Cancel click while a cell blocks ------------------------


def test_a_background_job_keeps_updating_while_a_cell_sleeps(kernel: Kernel) -> None:
    kernel.ok("%load_ext puras_nb")
    kernel.ok("%puras run demo/count n=10 delay=0.3 --bg -o bgjob")
    ids = _ids(kernel, "bgjob.widget")
    # the cell computes until the job ends: the kernel's main thread never yields to its loop
    cell = kernel.ok("import time\nt0 = time.monotonic()\nwhile not bgjob.done() and time.monotonic() < t0 + 30:\n"
                     "    time.sleep(0.1)")
    during = kernel.comm_updates(ids, since=cell.sent + 0.2, until=cell.idle - 0.1)
    assert len(during) >= 4, f"only {len(during)} widget updates while the kernel computed"
    assert kernel.printed("bgjob.status") == "succeeded"


def test_a_background_job_ends_fetches_its_previews_and_calls_back_while_a_cell_sleeps(kernel: Kernel) -> None:
    """The README's "Where it works": the runtime thread, not the kernel's loop, ends a job, fetches its previews
    and runs its done callbacks, so all of it happens while the kernel's main thread sleeps in a cell."""
    out = kernel.ok(
        "import time\nmarks = {}\nfox = puras_nb.start('demo/image', {'prompt': 'a fox', 'width': 64, 'height': 64})\n"
        "fox.add_done_callback(lambda j: marks.setdefault('called', time.monotonic()))\n"
        "t0 = time.monotonic()\n"
        "while not (marks and fox.wait_previews(0) and fox.media_data) and time.monotonic() < t0 + 30:\n"
        "    time.sleep(0.1)  # the cell computes: the kernel's main thread never yields to its loop\n"
        "print(fox.status, t0 < marks.get('called', 0), len(fox.media_data) > 0)"
    ).stdout.strip()
    assert out == "succeeded True True", out


def test_without_a_comm_subshell_a_blocked_run_says_to_interrupt_the_kernel(emulator: Any) -> None:
    """Where the frontend sends widget messages on the main shell (JupyterLab < 4.4, Notebook 7 < 7.4, VS Code), a
    click cannot reach a cell that blocks on the job: the widget puts a note saying how to stop in the Cancel
    button's place while the cell blocks. A kernel of its own: no frontend has opened a subshell on it."""
    fresh = Kernel({"PURAS_API_BASE": emulator.url, "PURAS_API_KEY": emulator.api_key})
    try:
        fresh.ok("%load_ext puras_nb")
        cell = fresh.ok("%puras run demo/slow seconds=1.5")
        states = [json.dumps(m["content"].get("data", {}).get("state", {}), ensure_ascii=False)
                  for m in cell.outputs if m["msg_type"] in ("comm_open", "comm_msg")]
        note = "To stop, interrupt the kernel (■ or I,I), which cancels the job."
        assert any(note in state for state in states), "the blocked run never said how to stop it"
    finally:
        fresh.close()


def _subshell(kernel: Kernel) -> str:
    """Create a kernel subshell the way JupyterLab >= 4.4 does for widget messages; its id."""
    kernel.kc.control_channel.send(kernel.kc.session.msg("create_subshell_request", {}))
    while True:
        reply = kernel.kc.get_control_msg(timeout=10)
        if reply["msg_type"] == "create_subshell_reply":
            return reply["content"]["subshell_id"]


def _opened_cancel_button(kernel: Kernel, msg_id: str, timeout: float = 10) -> str:
    """The comm id of the Cancel button a running cell displayed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, m in kernel.messages():
            state = m["content"].get("data", {}).get("state", {}) if m["msg_type"] == "comm_open" else {}
            if m["parent_header"].get("msg_id") == msg_id and "puras-cancel" in state.get("_dom_classes", ()):
                return m["content"]["comm_id"]
        time.sleep(0.05)
    raise AssertionError("the running cell displayed no Cancel button")


def test_a_cancel_click_over_a_subshell_stops_a_blocking_run_with_one_quiet_line(kernel: Kernel) -> None:
    """The cancel the user asked for is no error: the cell ends with one line on stdout, the job stored with -o;
    a script waiting for the same kind of job still gets JobError."""
    kernel.ok("%load_ext puras_nb")
    subshell = _subshell(kernel)
    sent = time.monotonic()
    msg_id = kernel.kc.execute("%puras run demo/slow seconds=10 -o stopped")
    button = _opened_cancel_button(kernel, msg_id)
    time.sleep(0.5)
    kernel.click(button, subshell)
    reply = None
    while reply is None:
        msg = kernel.kc.get_shell_msg(timeout=15)
        if msg["parent_header"].get("msg_id") == msg_id:
            reply = msg
    took = time.monotonic() - sent
    assert reply["content"]["status"] == "ok" and took < 4, (reply["content"], took)
    job_id = kernel.printed("stopped.id")
    lines = [
        m["content"]["text"] for _, m in kernel.messages()
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream"
    ]  # fmt: skip
    assert lines == [f"demo/slow cancelled · job {job_id}\n"], lines
    assert not [m for _, m in kernel.messages() if m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "error"], "no error output"
    script = kernel.run(
        "import threading\nlater = puras_nb.start('demo/slow', {'seconds': 10}, display=False)\n"
        "threading.Timer(0.3, later.request_cancel).start()\nlater.result(10)"
    )
    assert script.ename == "JobError" and "cancelled" in script.evalue, (script.ename, script.evalue)


# -- a form's saved view (issue 23.2): the widget and its static view, updated as output of the form's cell, where
# JupyterLab routes an update after a click on Run; a cell that waits for a run gets it as its own output (nbclient)

def _display_updates(kernel: Kernel, display_id: str) -> list[dict]:
    return [m for _, m in kernel.messages() if m["msg_type"] == "update_display_data"
            and m["content"].get("transient", {}).get("display_id") == display_id]


def _poll(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    return check()


def test_a_form_is_its_widget_and_a_static_view_that_names_the_skill_and_its_inputs(kernel: Kernel) -> None:
    cell = kernel.ok('puras_nb.form("demo/image")')
    shown = [m["content"] for m in cell.outputs if m["msg_type"] == "display_data"]
    assert len(shown) == 2 and not cell.result
    widget, static = shown
    assert "application/vnd.jupyter.widget-view+json" in widget["data"]
    assert widget["data"]["text/plain"].startswith("<SkillForm demo/image")
    assert widget["data"]["text/html"] == '<div class="puras-live-fallback"></div>', "the static view says it, once"
    assert static["transient"]["display_id"]
    html = static["data"]["text/html"]
    root = 'class="puras-static puras-final puras-form-static mathjax_ignore tex2jax_ignore"'  # never typeset
    assert root in html and "demo/image" in html
    assert "Inputs: prompt, width, height" in html and "no runs yet" in html
    assert "model not found" not in html and "<SkillForm" not in html


def test_a_click_on_run_updates_the_saved_view_as_output_of_the_forms_cell(kernel: Kernel) -> None:
    cell = kernel.ok('form = puras_nb.form("demo/image")\nform')
    static = [m["content"] for m in cell.outputs if m["msg_type"] == "display_data"][1]
    display_id = static["transient"]["display_id"]
    kernel.ok('form.fill(prompt="a <b>paper</b> crane", width=64, height=48)')
    button = kernel.printed("form.run_button.model_id")
    kernel.click(button)

    def ended() -> list[dict]:
        return [m for m in _display_updates(kernel, display_id) if "succeeded" in m["content"]["data"]["text/plain"]]

    assert _poll(ended, 60), [m["content"]["data"]["text/plain"] for m in _display_updates(kernel, display_id)]
    updates = _display_updates(kernel, display_id)
    assert all(m["parent_header"]["msg_id"] == cell.msg_id for m in updates), "routed to the form's cell"
    final = ended()[-1]["content"]["data"]
    text, html = final["text/plain"], final["text/html"]
    assert text.splitlines()[2].startswith("#1 · demo/image v"), text
    assert "<LiveJob demo/image succeeded>" in text
    assert "1 run below" in html and "puras-run-head" in html and "succeeded" in html
    assert "&lt;b&gt;paper&lt;/b&gt;" in html and "<b>paper</b>" not in html, "the inputs are escaped"
    assert "data:image/png;base64," in html, "the image itself, embedded"


def test_a_cell_that_waits_for_a_run_gets_the_update_as_its_own_output(kernel: Kernel) -> None:
    cell = kernel.ok('counter = puras_nb.form("demo/count")\ncounter')
    display_id = [m["content"] for m in cell.outputs if m["msg_type"] == "display_data"][1]["transient"]["display_id"]
    waited = kernel.ok('counter.fill(n=3, delay=0.05).run().result()')
    own = [m for m in waited.outputs if m["msg_type"] == "update_display_data"
           and m["content"]["transient"]["display_id"] == display_id]
    assert own, [m["msg_type"] for m in waited.outputs]
    text = own[-1]["content"]["data"]["text/plain"]
    assert "#1 · demo/count" in text and '<LiveJob demo/count succeeded>\nresult: {"count": 3}' in text, text
