"""Batch evaluation: stream cases from files, advise on each, write one record per case, in order.

Library use::

    from advisor.batch import evaluate, read_paths
    for record in evaluate([{"ms_type": "spms", "severity": "severe"}]):
        print(record["listed"])
    for record in evaluate(read_paths(["cases/"])):   # the readers the command uses
        ...

The modules, top to bottom (imports only run downwards): ``output`` (the --out file), ``runner``
(order, duplicate ids, signals, progress), ``pool`` (worker processes), ``chunks`` (a unit of work:
the plain and the fast path), ``writers`` (one per output format), ``records`` (one case),
``readers`` (one registry of input formats), ``sources`` (finding and opening inputs), ``summary``,
``text``, ``errors``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from advisor import lazy_exports

# Each public name and the module it lives in: loaded on first use, so that reading one case for
# `advise --case` (readers) does not load the runner, the worker pool and the fast path.
_EXPORTS = {
    "DUPLICATE_CHECK_LIMIT": "runner", "run": "runner", "run_items": "runner", "run_to_file": "output",
    "read_case": "case", "read_paths": "readers", "read_items": "readers", "READERS": "readers",
    "RawCase": "sources", "JsonlBlock": "sources", "ReadOptions": "sources",
    "CaseOptions": "records", "assess": "records", "to_record": "records", "Summary": "core.summary",
    "BatchError": "errors", "OutputError": "errors", "Interrupted": "errors", "WorkerFailed": "errors",
    "FORMATS": "writers", "writer_for": "writers", "Format": "writers", "csv_headers": "readers",
}
__all__ = ["evaluate", *_EXPORTS]

if TYPE_CHECKING:
    from advisor.core.advisor import Advisor
    from advisor.batch.errors import BatchError as BatchError, Interrupted as Interrupted, OutputError as OutputError
    from advisor.batch.errors import WorkerFailed as WorkerFailed
    from advisor.batch.output import run_to_file as run_to_file
    from advisor.batch.case import read_case as read_case
    from advisor.batch.readers import READERS as READERS, read_items as read_items, read_paths as read_paths
    from advisor.batch.records import CaseOptions as CaseOptions, assess as assess, to_record as to_record
    from advisor.batch.runner import DUPLICATE_CHECK_LIMIT as DUPLICATE_CHECK_LIMIT, run as run, run_items as run_items
    from advisor.batch.sources import JsonlBlock as JsonlBlock, RawCase as RawCase, ReadOptions as ReadOptions
    from advisor.batch.summary import Summary as Summary
    from advisor.batch.writers import FORMATS as FORMATS, Format as Format, writer_for as writer_for
    from advisor.batch.readers import csv_headers as csv_headers


__getattr__ = lazy_exports(__name__, _EXPORTS)


def evaluate(cases: Iterable[dict[str, Any] | RawCase], *, advisor: Advisor | None = None, full: bool = False,
             options: CaseOptions | None = None) -> Iterator[dict[str, Any]]:
    """Stream one record per case, in order. A case is a dict of facts (optionally with ``expect``)
    or a :class:`RawCase` as :func:`read_paths` gives. A repeated id is flagged ``duplicate_id``. A bad case
    gives a record with its error, never stops the others.

        >>> from advisor.batch import evaluate
        >>> [r["listed"] for r in evaluate([{"ms_type": "ppms", "severity": "mild"}])]
        [['ocrelizumab']]
    """
    from advisor.api import default_advisor
    from advisor.batch.chunks import id_hash
    from advisor.batch.records import CaseOptions, assess, to_record
    from advisor.batch.runner import DUPLICATE_CHECK_LIMIT
    from advisor.batch.sources import RawCase

    advisor = advisor or default_advisor()
    options = options or CaseOptions(full=full)
    seen: set[int] = set()
    for n, case in enumerate(cases, 1):
        raw = case if isinstance(case, RawCase) else RawCase(f"#{n}", "object", case)
        a = assess(advisor, raw, options)
        record = to_record(advisor, raw.source, a, options)
        if a.given_id:
            h = id_hash(a.record_id)
            if h in seen:
                record["duplicate_id"] = True
            elif len(seen) < DUPLICATE_CHECK_LIMIT:
                seen.add(h)
        yield record
