"""Where schemas come from (puras_nb.model.schemas), over real HTTP on loopback: the catalog, the hosted API's bundle
route (a zip served by a small loopback server at a signed URL), a skillpack directory written here in the
`puras init` layout, and `puras serve` (puras-runner's own server) naming its bundle_dir in /health."""

from __future__ import annotations

import http.server
import io
import json
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from puras_nb import settings
from puras_nb.errors import PurasAPIError
from puras_nb.model import schemas
from puras_nb.model.schemas import BundleError, find_skills_dir, load_yaml, read_bundle, read_skills_dir
from puras_nb.model.skill import UnknownSkill

KEY = "puras_live_sources_test_key_0123456789"
PACK_ID = "7d4c1f58-0000-4000-8000-000000000001"

ECHO_YAML = """\
title: Echo back
description: Returns what it is given.
entrypoint: scripts/echo.py:run
input_schema:
  type: object
  required: [text]
  properties:
    text: {type: text, description: What to say back}
    tint: {type: color, default: "#00aaff"}
output_schema:
  type: object
  properties:
    text: {type: text}
examples:
  - title: Hello
    inputs: {text: Hello there}
"""
POSTER_YAML = """\
title: Poster
description: A poster from a photo.
entrypoint: SKILL.md
input_schema:
  type: object
  required: [photo]
  properties:
    photo: {type: image}
output_schema:
  type: object
  properties:
    poster: {type: image}
"""


def write_pack(root: Path, *, slug: str = "studio", pack_id: str = PACK_ID, extra: dict | None = None) -> Path:
    """A skillpack directory as `puras init` lays it out: puras.yaml, one folder per skill, scaffolding beside."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "puras.yaml").write_text(f"skillpack_id: {pack_id}\nslug: {slug}\n\ntitle: Studio\n")
    (root / "AGENTS.md").write_text("# Working on a Puras skillpack\n")
    files = {"echo/skill.yaml": ECHO_YAML, "echo/scripts/echo.py": "def run(text, tint=None):\n    return {}\n",
             "poster/skill.yaml": POSTER_YAML, "poster/SKILL.md": "You make posters.\n",
             "lib/helpers.py": "X = 1\n", **(extra or {})}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


BUNDLE = {"echo/skill.yaml": ECHO_YAML, "echo/scripts/echo.py": "raise SystemExit('never run')\n",
          "poster/skill.yaml": POSTER_YAML, "poster/subskills/inner/skill.yaml": ECHO_YAML}


class FakeHosted(http.server.BaseHTTPRequestHandler):
    """The hosted API's routes that matter here, as the official CLI knows them: `/v1/skillpacks` with only
    slug, name, id and active_deployment_id, the bundle route, and the bundle itself at a signed URL."""

    state: dict[str, Any]

    def do_GET(self) -> None:
        st = self.state
        st["seen"].append((self.path, self.headers.get("Authorization")))
        path = urlsplit(self.path).path
        if path.startswith("/files/"):
            if "sig=" not in self.path:
                return self._send(403, b'{"detail": "missing signature"}')
            st["release"].wait(30)  # a slow download, when a test holds it back
            return self._send(200, st["zip"], "application/zip")
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, b'{"detail": "missing or invalid API key"}')
        if path == "/v1/skillpacks":
            row = {"slug": "studio", "name": "Studio", "id": PACK_ID, "active_deployment_id": st["deployment"]}
            return self._send(200, json.dumps([row]).encode())
        if path == f"/v1/skillpacks/{PACK_ID}/deployments/pull":
            if st.get("pull_status"):
                return self._send(st["pull_status"], b'{"detail": "no"}')
            url = st.get("download_url") or f"http://127.0.0.1:{self.server.server_address[1]}/files/b.zip?sig=1"
            return self._send(200, json.dumps({"download_url": url, "version": 3}).encode())
        return self._send(404, json.dumps({"detail": f"no route for GET {path}"}).encode())

    def _send(self, status: int, body: bytes, mime: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(server: http.server.HTTPServer) -> Iterator[str]:
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hosted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A hosted-API stand-in on loopback, this connection pointed at it (and at an empty working directory)."""
    monkeypatch.chdir(tmp_path)
    release = threading.Event()
    release.set()
    state: dict[str, Any] = {"seen": [], "zip": zip_of(BUNDLE), "deployment": "dep-1", "release": release}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (FakeHosted,), {"state": state}))
    before = settings.current()
    for url in _serve(server):
        settings.configure(api_key=KEY, api_base=url, local=False, skills_dir=None)
        state["url"] = url
        yield state
        release.set()  # a download a failed test held back ends before the server stops
    settings.restore(before)


