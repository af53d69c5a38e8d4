"""Worker processes that never hang a run: each has its own pipes (a dead worker's pipe ends, which
the main process notices at once, as it does the worker's exit); a worker drains its task pipe in a
thread, so the main process never blocks on a send; exceptions come back pickled (or as a
WorkerFailed naming them); workers ignore Ctrl-C and SIGHUP (the main process ends them) and end
themselves if the main process is gone. Forked workers share the main process's Advisor.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import wait
from typing import Any

from advisor.core.advisor import Advisor
from advisor.batch.chunks import Result, Worker, forked_id_hash, id_hash
from advisor.errors import KnowledgeBaseError
from advisor.stopping import Deferred, settle
from advisor.batch.errors import BatchError, WorkerFailed
from advisor.batch.records import CaseOptions
from advisor.batch.writers import Format, writer_for

IN_FLIGHT = 2  # work units per worker at a time: memory stays flat

_setup: tuple[Any, ...] | None = None  # (advisor, fmt, options, fast, worker), inherited by forked workers


def start_method() -> str:
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def pool_hasher() -> Any:
    """The id hash every process of a pool shares: Python's own where workers are forked."""
    return forked_id_hash if start_method() == "fork" else id_hash


def _worker_main(tasks: Any, results: Any, close: list[Any], setup: tuple[Any, ...] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the main process handles Ctrl-C, SIGTERM, SIGHUP
    signal.signal(signal.SIGHUP, signal.SIG_IGN)   # and then ends the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for c in close:  # the main process's ends of other pipes, inherited by fork
        c.close()
    # What the worker inherited (the Advisor, the KB) lives as long as it does: the cyclic collector need
    # not walk it again (nor touch its pages, which fork shares), and collects young objects less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    if setup is None:  # forked: the main process's Worker, with the caches it has filled so far
        assert _setup is not None
        worker = _setup[4]
    else:  # spawned: a fresh interpreter gets the KB, not the compiled Advisor
        kb, fmt, options, fast = setup
        advisor = Advisor(kb=kb)
        worker = Worker(advisor, writer_for(fmt, advisor.drug_ids, tuple(advisor.facts_model.model_fields)), options, fast, id_hash)
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    parent = os.getppid()

    def receive() -> None:  # always drain the task pipe, so the main process never blocks on a send
        while True:
            try:
                if not tasks.poll(1.0):
                    if os.getppid() != parent:  # the main process is gone
                        os._exit(1)
                    continue
                inbox.put(tasks.recv())
            except (EOFError, OSError):
                inbox.put(None)
                return

    threading.Thread(target=receive, daemon=True).start()
    while (task := inbox.get()) is not None:
        seq, unit = task
        try:
            message: tuple[Any, ...] = ("ok", seq, worker.process(unit))
        except BaseException as e:  # noqa: BLE001 - reported to the main process, which stops the run
            message = ("error", seq, _portable(e))
        try:
            results.send(message)
        except (OSError, ValueError):
            return
    results.close()


def _portable(e: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else a WorkerFailed naming it."""
    import pickle
    try:
        copy = pickle.loads(pickle.dumps(e))
        if isinstance(copy, BaseException):
            return copy
    except Exception:  # noqa: BLE001
        pass
    return WorkerFailed(f"a worker failed: {type(e).__name__}: {e}")


def _widen(conn: Any) -> None:
    """A result (about a megabyte of records) fits the pipe at once: one read, not sixteen (Linux)."""
    try:
        import fcntl
        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass



def _release(e: BaseException) -> None:
    """Clear the finished frames of a send or receive that failed (a worker died): they hold a memoryview
    of multiprocessing's pickling BytesIO, and the WorkerFailed raised next keeps them alive as its
    context; CPython 3.12 crashed collecting such a BytesIO at exit ("deallocated BytesIO object has
    exported buffers", SIGSEGV)."""
    traceback.clear_frames(e.__traceback__)


class Pool:
    def __init__(self, n: int, advisor: Advisor, fmt: str | Format, options: CaseOptions, fast: bool,
                 worker: Worker | None = None):
        """``worker``: the main process's own Worker (made with :func:`pool_hasher`), whose caches forked
        workers start with."""
        global _setup
        method = start_method()
        ctx = mp.get_context("fork") if method == "fork" else mp.get_context("spawn")  # typeshed: BaseContext for a str
        _setup = (advisor, fmt, options, fast,
                  worker or Worker(advisor, writer_for(fmt, advisor.drug_ids, tuple(advisor.facts_model.model_fields)), options, fast, pool_hasher()))
        spawn_setup = (advisor.kb, fmt, options, fast) if method == "spawn" else None
        self.procs: list[Any] = []
        self.tasks: list[Any] = []
        self.results: list[Any] = []
        try:
            for _ in range(n):
                task_r, task_w = ctx.Pipe(duplex=False)
                res_r, res_w = ctx.Pipe(duplex=False)
                _widen(res_r)
                inherited = [*self.tasks, *self.results, task_w, res_r] if method == "fork" else []
                p = ctx.Process(target=_worker_main, args=(task_r, res_w, inherited, spawn_setup), daemon=True)
                with Deferred():  # a worker started is a worker this pool knows, to end it
                    p.start()
                    self.procs.append(p)
                    self.tasks.append(task_w)
                    self.results.append(res_r)
                task_r.close()
                res_w.close()
        except BaseException:
            self.close()
            raise
        finally:
            _setup = None

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:
            settle()  # the run is ending: a stopping signal now waits for the workers to be ended
        self.close(graceful=exc[0] is None)

    def close(self, graceful: bool = False) -> None:
        try:
            for c in self.tasks:
                try:
                    if graceful:
                        c.send(None)
                    c.close()
                except (OSError, ValueError):
                    pass
            deadline = time.monotonic() + (5 if graceful else 0)
            for p in self.procs:
                p.join(max(0.0, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join(5)
        except BaseException:  # stopped while waiting for the workers to finish: end them all the same
            settle()
            for p in self.procs:
                if p.is_alive():
                    p.kill()
                    p.join(5)
            raise
        finally:
            for c in self.results:
                c.close()

    def map(self, units: Iterator[Any]) -> Iterator[Result]:
        """Results in the order of ``units``."""
        load = [0] * len(self.procs)
        done: dict[int, Result] = {}
        sent = written = 0
        more = True
        conn_index = {c: i for i, c in enumerate(self.results)}
        sentinels = {p.sentinel: p for p in self.procs}
        while more or written < sent:
            while more and min(load) < IN_FLIGHT:
                unit = next(units, None)
                if unit is None:
                    more = False
                    break
                i = load.index(min(load))
                try:
                    with Deferred():  # pickling into a BytesIO whose buffer is exported (see Deferred)
                        self.tasks[i].send((sent, unit))
                except (OSError, ValueError) as e:  # a dead worker's pipe
                    _release(e)
                    raise WorkerFailed(self._death(self.procs[i])) from None
                load[i] += 1
                sent += 1
            while written in done:
                yield done.pop(written)
                written += 1
            if written == sent:
                continue
            for ready in wait([*self.results, *sentinels], timeout=1.0):
                if ready in conn_index:
                    i = conn_index[ready]
                    try:
                        with Deferred():
                            kind, seq, payload = self.results[i].recv()  # ready itself, as a Connection
                    except (EOFError, OSError) as e:
                        _release(e)
                        raise WorkerFailed(self._death(self.procs[i])) from None
                    if kind == "error":  # the library's own errors as they are; anything else named
                        raise payload if isinstance(payload, (KnowledgeBaseError, BatchError)) else \
                            WorkerFailed(f"a worker failed: {type(payload).__name__}: {payload}")
                    done[seq] = payload
                    load[i] -= 1
                elif not sentinels[ready].is_alive():
                    raise WorkerFailed(self._death(sentinels[ready]))
            while written in done:
                yield done.pop(written)
                written += 1

    @staticmethod
    def _death(p: Any) -> str:
        p.join(1)
        code = p.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return f"a worker process (pid {p.pid}) {how}; the run was stopped"
