"""Graceful stops for the long-running commands (`stream run`, `stream write`, `refresh`, `serve`).

SIGTERM is how every supervisor asks a process to stop (a rolling restart, `kill`, Kubernetes), and Ctrl-C sends
SIGINT: either one only asks the command's loop to stop after the batch in hand, so it commits what it stored and
closes its Kafka consumer (the group hands the partitions on at once instead of after a session timeout). A second
signal while stopping is ignored; the supervisor's SIGKILL remains the last word.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs; the previous handlers are restored after it."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
