"""A large file of one record per line, landed in pieces cut at line ends, so memory follows the piece.

``pieces`` yields the file itself or its pieces; ``parse_piece`` parses one and numbers its records as lines of
the whole file (an error names the file the user gave and the line in it).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.files import owned, remove_orphans
from pipelines.ingest.formats.base import InputError, Parsed, ParseContext
from pipelines.ingest.formats.lines import LineCounter
from pipelines.settings import Settings

# A file of one record per line (``InputFormat.line_records``) larger than this is landed in pieces of about
# this size, so memory follows the piece, not the file (a day of 10M calls is ~7 GB of JSON lines). Measured peaks:
# a clean 651 MB canonical log 1.0 GB; a 976 MB one with a bad line in its first piece (the line reader's path)
# 2.5 GB, 2.9 GB when landed whole; a 1.28 GB OTLP log 3.2 GB in 1 GB pieces.
PIECE_BYTES = 768 * 1024 * 1024


def pieces(path: Path, form, settings: Settings, sha: str, lines_in_file: int):
    """Yield (file to parse, lines before it, lines in it, output file stem): the file itself, or its pieces
    cut at line ends.

    Pieces are written under ``work/`` one at a time and removed after use. Their Parquet files are
    ``<sha>-<n>.parquet`` beside each other in the day partitions, so a re-landing overwrites them all.
    """
    if not getattr(form, "line_records", False) or path.stat().st_size <= PIECE_BYTES:
        yield path, 0, lines_in_file, sha[:24]
        return
    folder = settings.work / "pieces"
    folder.mkdir(parents=True, exist_ok=True)
    remove_orphans(folder, ".part")
    fd, name = tempfile.mkstemp(dir=folder, prefix=owned(sha[:24]), suffix=".part")  # two landings, two pieces
    os.close(fd)
    piece = Path(name)
    lines_before, index = 0, 0
    with open(path, "rb") as src, _removed(piece):
        while True:
            with open(piece, "wb") as out:
                size, counter = 0, LineCounter()
                while size < PIECE_BYTES:
                    block = src.read(min(1 << 20, PIECE_BYTES - size))
                    if not block:
                        break
                    out.write(block)
                    size += len(block)
                    counter.update(block)
                if size:
                    rest = src.readline()  # finish the line the piece ends in
                    out.write(rest)
                    counter.update(rest)
            if not size:
                break
            yield piece, lines_before, counter.lines, f"{sha[:24]}-{index:04d}"
            lines_before += counter.lines
            index += 1


@dataclass(frozen=True)
class Range:
    """Bytes [start, end) of a file, cut at line ends: its ``lines``, after ``lines_before`` lines of the file."""

    index: int
    start: int
    end: int
    lines_before: int
    lines: int
    whole: bool = False


MARK_BYTES = 1 << 20  # newline_marks: the newlines before each block of this size


def ranges(path: Path, newline_marks: list[int], lines: int, at_least: int) -> list[Range]:
    """The file cut at line ends into ``at_least`` ranges, or for a big file a multiple of it (none past
    ``PIECE_BYTES``), with the lines before each, from ``newline_marks`` (the file's newlines before each
    ``MARK_BYTES`` block, counted while it was hashed) and the few bytes between a mark and a cut.

    ``at_least`` is the number of cores the pieces run on: a multiple of it leaves no core idle while the last
    piece runs alone (a day of 10M calls, 6.5 GB: 10 pieces on 2 cores, not 9, of which the ninth alone)."""
    size = path.stat().st_size
    n = at_least * -(-max(at_least, -(-size // PIECE_BYTES)) // at_least)
    cuts = [0]
    with open(path, "rb") as f:
        for i in range(1, n):
            f.seek(max(size * i // n, cuts[-1]))
            f.readline()  # to the end of the line the cut falls in
            if (at := f.tell()) < size and at > cuts[-1]:
                cuts.append(at)
        cuts.append(size)
        before = []
        for cut in cuts[:-1]:
            block = cut // MARK_BYTES
            f.seek(block * MARK_BYTES)
            before.append(newline_marks[block] + f.read(cut - block * MARK_BYTES).count(b"\n"))
    before.append(lines)
    return [Range(i, a, b, before[i], before[i + 1] - before[i], whole=len(cuts) == 2)
            for i, (a, b) in enumerate(zip(cuts, cuts[1:]))]


@contextmanager
def piece_file(path: Path, piece: Range, folder: Path):
    """A file holding just the range (the file itself when the range is all of it), removed after use."""
    if piece.whole:
        yield path
        return
    folder.mkdir(parents=True, exist_ok=True)
    remove_orphans(folder, ".part")
    fd, name = tempfile.mkstemp(dir=folder, prefix=owned(f"{piece.index:04d}"), suffix=".part")
    copy = Path(name)
    with _removed(copy):
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            _copy_range(src, dst, piece.start, piece.end)
        yield copy


def _copy_range(src, dst, start: int, end: int) -> None:
    if not hasattr(os, "copy_file_range"):  # not Linux: through Python
        src.seek(start)
        while start < end and (block := src.read(min(1 << 20, end - start))):
            dst.write(block)
            start += len(block)
        return
    while start < end:  # the kernel copies: no pass through Python
        copied = os.copy_file_range(src.fileno(), dst.fileno(), end - start, start)
        if not copied:
            raise OSError(f"{src.name}: could not copy bytes {start}..{end}")
        start += copied


@contextmanager
def _removed(path: Path):
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def parse_piece(form, piece: Path, path: Path, ctx: ParseContext, lines_before: int) -> Parsed:
    """The piece parsed, its record numbers as line numbers of the whole file."""
    if piece == path:
        return form.parse(path, ctx)
    try:
        return _shifted(form.parse(piece, ctx), lines_before)
    except InputError as e:  # name the file the user gave, and the line in it
        raise InputError(path, e.reason, e.record + lines_before if e.record else e.record, e.field) from e


def _shifted(parsed, lines_before: int):
    """A piece's record numbers as line numbers of the whole file."""
    if not lines_before:
        return parsed
    shift = lambda df, col: df.with_columns(pl.col(col) + lines_before) if col in df.columns else df  # noqa: E731
    parsed.rows = shift(parsed.rows, "_record")
    parsed.quarantine = shift(parsed.quarantine, "record")
    parsed.extra = {t: shift(df, "_record") for t, df in parsed.extra.items()}
    return parsed
