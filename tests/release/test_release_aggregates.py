"""k-aggregates, the suppression method: primary suppression, complementary suppression against
differencing attacks, rounding, the aggregates.csv round trip (the interval method, the default:
test_release_intervals.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.aggregates import (
    aggregates_arrow,
    read_aggregates,
    release_aggregates,
    round_counts,
    write_aggregates,
)
from safelight.release.combos import CombinationCounts, subsets
from safelight.release.errors import ReleaseUsageError
from safelight.release.suppression import build_system, linear_attack, propagation_attack
from safelight.release.table import from_columns


def _attack(rel) -> tuple[np.ndarray, np.ndarray]:
    """Both differencing attacks on the released cells (and the total)."""
    sy = rel.suppression.system
    known = rel.suppression.released
    by_propagation, _ = propagation_attack(sy, known)
    la = linear_attack(sy, known, max_audit_unknowns=5000)
    assert la.unaudited_cells == 0
    return by_propagation, la


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("length", [1, 2, 3])
def test_no_small_cell_can_be_recomputed(seed: int, length: int) -> None:
    """The differencing attack: recompute every withheld count from the released counts and
    the total, by chained single-unknown equations and by exact linear algebra. It must not
    recover any count under k (a complement, >= k, may be recovered: that discloses nothing)."""
    t = random_table(seed, n=250)
    rel = release_aggregates(t, k=5, length=length, method="suppress")
    sy = rel.suppression.system
    suppressed = rel.suppression.primary
    if length >= 2:
        assert rel.suppression.primary.any()  # the tables do have small cells
    by_propagation, la = _attack(rel)
    assert not np.any(by_propagation & suppressed)
    assert not np.any(la.determined & suppressed)
    # the attack is real: whatever it does determine, it recomputes exactly
    det = np.flatnonzero(la.determined)
    np.testing.assert_allclose(la.values[det], sy.cell_count[det], atol=1e-6)


def test_attack_breaks_primary_only_suppression() -> None:
    """Without complements the differencing attack recovers small cells (the test has teeth)."""
    t = from_columns({"a": ["x"] * 30 + ["y"] * 3, "b": ["p"] * 20 + ["q"] * 13})
    sy = build_system(t, 2)
    primary = ~sy.cell_missing & (sy.cell_count < 5)
    primary[0] = False
    known0 = ~sy.cell_missing & ~primary
    known, _ = propagation_attack(sy, known0)
    assert np.any(known & primary)
    rel = release_aggregates(t, k=5, length=2, method="suppress")
    sup = rel.suppression
    known, _ = propagation_attack(sup.system, sup.released)
    assert not np.any(known & sup.primary)
    assert rel.secondary > 0


@pytest.mark.parametrize("seed", range(4))
def test_nothing_below_k_and_released_counts_exact(seed: int) -> None:
    t = random_table(seed, n=400)
    k = 6
    rel = release_aggregates(t, k=k, length=3, method="suppress")
    truth = CombinationCounts.of(t, 3)
    for s, (keys, counts) in rel.counts.tables.items():
        assert np.all(counts >= k)
        np.testing.assert_array_equal(truth.lookup(s, keys), counts)
    # every true combination >= k is either released or withheld as a complement
    released = sum(len(k_) for k_, _ in rel.counts.tables.values())
    common = sum(int(np.sum(c >= k)) for _, c in truth.tables.values())
    assert released + rel.secondary >= common


def test_rounding() -> None:
    c = np.array([11, 12, 21, 22, 33])
    assert round_counts(c, "down", 11).tolist() == [11, 11, 11, 22, 33]
    assert round_counts(c, "nearest", 10).tolist() == [10, 10, 20, 20, 30]
    assert round_counts(np.array([3]), "nearest", 10).tolist() == [10]
    t = random_table(1, n=300)
    rel = release_aggregates(t, k=5, length=2, rounding="down", rounding_base=5)
    for _, (_, counts) in rel.counts.tables.items():
        assert np.all(counts % 5 == 0) and np.all(counts >= 5)


def test_csv_round_trip(tmp_path) -> None:
    t = random_table(2, n=300)
    rel = release_aggregates(t, k=5, length=2, method="suppress")
    path = write_aggregates(rel, tmp_path / "aggregates.csv")
    tbl = aggregates_arrow(rel)
    assert tbl.num_rows == rel.counts.n_combinations() + 1  # + the total
    back = read_aggregates(path, t)
    for s in subsets(t.n_columns, 2):
        k0, c0 = rel.counts.tables[s]
        if len(k0):
            np.testing.assert_array_equal(back.lookup(s, k0), c0)


def test_missing_is_not_a_value() -> None:
    t = from_columns({"a": ["x"] * 20 + [""] * 20, "b": ["p"] * 40})
    rel = release_aggregates(t, k=5, length=2, method="suppress")
    tbl = aggregates_arrow(rel).to_pylist()
    assert {"a": "x", "b": "p", "length": 2, "count": 20} in tbl
    assert all(r["length"] == sum(1 for c in ("a", "b") if r[c]) for r in tbl)


def test_bad_parameters() -> None:
    t = random_table(0, n=50)
    with pytest.raises(ReleaseUsageError):
        release_aggregates(t, k=1)
    with pytest.raises(ReleaseUsageError):
        release_aggregates(t, k=5, length=0)
    with pytest.raises(ReleaseUsageError):
        release_aggregates(t, k=5, rounding="up")


@pytest.mark.parametrize("seed", range(3))
def test_probe_audit_matches_dense_audit(seed: int) -> None:
    """Large components are audited by random null-space probes: same verdicts as the SVD."""
    from safelight.release.suppression import suppress

    t = random_table(seed, n=300)
    sup = suppress(t, 5, 3, audit=False)
    dense = linear_attack(sup.system, sup.released, max_audit_unknowns=100_000)
    probes = linear_attack(sup.system, sup.released, max_audit_unknowns=0)
    assert probes.unaudited_cells == 0
    np.testing.assert_array_equal(dense.determined, probes.determined)
    assert dense.determined.any()


def test_suppression_says_where_it_is(caplog) -> None:
    """k-release trial (2026-12-01): `--method suppress` ran for 15 minutes with nothing on its
    stage line; each round now logs what it found (the stage line shows the latest)."""
    from safelight.release.suppression import suppress

    with caplog.at_level("INFO", logger="safelight.release.suppression"):
        suppress(random_table(1, n=300), 5, 3)
    assert "round" in caplog.text and "linear audit, round" in caplog.text
