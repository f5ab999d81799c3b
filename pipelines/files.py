"""Writing a file so that readers see the old one or the whole new one, and a failure leaves nothing behind.

Each write goes to its own temporary file beside the target (a unique name: two processes landing the same
file never share one) and is renamed over the target. On any failure the temporary file is removed before the
error goes on, and a write that failed for want of space (a full disk, a quota, a file-size limit) becomes a
one-line ``WriteError`` naming the file: Polars and DuckDB report those in their own exception types.

A process killed mid-write (SIGKILL, the machine's OOM killer) cannot remove its temporary file. Every scratch
file's name says which host and process wrote it (:func:`owned`), and the next write in the same folder removes
the ones whose process is gone (:func:`remove_orphans`): a killed landing of a 10M-call day would otherwise
leave gigabytes behind for good.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import UserError

NO_SPACE = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
            errno.EFBIG: "file too large"}


class WriteError(UserError, OSError):
    """A file could not be written (disk full, quota, size limit); nothing half-written was left behind."""


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A fresh temporary path beside ``target`` to write to; renamed over ``target`` when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(target.parent, (".tmp", ".tmp.wal"))  # a DuckDB file killed while written leaves its log too
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=owned(f".{target.name}"), suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        reason = out_of_space(e)
        if reason and not isinstance(e, WriteError):
            raise WriteError(f"{target}: could not be written: {reason} (nothing partial was kept)") from None
        raise


def _host() -> str:
    """This host and its process-id namespace, as a file name can hold them: whose pids this process can check. A
    folder may be shared by several hosts, or by containers that share a host name but not their pids."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
    try:
        return f"{host}-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:  # not Linux: the host name alone
        return host


HOST = _host()
_OWNED = re.compile(r"\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>[0-9]+)-[^.]*(\.[a-z]+)+$")


def owned(stem: str) -> str:
    """The start of a scratch file's name: ``<stem>.<host>.<pid>-``, then something unique and the suffix."""
    return f"{stem}.{HOST}.{os.getpid()}-"


def remove_orphans(folder: Path, suffix: str | tuple[str, ...]) -> list[Path]:
    """Remove the scratch files (named by :func:`owned`, ending in ``suffix``) in ``folder`` whose process, on
    this host and in this process's pid namespace, is gone; returns them. A live writer's file, and another
    host's or container's, stay."""
    removed = []
    try:
        names = [p for p in folder.iterdir() if p.name.endswith(suffix)]
    except FileNotFoundError:
        return removed
    for path in names:
        m = _OWNED.search(path.name)
        if m and m["host"] == HOST and not _alive(int(m["pid"])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def atomic_write(target: Path, data: bytes) -> None:
    with replacing(target) as tmp:
        tmp.write_bytes(data)


def out_of_space(e: BaseException) -> str | None:
    """What ran out, when ``e`` is a write that failed for want of space, whichever library raised it."""
    if isinstance(e, OSError) and e.errno in NO_SPACE:
        return NO_SPACE[e.errno]
    text = str(e)
    for code, reason in NO_SPACE.items():
        if f"os error {code})" in text or f'"errno":"{code}"' in text or os.strerror(code) in text:
            return reason
    return None
