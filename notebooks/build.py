"""Write the demo notebooks from the cell sources below, then execute each once to store its outputs.

They execute without any PURAS_* variables, so on the local emulator, exactly as the tests run them.
What is stored is slimmed (`slim`) so the repository stays small: no widget state (a notebook on disk has
no kernel; the static views stand in for the widgets), images as small JPEG previews, a video as its
still frame and an audio as its waveform, no players and no links to the build's emulator. `puras-nb demo`
writes the full-media version.

nbval (tests/notebook/test_notebooks.py) re-runs them and compares against these stored outputs, so run this
after changing a notebook or anything its outputs show:

    python notebooks/build.py                 # all of them
    python notebooks/build.py quickstart      # one
"""

from __future__ import annotations

import base64
import io
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from puras_nb.cli.demo import STORED_NOTE, drop_links

HERE = Path(__file__).resolve().parent
IGNORE = "nbval-ignore-output"  # the tag form of NBVAL_IGNORE_OUTPUT: a timing-dependent output


def md(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


QUICKSTART = [
    md("""
# puras-nb quick start

From `%load_ext` to a first result in three cells. Everything here runs offline against the local
Puras emulator (`%puras local`); for the hosted API set `PURAS_API_KEY` instead and skip that cell.
"""),
    code("%load_ext puras_nb"),
    code("%puras local"),
    code("""
%%puras demo/image
prompt: a lighthouse at dawn, watercolor
width: 384
height: 256
"""),
    md("""
The job showed live while it ran, its image is previewed inline, and the result is the cell's value.

## The Python API

`puras_nb.start` submits a job and returns a `LiveJob` at once; it polls in the background and shows a
live view. `.result()` blocks for the result, while other jobs keep updating.
"""),
    code("""
import puras_nb

job = puras_nb.start("demo/count", {"n": 5, "delay": 0.1})
job.result()
"""),
    md("""
## Background jobs

Start several jobs without showing them, keep working, and `await` them when you need the results.
"""),
    code("""
prompts = ["a red kite", "a blue boat", "a green hill"]
jobs = [puras_nb.start("demo/image", {"prompt": p, "width": 128, "height": 128}, display=False) for p in prompts]
results = [await j for j in jobs]
[(r["prompt"], r["image"]["width"]) for r in results]
"""),
    md(
        "## Cancel\n\nA job that would run forever, cancelled from the notebook"
        " (the widget's Cancel button does the same)."
    ),
    code("""
forever = puras_nb.start("demo/hang", display=False)
forever.cancel()
forever.wait(10)["status"]
"""),
    md("## Attach\n\nA live view of a job started elsewhere: another kernel, a script, or before a kernel restart."),
    code("""
again = puras_nb.attach(job.id)
again.result()
"""),
    md("## Events\n\nEvery job keeps its event log; progress events drive the progress bar."),
    code("""[(e["type"], e["payload"]["message"]) for e in job.events]"""),
    md("## Feedback"),
    code("""
feedback = job.feedback(1, "counts nicely")
feedback["rating"], feedback["comment"]
"""),
    md("""
## The plain client, for scripts and CI

`puras_nb.Client` is a drop-in for `puras.Client` (same methods and defaults) with pooled connections,
retries, cancel, events and job listing.
"""),
    code("""
from puras_nb.notebook.live import settings

with puras_nb.Client(api_key=settings().api_key, api_base=settings().api_base, skillpack="demo") as client:
    print(client.run("echo", {"hello": "world"}))
"""),
]

MAGICS = [
    md("""
# Every `%puras` magic

`%load_ext puras_nb` registers `%puras` (a line magic with subcommands) and `%%puras` (a cell magic
whose body holds the inputs). Every magic is a thin layer over a Python function you can call too.
"""),
    code("%load_ext puras_nb"),
    code("%puras help"),
    md("## Where jobs run: `%puras local`, `%puras skills`, `%puras config`, `%puras whoami`"),
    code("%puras local"),
    code("%puras skills"),
    md("""
What one skill takes, with a cell to copy (also `%puras run demo/ugc-ad --help` or
`puras_nb.skill("demo/ugc-ad")`). Tab completes skills, `key=` inputs and allowed values as you type.
"""),
    code("%puras skills demo/ugc-ad"),
    code("%puras config"),
    md("Who this kernel is on that server, as `puras whoami` shows it (`puras_nb.whoami()` from Python):"),
    code("%puras whoami"),
    md("""
## `%puras run SKILL key=value ...`

Values are parsed like the official CLI's `-i key=value`: JSON if it parses, else a string. `$name`
passes a notebook variable's value as it is, and braces are never formatted. The magic blocks with a
live view; the result is the cell's value.
"""),
    code("%puras run demo/count n=4 delay=0.1"),
    code("""
product = {"name": "Aero bottle", "tags": ["steel", "1 l"]}
%puras run demo/echo title="{braces} stay as typed" n=3 ok=true item=$product --no-display
"""),
    md("""
## `%%puras SKILL`: the inputs in the cell body

A YAML mapping or a JSON object; `$name` values are notebook variables. `-o VAR` stores the result
instead of making it the cell's value.
"""),
    code("""
%%puras demo/image -o drawing
prompt: a paper boat on a pond, {origami} style
width: 320
height: 200
"""),
    code("""drawing["prompt"], drawing["image"]["mime"]"""),
    code("""
%%puras demo/echo --no-display
{"product": $product, "note": "JSON bodies work too"}
"""),
    md("## Options: `--version`, `--skillpack`, `--json`, `--timeout`"),
    code(
        "%puras run image --skillpack demo --version 1"
        """ --json '{"prompt": "a fox", "width": 96, "height": 96}' -o fox"""
    ),
    code("fox['image']['width'], fox['prompt']"),
    md("""
`--timeout S` stops waiting after S seconds and cancels the job (keep it running with
`--no-cancel-on-interrupt`, which also decides what interrupting the kernel does to a blocking magic):
"""),
    code("%puras run demo/hang --timeout 1 --no-display -o stopped", "raises-exception"),
    code("stopped.wait(10)['status']"),
    md("""
## `--bg`: return at once with a `LiveJob`

The cell ends immediately; the live view keeps updating. `-o` keeps the job in a variable.
"""),
    code("%puras run demo/count n=5 delay=0.2 --bg -o counter", IGNORE),
    code("counter.result()"),
    md(
        "## `%puras logs`, `attach`, `get`, `cancel`\n\n"
        "They take a job id, or `$var` naming a LiveJob, a job dict or an id."
    ),
    code("%puras logs $counter"),
    code("%puras attach $counter -o same"),
    code("""
job_dict = %puras get $counter
job_dict["status"], job_dict["result"], job_dict["cost_micros"]
"""),
    code("""
%puras run demo/hang --bg --no-display -o forever
%puras cancel $forever
"""),
    md("""
## `%puras spans`: where the time went

The latency waterfall that `puras spans` prints (the run, its steps, each step's model call and tools), drawn;
`job.spans()` is the same from Python.
"""),
    code("%puras spans $counter"),
    md("""
## When a job fails

The magic raises `JobError` with one line (status, error, last event, job id), so "Run All" stops
here; `-o` still keeps the failed job for inspection.
"""),
    code("%puras run demo/fail message='out of credits' -o failed", "raises-exception"),
    code("failed.status, failed.job['error']"),
    md("A usage error is one line too, with the usage:"),
    code("%puras run demo/echo --colour blue", "raises-exception"),
    md("## `%puras jobs`: this kernel's jobs as a live table"),
    code("%puras jobs"),
    md("""
## Settings

`%config Puras.<name>` sets `api_base`, `skillpack`, `poll_interval`, `timeout`, `cancel_on_interrupt`
and `preview_max_bytes` for this kernel (the environment gives the defaults).
"""),
    code("""
%config Puras.poll_interval = 0.5
%config Puras.timeout = 300.0
%puras config
"""),
    md("""
For the hosted API, `%puras login` asks for your key with a password prompt and keeps it in this
kernel's memory only (never in the notebook). It waits for you to type, so it is not run here: a demo
notebook runs top to bottom unattended.
"""),
]

STAKEHOLDER = [
    md("""
# From a product page to a UGC video ad

`demo/ugc-ad` turns a product page into a short user-generated-content style ad: a script, a
voiceover, a vertical video and a thumbnail, in one call. This notebook shows one ad end to end,
compares the two versions of the skill side by side, and sums up what it cost.

*Runs offline on the local Puras emulator: `puras-nb demo` starts one for it, and with no
`PURAS_API_KEY` set puras-nb starts its own (on `%load_ext puras_nb` or the first job). Set `PURAS_API_KEY` to run the hosted
skills instead.*
"""),
    md("""
*This stored copy keeps small previews: a still frame of each video and a waveform of each
voiceover, with no players. `puras-nb demo` writes the page with every video and voiceover.*
""", STORED_NOTE),
    code("""
import puras_nb

%load_ext puras_nb
"""),
    md("""
## 1. A product goes in

One cell: the product page in, the ad out. The checklist and progress update live while the skill
works; the script, video, thumbnail and voiceover are previewed inline when it is done.
"""),
    code("""
%%puras demo/ugc-ad -o ad
product: https://shop.example/p/aurora-trail-shoes
duration: 6
"""),
    md("The script the voiceover reads:"),
    code("""
from IPython.display import Markdown

Markdown("> " + ad["script"])
"""),
    md("""
## 2. Version 1 against version 2

The same products through both deployed versions of the skill, side by side. `puras_nb.compare`
starts every job at once and fills the grid in as results arrive.
"""),
    code("""
products = [
    {"product": "https://shop.example/p/aurora-trail-shoes", "duration": 4},
    {"product": "https://shop.example/p/aero-steel-bottle", "duration": 4},
]
grid = puras_nb.compare("demo/ugc-ad", products, versions=[1, 2]).wait()
"""),
    md("## 3. What it cost"),
    code("""
for version in grid.versions:
    jobs = [grid.job(i, version) for i in range(len(products))]
    total = sum(job.job["cost_micros"] for job in jobs) / 1_000_000
    print(f"v{version}: {len(jobs)} ads, ${total:.4f} in total, ${total / len(jobs):.4f} per ad")
"""),
    md("Every job with its inputs, status, time and cost (the same view as `%puras jobs`):"),
    code("""
from puras_nb.notebook.fanout import table

table(grid.jobs.values(), title="v1 vs v2")
"""),
]

EXPLORATION = [
    md("""
# Exploring prompts: fan out, compare, fix, rerun

Iterating on a prompt means trying many variants at once. `fan_out` starts one job per input, shows
a single combined progress view, and keeps going when one input is rejected, so the failed case can
be fixed and rerun alone.
"""),
    code("""
import puras_nb
from puras_nb import fan_out

%load_ext puras_nb
%puras local
"""),
    md("Five phrasings of the same product shot. One of them carries a typo: 2048 px is wider than the skill allows."),
    code("""
base = "a steel water bottle on a mossy rock"
variants = ["", ", morning light", ", studio lighting", ", top-down view", ", extreme close-up"]
cases = [{"prompt": base + v, "width": 256, "height": 256} for v in variants]
cases[3]["width"] = 2048

batch = fan_out("demo/image", cases, title="prompt sweep").wait()
"""),
    md("## The results, as a table"),
    code("""
for i, row in enumerate(batch.rows(), 1):
    outcome = row["result"]["image"]["mime"] if row["result"] else row["error"]
    print(f"{i}  {row['status']:<9}  {row['inputs']['prompt'][len(base):] or '(base)':<20}  {outcome}")
"""),
    md("The images, side by side:"),
    code("""
puras_nb.show([row["result"]["image"] for row in batch.rows() if row["status"] == "succeeded"])
"""),
    md("## Rerun the failed case\n\nFix the input and rerun only that row; the table follows the new job."),
    code("""
failed = [i for i, row in enumerate(batch.rows(), 1) if row["status"] == "failed"]
for i in failed:
    batch.rerun(i, width=256)
batch.wait()
[row["status"] for row in batch.rows()]
"""),
    md("Costs of the sweep, from the same rows:"),
    code("""
total = sum(row["cost_micros"] or 0 for row in batch.rows())
f"{len(batch.rows())} images, ${total / 1_000_000:.4f}"
"""),
]

APP = [
    md("""
# Try a Puras skill

Pick a skill, fill in what it needs and press **Generate**: the job runs live below, with its progress,
checklist and a Cancel button, then the video, image or sound. Choose *compare v1 and v2* to see both
versions side by side. Every run stays in the list below, newest first; rate each result with
**Good** or **Bad**.
"""),
    code("""
from puras_nb import app

app(["demo/ugc-ad", "demo/image", "demo/speech", "demo/slow"])
"""),
]

NOTEBOOKS = {
    "quickstart": QUICKSTART,
    "magics": MAGICS,
    "stakeholder-demo": STAKEHOLDER,
    "exploration": EXPLORATION,
    "stakeholder-app": APP,
}


def build(name: str, *, execute: bool = True, timeout: int = 120) -> Path:
    """Write notebooks/<name>.ipynb and (by default) execute it in place with a fresh kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.from_dict(dict(cell)) for cell in NOTEBOOKS[name]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    path = HERE / f"{name}.ipynb"
    if execute:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}},
            store_widget_state=False,
        )
        client.execute(env={k: v for k, v in os.environ.items() if not k.startswith("PURAS_")})
        slim(nb)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name}-{i}"
    nbformat.write(nb, path)
    return path


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PREVIEW_WIDTH = 240
_PLAYER = re.compile(r"<(video|audio)\b[^>]*></\1>")
_IMG = re.compile(r"<img\b[^>]*>")
_DATA_SRC = re.compile(r'src="data:image/(?:png|jpeg|webp|gif);base64,([A-Za-z0-9+/=]+)"')


def _preview(match: re.Match) -> str:
    """An `<img>` of embedded bytes as a small JPEG (at most PREVIEW_WIDTH px wide), where that makes it smaller;
    a see-through image (a waveform: a PNG of about a kilobyte) stays as it is. Its width/height follow."""
    from PIL import Image

    tag = match.group(0)
    src = _DATA_SRC.search(tag)
    if src is None:
        return tag
    raw = base64.b64decode(src.group(1))
    img = Image.open(io.BytesIO(raw))
    if "transparency" in img.info or img.mode in ("RGBA", "LA", "PA"):
        return tag
    img = img.convert("RGB")
    img.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 4))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70, optimize=True)
    if out.tell() >= len(raw):
        return tag
    tag = tag.replace(src.group(0), f'src="data:image/jpeg;base64,{base64.b64encode(out.getvalue()).decode()}"')
    tag = re.sub(r'\swidth="\d+"', f' width="{img.width}"', tag)
    return re.sub(r'\sheight="\d+"', f' height="{img.height}"', tag)


def _slim_html(html: str) -> str:
    """No players (their still frame or waveform, beside each, shows instead: views/html.py), no links to the
    build's emulator, and every image a small JPEG preview."""
    return _IMG.sub(_preview, drop_links(_PLAYER.sub("", html)))


def slim(nb: nbformat.NotebookNode) -> None:
    """Keep the committed notebook small: static views only (no widget views or state, which need a kernel),
    image previews, the stills of videos and audio, no players. nbval compares text, and HTML only as `<HTML>`."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            data.pop(WIDGET_VIEW, None)
            if "text/html" in data:
                html = data["text/html"]
                data["text/html"] = _slim_html("".join(html) if isinstance(html, list) else html)


def main(argv: list[str]) -> int:
    for name in argv or list(NOTEBOOKS):
        print(build(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
