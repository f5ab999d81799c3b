"""Writing a file so that readers see the old one or the whole new one, and a failure leaves nothing behind.

Each write goes to its own temporary file beside the target (a unique name: two processes landing the same
file never share one) and is renamed over the target; on any failure (a full disk included) the temporary
file is removed before the error goes on.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, data: bytes) -> None:
    with replacing(target) as tmp:
        tmp.write_bytes(data)
