"""Files a user names: read with a size limit (never a device, never waiting on a FIFO with no writer),
and written whole so that a failure never destroys what was there (``schedule --ics``, ``kb export``).

The rule: nothing is opened for writing until the content is complete, and a regular file is never
truncated in place. It is written to a temporary file created exclusively (O_EXCL, unpredictable
name) in the target's own directory, flushed to disk, given the old file's permission bits (a new
file: the umask's), and renamed over the target, so the target holds either the old or the new
content, never a part. A symlink is followed: its target is replaced, beside the target, and the link
stays. A FIFO or character device (``/dev/null``, ``/dev/stdout``) is written straight into, as a shell
redirection would, never replaced by a regular file; a FIFO with no reader is an error, not a hang.
A directory, a block device or a socket is refused. An existing regular file is replaced only when
it is empty or of the kind being written (``Kind``: its first bytes say so), so a path that names, or
links to, some other file (``--ics ~/.bashrc``, a link to ``/etc/passwd``) is refused, never destroyed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass

from advisor.errors import FileError


class WriteError(FileError, OSError):
    """The file could not be written; the message says why (one line, names no one else's file)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class Kind:
    """What a file being written is (``name``, for messages) and the first bytes by which an existing
    file of that kind is known (``starts``, after any leading whitespace or byte-order mark)."""
    name: str
    starts: tuple[bytes, ...]


def same_kind(target: str, kind: Kind) -> bool:
    """Whether the regular file ``target`` is empty or starts as ``kind`` says (WriteError if unreadable)."""
    try:
        with open(target, "rb") as f:
            head = f.read(256)
    except OSError as e:
        raise WriteError(f"cannot read what it holds: {e.strerror}") from None
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return not head or head.startswith(kind.starts)


def write_atomically(path: str, data: bytes, kind: Kind | None = None) -> None:
    """Replace ``path`` by ``data`` atomically (see the module's rule); raise WriteError. With ``kind``,
    an existing regular file that is not empty and not of that kind is refused, left as it was."""
    if not path:
        raise WriteError("the file name is empty")
    target = os.path.realpath(path)  # a symlink: write its target (which may not exist yet)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise WriteError(f"cannot write: {e.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            _write_into(target, data, fifo=stat.S_ISFIFO(st.st_mode))
            return
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode) else "not a regular file"
        raise WriteError(f"is {what}; refusing to replace it")
    if st is not None and kind is not None and not same_kind(target, kind):
        shown = "" if target == os.path.abspath(path) else " (where its symbolic link leads)"
        raise WriteError(f"holds something else than {kind.name}{shown}; refusing to replace it: "
                         "name a new file, or remove that one first")
    directory = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as e:
        raise WriteError(f"cannot write in {directory}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
            if st is not None and os.geteuid() == 0 and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                os.fchown(f.fileno(), st.st_uid, st.st_gid)  # as root, keep the file's owner
        os.replace(tmp, target)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WriteError(f"cannot write: {e.strerror}") from None


def _write_into(target: str, data: bytes, fifo: bool) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | (os.O_NONBLOCK if fifo else 0))
    except OSError as e:
        if fifo and e.errno == 6:  # ENXIO: a FIFO nobody reads
            raise WriteError("is a FIFO with no reader") from None
        raise WriteError(f"cannot write: {e.strerror}") from None
    try:
        if fifo:
            os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        raise WriteError(f"cannot write: {e.strerror}") from None
    finally:
        os.close(fd)


class ReadError(FileError, OSError):
    """The file could not be read; the message says why (one line)."""


def read_limited(path: str, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them; raise ReadError. A regular file or a pipe (a
    FIFO, a shell's ``<(...)``) is read; a device, directory or socket is refused without reading it,
    a FIFO with no writer reads as empty instead of waiting, and more than ``limit`` bytes is an error,
    so a huge file or an endless device cannot fill the memory."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO with no writer: opens at once
    except FileNotFoundError:
        raise ReadError("no such file") from None
    except IsADirectoryError:
        raise ReadError("is a directory, not a file") from None
    except OSError as e:
        raise ReadError(f"cannot be read: {e.strerror}") from None
    except ValueError:  # a NUL in the name
        raise ReadError("no such file (a file name cannot hold a NUL character)") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ReadError("is a directory, not a file")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise ReadError("is a device or socket, not a file")
        if stat.S_ISFIFO(mode):
            os.set_blocking(fd, True)  # a writer is there (or none: read() returns at once, empty)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        if isinstance(e, ReadError):
            raise
        raise ReadError(f"cannot be read: {e.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise ReadError(f"is larger than {limit // 2**20} MiB")
    return b"".join(chunks)
