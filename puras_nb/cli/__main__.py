"""`python -m puras_nb.cli`: the `puras-nb` command."""

from .command import main

raise SystemExit(main())
