"""Expected problems, and how the command line reports them: one line on stderr, a non-zero exit, no traceback.

``UserError`` is the base of every error the code raises for something the user can fix (a config key, a
missing home, a refused query, a pull that cannot go on). DuckDB's and the operating system's errors that a
user meets (a warehouse another process holds open read-write, a full disk) are said on one line too.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class UserError(Exception):
    """An expected problem: the message is the whole story, on one line."""


@dataclass
class Failure:
    code: int = 0


def describe_duckdb_error(e: Exception) -> str:
    """DuckDB's message on one line; a lock held by another process says which process and what to do."""
    text = " ".join(str(e).split())
    held = re.search(r'lock on file "([^"]+)": Conflicting lock is held in (\S+) \(PID (\d+)\)', text)
    if held:
        path, program, pid = held.groups()
        return (f"{path} is open read-write in another process (PID {pid}, {program.rsplit('/', 1)[-1]}); "
                "close that connection, or open the warehouse with read_only=True there")
    return text.split(" See also ")[0]


def describe_os_error(e: OSError) -> str:
    where = f"{e.filename}: " if e.filename else ""
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"{where}{e.strerror}: free some space and run it again (partial files were removed)"
    return f"{where}{e.strerror or e}"


@contextmanager
def one_line_errors() -> Iterator[Failure]:
    """Turn the expected failures of a command into one line on stderr and an exit code in ``Failure.code``."""
    import duckdb

    failure = Failure()
    try:
        yield failure
    except UserError as e:
        failure.code = 2
        _say(" ".join(str(e).split()))
    except duckdb.Error as e:
        failure.code = 1
        _say(describe_duckdb_error(e))
    except OSError as e:
        failure.code = 1
        _say(describe_os_error(e))
    except KeyboardInterrupt:
        failure.code = 130
        _say("interrupted")


def _say(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