def test_a_bare_catalog_gets_its_schemas_from_the_pulled_bundle_without_the_key(hosted: dict[str, Any]) -> None:
    skills = {s.name: s for s in schemas.catalog(refresh=True)}
    assert sorted(skills) == ["echo", "poster"]  # subskills are private to their parent
    echo = skills["echo"]
    assert (echo.path, echo.title, echo.pack_id) == ("studio/echo", "Echo back", PACK_ID)
    assert echo.source == "the deployment bundle v3" and echo.has_schema and not echo.note
    assert echo.input("text").type == "text" and echo.examples[0].inputs == {"text": "Hello there"}
    assert echo.check({}) == {"text": "is required"}
    assert skills["poster"].output_types() == {"poster": "image"}
    pulls = [(p, auth) for p, auth in hosted["seen"] if "/deployments/pull" in p]
    downloads = [(p, auth) for p, auth in hosted["seen"] if p.startswith("/files/")]
    assert pulls == [(f"/v1/skillpacks/{PACK_ID}/deployments/pull?ttl=600", f"Bearer {KEY}")]
    assert downloads == [("/files/b.zip?sig=1", None)]
    assert schemas.find("studio/poster").input("photo").media


def test_the_bundle_is_cached_per_connection_and_deployment(hosted: dict[str, Any]) -> None:
    def downloads() -> int:
        return sum(p.startswith("/files/") for p, _ in hosted["seen"])

    schemas.catalog(refresh=True)
    schemas.catalog(refresh=True)
    assert downloads() == 1 and sum("/deployments/pull" in p for p, _ in hosted["seen"]) == 1
    hosted["deployment"] = "dep-2"
    hosted["zip"] = zip_of({**BUNDLE, "echo/skill.yaml": ECHO_YAML.replace("Echo back", "Echo, v4")})
    assert schemas.find("studio/echo").title in ("Echo back", "Echo, v4")  # cached catalog
    assert {s.name: s.title for s in schemas.catalog(refresh=True)}["echo"] == "Echo, v4"
    assert downloads() == 2
    first = schemas.connection_id(hosted["url"], KEY)
    assert KEY not in first and first != schemas.connection_id(hosted["url"], KEY + "x")
    assert first.startswith(hosted["url"] + "#")


def test_a_server_without_a_bundle_falls_back_to_the_skills_directory(
    hosted: dict[str, Any], tmp_path: Path
) -> None:
    hosted["pull_status"] = 404
    skills = schemas.catalog(refresh=True)
    assert skills == []  # a bare row and nothing that names its skills: a note says so
    assert schemas.catalog_notes() == ["The server lists skillpack studio without its skills (no deployment bundle: "
                                       "404); configure(skills_dir=…) can point at a local copy."]
    with pytest.raises(UnknownSkill, match=r"no skill 'studio/echo' on this server; the server lists no skills · "
                       r"The server lists skillpack studio without its skills .*configure\(skills_dir=…\)"):
        schemas.find("studio/echo")  # what skill() and form() ask: the way out is in the error
    write_pack(tmp_path / "mine")
    settings.configure(skills_dir=str(tmp_path / "mine"))
    skills = {s.name: s for s in schemas.catalog(refresh=True)}
    assert sorted(skills) == ["echo", "poster"] and skills["echo"].source.startswith("the skills directory")
    write_pack(tmp_path / "other", slug="other", pack_id="another-pack")
    settings.configure(skills_dir=str(tmp_path / "other"))
    assert schemas.catalog(refresh=True) == []  # bound by its puras.yaml to another pack


def test_a_download_url_on_an_internal_host_is_not_fetched(hosted: dict[str, Any]) -> None:
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (FakeHosted,), {"state": hosted}))
    for url in _serve(other):
        hosted["download_url"] = f"{url}/files/b.zip?sig=1"
        assert schemas.catalog(refresh=True) == []
        assert not any(p.startswith("/files/") for p, _ in hosted["seen"])


