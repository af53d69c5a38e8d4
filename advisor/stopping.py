"""Stopping signals (Ctrl-C, SIGTERM, SIGHUP) for a long run, handled in one place.

* ``arm()`` (a batch run, see ``batch.runner.stop_on_signals``): the first stopping signal raises
  :class:`Stop` in the main thread at the next safe point: at once, or when the :class:`Deferred` block
  in hand ends. Signals after it wait: the run's clean-up (workers ended, partial output kept) always
  finishes. The returned function puts the previous handlers back.
* ``hold()`` (the ``ms-advisor batch`` process, from its first import on): a stopping signal is only
  noted; the run raises it as soon as it is armed, so a signal during start-up (imports, the knowledge
  base) ends the run the documented way (exit 2) instead of killing the process.
* ``quiet()``: the process is about to exit; a late signal can no longer change how it ends.

Standard library only: the command line imports this before anything heavy.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_MAIN = threading.main_thread().ident  # the thread Python runs signal handlers in


class Stop(KeyboardInterrupt):
    """A stopping signal, raised at a safe point of the run (its text: the signal's name)."""


class _State:
    signal: int | None = None  # the first stopping signal received and not yet forgotten
    stopped = False            # Stop was raised for it: later signals wait for the clean-up
    armed = False              # raise Stop (outside a Deferred block); else only note the signal
    busy = 0                   # depth of Deferred blocks


def _handle(signum: int, frame: Any) -> None:
    if _State.signal is None:
        _State.signal = signum
    if _State.armed and not _State.busy and not _State.stopped:
        raise_pending()


def raise_pending() -> None:
    """Raise :class:`Stop` now if a stopping signal came (while armed or held) and none was raised for it
    (in the main thread: the one that handles signals)."""
    if _State.signal is not None and not _State.stopped and _State.armed and _main_thread():
        _State.stopped = True
        raise Stop(signal.Signals(_State.signal).name)


def settle() -> None:
    """The run is ending (an error, or its clean-up under way): a stopping signal from now on is only
    noted, so the clean-up always finishes."""
    if _main_thread():
        _State.stopped = True


class Deferred:
    """While this process assesses a unit of work (the rules engine may be inside its C code, whose
    state an exception must not cut in half), sends a unit to a worker or receives its result
    (multiprocessing pickles through a BytesIO whose buffer it exports: an exception raised in there
    kept both in a reference cycle, and CPython 3.12 crashed collecting it at exit, "deallocated
    BytesIO object has exported buffers"), or creates a file it must remove later, a stopping signal
    waits until that is done."""

    def __enter__(self) -> None:
        if _main_thread():  # signals are handled in the main thread; other threads (a service's
            _State.busy += 1  # batch) neither count nor raise

    def __exit__(self, *exc: Any) -> None:
        if _main_thread():
            _State.busy -= 1
            if not _State.busy and exc[0] is None:
                raise_pending()


def _main_thread() -> bool:
    return threading.get_ident() == _MAIN


def hold() -> bool:
    """Note stopping signals from now on, for the run to raise when it is armed (process-wide; the
    caller owns the process). Returns False where signals cannot be handled (not the main thread)."""
    if not _main_thread():
        return False
    for s in SIGNALS:
        signal.signal(s, _handle)
    return True


def holding() -> bool:
    """Whether this process holds stopping signals (``hold()`` was called)."""
    return signal.getsignal(signal.SIGTERM) is _handle and not _State.armed


def arm() -> Callable[[], None]:
    """Raise the first stopping signal (one held before included) as :class:`Stop`; returns a
    function restoring the previous handlers. Not in the main thread: nothing (returns a no-op)."""
    if not _main_thread():
        return lambda: None
    held = signal.getsignal(signal.SIGTERM) is _handle and not _State.armed
    if not held:
        _State.signal, _State.stopped = None, False
    _State.busy = 0
    previous = {s: signal.signal(s, _handle) for s in SIGNALS}
    _State.armed = True

    def restore() -> None:
        _State.armed = False
        _State.busy = 0
        for s, h in previous.items():
            signal.signal(s, h)
        if not held:  # a library run: nothing of it outlives it
            _State.signal, _State.stopped = None, False
    return restore


def quiet() -> None:
    """The process is ending: stopping signals are ignored from now on (the interpreter puts back the
    default handlers while it shuts down, so a late SIGTERM would otherwise end it as killed, 143)."""
    if _main_thread():
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
