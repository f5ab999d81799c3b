"""Writing a file so that readers see the old one or the whole new one, and a failure leaves nothing behind.

Each write goes to its own temporary file beside the target (a unique name: two processes landing the same
file never share one) and is renamed over the target. On any failure the temporary file is removed before the
error goes on, and a write that failed for want of space (a full disk, a quota, a file-size limit) becomes a
one-line ``WriteError`` naming the file: Polars and DuckDB report those in their own exception types.
"""

from __future__ import annotations

import errno
import os
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
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
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
