"""Checked Arrow blocks as PostgreSQL binary COPY (pgpq encodes, in Rust).

The server then stores dates, booleans and small integers as they arrive instead of
parsing their text (benchmarks/RESULTS.md: its floor moved from 0.54x to 0.69x of a raw
COPY), and the encoding costs the loader a third of writing the same block as CSV. The
types come from the staging table itself (the DDL is the one source of truth): the
checked block's typed columns pass as they are, text is converted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

# PostgreSQL type (format_type) -> the Arrow type pgpq encodes as it. character(n)
# arrives as text: the server's bpchar input pads and checks the length.
_ARROW_TYPES = {
    "text": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
}


def _arrow_type(pg_type: str) -> pa.DataType:
    base = "text" if pg_type.startswith(("character", "text")) else pg_type
    try:
        return _ARROW_TYPES[base]
    except KeyError:
        raise TypeError(f"binary COPY: no Arrow encoding for PostgreSQL type {pg_type}") from None


def _as(array: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    """The column as the table's type: checked values pass as they are, the per-row
    parser's text (dates, numbers, t/f flags) is converted."""
    if array.type == arrow_type:
        return array
    if arrow_type == pa.bool_() and pa.types.is_string(array.type):
        return pc.equal(array, "t")  # the per-row parser writes flags as t/f
    return pc.cast(array, arrow_type)


def one_chunk(column: pa.ChunkedArray) -> pa.Array:
    """A column's values as one Arrow array, without copying a column that already is
    one chunk (combine_chunks copies it regardless)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


@dataclass
class BinaryCopy:
    """One COPY's encoder: the header, then each block, then the trailer."""

    schema: pa.Schema
    encoder: object = None

    @classmethod
    def for_table(cls, conn, table: sql.Composable, columns: list[str]) -> BinaryCopy:
        types = dict(
            conn.execute(
                sql.SQL(
                    "select attname, format_type(atttypid, atttypmod) from pg_attribute "
                    "where attrelid = {}::regclass and attnum > 0 and not attisdropped"
                ).format(sql.Literal(table.as_string(conn)))
            ).fetchall()
        )
        return cls(pa.schema([(c, _arrow_type(types[c])) for c in columns]))

    def typed(self, table: pa.Table) -> pa.Table:
        """The block (columns in COPY order, checked or text) in the table's types."""
        return pa.Table.from_arrays(
            [
                _as(one_chunk(col), field.type)
                for field, col in zip(self.schema, table.columns, strict=True)
            ],
            schema=self.schema,
        )

    def block(self, table: pa.Table) -> bytes:
        """The encoded rows of one block; the COPY header comes before the first."""
        import pgpq

        typed = self.typed(table)
        head = b""
        if self.encoder is None:
            self.encoder = pgpq.ArrowToPostgresBinaryEncoder(self.schema)
            head = bytes(self.encoder.write_header())
        return head + b"".join(bytes(self.encoder.write_batch(b)) for b in typed.to_batches())

    def trailer(self) -> bytes:
        if self.encoder is None:  # no block at all: the header, no rows, the trailer
            return EMPTY_COPY
        return bytes(self.encoder.finish())


# PostgreSQL's binary COPY format: signature, flags, header extension length, then the
# end-of-data marker (a field count of -1).
EMPTY_COPY = b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff"