def test_schemas_in_the_catalog_win_and_a_row_without_one_is_filled_from_the_bundle(
    hosted: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"name": "echo", "description": "From the catalog", "input_schema": {"properties": {"x": {}}}},
            {"name": "poster", "versions": [1, 3]}, {"name": "ghost"}]
    original = FakeHosted.do_GET

    def with_rows(handler: FakeHosted) -> None:
        if urlsplit(handler.path).path == "/v1/skillpacks":
            body = json.dumps([{"slug": "studio", "id": PACK_ID, "active_version": 3, "skills": rows}]).encode()
            return handler._send(200, body)
        return original(handler)

    monkeypatch.setattr(FakeHosted, "do_GET", with_rows)
    skills = {s.name: s for s in schemas.catalog(refresh=True)}
    assert skills["echo"].names() == ["x"] and skills["echo"].source == "the catalog"
    assert skills["poster"].source == "the deployment bundle v3" and skills["poster"].versions == (1, 3)
    ghost = skills["ghost"]
    assert not ghost.has_schema and ghost.note.startswith("The server offers no input schema for studio/ghost")
    assert "\n" not in ghost.note


def test_a_skillpack_directory_is_found_in_the_working_directory_or_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_pack(tmp_path / "pack", extra={"Bad_Name/skill.yaml": ECHO_YAML, "broken/skill.yaml": "a: [1,\n"})
    deep = root / "echo" / "scripts"
    monkeypatch.chdir(deep)
    before = settings.current()
    try:
        settings.configure(skills_dir=None)
        assert find_skills_dir() == root.resolve()
        pack = read_skills_dir(root)
        assert pack is not None and (pack.slug, pack.skillpack_id, pack.bound) == ("studio", PACK_ID, True)
        assert sorted(pack.skills) == ["broken", "echo", "poster"]  # lib/ has no skill.yaml; Bad_Name is no slug
        assert isinstance(pack.skills["broken"], BundleError) and "line" in str(pack.skills["broken"])
        settings.configure(skills_dir=str(tmp_path / "elsewhere"))
        assert find_skills_dir() == tmp_path / "elsewhere" and read_skills_dir(tmp_path / "elsewhere") is None
        monkeypatch.setenv("PURAS_NB_SKILLS_DIR", str(root))
        assert settings.from_environment().skills_dir == str(root)
    finally:
        settings.restore(before)


def test_nothing_in_a_bundle_is_run_or_imported(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = {
        "echo/skill.yaml": f"!!python/object/apply:os.system ['touch {marker}']\n",
        "poster/skill.yaml": f"input_schema: !!python/object/apply:os.system ['touch {marker}']\n",
        "echo/scripts/echo.py": f"open({str(marker)!r}, 'w')\n",
        "sitecustomize.py": f"open({str(marker)!r}, 'w')\n",
    }
    skills = read_bundle(zip_of(evil))
    assert sorted(skills) == ["echo", "poster"]
    assert all(isinstance(v, BundleError) for v in skills.values())
    assert not marker.exists()


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        ({"../evil/skill.yaml": ECHO_YAML}, "unsafe path"),
        ({"/etc/skill.yaml": ECHO_YAML}, "unsafe path"),
        ({"echo/../../x": "x"}, "unsafe path"),
        ({"C:/x/skill.yaml": "x"}, "unsafe path"),
    ],
)
def test_a_bundle_with_an_unsafe_path_is_refused(entries: dict[str, str], why: str) -> None:
    with pytest.raises(BundleError, match=why):
        read_bundle(zip_of({**BUNDLE, **entries}))


def test_a_symlink_in_a_bundle_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("echo/skill.yaml", ECHO_YAML)
        link = zipfile.ZipInfo("poster/skill.yaml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(BundleError, match="unsafe path"):
        read_bundle(buf.getvalue())


def test_bundle_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BundleError, match="not a zip"):
        read_bundle(b"<html>not a zip</html>")
    monkeypatch.setattr(schemas, "BUNDLE_MAX_ENTRIES", 3)
    with pytest.raises(BundleError, match="more than 3 entries"):
        read_bundle(zip_of(BUNDLE | {"x/1": "", "x/2": ""}))
    monkeypatch.setattr(schemas, "BUNDLE_MAX_ENTRIES", 20_000)
    monkeypatch.setattr(schemas, "SKILL_YAML_MAX", 100_000)  # a tenth of the cap and of the bomb: the same rule
    bomb = zip_of({"echo/skill.yaml": b"a: " + b"x" * 5_000_000, "poster/skill.yaml": POSTER_YAML})
    assert len(bomb) < 20_000  # 5 MB that deflate to a few kB: only the cap is ever inflated
    skills = read_bundle(bomb)
    assert isinstance(skills["echo"], BundleError) and "larger than" in str(skills["echo"])
    assert skills["poster"]["title"] == "Poster"


