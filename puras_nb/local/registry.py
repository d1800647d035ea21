"""Loading extra skillpacks by reference (`module:attribute`), so skill authors can serve their own skills."""

from __future__ import annotations

import importlib

from .skills import SkillPack

__all__ = ["load_skillpack", "load_skillpacks"]


def load_skillpack(ref: str) -> SkillPack:
    """Import `module:attribute`; the attribute is a SkillPack or a no-argument callable returning one. Its skills'
    schemas and examples are checked here (ValueError), so a mistake stops the server at start."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{ref!r}: expected 'module:attribute', e.g. 'my_skills:pack'")
    target = getattr(importlib.import_module(module_name), attr)
    pack = target() if callable(target) and not isinstance(target, SkillPack) else target
    if not isinstance(pack, SkillPack):
        raise TypeError(f"{ref!r} is a {type(pack).__name__}, not a puras_nb.local.SkillPack")
    pack.verify()
    return pack


def load_skillpacks(refs: list[str]) -> list[SkillPack]:
    """Every referenced pack, refusing two packs with the same workspace/slug."""
    packs = [load_skillpack(ref) for ref in refs]
    paths = [p.path for p in packs]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"skillpack {duplicates[0]} given twice")
    return packs
