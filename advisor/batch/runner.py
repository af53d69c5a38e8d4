"""Running a batch: work units to worker processes (``pool``) or this one, records written in input
order, repeated ids flagged, progress, and signals (SIGTERM and SIGHUP stop a run like Ctrl-C).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any, Callable

from advisor.core.advisor import Advisor
from advisor.batch.chunks import Result, Worker, forked_id_hash
from advisor.batch.errors import Interrupted
from advisor.stopping import Deferred, arm
from advisor.batch.pool import Pool, pool_hasher
from advisor.batch.readers import read_items
from advisor.batch.sources import JsonlBlock, Progress, RawCase, ReadOptions
from advisor.batch.records import CaseOptions
from advisor.batch.summary import Summary
from advisor.batch.writers import Format, flag_duplicates, writer_for

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


def run(paths: Iterable[str], out: Any, *, advisor: Advisor | None = None, fmt: str | Format = "jsonl", workers: int = 1,
        options: CaseOptions = CaseOptions(), read: ReadOptions = ReadOptions(), chunk_size: int = 1000,
        progress: Callable[[int, int, int | None], None] | None = None, fast: bool = True,
        duplicate_check_limit: int = DUPLICATE_CHECK_LIMIT, sink: Sink | None = None) -> Summary:
    """Evaluate every case of ``paths`` and write one record per case to ``out`` (a binary or text
    stream), in input order. ``workers`` > 1 assesses work units in that many processes."""
    reading = Progress()
    return run_items(read_items(paths, read, reading), out, advisor=advisor, fmt=fmt, workers=workers, options=options,
                     chunk_size=chunk_size, fast=fast, duplicate_check_limit=duplicate_check_limit, sink=sink,
                     progress=(lambda cases: progress(cases, reading.read(), reading.total)) if progress else None)


def run_items(items: Iterable[RawCase | JsonlBlock], out: Any, *, advisor: Advisor | None = None, fmt: str | Format = "jsonl",
              workers: int = 1, options: CaseOptions = CaseOptions(), chunk_size: int = 1000,
              progress: Callable[[int], None] | None = None, fast: bool = True,
              duplicate_check_limit: int = DUPLICATE_CHECK_LIMIT, sink: Sink | None = None) -> Summary:
    """:func:`run` over cases already read (``RawCase`` items and ``JsonlBlock`` blocks, e.g. from an
    HTTP body), written to ``out`` as they are done."""
    if advisor is None:
        from advisor.api import default_advisor
        advisor = default_advisor()
    writer = writer_for(fmt, advisor.drug_ids)
    summary = Summary(advisor.drug_ids, rule_ids(advisor))
    sink = sink or Sink(out, writer)
    seen: set[int] = set()
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
            progress(summary.cases)

    units = _units(iter(items), chunk_size)
    local = Worker(advisor, writer, options, fast, forked_id_hash if workers <= 1 else pool_hasher())
    # The first unit is assessed here, also with workers: forked workers then start with the caches it
    # filled (the commonest values and decisions) instead of each filling them again.
    for unit in units if workers <= 1 else islice(units, 1):
        with Deferred():
            result = local.process(unit)
        consume(result)
    following = next(units, None) if workers > 1 else None
    if following is not None:  # (no processes are started for an input of one unit)
        with Pool(workers, advisor, fmt, options, fast, local) as pool:
            for result in pool.map(chain([following], units)):
                consume(result)
    sink.write(writer.footer(sink.wrote_any).encode())
    return summary


# --- signals --------------------------------------------------------------------------------------------

def stop_on_signals() -> Callable[[], None]:
    """Ctrl-C, SIGTERM and SIGHUP stop the run: KeyboardInterrupt in the main thread (after the unit of
    work in hand, if any; at once for a signal held since start-up); later signals wait for the
    clean-up. Returns a function restoring the previous handlers (see :mod:`advisor.stopping`)."""
    return arm()


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
