"""The columnar reader's blocks: whole lines, counted once, and a carriage return
anywhere but before a line feed sends the file to the per-row reader."""

from __future__ import annotations

import io

import pytest

from cakupan.readers import NotColumnar, _line_blocks, _line_ends


@pytest.mark.parametrize(
    ("block", "lines"),
    [
        (b"a,b\n1,2\n", 2),
        (b"a,b\r\n1,2\r\n", 2),
        (b"a,b\r\n1,2", 2),  # the last line of a file without its line end
        (b"\n\n\n", 3),  # blank lines stay lines, so row numbers stay line numbers
    ],
)
def test_line_ends_counts_lines(block, lines):
    assert _line_ends(block) == lines


@pytest.mark.parametrize("block", [b"a\rb\n", b"a,b\r\n1\r,2\r\n", b"\ra\n", b"a\r\r\n"])
def test_line_ends_refuses_a_carriage_return_inside_a_line(block):
    with pytest.raises(NotColumnar, match="carriage return inside a line"):
        _line_ends(block)


def test_blocks_end_at_line_ends_and_carry_their_counts():
    text = b"".join(b"%d,x\r\n" % i for i in range(1000)) + b"1000,x"
    blocks = list(_line_blocks("f.csv", io.BytesIO(text), 64, 1 << 20))
    assert b"".join(b for b, _ in blocks) == text
    assert all(b.endswith(b"\r\n") for b, _ in blocks[:-1])
    assert sum(n for _, n in blocks) == 1001
    assert [n for _, n in blocks] == [b.count(b"\n") + (not b.endswith(b"\n")) for b, _ in blocks]
