import os

import numpy as np

from cakupan import repeated_keys
from cakupan.repeated_keys import BUCKETS, RepeatedKeys, repeats_left


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


def test_two_word_keys_are_counted_in_full(monkeypatch):
    """Token keys (two words): keys sharing their first word but not their second are
    different keys; the counts are exact."""
    monkeypatch.setattr(repeated_keys, "SPILL_KEYS", 1_000)
    rng = np.random.default_rng(5)
    unique = rng.integers(-(2**63), 2**63 - 1, size=(20_000, 2), dtype=np.int64)
    twin = unique[10].copy()
    twin[1] += 1  # same first word, another key
    thrice, twice = unique[100], unique[15_000]
    with RepeatedKeys(width=2) as keys:
        for block in np.array_split(unique, 9):
            keys.add(block)
        keys.add(np.array([twin, thrice, thrice, twice]))
        counts = keys.counts()

    def as_int(words):
        return (int(words[0]) % 2**64) << 64 | int(words[1]) % 2**64

    assert counts == {as_int(thrice): 3, as_int(twice): 2}


def test_repeats_left_after_rows_were_removed():
    counts = {1: 3, 2: 2}
    assert repeats_left(counts, []) == 3
    assert repeats_left(counts, [2, 7, None]) == 2  # 2 no longer repeats; 7 never did
    assert repeats_left(counts, [1, 1, 2]) == 0
