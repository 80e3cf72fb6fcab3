"""Which keys of an extract occur more than once, and how often, in bounded memory.

The columnar reader hands over each block's KPJs (one int64 a row) and NIK token keys
(two int64 a row). They are spilled by hash bucket into temporary files, and at the
end each bucket is sorted on its own, so memory stays at about 1/BUCKETS of the keys
(for a national month of 45 million rows: under 6 MiB of KPJs, or about 25 MiB of
token keys with their sort order, plus the million keys held before each spill)
instead of growing with the file, and no scan of the loaded table is needed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

BUCKETS = 64
SPILL_KEYS = 1 << 20  # 8 MiB of keys held before they are written out


class RepeatedKeys:
    """`width`: int64 words per key (1: a KPJ; 2: a token key, columnar.token_keys)."""

    def __init__(self, width: int = 1) -> None:
        self.width = width
        self._dir: tempfile.TemporaryDirectory | None = None
        self._files: list = []
        self._pending: list[np.ndarray] = []
        self._pending_count = 0

    def __enter__(self) -> RepeatedKeys:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _paths(self) -> list[Path]:
        return [Path(self._dir.name) / f"{b:02d}.int64" for b in range(BUCKETS)]

    def add(self, keys: np.ndarray) -> None:
        if not len(keys):
            return
        # Spilled a million keys at a time: fewer, larger writes.
        self._pending.append(keys)
        self._pending_count += len(keys)
        if self._pending_count >= SPILL_KEYS:
            self._spill()

    def _spill(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate(self._pending).reshape(-1, self.width)
        self._pending, self._pending_count = [], 0
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="cakupan-keys-")
            self._files = [path.open("wb") for path in self._paths()]
        bucket = (keys[:, 0] % BUCKETS).astype(np.uint8)  # small integers: numpy's radix sort
        ordered = keys[np.argsort(bucket, kind="stable")]
        bounds = np.cumsum(np.bincount(bucket, minlength=BUCKETS))[:-1]
        for file, part in zip(self._files, np.split(ordered, bounds), strict=True):
            part.tofile(file)

    def repeated(self) -> list[int]:
        """The keys added more than once, ascending."""
        return sorted(self.counts())

    def counts(self) -> dict[int, int]:
        """How often each key added more than once was added. A key of two words is the
        integer of both, unsigned, the first most significant."""
        self._spill()
        if self._dir is None:
            return {}
        for file in self._files:
            file.close()
        found: dict[int, int] = {}
        for path in self._paths():
            keys = np.fromfile(path, np.int64).reshape(-1, self.width)
            first = np.sort(keys[:, 0])
            repeated_first = np.unique(first[1:][first[1:] == first[:-1]])
            if not len(repeated_first):
                continue
            # Only keys whose first word repeats can repeat: few, counted in full.
            rows = keys[np.isin(keys[:, 0], repeated_first)]
            values, times = np.unique(rows, axis=0, return_counts=True)
            for value, n in zip(values[times > 1], times[times > 1], strict=True):
                found[_as_int(value)] = int(n)
        return found

    def close(self) -> None:
        for file in self._files:
            file.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _as_int(words: np.ndarray) -> int:
    value = 0
    for word in words.tolist():
        value = (value << 64) | (word & (2**64 - 1))
    return value


def repeats_left(counts: dict[int, int], removed: list[int]) -> int:
    """Rows beyond the first of each repeated key, once the rows with the keys in
    `removed` (one entry a row, e.g. repeated KPJs dropped after COPY) are gone."""
    left = dict(counts)
    for key in removed:
        if key in left:
            left[key] -= 1
    return sum(n - 1 for n in left.values() if n > 1)
