"""The evaluation used by every release method, on hand-checked examples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from safelight.release.combos import CombinationCounts
from safelight.release.evaluate import counts_of_rows, evaluate, write_evaluation
from safelight.release.table import from_columns

SENSITIVE = from_columns({
    "a": ["x"] * 12 + ["y"] * 3 + [""] * 2,
    "b": ["p"] * 10 + ["q"] * 7,
})


def test_identity_release_has_no_error_but_leaks() -> None:
    ev = evaluate(SENSITIVE, counts_of_rows(SENSITIVE, 2), k=5, max_length=2,
                  released_rows=SENSITIVE)
    assert ev.errors() == [0.0, 0.0]
    one, two = ev.by_length
    assert one.common == 3 and one.leaked == 1  # a=y (3 people)
    # two-way: (x,p)=10 common, (x,q)=2, (y,q)=3 leaked
    assert two.common == 1 and two.leaked == 2
    assert ev.leaked_records == 5 and ev.leaked_release_rows == 5
    assert ev.total("fabricated") == 0


def test_error_loss_and_fabrication() -> None:
    fake = from_columns({"a": ["x"] * 6 + ["z"] * 5, "b": ["p"] * 11})
    # values unknown to the sensitive table cannot be keyed: build counts by hand instead
    truth = CombinationCounts.of(SENSITIVE, 2)
    released = CombinationCounts(truth.radix, 2, {
        (0,): (np.array([1]), np.array([6])),          # a=x: 6 of 12 -> error 0.5
        (1,): (np.array([1, 2]), np.array([10, 7])),   # exact
        (0, 1): (np.array([1 + 2 * 3]), np.array([4])),  # (x,q) true 2 -> leaked
    })
    ev = evaluate(SENSITIVE, released, k=5, max_length=2)
    one, two = ev.by_length
    assert one.common == 3 and one.lost == 0
    assert one.mean_relative_error == pytest.approx(0.5 / 3)
    assert two.common == 1 and two.lost == 1 and two.mean_relative_error == 1.0
    assert two.leaked == 1 and ev.leaked_records == 2
    assert fake.n_rows == 11


def test_written_files(tmp_path) -> None:
    ev = evaluate(SENSITIVE, counts_of_rows(SENSITIVE, 2), k=5, max_length=2)
    js, ht = write_evaluation(ev, tmp_path, "test <release>", {"k": 5})
    data = json.loads(js.read_text())
    assert data["k"] == 5 and len(data["by_length"]) == 2 and data["leaked"] == 3
    assert "test &lt;release&gt;" in ht.read_text()
