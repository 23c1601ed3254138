"""EM's birth-date m under a prior: namesakes in a small register are not matches with wrong
dates.

Trial of 2026-12-01 (a hub's data team, a few hundred records from a few dozen family names):
the birth date is learned on pairs with the same names, which namesakes fill in such a
register, and EM put 25-28% of the matches on "two different full dates" (-2 bits): a father
and son 41 years apart linked at p 0.999 and undated records chained people born years apart.
The default m now weighs as :data:`~safelight.link.model.M_PRIOR_MATCHES` matches in each M
step (:func:`safelight.link.model._em`).
"""

from __future__ import annotations

import numpy as np
import pytest

import safelight.link.model as model_mod
from safelight.link.compare import FIELDS
from safelight.link.default_m import default_m
from safelight.link.model import _em, _level_freqs

NAMES = list(FIELDS)
DATE = NAMES.index("birth_date")
PHONE = NAMES.index("phone")
DIFFERENT = len(FIELDS["birth_date"])  # the last level
EXACT = 1


def _session(matches: int, namesakes: int) -> np.ndarray:
    """Pairs with the same names (the session fixes them): matches with an exact date and the
    same phone, namesakes with different dates, half of them sharing a phone (a household)."""
    levels = np.zeros((matches + namesakes, len(NAMES)), dtype=np.int64)
    for f in ("given_name", "family_name"):
        levels[:, NAMES.index(f)] = 1
    levels[:matches, DATE] = EXACT
    levels[matches:, DATE] = DIFFERENT
    levels[:, PHONE] = 2  # different
    levels[:matches, PHONE] = 1
    levels[matches:matches + namesakes // 2, PHONE] = 1
    return levels


def _fit(levels: np.ndarray, prior: bool) -> np.ndarray:
    active = np.ones(len(NAMES), dtype=bool)
    active[[NAMES.index("given_name"), NAMES.index("family_name")]] = False
    u = [np.full(len(v) + 1, 1.0 / len(v)) for v in FIELDS.values()]
    u[DATE] = np.full(DIFFERENT + 1, 0.002)
    u[DATE][DIFFERENT] = 0.95
    u[PHONE] = np.array([0.0, 0.001, 0.999])
    init = [np.full(len(v) + 1, 1.0 / len(v)) for v in FIELDS.values()]
    tables = default_m(FIELDS)
    m_prior = [tables.get(f) if prior and f in model_mod.M_PRIOR_FIELDS else None
               for f in NAMES]
    m, _, _, _ = _em(levels, active, u, init, 200, 1e-7, FIELDS, m_prior=m_prior)
    return m[DATE]


def test_namesakes_in_a_small_session_do_not_teach_that_matches_differ_in_date():
    levels = _session(matches=150, namesakes=60)
    free, held = _fit(levels, prior=False), _fit(levels, prior=True)
    # without the prior, the household namesakes (same phone) pass for matches with wrong dates
    assert free[DIFFERENT] > 0.1
    assert held[DIFFERENT] < free[DIFFERENT] / 2
    assert np.log2(held[EXACT] / held[DIFFERENT]) > np.log2(free[EXACT] / free[DIFFERENT]) + 1


def test_a_large_session_keeps_its_own_estimate():
    levels = _session(matches=30_000, namesakes=12_000)
    free, held = _fit(levels, prior=False), _fit(levels, prior=True)
    assert np.abs(free[1:] - held[1:]).max() < 0.01


def test_the_prior_counts_as_so_many_matches():
    levels = np.full((100, 1), 1, dtype=np.int64)  # 100 matches on level 1 of a 2-level field
    fields = {"f": ("a", "b")}
    table = np.array([0.0, 0.2, 0.8])
    (got,) = _level_freqs(levels, np.ones(100), fields, [table], 100.0)
    # (100 + 0.5 + 100 * 0.2) / (100 + 1 + 100)
    assert got[1] == pytest.approx(120.5 / 201) and got[2] == pytest.approx(80.5 / 201)
    (none,) = _level_freqs(levels, np.ones(100), fields, [None], 100.0)
    assert none[1] == pytest.approx(100.5 / 101)


def test_the_plausibility_check_judges_the_fit_without_the_prior():
    """Review (2026-12-01): the prior lent every fit the default's date margin, so registers
    with nobody in common (and too few dates for the names to be fitted) passed for a linkage
    model; the check now reads the fit without it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from safelight.demo.linkage_pairs import generate_linkage_pairs
    from safelight.link.pipeline import LinkSettings, link_records

    p = generate_linkage_pairs(1500, 1500, seed=5, overlap=0.0)
    table, _ = p.combined()
    blank = pa.array(np.random.default_rng(5).random(table.num_rows) > 0.05)
    for c in ("birth_year", "birth_month", "birth_day"):
        i = table.schema.get_field_index(c)
        table = table.set_column(i, c, pc.if_else(blank, pa.scalar(None, table[c].type),
                                                  table[c]))
    res = link_records(table, LinkSettings(two_source=True, workers=1))
    assert res.em.fallback and "birth_date" in res.em.fallback
