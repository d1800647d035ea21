"""A deployment's bundle, as `puras pull` downloads it: a zip of `<skill>/skill.yaml` files in the layout `puras
init` writes (and puras-runner's `worker.manifest.parse_bundle_dir` reads), made from the registered skills.

The emulator's skills are Python registered on a `SkillPack`, so the bundle carries their declarations only:
each skill's entrypoint is a `SKILL.md` that describes it, never code a client would run.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import yaml

from .skills import Skill, SkillPack

__all__ = ["BUNDLE_ROOT", "bundle_path", "bundle_zip", "parse_bundle_path"]

BUNDLE_ROOT = "bundles"
"""The drive-path folder of bundles: `bundles/<pack id>/v<version>.zip`, served at a signed `/files/` URL."""
_PATH = re.compile(r"^bundles/([^/]+)/v([1-9][0-9]{0,8})\.zip$")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # a fixed time for every entry: the same deployment always zips to the same bytes


def bundle_path(pack: SkillPack, version: int) -> str:
    """The drive path of `pack`'s bundle at `version`."""
    return f"{BUNDLE_ROOT}/{pack.id}/v{version}.zip"


def parse_bundle_path(drive_path: str) -> tuple[str, int] | None:
    """`(pack id, version)` of a bundle drive path, or None when it is not one."""
    found = _PATH.match(drive_path)
    return (found.group(1), int(found.group(2))) if found else None


def _yaml(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode()


def skill_yaml(skill: Skill) -> dict[str, Any]:
    """What `<skill>/skill.yaml` holds for one skill: its declaration, with `SKILL.md` as the entrypoint."""
    data: dict[str, Any] = {"title": skill.title} if skill.title else {}
    data.update(
        description=skill.description,
        entrypoint="SKILL.md",
        input_schema=skill.schema,
        output_schema=skill.output_schema or {"type": "object"},
    )
    if skill.examples:
        data["examples"] = skill.examples
    return data


def _skill_md(pack: SkillPack, version: int, skill: Skill) -> str:
    return (
        f"# {skill.title or skill.name}\n\n{skill.description or 'No description.'}\n\n"
        f"This skill is served by the puras-nb local emulator ({pack.path}, version {version}), where it runs as "
        "a Python function; this file only describes it.\n"
    )


def bundle_zip(pack: SkillPack, version: int) -> bytes:
    """The zip of `pack` at `version`: `puras.yaml` (the pack's binding and title) and, for every skill that
    version runs, `<skill>/skill.yaml` and `<skill>/SKILL.md`."""
    files: dict[str, bytes] = {
        "puras.yaml": _yaml(
            {"skillpack_id": pack.id, "slug": pack.slug, "title": pack.name, "description": pack.description}
        )
    }
    for name in pack.names_at(version):
        skill, _ = pack.resolve(name, version)
        files[f"{name}/skill.yaml"] = _yaml(skill_yaml(skill))
        files[f"{name}/SKILL.md"] = _skill_md(pack, version, skill).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buf.getvalue()
