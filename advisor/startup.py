"""The garbage collector of the ``ms-advisor`` process while a command starts, and at its exit (never
a library user's process: only the command line calls this, when its process is ``ms-advisor``).

Starting a command makes tens of thousands of objects that live as long as the process (click's
commands, pydantic's models and schemas, the knowledge base) and next to no garbage. The collector,
run every 700 new objects, traverses them again and again, and the interpreter's last collections
traverse them once more on the way out: together about 40 ms of ``ms-advisor advise``'s 220 ms.

* ``at_startup()`` raises the collector's first threshold (it still collects, every
  :data:`STARTUP_THRESHOLD` new objects, so memory stays bounded) and, at exit, freezes what is alive
  (``gc.freeze``) before the interpreter's last collections;
* ``as_usual()`` (the command line's ``get_advisor``, once the advisor is built; ``serve``, before it
  builds its own) freezes what is alive, so that the collections to come skip it, and puts the usual
  threshold back for the command's own work.

Standard library only: the command line calls it before importing click.
"""

from __future__ import annotations

import atexit
import gc

STARTUP_THRESHOLD = 100_000
_usual: list[tuple[int, int, int]] = []  # the thresholds before at_startup(), until as_usual()


def at_startup() -> None:
    if not _usual:
        _usual.append(gc.get_threshold())
        gc.set_threshold(STARTUP_THRESHOLD, *_usual[0][1:])
        atexit.register(gc.freeze)


def as_usual() -> None:
    if _usual:
        gc.freeze()  # what start-up made stays out of the collections to come (and a batch's forked workers share it)
        gc.set_threshold(*_usual.pop())
