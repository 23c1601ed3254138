"""Certificates of non-determinacy (release/certificates.py): the complements the suppression's
linear audit takes for a cell that nearest-cell complements did not free."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.certificates import CellLookup, certificate, tied_cells
from safelight.release.suppression import build_system, linear_attack


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("length", [2, 3])
def test_certificate_frees_the_cell(seed: int, length: int) -> None:
    """Primary suppression alone: the linear attack recomputes small cells. Withholding one
    cell's certificate, and nothing else, leaves that cell undetermined — by the exact attack,
    with every other count of the system released."""
    t = random_table(seed, n=300)
    sy = build_system(t, length)
    lookup = CellLookup(sy, t.radix, t.codes)
    primary = ~sy.cell_missing & (sy.cell_count < 5)
    primary[0] = False
    released = ~sy.cell_missing & ~primary
    determined = np.flatnonzero(
        primary & linear_attack(sy, released, max_audit_unknowns=100_000).determined)
    assert len(determined) >= 1  # the test has teeth
    certified = 0
    for cell in determined[:25].tolist():
        withhold = certificate(lookup, cell, released, length)
        if withhold is None:
            continue
        certified += 1
        known = released.copy()
        known[withhold] = False
        assert not linear_attack(sy, known, max_audit_unknowns=100_000).determined[cell]
    assert certified >= min(len(determined), 25) * 0.8


def test_lookup_round_trip() -> None:
    t = random_table(0, n=200)
    sy = build_system(t, 3)
    lookup = CellLookup(sy, t.radix, t.codes)
    for cell in range(1, sy.n_cells, 37):
        cols, codes = lookup.values(cell)
        assert lookup.find(cols, codes[None, :])[0] == cell


def test_tied_cells_have_equal_counts() -> None:
    """Cells joined by a two-member equation (a parent with one child) are the same count."""
    t = random_table(2, n=200)
    sy = build_system(t, 3)
    for cell in range(1, sy.n_cells, 11):
        tied = tied_cells(sy, cell)
        assert cell in tied
        assert len(set(sy.cell_count[tied].tolist())) == 1


def test_audit_takes_a_certificate_for_a_cell_found_again(monkeypatch) -> None:
    """The audit's nearest complement did not free these cells (found in a second round);
    the certificate it then takes does: no cell is found a third time, and the exact attack
    recomputes no small cell of the release."""
    from safelight.release import suppression

    audits: list = []
    real = suppression._AuditComplements

    def spy(*args):
        audits.append(real(*args))
        return audits[-1]

    monkeypatch.setattr(suppression, "_AuditComplements", spy)
    for seed in (4, 9):
        sup = suppression.suppress(random_table(seed, n=300), 5, 3)
        assert max(audits[-1].times_found.values()) == 2
        la = linear_attack(sup.system, sup.released, max_audit_unknowns=100_000)
        assert not np.any(la.determined & sup.primary)


def test_rows_agreeing_on_a_wide_table() -> None:
    """30 columns of 5 values: the exact key of 29 of them would overflow 64 bits (it raised
    in a first version); rows agreeing outside one column are still found exactly."""
    from safelight.release.table import from_columns

    rng = np.random.default_rng(0)
    base = rng.integers(0, 4, (60, 30))
    rows = np.concatenate([base, base])  # every row twice ...
    rows[60:, 7] = (rows[60:, 7] + 1) % 4  # ... the copy differing in column 7
    t = from_columns({f"c{j}": [f"v{x}" for x in rows[:, j]] for j in range(30)})
    sy = build_system(t, 1)
    lookup = CellLookup(sy, t.radix, t.codes)
    for r in (0, 5, 61):
        got = set(lookup.rows_agreeing(r, 7).tolist())
        others = [j for j in range(30) if j != 7]
        want = set(np.flatnonzero(np.all(t.codes[:, others] == t.codes[r, others], axis=1))
                   .tolist())
        assert got == want and len(want) >= 2
