"""One case from a file, for ``--case``: read by the readers' registry (``readers.READERS``), so a case
file is read exactly as batch reads the same file."""

from __future__ import annotations

import gzip
import io
import zlib
from typing import Any

from advisor.batch.casefile import MAX_CASE_FILE_BYTES, CaseFileError, read_bytes
from advisor.errors import SeveralCases
from advisor.batch.readers import READERS, split_block
from advisor.batch.sources import JsonlBlock, ReadOptions, format_of
from advisor.batch.text import escape_controls


def read_case(path: str, options: ReadOptions = ReadOptions(), default: str = "yaml") -> dict[str, Any]:
    """One case (its facts, optionally with ``expect``) from a file or '-' (stdin), read as batch reads
    it: by the registry's reader for its format (its suffix, each also gzipped; else
    ``options.input_format``; else ``default``, YAML, which reads JSON too), at most 8 MiB.

    Raises :class:`CaseFileError` when the file cannot be read or holds no case, :class:`SeveralCases`
    when it holds more than one (or a list of them), :class:`InvalidFacts` for a case that is refused.

        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     f = pathlib.Path(folder, "person.csv")
        ...     _ = f.write_text("ms_type,severity,prior_failures\\nspms,severe,1\\n")
        ...     read_case(str(f))
        {'ms_type': 'spms', 'severity': 'severe', 'prior_failures': 1}
    """
    data, name = read_bytes(path)
    fmt = (format_of(path, options) if path != "-" else options.input_format) or default
    if path.lower().endswith(".gz") if path != "-" else data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name)
    if not data.strip():
        raise CaseFileError(f"{escape_controls(name)}: is empty (a case file holds one person's facts)")
    cases = [case for item in READERS[fmt](io.BytesIO(data), name, options)
             for case in (split_block(item) if isinstance(item, JsonlBlock) else (item,))]
    if not cases:
        raise CaseFileError(f"{escape_controls(name)}: holds no case (a case file holds one person's facts)")
    if len(cases) > 1 or cases[0].kind == "item":
        raise SeveralCases(f"{escape_controls(name)}: holds {'a list of ' if len(cases) == 1 else ''}{len(cases)} "
                           f"case{'s' if len(cases) > 1 else ''}, not one case (a mapping of fact names to values)", len(cases))
    case = cases[0]
    if case.kind == "error":
        message = case.payload if case.payload.startswith(escape_controls(name)) else f"{escape_controls(case.source)}: {case.payload}"
        raise CaseFileError(message)
    if case.kind == "object" and not isinstance(case.payload, dict):
        raise CaseFileError(f"{escape_controls(name)}: must hold one case (a mapping of fact names to values), "
                            f"got {type(case.payload).__name__}")
    from advisor.batch.records import parse  # the facts model's coercions of a CSV row, JSON decoding of a line

    return parse(case)


def _gunzip(data: bytes, name: str) -> bytes:
    """Decompressed, with the same limit as the file (a small file can hold a gzip bomb)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as f:
            out = f.read(MAX_CASE_FILE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise CaseFileError(f"{escape_controls(name)}: not valid gzip: {escape_controls(str(e))}") from None
    if len(out) > MAX_CASE_FILE_BYTES:
        raise CaseFileError(f"{escape_controls(name)}: is larger than {MAX_CASE_FILE_BYTES // 2**20} MiB once "
                            "decompressed; a case file holds one person's facts")
    return out
