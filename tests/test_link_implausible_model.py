"""A fitted model in which agreeing on a name or birth date counts no more than disagreeing is
dropped for the default m (two registers that share no one: EM fits coincidences)."""

from __future__ import annotations

import numpy as np

import safelight.link.model as model_mod
from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.link.compare import FIELDS
from safelight.link.default_m import default_m
from safelight.link.model import MIN_EXACT_MARGIN, MIN_M_MARGIN, implausible_fields
from safelight.link.pipeline import LinkSettings, link_records


def _table(name: str, exact: tuple[float, float], different: tuple[float, float]):
    """(m, u) of every field at the initial guess, with ``name``'s exact and different levels
    set to the given (m, u)."""
    m, u = [], []
    for field, levels in FIELDS.items():
        k = len(levels)
        mf = np.r_[0.0, np.full(k, 1.0 / k)]
        uf = np.r_[0.0, np.full(k, 1.0 / k)]
        mf[1], uf[1] = (0.9, 0.01) if field != name else exact
        mf[k], uf[k] = (0.02, 0.9) if field != name else different
        m.append(mf)
        u.append(uf)
    return m, u


def _levels(name: str) -> np.ndarray:
    """Candidate levels in which every field shows both its exact and its different level."""
    last = np.array([len(v) for v in FIELDS.values()])
    return np.vstack([np.ones(len(FIELDS), np.int8), last.astype(np.int8)])


def test_the_fitted_tables_of_unrelated_registers_are_caught():
    # measured on 25,000 x 25,000 unrelated demo records: family name exact m 0.0323 u 0.0476,
    # different m 0.9018 u 0.9050 (exact -0.56 bits, different -0.01)
    m, u = _table("family_name", (0.0323, 0.0476), (0.9018, 0.9050))
    assert implausible_fields(m, u, FIELDS, _levels("family_name")) == ["family_name"]
    # a sound table passes, and a field no pair compares on both levels is not judged
    m, u = _table("family_name", (0.80, 0.01), (0.10, 0.95))
    assert implausible_fields(m, u, FIELDS, _levels("family_name")) == []
    assert MIN_EXACT_MARGIN > 0
    m, u = _table("birth_date", (0.05, 0.05), (0.5, 0.5))
    only_exact = np.ones((3, len(FIELDS)), np.int8)
    assert implausible_fields(m, u, FIELDS, only_exact) == []
    assert implausible_fields(m, u, FIELDS, _levels("birth_date")) == ["birth_date"]


def test_an_implausible_fit_falls_back_to_the_default_m(monkeypatch):
    p = generate_linkage_pairs(400, 400, seed=1)
    table, person = p.combined()
    monkeypatch.setattr(model_mod, "implausible_fields",
                        lambda m, u, fields, levels: ["family_name"])
    res = link_records(table, LinkSettings(two_source=True, workers=1))
    sessions = res.em.sessions
    assert sessions and all(not s["fit_m"] for s in sessions)
    assert all(s["fallback"] == "implausible m: family_name" for s in sessions)
    assert res.em.fallback == "implausible m: family_name"
    assert len({s["session"] for s in sessions}) == len(sessions)  # each session once
    defaults = default_m(FIELDS)
    fam = list(FIELDS).index("family_name")
    assert np.allclose(res.em.model.m[fam], defaults["family_name"])
    # the default m still links most of a 400 x 400 problem's true pairs
    c, linked = res.comparisons, res.linked
    tp = int((linked & (person[c.a] == person[c.b])).sum())
    assert tp / p.true_pairs > 0.85 and tp / max(int(linked.sum()), 1) > 0.9


def test_a_fit_whose_matches_rarely_share_the_given_name_is_caught():
    # measured on 1,500 x 1,500 generated registers with nobody in common: EM's "matches" were
    # relatives (same family name and address), who share the given name in 5% of pairs and
    # differ in 69%; u still gives the exact level a lead of 3.6 bits, so only m tells
    m, u = _table("given_name", (0.0519, 0.00621), (0.6899, 0.9716))
    assert np.log2(0.0519 / 0.00621) - np.log2(0.6899 / 0.9716) > MIN_EXACT_MARGIN
    assert implausible_fields(m, u, FIELDS, _levels("given_name")) == ["given_name"]
    # FEBRL3's given name, the narrowest genuine fit measured (m margin 2.2 bits), passes
    m, u = _table("given_name", (0.70, 0.006), (0.15, 0.97))
    assert np.log2(0.70 / 0.15) > MIN_M_MARGIN
    assert implausible_fields(m, u, FIELDS, _levels("given_name")) == []


def test_registers_that_share_no_one_get_few_links():
    # 3,000 x 3,000 generated records, nobody in both: 41 links before the m-margin rule, 5 after
    p = generate_linkage_pairs(3000, 3000, seed=1, overlap=0.0)
    table, _ = p.combined()
    res = link_records(table, LinkSettings(two_source=True))
    assert int(res.linked.sum()) <= 15
