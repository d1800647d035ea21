"""`in_kernel`, the one "am I in a kernel" rule: no in a script (and IPython stays unloaded), no in a terminal
IPython; yes is covered by every kernel test that renders a widget."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from puras_nb.runtime.kernel import in_kernel, parent_id
print(in_kernel(), parent_id(), "IPython" in sys.modules)
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance()
print(in_kernel(), parent_id())
"""


def test_a_script_and_a_terminal_ipython_are_not_kernels():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split("\n")[:2] == ["False None False", "False None"]
