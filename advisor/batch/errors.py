"""The batch library's own errors (the command line turns each into one line and exit 2). Every one
of them pickles, since they may cross from a worker process to the main one."""

from __future__ import annotations

from typing import Any

from advisor.errors import AdvisorError


class BatchError(AdvisorError):
    """A batch run could not start or could not finish; the message says why, in one line."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.args)


class OutputError(BatchError):
    """The output cannot be used or written (a bad --out, a full disk, a closed stdout)."""


class Interrupted(BatchError):
    """A signal (Ctrl-C, SIGTERM, SIGHUP) stopped the run; the message says what was kept."""


class WorkerFailed(BatchError):
    """A worker process died or failed; the run stopped."""
