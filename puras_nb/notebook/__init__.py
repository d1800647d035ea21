"""Notebook entry points: parse what a person typed, then call the public API.

- `live`: `start`, `run`, `attach`, `rerun` (the live-job entry points `puras_nb` exports);
- `compare`, `fanout`, `batch`: many jobs from one call (a grid; a table, `follow`; `map`, a batch over rows);
- `magics`, `completion`, `inputs`: `%puras` / `%%puras`, their Tab completion and input parsing;
- `connection`: the kernel's server (skills, login, the local emulator);
- `app`: `form()` and the stakeholder app.
"""
