"""Small generated tables for the release tests (made by the tests' own code)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from safelight.release.table import CategoricalTable, from_columns


def exact_two_way(t: CategoricalTable) -> dict[tuple[int, ...], np.ndarray]:
    """The true 2-way marginals of ``t`` as the dense vectors a DP measurement holds (one cell
    per combination of present values), by column pair: a noise-free stand-in for tests."""
    from safelight.release.combos import CombinationCounts, subsets
    from safelight.release.dp import cell_keys

    noisy = {}
    for s in subsets(t.n_columns, 2):
        keys, counts = CombinationCounts.of(t, 2).tables[s]
        dense = np.zeros(len(cell_keys(t.radix, s)))
        dense[np.searchsorted(cell_keys(t.radix, s), keys)] = counts
        noisy[s] = dense
    return noisy


def random_table(seed: int, n: int = 300, cards: tuple[int, ...] = (3, 4, 5, 2),
                 missing: float = 0.05, skew: float = 1.3) -> CategoricalTable:
    """Correlated categorical columns with skewed values (so rare combinations exist)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list[str]] = {}
    base = rng.zipf(skew + 0.5, size=n) % 7
    for j, c in enumerate(cards):
        w = 1.0 / np.arange(1, c + 1) ** skew
        w /= w.sum()
        v = rng.choice(c, size=n, p=w)
        tie = rng.random(n) < 0.4
        v = np.where(tie, base % c, v)
        vals = [f"c{j}v{x}" for x in v]
        for i in np.flatnonzero(rng.random(n) < missing):
            vals[i] = ""
        cols[f"col{j}"] = vals
    return from_columns(cols)


@st.composite
def categorical_tables(draw, *, cols: tuple[int, int] = (1, 4), rows: tuple[int, int] = (1, 120),
                       max_card: int = 5, zero: bool = True) -> CategoricalTable:
    """A hypothesis strategy: ``cols`` and ``rows`` ranges, up to ``max_card`` values per column
    plus missing (``""``) and, with ``zero``, the value ``"0"`` (a peer tool took it for missing)."""
    n_cols = draw(st.integers(*cols))
    n_rows = draw(st.integers(*rows))
    out = {}
    for j in range(n_cols):
        card = draw(st.integers(1, max_card))
        values = st.sampled_from([""] + [f"v{i}" for i in range(card)] + (["0"] if zero else []))
        out[f"c{j}"] = draw(st.lists(values, min_size=n_rows, max_size=n_rows))
    return from_columns(out)


def table_and_domain(tmp_path, n: int = 400):
    """A CSV table of :func:`random_table` (seed 4) and a domain file of its values, for the
    DP commands' tests."""
    import json

    from safelight.release.table import read_table, write_csv

    src = tmp_path / "t.csv"
    write_csv(random_table(4, n=n), src)
    t = read_table(src)
    dom = tmp_path / "domain.json"
    dom.write_text(json.dumps({c: list(t.values[j]) for j, c in enumerate(t.columns)}))
    return src, dom
