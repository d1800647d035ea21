"""`%puras` and `%%puras`: run a skill from a cell, and manage this kernel's jobs.

Each subcommand is a thin layer over a public function (`puras_nb.start`, `puras_nb.attach`,
`puras_nb.notebook.inputs.build_inputs`, `puras_nb.notebook.fanout.table`, `puras_nb.notebook.connection.skills`,
...). Errors raise,
so a failed job stops "Run All": usage errors as a one-line `UsageError`, job failures as `JobError` with
a one-line message (no traceback through our internals). Settings live in `puras_nb.settings`; the `Puras`
configurable (`%config Puras.timeout = 60`) is its traitlets face, its traits made from `Settings`.
"""

from __future__ import annotations

import argparse
import functools
import threading
import typing
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Float, Int, TraitType, Unicode, observe
from traitlets.config import Configurable

from ..errors import JobError, JobInterrupted, PurasError, one_line
from ..model.skill import prepare
from ..runtime.endpoint import prestart
from ..runtime.kernel import parent_id as _parent_id
from ..settings import configure, current, traits
from .completion import Completer, install, uninstall
from .inputs import InputError, build_inputs, parse_value, split_line

__all__ = ["Puras", "PurasMagics", "load_ipython_extension", "unload_ipython_extension"]

E = TypeVar("E", bound=BaseException)

#: A longer error is said once, by the job's view (cut to a few lines with "show all"): the cell's one-line error
#: points there instead of repeating it. A shorter one reads in both.
LONG_ERROR = 160

RUN_OPTIONS = (
    "[--help] [--json JSON] [--version N] [--skillpack SP] [--bg] [-o VAR] [--timeout S] [--no-display] "
    "[--reuse] [--cancel-on-interrupt | --no-cancel-on-interrupt]"
)
USAGE = {
    "run": "%puras run SKILL [key=value ...] " + RUN_OPTIONS,
    "cell": "%%puras SKILL [key=value ...] [options]   (the cell body: inputs as a JSON object or YAML mapping)",
    "jobs": "%puras jobs",
    "attach": "%puras attach ID|$var [-o VAR]",
    "map": "%puras map SKILL $rows [--max-running N] [--version N] [--budget USD] [-o VAR]",
    "rerun": "%puras rerun ID|$var [key=value ...] [--version N] [-o VAR]",
    "cancel": "%puras cancel ID|$var",
    "logs": "%puras logs ID|$var",
    "get": "%puras get ID|$var",
    "spans": "%puras spans ID|$var",
    "skills": "%puras skills [SKILL]",
    "local": "%puras local [--port N]",
    "config": "%puras config",
    "login": "%puras login",
    "whoami": "%puras whoami",
    "help": "%puras help",
}
HELP = {
    "run": "run a skill; blocks with a live view, the result is the cell's value (--bg: return the job at once)",
    "cell": "the same, with the inputs in the cell body; $name values are notebook variables",
    "jobs": "this kernel's jobs as a live table",
    "map": "a skill over many rows ($list, $dataframe or a JSONL path); re-runs reuse what ran (--retry-failed)",
    "attach": "a live view of a job started elsewhere",
    "rerun": "start a job's skill again with some inputs changed (same version unless --version)",
    "cancel": "cancel a job",
    "logs": "print a job's events as they arrive",
    "get": "the job object, as the API returns it",
    "spans": "the job's trace spans as a latency waterfall (run, steps, model calls, tools), as `puras spans`",
    "skills": "the skills the server offers; with SKILL, what it takes (also: %puras run SKILL --help)",
    "local": "start the local emulator and use it in this kernel",
    "config": "the current settings (key masked); change them with %config Puras.<name> = ...",
    "login": "set the API key for this kernel (asked with getpass, kept in memory only)",
    "whoami": "the API base, key (masked), workspace and balance live jobs use, as `puras whoami`",
    "help": "this help",
}
RUN_FLAGS = {
    "--json": True,
    "--version": True,
    "--skillpack": True,
    "--bg": False,
    "-o": True,
    "--out": True,
    "--timeout": True,
    "--no-display": False,
    "--reuse": False,
    "--cancel-on-interrupt": False,
    "--no-cancel-on-interrupt": False,
    "--help": False,
}
"""The options of `run` / `%%puras` (for completion), each mapped to whether it takes a value."""


