"""The `puras-nb` command: subcommands for the local emulator (`serve`) and friends."""

from __future__ import annotations

import argparse

__all__ = ["build_parser", "main"]


def _serve(args: argparse.Namespace) -> int:
    from ..local.entry import serve

    return serve(args)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    """`puras-nb demo [--lab|--app] [--out DIR]`: the stakeholder demo as one HTML file, JupyterLab on copies of the
    notebooks, or the stakeholder app served by Voilà; in DIR or a new directory, never the package or notebooks/."""
    from .demo import add_arguments, main

    demo = sub.add_parser(
        "demo",
        help="run the stakeholder demo notebook on the emulator and write it as HTML (--lab: open JupyterLab; "
        "--app: serve the stakeholder app with Voilà)",
        description="Run the stakeholder demo notebook on the local emulator and write a self-contained HTML file "
        "into --out DIR or a new temporary directory; --lab opens JupyterLab on copies of the demo notebooks there; "
        "--app serves the stakeholder app (a form to try skills) with Voilà on a free local port until Ctrl-C.",
    )
    add_arguments(demo)
    demo.set_defaults(func=main)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each subcommand registers its flags and sets `func`."""
    from ..local.entry import add_arguments

    parser = argparse.ArgumentParser(prog="puras-nb", description="puras-nb: the notebook-native client for Puras.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve", help="serve the local Puras emulator", description="Serve the local Puras emulator."
    )
    add_arguments(serve)
    serve.set_defaults(func=_serve)
    _add_demo(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `puras-nb` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