def test_yaml_aliases_cannot_expand_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schemas, "YAML_MAX_VALUES", 2000)  # the rule, without walking 200 000 values to show it
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert len(laughs) < 700
    with pytest.raises(BundleError, match="expands past 2000 values"):
        load_yaml(laughs)
    with pytest.raises(BundleError, match="nested"):  # past the parser's recursion (5 000 levels cost 1 s of CPU)
        load_yaml("a: " + "[" * 600 + "]" * 600)
    assert load_yaml("shared: &s {type: string}\nproperties: {a: *s, b: *s}\n")["properties"]["b"] == {
        "type": "string"}


def test_puras_serve_gets_its_schemas_from_the_bundle_dir_its_health_names(
    puras_serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real peer (tests/harness/puras_serve.py): no /v1/skillpacks, so /health names the skills and, on
    loopback, the bundle_dir whose skill.yaml files give their schemas; a skills directory of ours comes first."""
    monkeypatch.chdir(tmp_path)
    before = settings.current()
    try:
        settings.configure(api_key=puras_serve.api_key, api_base=puras_serve.url, local=False, skills_dir=None)
        skills = {s.name: s for s in schemas.catalog(refresh=True)}
        assert {"poster", "echo", "count"} <= set(skills)
        poster = skills["poster"]
        assert (poster.path, poster.title) == ("studio/poster", "Poster maker")
        assert [poster.input(n).type for n in ("photo", "headline", "accent")] == ["image", "text", "color"]
        assert poster.source == f"the served bundle_dir {puras_serve.bundle_dir.resolve()}"
        assert poster.examples and poster.output_types()["poster"] == "image"
        assert sorted(s.name for s in schemas.known()) == sorted(skills)
        mine = write_pack(tmp_path / "mine", extra={"poster/skill.yaml": POSTER_YAML.replace("Poster", "Mine")})
        settings.configure(skills_dir=str(mine))
        assert {s.name: s.title for s in schemas.catalog(refresh=True)}["poster"] == "Mine"  # the directory first
    finally:
        settings.restore(before)


def test_a_server_with_no_catalog_and_no_health_says_so_in_one_line(
    hosted: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(FakeHosted, "do_GET", lambda h: h._send(404, b'{"detail": "no route"}'))
    with pytest.raises(PurasAPIError, match="lists no skills") as caught:
        schemas.catalog(refresh=True)
    assert "\n" not in str(caught.value) and KEY not in str(caught.value)
    settings.configure(skills_dir=str(write_pack(tmp_path / "mine")))
    assert [s.path for s in schemas.catalog(refresh=True)] == ["studio/echo", "studio/poster"]


def test_loopback_is_judged_by_address() -> None:
    assert schemas.is_loopback("http://127.0.0.1:8787") and schemas.is_loopback("http://localhost:1")
    assert schemas.is_loopback("http://[::1]:80") and not schemas.is_loopback("https://api.puras.co")
    assert not schemas.is_loopback("http://10.0.0.1")


def test_completion_gets_a_slow_bundle_on_a_later_try_without_waiting_for_it(hosted: dict[str, Any]) -> None:
    """known() waits QUICK_TIMEOUT at most; the load goes on, and the next completion finds it cached."""
    hosted["release"].clear()
    began = time.monotonic()
    assert schemas.known() == []
    assert time.monotonic() - began < schemas.QUICK_TIMEOUT + 1.5
    hosted["release"].set()
    deadline = time.monotonic() + 10
    while not (found := schemas.known()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(s.name for s in found) == ["echo", "poster"]
    assert sum("/deployments/pull" in p for p, _ in hosted["seen"]) == 1  # one load, not one per completion
