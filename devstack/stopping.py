"""SIGINT, SIGTERM and SIGHUP, however many and from whomever, become one request to stop.

The handler only notes the signal; the loops that wait (start-up, the supervisor) look at the
note between their steps, and `up` then stops every process once. A KeyboardInterrupt raised
from the handler (as before) could land anywhere: a second signal raised it again inside the
clean-up, which gave up after stopping the gateway and left the services running; and
`kill -TERM -<pgid>` on `make run` sends two, since make passes the group's SIGTERM on to its
child. Raised inside Popen after the fork, it would also lose the new child's pid.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import ClassVar


class StopRequest:
    SIGNALS: ClassVar[tuple[signal.Signals, ...]] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: list[signal.Signals] = []

    def install(self) -> StopRequest:
        """Handle the stop signals from now on (main thread only, as for any signal handler)."""
        for sig in self.SIGNALS:
            signal.signal(sig, self._note)
        return self

    def requested(self) -> bool:
        return bool(self.received)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum))
