"""Ctrl-C and SIGTERM as a request to stop at the next safe point, not an exception anywhere.

A KeyboardInterrupt can land between any two bytecodes: after the journal committed rows as
in flight but before their request was handed to a worker, or after a transaction committed
but before the code that knows it did. Bulk sending turns the first signal into a flag its
loop checks between steps; a second signal raises KeyboardInterrupt as usual, for a user who
no longer wants to wait for the requests in flight.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_interrupts(on_first: Callable[[], None]) -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM calls ``on_first``; later ones interrupt.

    Outside the main thread signal handlers cannot be set, so the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal received
        received += 1
        if received > 1:
            raise KeyboardInterrupt
        on_first()

    previous = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)  # None: set outside Python