_TRAIT_TYPES: tuple[tuple[type, type[TraitType]], ...] = ((bool, Bool), (int, Int), (float, Float), (str, Unicode))


def _trait(kind: Any, default: Any, help: str) -> TraitType:
    """The traitlet for a setting of type `kind` (`float | None`: a Float that may be None; `int | dict | None`:
    an Int, the form `%config` can set)."""
    options = typing.get_args(kind) or (kind,)
    trait = next(t for python, t in _TRAIT_TYPES if python in options)
    return trait(default, allow_none=type(None) in options, help=help).tag(config=True)


def _traits() -> dict[str, Any]:
    """The `Puras` traits, one per setting of `settings.traits()` (its type, default and help)."""
    return {name: _trait(kind, default, help) for name, kind, default, help in traits()}


class Puras(Configurable):
    """The `%config Puras.<name>` face of `puras_nb.settings`: one store, so each change goes to `configure`
    and each default is the kernel-wide setting (itself read from the environment once). Its traits are made
    from `Settings`, which holds the one set of defaults."""

    locals().update(_traits())  # a class body's namespace is a dict: one trait per setting `traits()` lists
    NAMES = tuple(name for name, *_ in traits())

    def __init__(self, **kwargs: Any) -> None:
        s = current()
        defaults = {name: getattr(s, name) for name in self.NAMES}
        if not isinstance(defaults["preview_max_bytes"], int):
            defaults.pop("preview_max_bytes")
        super().__init__(**{**defaults, **kwargs})

    def values(self) -> dict[str, Any]:
        """The settings that `puras_nb.configure` takes, where set."""
        return {n: getattr(self, n) for n in self.NAMES if getattr(self, n) is not None}

    def apply(self) -> None:
        """Push every value set from a config file to the kernel-wide settings."""
        s = current()
        changed = {k: v for k, v in self.values().items() if getattr(s, k) != v}
        if changed:
            configure(**changed)

    @observe(*NAMES)
    def _changed(self, change: dict) -> None:
        if change["new"] is not None:
            configure(**{change["name"]: change["new"]})


SETTINGS_NOTE = "settings: %config Puras." + " / .".join(Puras.NAMES)


