"""The test suite's own machinery (tests/conftest.py): the hang guard."""

import os
import signal
import time

import pytest


def test_the_hang_guard_interrupts_a_blocking_open_of_a_fifo(tmp_path, hang_guard):
    os.mkfifo(tmp_path / "fifo")
    start = time.monotonic()
    with pytest.raises(BaseException, match="still running after 1 s"):
        with hang_guard(1):
            open(tmp_path / "fifo", "rb")  # no writer: blocks until the alarm
    assert time.monotonic() - start < 10
    previous = signal.getsignal(signal.SIGALRM)
    with hang_guard(1):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0) and signal.getsignal(signal.SIGALRM) is previous  # all undone

