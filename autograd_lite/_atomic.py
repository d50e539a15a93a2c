"""Writing a file atomically: a reader sees the old file or the whole new one, never a part.

Shared by checkpoints and drawings. The bytes go to a temporary file in the target's own folder
(so that the final rename stays on one file system), are flushed to disk, then renamed over the
target in one step. A symbolic link is written through: its target gets the new content and the
link stays. Nothing here knows what the bytes mean.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from typing import Final

__all__ = ["write_atomically"]

# Most file systems allow names of at most 255 bytes: a temporary name is kept within that, so
# that any name the user may pick can be saved.
NAME_MAX: Final = 255
# Temporary files are named .<start of the name>~<digest of the name>.<pid>.<random>.tmp: the
# digest ties each one to its target, the process id tells whether its writer is still alive.
_TEMPORARY: Final = re.compile(r"\..*~(?P<digest>[0-9a-f]{12})\.(?P<pid>[0-9]+)\.[0-9a-f]+\.tmp")


def write_atomically(path: str | os.PathLike[str], data: bytes) -> str:
    """Put data at path atomically, and return the path of the file actually written.

    A symbolic link is followed: the file it points to is replaced, the link stays. Temporary
    files left by earlier writers of the same target that were killed are removed first.
    Raises OSError (the temporary file is removed again) or whatever interrupted the write.
    """
    target = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(target)
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    _remove_stale(folder, digest)
    temporary = os.path.join(folder, _temporary_name(name, digest))
    # O_EXCL: never write through somebody else's file; mode 0o666 lets the umask decide;
    # O_BINARY (Windows only) keeps the bytes as they are.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, 0o666)
    try:
        with open(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):  # already gone: nothing to clean up
            os.unlink(temporary)
        raise
    _sync_folder(folder)
    return target


def _temporary_name(name: str, digest: str) -> str:
    """A fresh temporary name for the target name, at most NAME_MAX bytes long."""
    tail = f"~{digest}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    room = NAME_MAX - 1 - len(tail)  # 1 for the leading dot
    start = os.fsencode(name)[:room]
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":  # the cut split the last character
            start = start[: error.start]
    return "." + os.fsdecode(start) + tail


def _remove_stale(folder: str, digest: str) -> None:
    """Remove this target's temporary files whose writing process no longer exists."""
    if os.name != "posix":
        return  # no cheap and safe liveness check for a process id elsewhere
    try:
        entries = os.listdir(folder)
    except OSError:
        return  # the write itself will report what is wrong with the folder
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry)
        if match is None or match["digest"] != digest or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):  # another writer removed it first
            os.unlink(os.path.join(folder, entry))


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (signal 0 only asks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or a number no process has: leave the file
    return True


def _sync_folder(folder: str) -> None:
    """Flush the folder entry of the renamed file too (POSIX); other systems cannot, or need not."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself has happened
    finally:
        os.close(fd)
