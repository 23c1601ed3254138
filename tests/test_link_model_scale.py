"""The model's estimation choices that keep EM sharp as the input grows (issue 5, 1M × 1M)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.link import LinkSettings, link_records
from safelight.link.compare import FIELD_NAMES
from safelight.link.model import (
    COUNTRY_FIELDS,
    EM_COUNTRY_FIELDS,
    estimate_model,
    estimate_u,
    estimate_u_within,
)
from safelight.link.pipeline import _u
from safelight.link.prepare import prepare


@pytest.fixture(scope="module")
def table():
    r = generate_linkage_pairs(1500, 1500, seed=3)
    return pa.concat_tables([r.left, r.right.cast(r.left.schema)])


@pytest.fixture(scope="module")
def records(table):
    return prepare(table, parallel=False)


def test_names_agree_more_often_among_compatriots(records):
    across = records.codes.column["contributor"]
    u = estimate_u(records, n_pairs=50_000, across=across)
    within = estimate_u_within(records, u, n_pairs=50_000, across=across,
                               country_fields=COUNTRY_FIELDS + EM_COUNTRY_FIELDS)
    for f in EM_COUNTRY_FIELDS:
        j = FIELD_NAMES.index(f)
        assert within[j][1] > 2 * u[j][1]  # exact agreement of a name
    # the default keeps the names' u of random pairs, and the same seed gives the places the
    # same u whatever else is measured among compatriots
    plain = estimate_u_within(records, u, n_pairs=50_000, across=across)
    for j, f in enumerate(FIELD_NAMES):
        expect = u[j] if f not in COUNTRY_FIELDS else within[j]
        np.testing.assert_allclose(plain[j], expect)


def test_em_u_is_used_by_em_and_the_model_scores_with_u(table, records):
    s = LinkSettings(two_source=True, workers=1, u_sample_pairs=50_000)
    score_u, em_u = _u(records, s)
    for j, f in enumerate(FIELD_NAMES):
        if f in EM_COUNTRY_FIELDS:
            assert em_u[j][1] > score_u[j][1]
        else:
            np.testing.assert_allclose(em_u[j], score_u[j])
    res = link_records(table, s)
    cand = res.comparisons
    plain = estimate_model(records, cand, u=score_u)
    with_em_u = estimate_model(records, cand, u=score_u, em_u=em_u)
    for j in range(len(FIELD_NAMES)):
        np.testing.assert_allclose(with_em_u.model.u[j], score_u[j])
    # compatriots' name agreement no longer passes for evidence: fewer pairs taken for matches
    assert with_em_u.model.prior < plain.model.prior
    assert any(not np.allclose(x, y) for x, y in zip(with_em_u.model.m, plain.model.m,
                                                     strict=True))
