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
from typing import Any

from ..core import Advisor
from .chunks import id_hash
from .errors import BatchError, Interrupted, OutputError, WorkerFailed
from .output import run_to_file
from .readers import READERS, read_items, read_paths
from .sources import JsonlBlock, RawCase, ReadOptions
from .records import CaseOptions, assess, to_record
from .runner import DUPLICATE_CHECK_LIMIT, run, run_items
from .summary import Summary
from .writers import FORMATS, writer_for

__all__ = ["DUPLICATE_CHECK_LIMIT", "evaluate", "read_paths", "read_items", "run", "run_items", "run_to_file", "RawCase", "JsonlBlock", "ReadOptions",
           "CaseOptions", "Summary", "BatchError", "OutputError", "Interrupted", "WorkerFailed", "FORMATS",
           "READERS", "assess", "to_record", "writer_for"]


def evaluate(cases: Iterable[dict[str, Any] | RawCase], *, advisor: Advisor | None = None, full: bool = False,
             options: CaseOptions | None = None) -> Iterator[dict[str, Any]]:
    """Stream one record per case, in order. A case is a dict of facts (optionally with ``expect``)
    or a :class:`RawCase` as :func:`read_paths` gives. A repeated id is flagged ``duplicate_id``. A bad case
    gives a record with its error, never stops the others.

        >>> from advisor.batch import evaluate
        >>> [r["listed"] for r in evaluate([{"ms_type": "ppms", "severity": "mild"}])]
        [['ocrelizumab']]
    """
    from ..api import default_advisor

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
