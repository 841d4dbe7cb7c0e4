"""Named crash points for crash-safety tests.

A test starts a process with REGULARS_FAULT=<point>; when the code reaches that point the
process dies at once (as with SIGKILL: no clean-up, no flush), so the test can prove that
nothing is lost or doubled. Unset in production, where `crash_point` is a dictionary lookup.
"""

from __future__ import annotations

import os
import sys

_ARMED = frozenset(p for p in os.environ.get("REGULARS_FAULT", "").split(",") if p)


def crash_point(name: str) -> None:
    if name in _ARMED:
        sys.stderr.write(f"fault injected: crashing at {name}\n")
        sys.stderr.flush()
        os._exit(137)
