"""Command-line entry shared by `python -m puras_nb.local` and `puras-nb serve`."""

from __future__ import annotations

import argparse
import os
import sys

from . import DEFAULT_API_KEY

__all__ = ["add_arguments", "serve"]


def add_arguments(parser: argparse.ArgumentParser, *, default_port: int = 8787) -> None:
    """The serve flags: host, port, require-key, data-dir, faults, skillpack (and the internal parent-watch)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port, help=f"port (default {default_port}; 0 = any free)")
    parser.add_argument("--require-key", metavar="KEY", help="require 'Authorization: Bearer KEY' on /v1 routes")
    parser.add_argument("--data-dir", metavar="DIR", help="keep produced files here (default: a temporary dir)")
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
    parser.add_argument("--parent-watch", action="store_true", help=argparse.SUPPRESS)


def serve(args: argparse.Namespace) -> int:
    """Run the server in the foreground; print the URL first (and the skills unless parent-watched)."""
    try:
        from .app import Emulator
        from .demo import build_demo_pack
        from .faults import parse_spec
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
    emu = Emulator(require_key=args.require_key, data_dir=args.data_dir, packs=packs)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.require_key:
        print(
            f"puras-nb: warning: serving on {args.host} without --require-key: anyone who can reach it can run jobs",
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
        key = args.require_key or DEFAULT_API_KEY
        print(f'try: puras.Client(api_key="{key}", api_base="{url}").run("demo/echo", {{"hi": 1}})')
        print("Ctrl-C to stop.", flush=True)

    try:
        run(emu, args.host, args.port, faults=args.faults, on_ready=on_ready, parent_watch=args.parent_watch)
    except OSError as exc:
        print(f"puras-nb: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
