"""Miner processes die with their parent: a killed ``mine`` run leaves no fork server or workers behind.

Importing this module (the fork server preloads it) and :func:`die_with_parent` (each worker's initializer) ask Linux
to send SIGKILL when the parent process exits (``prctl(PR_SET_PDEATHSIG)``): the main process's death takes the fork
server down, and the fork server's death takes its workers. Elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request was made
        os._exit(1)


def _in_fork_server() -> bool:
    """True while multiprocessing's fork server imports its preload modules (this module among them)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "main" and frame.f_code.co_filename.endswith(
            os.path.join("multiprocessing", "forkserver.py")
        ):
            return True
        frame = frame.f_back
    return False


if _in_fork_server():
    die_with_parent()
