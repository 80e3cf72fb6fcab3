import os

import numpy as np

from cakupan import repeated_keys
from cakupan.repeated_keys import BUCKETS, RepeatedKeys


def test_finds_keys_repeated_across_blocks_and_cleans_up(monkeypatch):
    monkeypatch.setattr(repeated_keys, "SPILL_KEYS", 10_000)  # several spills, and a rest
    rng = np.random.default_rng(3)
    unique = rng.choice(10**11, size=50_000, replace=False).astype(np.int64)
    repeated = sorted(int(k) for k in unique[[5, 777, 40_000]])
    with RepeatedKeys() as keys:
        for block in np.array_split(unique, 7):
            keys.add(block)
        keys.add(np.array(repeated + [repeated[0]], np.int64))  # one of them three times
        keys.add(np.array([], np.int64))
        assert keys.repeated() == repeated
        spill = keys._dir.name
        assert len(os.listdir(spill)) == BUCKETS
    assert not os.path.exists(spill)  # temporary files removed


def test_no_keys_no_files():
    with RepeatedKeys() as keys:
        assert keys.repeated() == []
        assert keys._dir is None
    assert BUCKETS > 1
