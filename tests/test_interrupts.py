"""Deferred interrupts: the first signal asks bulk to stop at a safe point, the second stops."""

from __future__ import annotations

import os
import signal

import pytest

from clicksms.bulk.interrupts import deferred_interrupts


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_is_a_request_the_second_interrupts(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    asked: list[str] = []
    with deferred_interrupts(lambda: asked.append("stop")):
        os.kill(os.getpid(), sig)  # delivered before kill returns to Python code
        assert asked == ["stop"]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), sig)
    assert signal.getsignal(sig) is before
