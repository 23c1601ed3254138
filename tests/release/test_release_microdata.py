"""k-anonymous microdata: hierarchies from the standard, k-anonymity, information loss."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_release import random_table

from safelight.release.combos import CombinationCounts
from safelight.release.errors import ReleaseUsageError
from safelight.release.evaluate import counts_of_rows, evaluate
from safelight.release.microdata import anonymize, evaluation_view, hierarchy_for
from safelight.release.table import from_columns


def _multiset(codes: np.ndarray) -> list[tuple[tuple[int, ...], int]]:
    rows, counts = np.unique(codes, axis=0, return_counts=True)
    return sorted(zip(map(tuple, rows.tolist()), counts.tolist(), strict=True))


def _classes_ok(codes: np.ndarray, k: int) -> bool:
    _, inv, cnt = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    size = cnt[inv.ravel()]
    return bool(np.all((size >= k) | np.all(codes == 0, axis=1)))


def test_hierarchies_come_from_the_standard() -> None:
    age = hierarchy_for("ageBroad", ("0--8", "18--20", "48+"))
    assert age.names == ("band", "minor/adult", "blank")
    assert age.maps[1] == {"0--8": "minor", "18--20": "adult", "48+": "adult"}
    exact = hierarchy_for("age", ("7", "35"))
    assert exact.maps[1] == {"7": "0-8", "35": "30-38"} and exact.maps[2]["7"] == "minor"
    geo = hierarchy_for("citizenship", ("UA", "PH", "unknown0"))
    assert geo.maps[1]["UA"] == "Eastern Europe" and geo.maps[2]["UA"] == "Europe"
    assert geo.maps[1]["PH"] == "South-eastern Asia" and geo.maps[2]["unknown0"] == "unknown0"
    sec = hierarchy_for("Labor_Type", ("Agriculture", "Aquafarming", "Domestic Work"))
    assert sec.maps[1]["Agriculture"] == sec.maps[1]["Aquafarming"] == "ISIC A"
    assert hierarchy_for("yearOfRegistration", ("2012", "2016")).maps[1]["2016"] == "2015-2019"
    flag = hierarchy_for("isForcedLabour", ("yes", "no"))  # "no" is not Norway
    assert flag.names == ("value", "blank")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [3, 11])
def test_every_class_has_k_rows_and_nothing_leaks(seed: int, k: int) -> None:
    t = random_table(seed, n=600, cards=(3, 5, 4, 2, 6))
    an = anonymize(t, k)
    assert an.table.n_rows == t.n_rows
    assert _classes_ok(an.table.codes, k)
    view = evaluation_view(an.table, t)
    truth = CombinationCounts.of(t, 3)
    ev = evaluate(t, counts_of_rows(view, 3), k, 3, released_rows=view, true_counts=truth)
    assert ev.total("leaked") == 0 and ev.total("fabricated") == 0
    assert 0 <= an.information_loss <= 1
    # only blanking and generalising: every kept value is the row's own
    same = an.table.codes == 0
    assert np.all(same | (an.table.codes > 0))


def test_generalisation_is_chosen_when_it_costs_less() -> None:
    # exact ages are all distinct-ish: bands keep far more than blanking every age
    rng = np.random.default_rng(0)
    ages = rng.integers(0, 70, 400).astype(str).tolist()
    t = from_columns({"age": ages, "gender": rng.choice(["Female", "Male"], 400).tolist()})
    an = anonymize(t, 5)
    assert an.levels["age"] in ("band", "minor/adult")
    assert _classes_ok(an.table.codes, 5)
    assert an.suppressed_records < 0.2 * t.n_rows


def test_quasi_identifiers_and_errors() -> None:
    t = random_table(1, n=300)
    an = anonymize(t, 5, ["col0", "col1"])
    # non-QIs untouched (as a multiset of rows: the release is in a random order)
    assert _multiset(an.table.codes[:, 2:]) == _multiset(t.codes[:, 2:])
    assert _classes_ok(an.table.codes[:, :2], 5)
    with pytest.raises(ReleaseUsageError, match="no column"):
        anonymize(t, 5, ["nope"])
    with pytest.raises(ReleaseUsageError):
        anonymize(t, 1)
