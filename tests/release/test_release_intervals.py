"""k-aggregates, the interval method: SDS's grid with relative-error-optimal points, and the
interval (bounds) differencing audit within one release."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import categorical_tables, random_table
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from safelight.release.aggregates import aggregates_arrow, read_aggregates, release_aggregates
from safelight.release.combos import CombinationCounts, subsets
from safelight.release.errors import ReleaseError, ReleaseUsageError
from safelight.release.intervals import (
    Equations,
    WideningSearch,
    attacker_intervals,
    grid_interval,
    propagate,
    representative,
    widen_target,
)
from safelight.release.suppression import build_system
from safelight.release.table import CategoricalTable, from_columns


def attack(t: CategoricalTable, rel) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
    """The interval attack rebuilt from the release alone: published intervals matched to the
    cells of ``t``'s margins; returns the attacker's bounds, the small cells, the released
    mask and the cell system."""
    sy = build_system(t, rel.length)
    lo = np.zeros(sy.n_cells, np.int64)
    hi = np.zeros(sy.n_cells, np.int64)
    released = np.zeros(sy.n_cells, bool)
    if rel.total_interval is not None:
        released[0] = True
        lo[0], hi[0] = rel.total_interval
    for si, s in enumerate(sy.subsets[1:], start=1):
        a, b = sy.subset_start[si], sy.subset_start[si + 1]
        keys = rel.counts.tables[s][0]
        pos = np.searchsorted(sy.cell_key[a:b], keys)
        assert np.array_equal(sy.cell_key[a:b][pos], keys)
        released[a + pos] = True
        lo[a + pos], hi[a + pos] = rel.intervals[s]
    a_lo, a_hi = attacker_intervals(sy, released, lo, hi, rel.k)
    b = propagate(Equations(sy), a_lo, a_hi)
    small = ~sy.cell_missing & ~released
    return b, small, released, sy


def test_grid_and_points() -> None:
    lo, hi = grid_interval(np.array([11, 21, 22, 32, 33]), 11, 11)
    assert lo.tolist() == [11, 11, 22, 22, 33] and hi.tolist() == [21, 21, 32, 32, 43]
    pts = representative(lo, hi)
    assert np.all((lo <= pts) & (pts <= hi))
    # the 1/c-weighted median sits below the midpoint, and beats SDS's floor on average
    c = np.arange(11, 22)
    p = int(representative(np.array([11]), np.array([21]))[0])
    assert 11 < p < 16
    assert np.mean(np.abs(p - c) / c) < np.mean(np.abs(11 - c) / c) / 1.5
    with pytest.raises(Exception, match="under k"):
        grid_interval(np.array([3]), 11, 11)


def test_exact_counts_are_attacked_and_widened() -> None:
    """Teeth: with base 1 (exact counts) the attack recomputes the small cell; the audit then
    widens released intervals until it cannot, and still releases every combination >= k."""
    t = from_columns({"a": ["x"] * 40 + ["y"] * 30, "b": ["p"] * 37 + ["q"] * 3 + ["p"] * 30})
    plain = release_aggregates(t, k=5, length=2, rounding_base=1, audit=False)
    b, small, _, sy = attack(t, plain)
    pinned = small & (b.lo == b.hi) & (b.lo >= 1)
    assert pinned.any()
    assert np.all(sy.cell_count[pinned] == b.lo[pinned])  # it recovers the true count
    rel = release_aggregates(t, k=5, length=2, rounding_base=1)
    b, small, released, sy = attack(t, rel)
    assert not np.any(small & (b.hi - b.lo < 2))  # min_width (5 - 1) // 2 = 2
    assert not np.any(small & (b.lo >= 1))  # and not even shown to exist
    assert rel.audit.widened > 0
    truth = CombinationCounts.of(t, 2)
    common = sum(int(np.sum(c >= 5)) for c in (v[1] for v in truth.tables.values()))
    assert rel.counts.n_combinations() == common  # nothing >= k is withheld


def test_sds_grid_alone_shows_small_cells_exist() -> None:
    """SDS's grid never pins a cell through one equation, but the bounds attack does show small
    cells to be non-empty; the audit removes that where a widening can."""
    t = random_table(0, n=1000, cards=(3, 4, 5, 2, 3))
    plain = release_aggregates(t, k=6, length=3, audit=False)
    b, small, _, _ = attack(t, plain)
    before = int(np.sum(small & (b.lo >= 1)))
    rel = release_aggregates(t, k=6, length=3)
    b, small, _, _ = attack(t, rel)
    after = int(np.sum(small & (b.lo >= 1)))
    assert before > 0 and after == 0  # here every one of them can be hidden
    assert after == rel.audit.shown_nonempty
    assert rel.summary()["small_cells_shown_nonempty"] == after


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=categorical_tables(rows=(1, 150)), k=st.integers(3, 12), length=st.integers(1, 3),
       base=st.sampled_from([1, 2, 3, None]))
def test_no_release_below_k_and_no_small_cell_pinned(t, k, length, base) -> None:
    """Property: every released count is >= k and its interval holds the true count; every
    combination >= k is released (but those withheld as a last resort, counted); and the
    interval attack, rebuilt from the release alone,
    narrows no unreleased small cell to fewer than min_width + 1 values (so never pins one
    to a single non-zero value). On some tiny tables the audit cannot protect a small cell by
    widening or withholding anything and refuses the whole release (its documented
    ReleaseError: nothing is published, which is safe); only that refusal is accepted."""
    if t.n_rows < k:  # nothing but an empty file could be released
        with pytest.raises(ReleaseUsageError, match="fewer rows than k"):
            release_aggregates(t, k=k, length=length, rounding_base=base)
        return
    try:
        rel = release_aggregates(t, k=k, length=length, rounding_base=base)
    except ReleaseError as err:
        assert "nothing released can be widened or withheld" in str(err)
        event("refused: no widening or withholding protects a small cell")
        return
    truth = CombinationCounts.of(t, length)
    shown = common = 0
    for s in subsets(t.n_columns, length):
        keys, pts = rel.counts.tables[s]
        lo, hi = rel.intervals[s]
        true = truth.lookup(s, keys)
        assert np.all(pts >= k) and np.all(true >= k) and np.all(lo >= k)
        assert np.all((lo <= true) & (true <= hi)) and np.all((lo <= pts) & (pts <= hi))
        shown += len(keys)
        common += int(np.sum(truth.tables[s][1] >= k))
    total_withheld = int(rel.total is None and t.n_rows >= k)
    assert shown + rel.audit.withheld - total_withheld == common
    b, small, _, sy = attack(t, rel)
    assert np.all((b.lo <= sy.cell_count) & (sy.cell_count <= b.hi))  # the attack is sound
    min_width = max(1, (k - 1) // 2)
    assert not np.any(small & (b.hi - b.lo < min_width))
    assert not np.any(small & (b.lo == b.hi) & (b.lo >= 1))


def test_lp_attack_agrees_on_small_tables() -> None:
    """The stronger attacker (linear programming over the same equations and intervals) is
    checked on small tables: it pins no small cell either."""
    linprog = pytest.importorskip("scipy.optimize").linprog
    from scipy.sparse import csr_matrix

    for seed in range(3):
        t = random_table(seed, n=200, cards=(3, 3, 2))
        rel = release_aggregates(t, k=5, length=2, rounding_base=2)
        b, small, released, sy = attack(t, rel)
        a = csr_matrix((sy.member_coef, (sy.member_eq, sy.member_cell)),
                       shape=(sy.n_eq, sy.n_cells))
        # the attacker's starting intervals (bounds propagation's output is a valid start)
        bounds = list(zip(b.lo.tolist(), b.hi.tolist(), strict=True))
        for c in np.flatnonzero(small).tolist():
            v = np.zeros(sy.n_cells)
            v[c] = 1
            low = linprog(v, A_eq=a, b_eq=np.zeros(sy.n_eq), bounds=bounds, method="highs")
            high = linprog(-v, A_eq=a, b_eq=np.zeros(sy.n_eq), bounds=bounds, method="highs")
            assert low.status == 0 and high.status == 0
            assert -high.fun - low.fun >= 1 - 1e-6, (seed, c)


def test_csv_has_intervals_and_round_trips(tmp_path) -> None:
    from safelight.release.aggregates import write_aggregates

    t = random_table(2, n=300)
    rel = release_aggregates(t, k=5, length=2)
    rows = aggregates_arrow(rel).to_pylist()
    assert rows[0]["length"] == 0 and rows[0]["count_low"] <= t.n_rows <= rows[0]["count_high"]
    assert all(r["count_low"] <= r["count"] <= r["count_high"] for r in rows)
    assert all(r["count_low"] >= 5 for r in rows)
    back = read_aggregates(write_aggregates(rel, tmp_path / "aggregates.csv"), t)
    for s in subsets(t.n_columns, 2):
        k0, c0 = rel.counts.tables[s]
        if len(k0):
            np.testing.assert_array_equal(back.lookup(s, k0), c0)


def test_tiny_table_is_refused_and_a_table_of_k_rows_shows_its_total_only() -> None:
    """A table of fewer than k rows would release an empty file: refused (a new-user trial)."""
    t = from_columns({"a": ["x", "y", "x"]})
    with pytest.raises(ReleaseUsageError, match="fewer rows than k = 5"):
        release_aggregates(t, k=5, length=1)
    rel = release_aggregates(t, k=3, length=1)
    assert rel.total == 3 and rel.counts.n_combinations() == 0
    assert aggregates_arrow(rel).num_rows == 1


def test_interval_method_refuses_suppression_options() -> None:
    t = random_table(0, n=50)
    with pytest.raises(ReleaseUsageError, match="suppression method"):
        release_aggregates(t, k=5, method="intervals", rounding="down")
    with pytest.raises(ReleaseUsageError, match="unknown method"):
        release_aggregates(t, k=5, method="magic")
    # suppression-only options without a method still mean the suppression method
    assert release_aggregates(t, k=5, rounding="down").suppression is not None


def reference_widen_target(eqs: Equations, b, cell: int, end0: str, can_lo: np.ndarray,
                           can_hi: np.ndarray, weight: np.ndarray, max_depth: int = 6):
    """The breadth-first search of :func:`widen_target`, written plainly on the arrays (the
    search as first written, before it was rewritten on lists for speed)."""
    sy = eqs.system
    frontier, seen = [(cell, end0)], {(cell, end0)}
    for _ in range(max_depth):
        found, nxt = [], []
        for c, end in frontier:
            reason = int(b.lo_reason[c] if end == "lo" else b.hi_reason[c])
            if reason < 0:
                if (can_lo if end == "lo" else can_hi)[c]:
                    found.append((c, end))
                continue
            p = int(eqs.parent_of[reason])
            mem = sy.members(reason)
            kids = [int(x) for x in mem[mem != p]]
            flip = "hi" if end == "lo" else "lo"
            steps = [(x, end) for x in kids] if c == p else \
                [(p, end)] + [(x, flip) for x in kids if x != c]
            for s in steps:
                if s not in seen:
                    seen.add(s)
                    nxt.append(s)
        if found:
            return max(found, key=lambda ce: weight[ce[0]])
        frontier = nxt
        if not frontier:
            break
    return None


@pytest.mark.parametrize("seed", range(4))
def test_widening_search_matches_the_plain_search(seed: int) -> None:
    """Every exposed cell's widening target, from one :class:`WideningSearch` per bounds, is
    the plain search's (the rewrite on lists changed the speed, not the targets)."""
    t = random_table(seed)
    k = 5
    sy = build_system(t, 3)
    eqs = Equations(sy)
    released = ~sy.cell_missing & (sy.cell_count >= k)
    lo = np.zeros(sy.n_cells, np.int64)
    hi = np.zeros(sy.n_cells, np.int64)
    lo[released], hi[released] = grid_interval(sy.cell_count[released], k, 3)
    b = propagate(eqs, *attacker_intervals(sy, released, lo, hi, k))
    can_lo = released & (lo > k)
    weight = sy.cell_count.astype(float)
    search = WideningSearch(eqs, b, can_lo, released, weight)
    checked = 0
    for c in range(sy.n_cells):
        for end in ("lo", "hi"):
            want = reference_widen_target(eqs, b, c, end, can_lo, released, weight)
            assert search.target(c, end) == want
            assert widen_target(eqs, b, c, end, can_lo, released, weight) == want
            checked += want is not None
    assert checked > 50  # the searches found targets, not only None