class _Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError (message plus usage) instead of exiting."""

    def __init__(self, usage_key: str, **kwargs: Any) -> None:
        super().__init__(prog="%puras", usage=USAGE[usage_key], add_help=False, allow_abbrev=False, **kwargs)
        self.usage_key = usage_key

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}. usage: {USAGE[self.usage_key]}")


@functools.cache
def _run_parser(cell: bool) -> _Parser:
    """The parser of `run` / `%%puras`, made once (an argparse parser is reusable, and takes ~1 ms to build)."""
    p = _Parser("cell" if cell else "run")
    p.add_argument("skill", metavar="SKILL")
    p.add_argument("inputs", nargs="*", metavar="key=value")
    p.add_argument("--json", dest="json_text", metavar="JSON")
    p.add_argument("--version", type=int, metavar="N")
    p.add_argument("--skillpack", metavar="SP")
    p.add_argument("--bg", action="store_true")
    p.add_argument("-o", "--out", metavar="VAR")
    p.add_argument("--timeout", type=float, metavar="S")
    p.add_argument("--no-display", dest="display", action="store_false")
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--cancel-on-interrupt", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--help", action="store_true")
    return p


def job_id(value: str, namespace: dict) -> str:
    """A job id from a subcommand argument: the id itself, or `$name` naming a LiveJob, job dict or id string."""
    if not value.startswith("$"):
        return value
    try:
        found = parse_value(value, namespace)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(found, dict):
        found = found.get("id")
    found = getattr(found, "id", found)
    if not isinstance(found, str) or not found:
        raise UsageError(f"{value} is not a job, a job dict or a job id")
    return found


def _id_parser(name: str, out: bool = False) -> _Parser:
    p = _Parser(name)
    p.add_argument("job_id", metavar="ID")
    if out:
        p.add_argument("-o", "--out", metavar="VAR")
    return p


class ShownResult(dict):
    """A result the job's live view already shows in full: as the value of that same cell it prints nothing
    (it would repeat the view), yet `_`, `Out[n]` and `x = %puras run ...` hold it; shown later, a dict."""

    def __init__(self, value: dict) -> None:
        super().__init__(value)
        self.shown_in = _parent_id()

    def _ipython_display_(self) -> None:
        if _parent_id() != self.shown_in:
            from IPython.display import display

            display(dict(self))


def retold(exc: E, message: str) -> E:
    """A twin of `exc` (same type and attributes) that says `message`: the job keeps its own error as it was."""
    twin = type(exc).__new__(type(exc))
    twin.__dict__.update(exc.__dict__)
    twin.args = (message,)
    return twin


def failure_message(job: Any, error: BaseException | None = None, *, shown: bool = False) -> str:
    """One line about a job that did not succeed: skill, status, error, a state that stopped it or waits (cost
    capped, an approval), last event, job id. `shown`: the job's view shows its error above, so a long one
    (`LONG_ERROR`) is pointed at instead of said again."""
    from ..model.text import event_message

    detail = job.error_text or (str(error) if error is not None else "") or job.status
    if shown and len(detail) > LONG_ERROR:
        pointer = ", the error is shown above" if detail != job.status else ""
        return f"{job.skill or 'job'} {job.status}{pointer} · job {job.id}"
    parts = [f"{job.skill or 'job'} {job.status}: {detail}", *(s.text for s in job.states if s.tone == "warn")]
    if job.events:
        last = job.events[-1]
        message = event_message(last)
        if message.strip() != detail.strip():  # an event that only repeats the error is not worth a mention
            parts.append(f"last event: {last.get('type')}" + (f" {message!r}" if message else ""))
    parts.append(f"job {job.id}")
    return " · ".join(parts)


def skill_card(path: str) -> Any:
    """The card of a skill (`%puras skills SKILL`, `%puras run SKILL --help`); errors as one line."""
    from ..views.skill import skill

    try:
        return skill(path)
    except PurasError as exc:
        raise one_line(exc) from None


def _check_var(name: str | None) -> None:
    if name is not None and not name.isidentifier():
        raise UsageError(f"-o/--out needs a variable name, got {name!r}")


@magics_class
class PurasMagics(Magics):
    """The `%puras` line magic (subcommands) and the `%%puras SKILL` cell magic."""

    shell: InteractiveShell  # always made with the shell it is registered on (`load_ipython_extension`)

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell)

    @no_var_expand
    @line_cell_magic
    def puras(self, line: str, cell: str | None = None) -> Any:
        """Run Puras skills and manage jobs; `%puras help` lists the subcommands."""
        try:
            argv = split_line(line)
        except ValueError as exc:
            raise UsageError(f"cannot parse the line: {exc}") from None
        if cell is not None:
            if argv[:1] == ["run"]:
                argv = argv[1:]
            return self.run(argv, body=cell)
        if not argv:
            raise UsageError("what to do? " + self.help_text(short=True))
        command, rest = argv[0], argv[1:]
        handler = getattr(self, f"cmd_{command}", None)
        if command == "run":
            return self.run(rest)
        if handler is None:
            raise UsageError(f"unknown subcommand {command!r}; one of: run, {', '.join(self.commands())}")
        return handler(rest)

    @staticmethod
    def commands() -> list[str]:
        return [k for k in USAGE if k not in ("run", "cell")]

    def _store(self, name: str | None, value: Any) -> None:
        if name:
            self.shell.user_ns[name] = value

    # -- run --------------------------------------------------------------------------------------

    def run(self, argv: list[str], body: str | None = None) -> Any:
        """`%puras run` / `%%puras`: start the job, then block for its result unless `--bg`.

        The result is the cell's value, or with `-o VAR` goes into VAR instead (the live view already
        shows it). `--bg` returns the LiveJob at once, its live view (also stored with `-o`); with
        `--no-display` nothing is shown.
        """
        from .live import foreground, start

        args = _run_parser(body is not None).parse_intermixed_args(argv)
        if args.help:
            return skill_card(args.skill)
        _check_var(args.out)
        try:
            inputs = build_inputs(
                args.inputs, json_text=args.json_text, body=body, namespace=self.shell.user_ns, first_line=2
            )
        except InputError as exc:
            raise UsageError(str(exc)) from None
        s = current()  # the one store: `%config Puras.x` and `puras_nb.configure(x=...)` both write it
        cancel = s.cancel_on_interrupt if args.cancel_on_interrupt is None else args.cancel_on_interrupt
        launch = foreground if not args.bg else start
        try:
            job = launch(
                args.skill,
                inputs,
                skillpack=args.skillpack,
                version=args.version,
                display=args.display and not args.bg,
                reuse=args.reuse,
                cancel_on_interrupt=cancel,
                **({"timeout": args.timeout} if args.timeout is not None else {}),
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        except (PurasError, JobInterrupted) as exc:  # Ctrl-C while the submission is held: its message names the job
            raise one_line(exc) from None
        if args.bg:
            self._store(args.out, job)
            return job if args.display else None
        timeout = args.timeout if args.timeout is not None else s.timeout
        result = self._block(job, args.out, timeout, cancel, shown=args.display)
        return ShownResult(result) if args.display and isinstance(result, dict) else result

    def _block(self, job: Any, out: str | None, timeout: float | None, cancel: bool, *, shown: bool) -> Any:
        """Wait for the job's result. A cancel asked for here (the Cancel button) ends the cell with one quiet
        line; any other ending raises one line, which points at a long error the job's view (`shown`) says above."""
        try:
            result = job.result(timeout)
        except TimeoutError:
            job.await_held()  # a submission the server still held: its answer names the job
            status = job.status
            cancelled = cancel and job.try_cancel()
            self._store(out, job)
            what = "cancelled it" if cancelled else "could not cancel it (it may keep running)" if cancel else (
                "it keeps running")
            error = JobError(job.job)
            error.args = (f"{job.skill} still {status} after {timeout} s; {what} · job {job.id}",)
            raise one_line(error) from None
        except JobError as exc:
            self._store(out, job)
            if job.status == "cancelled" and job.cancel_requested:  # the end the user asked for is no error
                print(f"{job.skill} cancelled · job {job.id}")
                return None
            exc.args = (failure_message(job, exc, shown=shown),)
            raise one_line(exc) from None
        except PurasError as exc:
            self._store(out, job if job.id else None)
            if shown and job.rejected is exc and len(str(exc)) > LONG_ERROR:  # the view says `not sent` and why
                exc = retold(exc, f"{job.skill} {job.status}: the error is shown above")
            raise one_line(exc) from None
        except JobInterrupted as exc:
            self._store(out, job if job.id else None)
            raise one_line(exc) from None
        if out:
            self._store(out, result)
            return None
        return result

    # -- subcommands ------------------------------------------------------------------------------

    def cmd_jobs(self, argv: list[str]) -> Any:
        from .fanout import table

        _Parser("jobs").parse_args(argv)
        return table()

    def cmd_map(self, argv: list[str]) -> Any:
        from .batch import map as batch_map

        p = _Parser("map")
        p.add_argument("skill", metavar="SKILL")
        p.add_argument("rows", metavar="ROWS")
        p.add_argument("--max-running", type=int, default=16, metavar="N")
        p.add_argument("--version", type=int, metavar="N")
        p.add_argument("--budget", type=float, metavar="USD")
        p.add_argument("--retry-failed", action="store_true")
        p.add_argument("--skillpack", metavar="SP")
        p.add_argument("-o", "--out", metavar="VAR")
        args = p.parse_args(argv)
        _check_var(args.out)
        try:
            rows = parse_value(args.rows, getattr(self.shell, "user_ns", {}))
        except InputError as exc:
            raise UsageError(str(exc)) from None
        try:
            batch = batch_map(args.skill, rows, version=args.version, max_running=args.max_running,
                              budget_usd=args.budget, retry_failed=args.retry_failed, skillpack=args.skillpack)
        except (TypeError, ValueError, OSError) as exc:
            raise UsageError(str(exc)) from None
        except PurasError as exc:
            raise one_line(exc) from None
        self._store(args.out, batch)
        return None if args.out else batch

    def cmd_attach(self, argv: list[str]) -> Any:
        from .live import attach

        args = _id_parser("attach", out=True).parse_args(argv)
        _check_var(args.out)
        try:
            job = attach(job_id(args.job_id, self.shell.user_ns), display=False)
        except PurasError as exc:
            raise one_line(exc) from None
        self._store(args.out, job)
        return job

    def cmd_rerun(self, argv: list[str]) -> Any:
        from .live import rerun

        p = _Parser("rerun")
        p.add_argument("job_id", metavar="ID")
        p.add_argument("inputs", nargs="*", metavar="key=value")
        p.add_argument("--version", type=int, metavar="N")
        p.add_argument("-o", "--out", metavar="VAR")
        args = p.parse_intermixed_args(argv)
        _check_var(args.out)
        try:
            changes = build_inputs(args.inputs, namespace=self.shell.user_ns)
        except InputError as exc:
            raise UsageError(str(exc)) from None
        try:
            job = rerun(job_id(args.job_id, self.shell.user_ns), changes, version=args.version, display=False)
        except PurasError as exc:
            raise one_line(exc) from None
        self._store(args.out, job)
        return job

    def cmd_cancel(self, argv: list[str]) -> None:
        from ..model.job import CANCEL_WAIT
        from .live import attach

        args = _id_parser("cancel").parse_args(argv)
        try:
            job = attach(job_id(args.job_id, self.shell.user_ns), display=False)
            job.cancel()
            job.wait(CANCEL_WAIT)
        except PurasError as exc:
            raise one_line(exc) from None
        print(f"job {job.id} {job.status}")

    def cmd_logs(self, argv: list[str]) -> None:
        from .fanout import follow

        args = _id_parser("logs").parse_args(argv)
        try:
            follow(job_id(args.job_id, self.shell.user_ns))
        except (PurasError, JobInterrupted) as exc:
            raise one_line(exc) from None

    def cmd_get(self, argv: list[str]) -> dict:
        from .connection import client

        args = _id_parser("get").parse_args(argv)
        with client() as api:
            try:
                return api.get(job_id(args.job_id, self.shell.user_ns))
            except PurasError as exc:
                raise one_line(exc) from None

    def cmd_spans(self, argv: list[str]) -> Any:
        from ..api.flows import TERMINAL
        from ..model.spans import Spans
        from .connection import client

        args = _id_parser("spans").parse_args(argv)
        wanted = job_id(args.job_id, self.shell.user_ns)
        with client() as api:
            try:
                found = api.spans(wanted)
                running = not found and api.get(wanted).get("status") not in TERMINAL
            except PurasError as exc:
                raise one_line(exc) from None
        return Spans(found, job_id=wanted, running=running)

    def cmd_skills(self, argv: list[str]) -> Any:
        from .connection import skills

        p = _Parser("skills")
        p.add_argument("skill", nargs="?", metavar="SKILL")
        args = p.parse_args(argv)
        if args.skill:
            return skill_card(args.skill)
        try:
            return skills()
        except PurasError as exc:
            raise one_line(exc) from None

    def cmd_local(self, argv: list[str]) -> None:
        from .connection import skills, use_local

        p = _Parser("local")
        p.add_argument("--port", type=int, default=0)
        args = p.parse_args(argv)
        server = use_local(args.port)
        names = ", ".join(skills().names())
        print(f"local Puras emulator at {server.url}; this kernel's jobs now run there")
        print(f"skills: {names}")

    def cmd_config(self, argv: list[str]) -> None:
        from .connection import describe

        _Parser("config").parse_args(argv)
        shown = describe()
        for name, value in shown.items():
            print(f"{name:<20} {value}")

    def cmd_whoami(self, argv: list[str]) -> Any:
        from .connection import whoami

        _Parser("whoami").parse_args(argv)
        try:
            return whoami()
        except PurasError as exc:
            raise one_line(exc) from None

    def cmd_login(self, argv: list[str]) -> None:
        from .connection import login

        _Parser("login").parse_args(argv)
        try:
            masked = login()
        except StdinNotImplementedError:
            raise UsageError(
                "this frontend cannot prompt for a key; use puras_nb.notebook.connection.login(key)"
                " or puras_nb.configure"
            ) from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        print(f"API key set for this kernel (in memory only): {masked}")

    def cmd_help(self, argv: list[str]) -> None:
        """The subcommands as HTML whose lines break at spaces only (a printed stream breaks inside words in
        JupyterLab), with `help_text` as the text."""
        from IPython.display import display

        from ..views.help import help_html

        rows = [(USAGE[k], HELP[k]) for k in USAGE]
        display({"text/plain": self.help_text(), "text/html": help_html(rows, SETTINGS_NOTE)}, raw=True)

    @staticmethod
    def help_text(short: bool = False) -> str:
        if short:
            return "usage: " + " | ".join(USAGE[k] for k in ("run", "jobs", "help"))
        width = max(len(u) for k, u in USAGE.items() if k not in ("run", "cell"))
        lines = [USAGE["run"], f"    {HELP['run']}", USAGE["cell"], f"    {HELP['cell']}"]
        lines += [f"{USAGE[k]:<{width}}  {HELP[k]}" for k in USAGE if k not in ("run", "cell")]
        lines.append(SETTINGS_NOTE)
        return "\n".join(lines)


