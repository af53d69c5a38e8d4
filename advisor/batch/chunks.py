"""A unit of work (a JSONL block or a list of raw cases) assessed and rendered, in a worker or in the
main process. Two paths give the same bytes (a test checks it on a mixed corpus):

* the plain path: ``records.assess`` then ``records.to_record``, case by case;
* the fast path (``fast.py``), for JSONL blocks with the default options; any line it cannot take comes
  back here, to the plain path, so error texts are the same.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from advisor.core.advisor import Advisor
from advisor.batch.readers import split_block
from advisor.batch.sources import JsonlBlock, RawCase
from advisor.batch.fast import FastPath
from advisor.batch.records import Assessed, CaseOptions, assess, to_record
from advisor.batch.summary import Summary
from advisor.batch.writers import Chunk, JsonlWriter

Result = tuple[bytes, list[int], list[int], Summary]


def id_hash(record_id: str) -> int:
    """8 bytes standing for an id, to find repeated ids in any number of cases in little memory."""
    return int.from_bytes(hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


# Python's own 64-bit string hash: the same in every process forked from one main process (not across
# separately started interpreters, which use :func:`id_hash`), and several times faster. The builtin
# itself, not a function calling it: called once per case.
forked_id_hash: Callable[[str], int] = hash


class Worker:
    """What a process needs to assess chunks: the Advisor, the writer, the options and the caches
    (kept here, in batch, for the length of a run)."""

    def __init__(self, advisor: Advisor, writer: JsonlWriter, options: CaseOptions = CaseOptions(), fast: bool = True,
                 hasher: Any = id_hash):
        self.advisor, self.writer, self.options, self.hasher = advisor, writer, options, hasher
        self.fast = FastPath(self) if fast and options == CaseOptions() and FastPath.possible(advisor.facts_model) else None

    def process(self, item: JsonlBlock | list[RawCase]) -> Result:
        chunk, summary = Chunk(self.writer.end(False)), Summary(self.advisor.drug_ids)
        if isinstance(item, JsonlBlock):
            if self.fast is not None:
                self.fast.block(item, chunk, summary)
            else:
                for raw in split_block(item):
                    self.plain(raw, chunk, summary)
        else:
            for raw in item:
                self.plain(raw, chunk, summary)
        return (*chunk.finish(), summary.fold())

    def plain(self, raw: RawCase, chunk: Chunk, summary: Summary) -> None:
        a: Assessed = assess(self.advisor, raw, self.options)
        summary.add(a, raw.source)
        record = to_record(self.advisor, raw.source, a, self.options)
        w = self.writer
        chunk.add(w.head(a.record_id, raw.source) + w.tail(record), self.hasher(a.record_id) if a.given_id else None)
