"""Running a batch: work units to worker processes (or this one), records written in input order,
repeated ids flagged, progress, and signals. It never hangs: a worker that dies or fails stops the run
with a :class:`WorkerFailed`; SIGTERM and SIGHUP stop it like Ctrl-C; workers never outlive it.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any, Callable

from ..core import Advisor
from .chunks import Result, Worker, forked_id_hash, id_hash
from .errors import Interrupted, WorkerFailed
from .readers import JsonlBlock, Progress, RawCase, ReadOptions, read_items
from .records import CaseOptions
from .summary import Summary
from .writers import flag_duplicates, writer_for

IN_FLIGHT = 2                  # work units per worker at a time: memory stays flat
DUPLICATE_CHECK_LIMIT = 5_000_000  # distinct ids remembered to flag repeats (about 70 bytes each)


def rule_ids(advisor: Advisor) -> list[str]:
    return [r.id for r in advisor.kb.rules] + [c.id for c in advisor.kb.cautions]


def _units(items: Iterator[RawCase | JsonlBlock], size: int) -> Iterator[JsonlBlock | list[RawCase]]:
    """Work units: each JSONL block alone, other cases in groups of ``size``."""
    group: list[RawCase] = []
    for item in items:
        if isinstance(item, JsonlBlock):
            if group:
                yield group
                group = []
            yield item
            continue
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


class Sink:
    """Where the main process writes: counts bytes and complete records (for an interrupted run)."""

    def __init__(self, out: Any, writer: Any):
        self.out, self.writer = out, writer
        self.text = isinstance(out, io.TextIOBase)
        self.bytes = self.records = 0
        self.wrote_any = False

    def write(self, data: bytes) -> None:
        if data:
            self.out.write(data.decode("utf-8") if self.text else data)
            self.bytes += len(data)


def run(paths: Iterable[str], out: Any, *, advisor: Advisor | None = None, fmt: str = "jsonl", workers: int = 1,
        options: CaseOptions = CaseOptions(), read: ReadOptions = ReadOptions(), chunk_size: int = 1000,
        progress: Callable[[int, int, int | None], None] | None = None, fast: bool = True,
        duplicate_check_limit: int = DUPLICATE_CHECK_LIMIT, sink: Sink | None = None) -> Summary:
    """Evaluate every case of ``paths`` and write one record per case to ``out`` (a binary or text
    stream), in input order. ``workers`` > 1 assesses work units in that many processes."""
    if advisor is None:
        from ..api import default_advisor
        advisor = default_advisor()
    writer = writer_for(fmt, advisor.drug_ids)
    summary = Summary(advisor.drug_ids, rule_ids(advisor))
    sink = sink or Sink(out, writer)
    seen: set[int] = set()
    reading = Progress()
    sink.write(writer.header().encode())

    def consume(result: Result) -> None:
        data, ends, hashes, part = result
        if hashes and len(seen) + len(hashes) <= duplicate_check_limit and seen.isdisjoint(hashes) \
                and len(unique := set(hashes)) == len(hashes):
            seen.update(unique)  # the common case: no repeated id in this chunk
        elif hashes:
            flags = []
            for h in hashes:
                dup = h in seen
                if not dup and len(seen) < duplicate_check_limit:
                    seen.add(h)
                elif not dup and summary.duplicate_check_stopped_at is None:
                    summary.duplicate_check_stopped_at = duplicate_check_limit
                flags.append(dup)
            if any(flags):
                data = flag_duplicates(writer, data, ends, flags)
                summary.duplicate_ids += sum(flags)
        if data and not sink.wrote_any:
            data, sink.wrote_any = writer.first(data), True
        sink.write(data)
        summary.merge(part)
        sink.records = summary.cases
        if progress:
            progress(summary.cases, reading.read(), reading.total)

    units = _units(read_items(paths, read, reading), chunk_size)
    if workers <= 1:
        local = Worker(advisor, writer, options, fast, forked_id_hash)
        for unit in units:
            consume(local.process(unit))
    else:
        with _Pool(workers, advisor, fmt, options, fast) as pool:
            for result in pool.map(units):
                consume(result)
    sink.write(writer.footer(sink.wrote_any).encode())
    return summary


# --- worker processes ---------------------------------------------------------------------------------

_setup: tuple | None = None  # (advisor, fmt, options, fast), inherited by forked workers


def _worker_main(tasks: Any, results: Any, close: list, setup: tuple | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the main process handles Ctrl-C, SIGTERM, SIGHUP
    signal.signal(signal.SIGHUP, signal.SIG_IGN)   # and then ends the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for c in close:  # the main process's ends of other pipes, inherited by fork
        c.close()
    hasher = forked_id_hash  # forked: every process has the same string hash
    if setup is None:
        setup = _setup
    else:  # spawned: a fresh interpreter gets the KB, not the compiled Advisor
        kb, fmt, options, fast = setup
        setup, hasher = (Advisor(kb=kb), fmt, options, fast), id_hash
    advisor, fmt, options, fast = setup  # type: ignore[misc]
    worker = Worker(advisor, writer_for(fmt, advisor.drug_ids), options, fast, hasher)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
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
            message: tuple = ("ok", seq, worker.process(unit))
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


class _Pool:
    def __init__(self, n: int, advisor: Advisor, fmt: str, options: CaseOptions, fast: bool):
        global _setup
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        _setup = (advisor, fmt, options, fast)
        spawn_setup = (advisor.kb, fmt, options, fast) if method == "spawn" else None
        self.procs, self.tasks, self.results = [], [], []
        try:
            for _ in range(n):
                task_r, task_w = ctx.Pipe(duplex=False)
                res_r, res_w = ctx.Pipe(duplex=False)
                inherited = [*self.tasks, *self.results, task_w, res_r] if method == "fork" else []
                p = ctx.Process(target=_worker_main, args=(task_r, res_w, inherited, spawn_setup), daemon=True)
                p.start()
                task_r.close()
                res_w.close()
                self.procs.append(p)
                self.tasks.append(task_w)
                self.results.append(res_r)
        except BaseException:
            self.close()
            raise
        finally:
            _setup = None

    def __enter__(self) -> "_Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(graceful=exc[0] is None)

    def close(self, graceful: bool = False) -> None:
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
                    self.tasks[i].send((sent, unit))
                except (OSError, ValueError):
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
                        kind, seq, payload = ready.recv()
                    except (EOFError, OSError):
                        raise WorkerFailed(self._death(self.procs[i])) from None
                    if kind == "error":
                        raise payload
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


# --- signals --------------------------------------------------------------------------------------------

class _Stop(KeyboardInterrupt):
    pass


def stop_on_signals() -> Callable[[], None]:
    """SIGTERM and SIGHUP raise in the main thread, like Ctrl-C; returns a function restoring them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: Any) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    return lambda: [signal.signal(s, h) for s, h in previous.items()] and None


def interrupted(records: int, where: str) -> Interrupted:
    return Interrupted(f"interrupted after {records} complete case record(s); {where}")


def terminal_progress(stream: Any = None) -> Callable[[int, int, int | None], None] | None:
    """A progress line (cases, rate, share of the input read, ETA), only on a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    start = time.monotonic()
    last = [start]

    def show(cases: int, read: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5:
            return
        last[0] = now
        line = f"{cases:,} cases, {cases / max(now - start, 1e-9):,.0f}/s"
        if total:
            share = min(read / total, 1.0)
            line += f", {share:.0%} read"
            if share > 0.01:
                eta = (now - start) * (1 - share) / share
                line += f", ETA {int(eta // 60)}:{int(eta % 60):02d}"
        stream.write(f"\r\033[K{line}")
        stream.flush()
    return show
