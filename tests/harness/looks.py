"""What a page looks like, measured in the browser: text contrast and clipping (for the Playwright tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CONTRAST", "exported", "until", "use_theme"]


def until(check: Callable[[], Any], timeout: float, nb: Any) -> Any:
    """Poll `check()` every 0.1 s (the page's own clock) until it is truthy or `timeout` s passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        nb.page.wait_for_timeout(100)
    return check()


def exported(notebook: Path) -> Path:
    """`notebook` exported to HTML beside it, as `jupyter nbconvert --to html` does (the same exporter, defaults and
    name), in this process: starting the command cost more than the export. The HTML file's path."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def reopened(nb: Any, name: str, index: int, selector: str) -> Any:
    """Save notebook `name`, stop its kernel and open it again with none: the `selector` view in output `index`,
    once ipywidgets had its 2 s to say a widget's model is missing (it must not say so)."""
    nb.save()
    nb.shutdown_kernel()
    nb.open(name)
    nb.shutdown_kernel()
    saved = nb.output(index).locator(selector)
    saved.wait_for(timeout=15_000)
    nb.page.wait_for_timeout(2500)  # ipywidgets gives a missing model 2 s before it says so
    assert "model not found" not in nb.panel.locator(".jp-Notebook").inner_text()
    return saved


def use_theme(nb: Any, dark: bool) -> None:
    """Switch JupyterLab to its Dark (or Light) theme, as Settings > Theme does, and wait until the page wears it."""
    name = "JupyterLab Dark" if dark else "JupyterLab Light"
    nb.js(f"await window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{name}'}});")
    nb.page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{str(not dark).lower()}'",
                              timeout=30_000)
    nb.page.wait_for_timeout(500)


#: Every element with text of its own inside `roots`: its text, colour contrast against the
#: first opaque background behind it (WCAG 2 relative luminance), and whether its content is cut off (scrollWidth
#: beyond its box with overflow hidden).
CONTRAST = """(roots) => {
  const rgba = s => { const m = s.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const behind = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return rgba(getComputedStyle(document.body).backgroundColor);
  };
  const out = [];
  for (const root of roots) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join(' ').trim();
      const style = getComputedStyle(el);
      const hidden = style.visibility === 'hidden' || style.display === 'none' || el.offsetParent === null;
      if (!own || hidden) continue;
      let fg = rgba(style.color);
      const bg = behind(el);
      fg = fg.map((c, i) => i < 3 ? c * fg[3] + bg[i] * (1 - fg[3]) : 1);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const clipped = style.overflow === 'hidden' && el.scrollWidth > el.clientWidth + 1;
      out.push({text: own.slice(0, 40), cls: el.className && String(el.className).slice(0, 60),
                ratio: (hi + 0.05) / (lo + 0.05), clipped});
    }
  }
  return out;
}"""
