"""The `puras-nb` command: subcommands for the local emulator (`serve`) and friends."""

from __future__ import annotations

import argparse
import sys

__all__ = ["build_parser", "main"]


def _serve(args: argparse.Namespace) -> int:
    from .local.entry import serve

    return serve(args)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each subcommand registers its flags and sets `func`."""
    from .local.entry import add_arguments

    parser = argparse.ArgumentParser(prog="puras-nb", description="puras-nb: the notebook-native client for Puras.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve", help="serve the local Puras emulator", description="Serve the local Puras emulator."
    )
    add_arguments(serve)
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `puras-nb` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
