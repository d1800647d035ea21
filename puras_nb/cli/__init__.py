"""The `puras-nb` command (`main`) and its `demo` subcommand."""

from __future__ import annotations

from .command import main

__all__ = ["main"]
