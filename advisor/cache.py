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
- entries are pickles of plain data (dicts, lists, text, numbers, dates): the unpickler refuses every
  other type, so an entry can hold no code to run (plain data crafted under the user's own account can
  still make a load fail or hang: the store is trusted as the user's own files are);
- an entry that is missing, foreign, broken or stale is a miss; a directory that cannot be written
  (read-only, full) is skipped silently; entries are written to a temporary file and renamed into place,
  so that processes sharing the store never read half an entry; past :data:`MAX_ENTRIES` the oldest go
  (entries only: a directory named by ``$MS_ADVISOR_CACHE`` may hold other files, never removed).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import re
import stat
import sys
from pathlib import Path
from typing import Any, Callable

ENV = "MS_ADVISOR_CACHE"
OFF = frozenset({"", "0", "off", "no", "false", "none"})
FORMAT = b"ms-infusion-advisor cache 2\n"  # then the SHA-256 of the pickle, then the pickle
MAX_ENTRY_BYTES = 8 * 2**20
MAX_ENTRIES = 256
ENTRY_NAME = re.compile(r"[a-z]+(-[a-z]+)*-[0-9a-f]{40}\.pickle")  # KIND-KEY.pickle: the directory may hold other files
_PLAIN = frozenset({("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta"),
                    ("datetime", "timezone")})  # what TOML parses to, beside the built-in types


class _PlainUnpickler(pickle.Unpickler):
    """An unpickler of plain data: no class or function but TOML's dates and times."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def directory() -> Path | None:
    """The store's directory (made if missing), or None when it is turned off or not safe to use."""
    setting = os.environ.get(ENV)
    if setting is not None and setting.strip().lower() in OFF:
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
        fd = os.open(base / f"{kind}-{key[:40]}.pickle", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
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
        stored, value = _PlainUnpickler(io.BytesIO(payload)).load()
    except Exception:  # noqa: BLE001 - a broken or foreign entry, whatever it raises, is a miss
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
    try:
        data = _framed(pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, ValueError, RecursionError):
        return
    if len(data) > MAX_ENTRY_BYTES:
        return
    import tempfile

    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=base, prefix=".entry-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, base / f"{kind}-{key[:40]}.pickle")
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
    """Past MAX_ENTRIES entries, remove the oldest half (each edit of a KB leaves one behind); never a
    file the store did not write."""
    entries = [e for e in os.scandir(base) if ENTRY_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)
    for entry in entries[: len(entries) - MAX_ENTRIES // 2]:
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
