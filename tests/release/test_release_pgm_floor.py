"""The k floor of the model (safelight.release.pgm): its final check, and that it holds even
when blanking one value pushes another combination under k (a cascade)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.domain import Domain, restrict
from safelight.release.dp import measure_for_model
from safelight.release.errors import ReleaseError
from safelight.release.pgm import Model, apply_floor, check_floor, fit_model, floor_violations


def _like(cards: tuple[int, ...] = (2, 2, 2)):
    raw = random_table(0, n=200, cards=cards)
    return raw.with_codes(np.zeros((0, raw.n_columns), np.int32))


def test_check_floor_names_the_violating_columns() -> None:
    like = _like()
    codes = np.array([[1, 1, 1], [1, 2, 1], [2, 2, 2]], np.int32)
    ok = Model(like, codes, np.array([20.0, 15.0, 12.0]))
    assert floor_violations(ok, 11.0, 2) == {}
    check_floor(ok, 11.0, 2)
    # (col0=1, col1=2) and (col1=2, col2=1) now have 9 < 11
    bad = Model(like, codes, np.array([20.0, 9.0, 12.0]))
    found = floor_violations(bad, 11.0, 2)
    assert found and all(len(s) <= 2 for s in found)
    with pytest.raises(ReleaseError, match="col0.*col1|col1.*col2"):
        check_floor(bad, 11.0, 2)
    # rows of zero weight carry nothing
    check_floor(Model(like, codes, np.array([20.0, 0.0, 12.0])), 11.0, 2)


def test_apply_floor_holds_after_a_cascade_of_blanking() -> None:
    """Blanking a value for one rare combination lowers the counts of the combinations it
    shared with other rows; the floor's last passes go on until none is under k."""
    raw = random_table(7, n=3000, cards=(5, 6, 4, 3), skew=0.6)
    dom = Domain({c: raw.values[j] + ("absent",) for j, c in enumerate(raw.columns)}, "test")
    t = restrict(raw, dom)[0]
    meas = measure_for_model(t, 1.0, 1e-6)
    model = fit_model(meas, iterations=60)
    assert floor_violations(model, 11.0, 3)  # the unfloored model has rare combinations
    for k in (11.0, 25.0):
        out = apply_floor(model, k, 3, meas.total, rounds=1, iterations=10)
        assert floor_violations(out, k, 3) == {}
        assert (out.weights > 0).any()
    with pytest.raises(ReleaseError, match="fit_model"):
        apply_floor(Model(model.like, model.codes, model.weights), 11.0, 3, meas.total)
