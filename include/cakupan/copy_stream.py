"""COPY FROM STDIN that never sends row text to the server.

When the block under `cursor.copy()` raises, psycopg ends the COPY with the Python
exception's text as the failure message ("error from Python: ..."), and the server
writes that message to its log. Arrow's and csv's errors quote the row they failed
on, which holds NIKs, names and birth dates. Every COPY of the loader goes through
`copy_from_stdin`, which ends a failed COPY with the exception's class name only
and re-raises the original exception to the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CopyAborted(Exception):
    """Stands in for the real error towards the server; its text is only its class."""

    def __init__(self, cause: BaseException):
        super().__init__(type(cause).__name__)


@contextmanager
def copy_from_stdin(cursor, statement, **kwargs) -> Iterator:
    """cursor.copy(statement, **kwargs), aborted with no row text if the block raises."""
    try:
        with cursor.copy(statement, **kwargs) as copy:
            try:
                yield copy
            except BaseException as exc:
                raise CopyAborted(exc) from exc
    except CopyAborted as aborted:
        raise aborted.__cause__ from None
