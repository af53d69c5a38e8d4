"""Reading a knowledge base's files safely: regular files inside its directory, within size, depth and
number limits; TOML parsed with its floats kept exact; and the fingerprint (SHA-256) over the files.

Kept apart from the schema: what a knowledge base from anywhere (--rules-dir) may not do is
checked here, before any model is built.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import stat
from pathlib import Path
from typing import Any

from advisor.core.models import float_from_text, inexact
from advisor import cache
from advisor.text import has_unsafe, visible

MAX_KB_FILE_BYTES = 2 * 2**20  # a TOML or source file; the shipped ones are under 10 kB
MAX_KB_DEPTH = 8  # containers deep: drugs.toml's drug > schedule > phases > start is 6
MAX_KB_INT = 10**9


def read_kb_file(path: Path, root: Path | None, label: str, problems: list[Any]) -> bytes | None:
    """The bytes of a KB file, or None with a problem: missing, a symlink leading outside ``root``,
    not a regular file (a FIFO or device is never opened for a blocking read), or over the size limit."""
    try:
        outside = root is not None and not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        problems.append((label, "", "cannot be resolved (a symlink loop)"))
        return None
    if outside:
        problems.append((label, "", "is a symlink leading outside the knowledge-base directory"))
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO: opens at once, refused below
    except FileNotFoundError:
        problems.append((label, "", "file is missing"))
        return None
    except OSError as e:  # Python 3.13's resolve() no longer raises for a loop: open() meets it (ELOOP)
        problems.append((label, "", "cannot be resolved (a symlink loop)" if e.errno == errno.ELOOP
                         else f"cannot be read: {e.strerror}"))
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            problems.append((label, "", "is not a regular file (a FIFO, device or directory)"))
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_KB_FILE_BYTES + 1)
    except OSError as e:
        problems.append((label, "", f"cannot be read: {e.strerror}"))
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_KB_FILE_BYTES:
        problems.append((label, "", f"is larger than {MAX_KB_FILE_BYTES // 2**20} MiB"))
        return None
    return data


def raw_problems(raw: Any, file: str) -> list[tuple[str, str, str]]:
    """Limits on a KB file's raw TOML data, before the schema: nesting, numbers, text."""
    out: list[tuple[str, str, str]] = []

    def walk(value: Any, where: str, item: str, depth: int) -> None:
        if isinstance(value, (dict, list)):
            if depth > MAX_KB_DEPTH:
                out.append((file, item, f"{where}: nested deeper than the knowledge-base schema allows ({MAX_KB_DEPTH} levels)"))
                return
            if isinstance(value, dict):
                named = value.get("id")
                item = named if isinstance(named, str) else item
                for k, v in value.items():
                    walk(v, f"{where}.{k}" if where else k, item, depth + 1)
            else:
                for i, v in enumerate(value):
                    walk(v, f"{where}.{i}", item, depth + 1)
        elif isinstance(value, bool):
            pass
        elif isinstance(value, int):
            if abs(value) > MAX_KB_INT:
                out.append((file, item, f"{where}: integer out of range (at most {MAX_KB_INT:,} either way)"))
        elif isinstance(value, float):
            if not math.isfinite(value):
                out.append((file, item, f"{where}: must be a finite number, not {value}"))
            elif abs(value) > MAX_KB_INT:
                out.append((file, item, f"{where}: number out of range (at most {MAX_KB_INT:,} either way)"))
        elif isinstance(value, str):
            if not value.strip():
                out.append((file, item, f"{where}: is blank"))
            elif has_unsafe(value):
                out.append((file, item, f"{where}: holds a control character ('{visible(value)[:80]}'); KB texts reach terminals and calendars"))

    walk(raw, "", "", 0)
    return [(f, visible(i), m) for f, i, m in out]


def _toml_float(text: str) -> float:
    """A TOML float that a 64-bit float holds exactly (its shortest text has the same value): a
    threshold the facts are compared with exactly (see models.float_from_text); else ValueError."""
    value = float_from_text(text)
    if not isinstance(value, float):
        raise ValueError(inexact(value))
    return value


def _parse_toml(text: str) -> dict[str, Any]:
    import tomllib  # only when the file's parse is not kept (see read_toml)

    return tomllib.loads(text, parse_float=_toml_float)


def read_toml(path: Path, problems: list[Any], read: dict[str, bytes] | None = None) -> dict[str, Any]:
    """A KB file's TOML, or {} with its problems. A parse that met no problem is kept by the hash of the
    file's bytes (:mod:`advisor.cache`): the next process, or the next load, takes it from there.
    ``read``: where the bytes parsed are noted under the file's name (load() proves these very bytes)."""
    data = read_kb_file(path, path.parent, path.name, problems)
    if data is None:
        return {}
    if read is not None:
        read[path.name] = data
    kept = cache.get("toml", data)
    if isinstance(kept, dict):
        return kept
    from tomllib import TOMLDecodeError

    try:
        raw = _parse_toml(data.decode("utf-8"))
    except (TOMLDecodeError, UnicodeDecodeError) as e:
        problems.append((path.name, "", f"not valid TOML: {e}"))
        return {}
    except RecursionError:
        problems.append((path.name, "", f"nested deeper than the knowledge-base schema allows ({MAX_KB_DEPTH} levels)"))
        return {}
    except ValueError as e:  # an integer of thousands of digits
        problems.append((path.name, "", f"not valid TOML: {e}"))
        return {}
    found = raw_problems(raw, path.name)
    problems += found
    if not found:
        cache.put("toml", data, raw)
    return raw if not any(f == path.name for f, _, _ in problems) else {}


def fingerprint(files: dict[str, bytes], fold_line_ends: bool = True) -> str:
    """SHA-256 over a knowledge base's files (relative path -> content), the same on every platform:
    paths with '/', files in sorted order, line endings folded to LF, each file framed by its path and
    length so that no two different sets of files hash alike. ``fold_line_ends=False``: over the exact
    bytes (the key of a KB's proof, see load())."""
    digest = hashlib.sha256(b"ms-infusion-advisor kb fingerprint 1\n")
    for name in sorted(files):
        data = files[name].replace(b"\r\n", b"\n").replace(b"\r", b"\n") if fold_line_ends else files[name]
        path = name.replace("\\", "/").encode("utf-8")
        digest.update(b"%d:%s\n%d:" % (len(path), path, len(data)))
        digest.update(data)
    return digest.hexdigest()


def kb_files(root: Path, source: Path | None, problems: list[Any]) -> dict[str, bytes]:
    """The files a fingerprint covers: every TOML file of the directory and the source text, read as
    every KB file is (regular files inside the directory, within the size limit)."""
    files: dict[str, bytes] = {}
    for path in [*sorted(root.glob("*.toml")), *([source] if source is not None else [])]:
        data = read_kb_file(path, root if path != source else None, path.name, problems)
        if data is not None:
            files[path.name if path != source else "source:" + path.name] = data
    return files
