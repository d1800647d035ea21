"""`python -m puras_nb.local`: serve the emulator (same flags as `puras-nb serve`)."""

from __future__ import annotations

import argparse
import sys

from .entry import add_arguments, serve


def main(argv: list[str] | None = None) -> int:
    """Parse the serve flags and serve until interrupted; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m puras_nb.local", description="Serve the local Puras emulator.")
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
