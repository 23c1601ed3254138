"""bench/linkage/year_chain.py: the statistical birth-year chain attack finds a chain that is
there and does not invent one that is not (hub-side key columns built by hand)."""

from __future__ import annotations

import collections

import numpy as np
import pyarrow as pa
import pytest
from bench_scripts import bench_module

YEARS = range(1970, 2000)


@pytest.fixture(scope="module")
def year_chain():
    with bench_module("bench/linkage/year_chain.py") as module:
        yield module


def _hub_keys(adjacent_documents: bool, seed: int = 0) -> tuple[pa.Table, np.ndarray]:
    """A hub's key columns: every year's records share family-year keys in pairs (so each year
    percolates into one class), the two years of a window share window keys, and — when
    ``adjacent_documents`` — a few people appear a year apart under one document key."""
    from safelight.identity.encode import BLOCKING_RULES

    rng = np.random.default_rng(seed)
    sizes = {y: 40 + 4 * min(y - 1970, 2000 - y) for y in YEARS}  # a peaked public shape
    years = np.concatenate([np.full(n, y) for y, n in sizes.items()])
    n = len(years)
    cols: dict[str, np.ndarray] = {f"bk_{r}": np.full(n, None, dtype=object)
                                   for r in BLOCKING_RULES}
    value = iter(rng.permutation(10 * n).tolist())
    for y in YEARS:
        idx = np.flatnonzero(years == y)
        for a, b in zip(idx[:-1], idx[1:], strict=True):  # a path through the year's records
            v = next(value)
            if cols["bk_family_year"][a] is None:
                cols["bk_family_year"][a] = v
                cols["bk_family_year"][b] = v
            else:
                cols["bk_given_year"][a] = v
                cols["bk_given_year"][b] = v
        for i in idx[::3]:
            cols["bk_sorted_names_year2"][i] = 7_000_000 + y // 2
        if adjacent_documents and y + 1 in sizes:
            nxt = np.flatnonzero(years == y + 1)
            for a, b in zip(rng.choice(idx, 4, replace=False), rng.choice(nxt, 4, replace=False),
                            strict=True):
                v = next(value)
                cols["bk_document"][a] = v
                cols["bk_document"][b] = v
    table = pa.table({c: pa.array(v.tolist(), type=pa.int64()) for c, v in cols.items()})
    return table, years


def test_the_attack_orders_year_classes_linked_by_a_yearless_key(year_chain):
    keys, years = _hub_keys(adjacent_documents=True)
    public = collections.Counter(years.tolist())
    (result,) = year_chain.attack(keys, years, public, {"document": ["document"]},
                                  weighting=("record",))
    assert result.classes == len(YEARS)
    assert result.chain_classes == len(YEARS)
    assert result.adjacent_steps == len(YEARS) - 1
    assert result.years_recovered_one_known_share == 1.0
    assert result.years_recovered_share > 0.9  # the peaked public shape anchors it


def test_without_cross_year_evidence_only_window_pairs_are_found(year_chain):
    keys, years = _hub_keys(adjacent_documents=False)
    public = collections.Counter(years.tolist())
    (result,) = year_chain.attack(keys, years, public, {"document": ["document"]},
                                  weighting=("record",))
    assert result.classes == len(YEARS)
    assert result.chain_classes == 2  # one window: its two years, in an unknown order
    assert result.years_recovered_one_known_share <= 2 * max(public.values()) / len(years)


def test_filter_separation_tells_same_year_filters_from_others(year_chain):
    rng = np.random.default_rng(1)
    years = np.repeat(np.arange(1980, 1990), 30)
    year_bits = {y: rng.choice(512, 48, replace=False) for y in range(1980, 1990)}
    filters = []
    for y in years:
        bits = np.zeros(512, dtype=np.uint8)
        bits[year_bits[y]] = 1
        bits[rng.choice(512, 40, replace=False)] = 1  # the rest of the date
        filters.append(np.packbits(bits).tobytes())
    sep = year_chain.filter_year_separation(filters, years, sample=300)
    assert sep["same_year_pairs_above"] > 0.9 and sep["other_pairs_above"] < 0.01
    shuffled = year_chain.filter_year_separation(filters, rng.permutation(years), sample=300)
    assert shuffled["same_year_pairs_above"] < 0.3  # no year in the bits: nothing to see
