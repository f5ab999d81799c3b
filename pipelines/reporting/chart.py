"""The digest's spend chart as a PNG, for mail clients that show images attached by Content-ID.

Gmail and Outlook drop scripts, SVG and ``data:`` URIs but show a PNG attached to the message and referenced as
``cid:…``. The chart is bars only (the numbers and labels are in the HTML around it), so it needs no plotting
library: the image is a few solid rectangles, written with ``zlib`` as PNG's filter-0 scanlines.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from decimal import Decimal

WIDTH, HEIGHT = 600, 140
BACKGROUND = (255, 255, 255)
BAR = (84, 174, 255)
LAST = (9, 105, 218)
AXIS = (208, 215, 222)


def bars_png(values: Sequence[Decimal | float], width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A bar per value, oldest left, the last one darker; heights scaled to the largest value."""
    n = max(len(values), 1)
    top = max((float(v) for v in values), default=0.0) or 1.0
    slot = width / n
    gap = max(1, int(slot * 0.2))
    rows = [bytearray(BACKGROUND * width) for _ in range(height)]
    for i, v in enumerate(values):
        h = round((height - 2) * max(float(v), 0.0) / top)
        x0, x1 = int(i * slot) + gap // 2, int((i + 1) * slot) - (gap - gap // 2)
        colour = bytes(LAST if i == len(values) - 1 else BAR)
        for y in range(height - 1 - h, height - 1):
            rows[y][3 * x0 : 3 * x1] = colour * (x1 - x0)
    rows[height - 1][:] = bytes(AXIS) * width
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    return _png(width, height, raw)


def _png(width: int, height: int, scanlines: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines, 9)) + chunk(b"IEND", b"")
