"""The compiled comparison kernel gives the NumPy code's counts and levels."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.identity.encode import encode_table, load_key, new_key, write_package
from safelight.link import encoded, kernels

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")


def test_and_counts_are_the_popcounts_of_the_gathered_rows() -> None:
    rng = np.random.default_rng(11)
    wide = rng.integers(0, 2**63, size=(50, 16)).view(np.uint64)
    other = rng.integers(0, 2**63, size=(50, 16)).view(np.uint64)
    one = rng.integers(0, 2**63, size=(50, 1)).view(np.uint64)
    a, b = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
    got = kernels.and_counts((wide, wide, one), (wide, other, one), a, b)
    for t, (x, y) in enumerate(((wide, wide), (wide, other), (one, one))):
        assert (got[:, t] == np.bitwise_count(x[a] & y[b]).sum(axis=1)).all()
    with pytest.raises(ValueError, match="same width"):
        kernels.and_counts((wide,), (one,), a, b)
    for bad in (np.array([50]), np.array([-1])):  # never a silent read outside the matrix
        with pytest.raises(IndexError):
            kernels.and_counts((wide,), (wide,), bad, np.array([0]))
        with pytest.raises(IndexError):
            kernels.and_counts((wide,), (wide,), np.array([0]), bad)


def test_compiled_and_numpy_comparisons_give_the_same_levels(monkeypatch) -> None:
    """Encoded demo records compared both ways: identical levels and swaps."""
    p = generate_linkage_pairs(300, 300, seed=4)
    with tempfile.TemporaryDirectory() as tmp:
        new_key(Path(tmp) / "key")
        key = load_key(Path(tmp) / "key")
        paths = []
        for name, t in (("left", p.left), ("right", p.right)):
            paths.append(Path(tmp) / f"{name}.enc")
            write_package(encode_table(t, key, contributor=name), paths[-1])
        er = encoded.read_packages(paths)
    rng = np.random.default_rng(2)
    a = rng.integers(0, 300, 5_000)
    b = rng.integers(300, 600, 5_000)
    a[:300], b[:300] = np.arange(300), np.arange(300, 600)  # true pairs among them too
    compiled = encoded.compare_encoded(er, a, b)
    monkeypatch.setattr(kernels, "and_counts", None)
    plain = encoded.compare_encoded(er, a, b)
    assert (compiled.levels == plain.levels).all() and (compiled.swapped == plain.swapped).all()
    assert len(np.unique(plain.levels[:, 0])) > 2  # the names vary: the test can fail
