"""Errors that name the file (and where known the line and column) at fault."""

from __future__ import annotations


class ExtractError(Exception):
    """A file-level fault: the whole extract is refused and nothing is published."""

    def __init__(self, uri: str, cause: str, line: int | None = None, column: str | None = None):
        self.uri = uri
        self.cause = cause
        self.line = line
        self.column = column
        where = uri
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {cause}")


class ConfigurationError(Exception):
    """Missing or invalid configuration (connection, secret, setting)."""
