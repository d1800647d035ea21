"""Command-line entry shared by `python -m puras_nb.local` and `puras-nb serve`."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["IRI_CHECKER_OFF", "KEY_ENV", "add_arguments", "serve", "skip_iri_format_checker"]

KEY_ENV = "PURAS_NB_LOCAL_KEY"
"""The key to require, read (and removed) from the environment when `--require-key` is not given:
how `local.start()` hands its key to the child, since a command line is visible to every user (`ps`)."""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser, *, default_port: int = 8787) -> None:
    """The serve flags: host, port, require-key, data-dir, faults, skillpack, catalog (and the internal
    parent-watch)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port, help=f"port (default {default_port}; 0 = any free)")
    parser.add_argument(
        "--require-key",
        metavar="KEY",
        help=f"the API key clients must send (default: env {KEY_ENV}, else a new random key, printed at start)",
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="require no key at all: any local process can run and read jobs"
    )
    parser.add_argument(
        "--cors",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="let a browser front-end at ORIGIN (e.g. http://localhost:3000) call the API (repeatable)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep jobs, events, feedback and files here, so a restart loses nothing (default: a temporary dir, "
        "removed at exit)",
    )
    parser.add_argument(
        "--faults",
        metavar="SPEC",
        default=os.environ.get("PURAS_NB_FAULTS") or None,
        help="fault injection, e.g. 'rate=0.3;seed=7;kinds=500|429|reset' (env PURAS_NB_FAULTS)",
    )
    parser.add_argument(
        "--skillpack",
        metavar="MODULE:NAME",
        action="append",
        default=[],
        help="also serve your own SkillPack (importable 'module:attribute'; repeatable)",
    )
    parser.add_argument(
        "--catalog",
        choices=("full", "bare"),
        default="full",
        help="what GET /v1/skillpacks lists: full (each skill's title, schemas and examples; default) or bare (only "
        "slug, name, id and active_deployment_id, as the hosted API is known to send; schemas then come from "
        "the bundle 'puras pull' downloads)",
    )
    parser.add_argument("--parent-watch", action="store_true", help=argparse.SUPPRESS)


IRI_CHECKER_OFF = "__import__('sys').modules.setdefault('rfc3987_syntax', None)"
"""`skip_iri_format_checker` as one line of Python, for a process puras-nb starts and runs code in (a kernel's
`--IPKernelApp.exec_lines`): it defines no name."""


def skip_iri_format_checker() -> None:
    """Make jsonschema load without its optional IRI format checker in this process (a server's, or a command's).

    With `rfc3987_syntax` installed (Jupyter pulls it in), importing jsonschema compiles an Earley grammar: 2 s of
    CPU, 0.5 to 5 s of wall here. puras-nb and the emulator validate without format checkers, so never use it."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "import fails"


def serve(args: argparse.Namespace) -> int:
    """Run the server in the foreground; print the URL first (and the skills unless parent-watched)."""
    skip_iri_format_checker()
    try:
        from .demopack import build_demo_pack
        from .emulator import Emulator
        from .faults import parse_spec
        from .persist import DataDirError
        from .registry import load_skillpacks
        from .server import run
    except ImportError as exc:
        print(f"puras-nb: the local emulator needs its extra: pip install 'puras-nb[local]' ({exc})", file=sys.stderr)
        return 2
    try:
        parse_spec(args.faults)
    except ValueError as exc:
        print(f"puras-nb: bad --faults: {exc}", file=sys.stderr)
        return 2
    try:
        packs = [*load_skillpacks(args.skillpack), build_demo_pack()]
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        print(f"puras-nb: bad --skillpack: {exc}", file=sys.stderr)
        return 2
    try:
        api_key, origins = _door_settings(args)
    except ValueError as exc:
        print(f"puras-nb: {exc}", file=sys.stderr)
        return 2
    try:
        emu = Emulator(api_key=api_key, cors=origins, data_dir=args.data_dir, packs=packs, catalog=args.catalog)
    except DataDirError as exc:
        print(f"puras-nb: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"puras-nb: cannot use --data-dir {args.data_dir}: {exc}", file=sys.stderr)
        return 2
    if api_key is None:
        reach = "any process on this machine" if args.host in _LOOPBACK else f"anyone who can reach {args.host}"
        print(f"puras-nb: --no-auth: no API key is required; {reach} can run and read jobs", file=sys.stderr)
    elif args.host not in _LOOPBACK:
        print(
            f"puras-nb: serving on {args.host} over plain HTTP: the key and the jobs cross the network unencrypted",
            file=sys.stderr,
        )

    def on_ready(url: str) -> None:
        print(url, flush=True)
        if args.parent_watch:
            return
        for pack in emu.packs:
            versions = ", ".join(map(str, pack.versions))
            print(f"puras-nb local emulator serving {pack.path} (versions {versions}; active {pack.active_version})")
        print("skills:")
        rows = [(f"{p.slug}/{s['name']}", s["description"]) for p in emu.packs for s in p.describe()["skills"]]
        width = max(len(path) for path, _ in rows)
        for path, description in rows:
            print(f"  {path:<{width}}  {description}")
        key = api_key or "any"
        print(f'try: puras.Client(api_key="{key}", api_base="{url}").run("demo/echo", {{"hi": 1}})')
        print(f" or: export PURAS_API_BASE={url} PURAS_API_KEY={key}")
        print("Ctrl-C to stop.", flush=True)

    try:
        run(emu, args.host, args.port, faults=args.faults, on_ready=on_ready, parent_watch=args.parent_watch)
    except OSError as exc:
        print(f"puras-nb: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _door_settings(args: argparse.Namespace) -> tuple[str | None, tuple[str, ...]]:
    """(the API key to require, None with --no-auth; the allowed CORS origins); ValueError on a bad flag."""
    from .guard import check_key, new_key, normalize_origin

    origins = tuple(normalize_origin(origin) for origin in args.cors)
    from_env = os.environ.pop(KEY_ENV, None)  # gone before any skill runs a subprocess
    given = args.require_key or from_env
    if args.no_auth:
        if args.require_key:
            raise ValueError("--no-auth and --require-key contradict each other: pass one")
        return None, origins
    return (check_key(given) if given else new_key()), origins
