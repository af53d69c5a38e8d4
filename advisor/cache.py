"""Work done once per knowledge-base content and kept on disk by hash: parsed TOML files, and the
knowledge bases :func:`advisor.kb.load.load` has proven, so that the next process skips both.

A knowledge base is read, validated and checked (every quote verbatim, no text claiming more than
its quote, the decision space complete) before it is used. Parsing TOML in pure Python and the checks
were most of a command's own start-up, and they give the same answer for the same bytes and the same
code. So each parse is kept under the SHA-256 of the file's bytes, and each proof under the KB's
fingerprint; both keys also hold a stamp of the code (Python's version, and the size and time of
every module of the package), so that another release, or an edited module, starts afresh. The
models are still validated from the data at every load; only the parse and the proof are reused.

Where: ``$MS_ADVISOR_CACHE`` (an absolute path of a directory; ``off`` turns the store off), else
``$XDG_CACHE_HOME/ms-advisor``, else ``~/.cache/ms-advisor`` (none for a relative or empty ``$HOME``).

The store is a convenience, never a source of truth or of errors:

- the directory must be the user's own and writable by no one else (as ``ssh`` asks of ``~/.ssh``),
  else it is not used; an entry must be a regular file of the user's, not a symlink, within
  :data:`MAX_ENTRY_BYTES`, must carry the key it was asked for and match its SHA-256 (damage is a miss);
- entries are JSON (dicts, lists, text, numbers; TOML's dates and times as tagged texts): an entry can
  hold no code to run, no cycle and no shared part, and one nested past the decoder's depth or holding
  a number too long to read is a miss;
- an entry that is missing, foreign, broken or stale is a miss; a directory that cannot be written
  (read-only, full) is skipped silently; entries are written to a temporary file and renamed into place,
  so that processes sharing the store never read half an entry; past :data:`MAX_ENTRIES` the oldest go
  (entries only: a directory named by ``$MS_ADVISOR_CACHE`` may hold other files, never removed).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import Any, Callable

ENV = "MS_ADVISOR_CACHE"
OFF = frozenset({"", "0", "off", "no", "false", "none"})
FORMAT = b"ms-infusion-advisor cache 3\n"  # then the SHA-256 of the JSON, then the JSON
MAX_ENTRY_BYTES = 8 * 2**20
MAX_ENTRIES = 256
TEMPORARY_NAME = re.compile(r"\.entry-[a-z0-9_]+\.tmp")  # tempfile.mkstemp(prefix=".entry-", suffix=".tmp")
STALE_SECONDS = 3600
ENTRY_NAME = re.compile(r"[a-z]+(-[a-z]+)*-[0-9a-f]{40}\.json")  # KIND-KEY.json: the directory may hold other files
TAG = "\x00toml"  # the key of a tagged date or time; a TOML key holding a NUL is never kept
_TIMES: dict[str, Any] = {"datetime": datetime.datetime, "date": datetime.date, "time": datetime.time}


def _tagged(value: Any) -> Any:
    """A TOML date, date-time or time as JSON: {TAG: its type, "v": its ISO text} (json's ``default``)."""
    for name, kind in _TIMES.items():  # datetime first: a datetime is a date too
        if isinstance(value, kind):
            return {TAG: name, "v": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not plain data")


def _untagged(obj: dict[str, Any]) -> Any:
    """json's ``object_hook``: a tagged date or time back to its type."""
    if TAG in obj:
        kind = _TIMES[obj[TAG]]
        return kind.fromisoformat(obj["v"])
    return obj


def _has_tag_key(value: Any) -> bool:
    if isinstance(value, dict):
        return TAG in value or any(_has_tag_key(v) for v in value.values())
    return isinstance(value, list) and any(_has_tag_key(v) for v in value)


def directory() -> Path | None:
    """The store's directory (made if missing), or None when it is turned off or not safe to use (on a
    system without owners or O_NOFOLLOW, e.g. Windows, there is no store)."""
    setting = os.environ.get(ENV)
    if setting is not None and setting.strip().lower() in OFF:
        return None
    if not hasattr(os, "geteuid") or not hasattr(os, "O_NOFOLLOW"):
        return None
    try:
        if setting is not None:
            if not os.path.isabs(setting):  # never a directory that moves with where a command runs
                return None
            base = Path(setting)
        else:
            xdg, home = os.environ.get("XDG_CACHE_HOME", ""), os.environ.get("HOME")
            caches = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~") if home is None else home, ".cache")
            if not os.path.isabs(caches):  # a relative or empty $HOME (which Python would read as '/'), or no home at all
                return None
            base = Path(caches) / "ms-advisor"
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(base)
    except (OSError, ValueError):  # a NUL in the path, a file in the way
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        return None
    return base


@functools.cache
def code_stamp() -> bytes:
    """Python's version and the size and modification time of every module of the package: another
    release, or an edited module, gives another stamp (as Python's own ``.pyc`` files are checked)."""
    digest = hashlib.sha256(FORMAT + sys.version.encode())
    package = Path(__file__).resolve().parent
    for folder, folders, files in os.walk(package):
        folders[:] = sorted(d for d in folders if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            digest.update(f"{os.path.relpath(path, package)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.digest()


def _key(kind: str, content: bytes) -> str:
    return hashlib.sha256(code_stamp() + kind.encode() + b"\0" + content).hexdigest()


def get(kind: str, content: bytes) -> Any | None:
    """The value kept for ``content`` (bytes that decide it, e.g. a file's) under ``kind``, or None."""
    base = directory()
    if base is None:
        return None
    key = _key(kind, content)
    try:
        fd = os.open(base / f"{kind}-{key[:40]}.json", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022 or st.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    digest, payload = data[len(FORMAT):len(FORMAT) + 32], data[len(FORMAT) + 32:]
    if not data.startswith(FORMAT) or len(data) > MAX_ENTRY_BYTES or hashlib.sha256(payload).digest() != digest:
        return None  # not an entry, or one damaged since it was written
    try:
        stored, value = json.loads(payload, object_hook=_untagged)
    except Exception:  # noqa: BLE001 - a broken or foreign entry, whatever it raises (too deep, a bad tag), is a miss
        return None
    return value if stored == key else None


def _framed(payload: bytes) -> bytes:
    return FORMAT + hashlib.sha256(payload).digest() + payload


def put(kind: str, content: bytes, value: Any) -> None:
    """Keep ``value`` (plain data) for ``content`` under ``kind``; nothing happens if it cannot be kept."""
    base = directory()
    if base is None:
        return
    key = _key(kind, content)
    if _has_tag_key(value):
        return
    try:
        data = _framed(json.dumps([key, value], default=_tagged, ensure_ascii=True, allow_nan=False,
                                  check_circular=True, separators=(",", ":")).encode("ascii"))
    except (TypeError, ValueError, RecursionError):
        return
    if len(data) > MAX_ENTRY_BYTES:
        return
    import tempfile

    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=base, prefix=".entry-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, base / f"{kind}-{key[:40]}.json")
        temporary = None
        _prune(base)
    except OSError:
        pass
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _prune(base: Path) -> None:
    """Past MAX_ENTRIES entries, remove the oldest half (each edit of a KB leaves one behind), and any
    temporary file of a writer that died an hour ago or more (killed between writing and renaming);
    never a file the store did not write."""
    entries, stale, now = [], [], time.time()
    for e in os.scandir(base):
        if ENTRY_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False):
            entries.append(e)
        elif TEMPORARY_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False) and \
                now - e.stat(follow_symlinks=False).st_mtime > STALE_SECONDS:
            stale.append(e)
    if len(entries) > MAX_ENTRIES:
        entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)
        stale += entries[: len(entries) - MAX_ENTRIES // 2]
    for entry in stale:
        try:
            os.unlink(entry.path)
        except OSError:
            pass


def parsed(kind: str, data: bytes, parse: Callable[[bytes], Any]) -> Any:
    """``parse(data)``, kept under ``kind``: a fresh copy on every call, so callers may change it.
    ``parse`` raising keeps nothing (the error is the caller's to report)."""
    value = get(kind, data)
    if value is None:
        value = parse(data)
        put(kind, data, value)
    return value


def _toml(data: bytes) -> Any:
    import tomllib  # only on a miss

    return tomllib.loads(data.decode("utf-8"))


def toml_file(path: Path) -> Any:
    """A TOML file read and parsed as plain ``tomllib`` does (the packaged vocabulary, statuses and facts,
    read at import), kept by the hash of its bytes. Raises OSError, UnicodeDecodeError or TOMLDecodeError."""
    return parsed("toml-plain", path.read_bytes(), _toml)
