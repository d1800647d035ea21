"""`in_kernel`, the one "am I in a kernel" rule: no in a script (and IPython stays unloaded), no in a terminal
IPython; yes is covered by every kernel test that renders a widget. And a Ctrl-C held over a short call."""

from __future__ import annotations

import _thread
import signal
import subprocess
import sys
import threading
import time

import pytest

from puras_nb.runtime.kernel import deferred_interrupts

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


def test_a_first_ctrl_c_is_held_over_a_short_call_and_a_second_stops_it():
    with deferred_interrupts() as once:
        _thread.interrupt_main()
        time.sleep(0.01)  # the handler runs between bytecodes: the call goes on
    assert once.pending and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt), deferred_interrupts() as twice:
        _thread.interrupt_main()
        time.sleep(0.01)
        _thread.interrupt_main()
        time.sleep(0.01)
    assert twice.pending and signal.getsignal(signal.SIGINT) is signal.default_int_handler

    seen = []

    def off_main() -> None:
        with deferred_interrupts() as there:
            seen.append((signal.getsignal(signal.SIGINT), there.pending))

    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join()
    assert seen == [(signal.default_int_handler, False)], "no Ctrl-C lands off the main thread: nothing is held"