def completer(skillpack: Callable[[], str | None] | None = None) -> Completer:
    """The completer of `%puras` / `%%puras`: this module's vocabulary, the connection's skills, this kernel's jobs."""

    def job_ids() -> list[str]:
        from ..model.job import jobs

        return [j.id for j in reversed(jobs()) if j.id]

    return Completer(
        commands=["run", *PurasMagics.commands()],
        run_options=RUN_FLAGS,
        job_commands=("attach", "rerun", "cancel", "logs", "get", "spans"),
        skill_commands=("skills",),
        job_ids=job_ids,
        skillpack=skillpack or (lambda: current().skillpack),
    )


_state: dict[str, Any] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Register `%puras` / `%%puras`, the `Puras` configurable and tab completion on `ipython`."""
    settings = Puras(parent=ipython)
    settings.apply()
    magics = PurasMagics(ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(settings)
    install(ipython, completer())
    _state.update(magics=magics, settings=settings)
    threading.Thread(target=_warm, name="puras-nb-warm", daemon=True).start()


def _warm() -> None:
    """What the first Tab and the first run need, made ready off the cell: JupyterLab drops a completion that
    answers after 1 s, and the schema validator's import plus the emulator's start take longer on a busy machine."""
    try:
        prepare()
        prestart()
    except Exception:  # a head start only: the first real use does the same and reports what fails
        pass


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and the configurable again."""
    magics = _state.pop("magics", None)
    settings = _state.pop("settings", None)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("puras", None)
    if settings in ipython.configurables:
        ipython.configurables.remove(settings)
    if magics is not None:
        uninstall(ipython)
