"""Which keys of an extract occur more than once, in bounded memory.

The columnar reader hands over each block's KPJs (as int64). They are spilled by
hash bucket into temporary files (8 bytes a row on disk), and at the end each
bucket is sorted on its own, so memory stays at about 1/BUCKETS of the keys
(under 6 MiB for a national month of 45 million rows, plus the 8 MiB of keys
held before each spill) instead of growing with the
file, and no scan of the loaded table is needed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

BUCKETS = 64
SPILL_KEYS = 1 << 20  # 8 MiB of keys held before they are written out


class RepeatedKeys:
    def __init__(self) -> None:
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
        keys = np.concatenate(self._pending)
        self._pending, self._pending_count = [], 0
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="cakupan-keys-")
            self._files = [path.open("wb") for path in self._paths()]
        bucket = (keys % BUCKETS).astype(np.uint8)  # small integers: numpy's radix sort
        ordered = keys[np.argsort(bucket, kind="stable")]
        bounds = np.cumsum(np.bincount(bucket, minlength=BUCKETS))[:-1]
        for file, part in zip(self._files, np.split(ordered, bounds), strict=True):
            part.tofile(file)

    def repeated(self) -> list[int]:
        """The keys added more than once, ascending."""
        self._spill()
        if self._dir is None:
            return []
        for file in self._files:
            file.close()
        found: list[int] = []
        for path in self._paths():
            keys = np.fromfile(path, np.int64)
            keys.sort()
            found += np.unique(keys[1:][keys[1:] == keys[:-1]]).tolist()
        return sorted(found)

    def close(self) -> None:
        for file in self._files:
            file.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
