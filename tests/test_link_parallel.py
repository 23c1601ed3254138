"""Speed paths of the clear linkage give the same results as the plain ones: forked workers
(LinkSettings.workers), the phone shortcut through phonenumbers, term frequencies on codes,
small-vocabulary similarity matrices, field subsets in compare."""

from __future__ import annotations

import os
import random

import numpy as np
import phonenumbers
import pyarrow as pa
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.identity import normalise
from safelight.link import LinkSettings, compare, forked, link_records, pipeline
from safelight.link.model import TF_FIELDS, name_counts
from safelight.link.prepare import prepare

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="no fork start method here")


@pytest.fixture(scope="module")
def problem():
    r = generate_linkage_pairs(1500, 1500, seed=11)
    table = pa.concat_tables([r.left, r.right.cast(r.left.schema)])
    return table


def _square(x: int) -> int:
    return x * x


def _fail() -> None:
    raise ValueError("no good")


def _die() -> None:
    os._exit(3)


class _TwoArgs(Exception):
    """Pickles in the child, cannot be rebuilt (its __init__ takes two arguments)."""

    def __init__(self, kind: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _fail_unrebuildable() -> None:
    raise _TwoArgs(1, "cannot normalise 'Olena Shevchenko 1999-02-03'")


def _fail_unpicklable() -> None:
    class Local(Exception):  # a local class cannot be pickled
        pass
    raise Local("cannot normalise 'Olena Shevchenko 1999-02-03'")


@needs_fork
def test_forked_call_returns_its_value_and_its_cpu():
    job = forked.start("square", _square, 7)
    assert job.forked
    before = forked.workers_cpu()
    assert job.result() == 49
    assert job.result() == 49  # collected once, kept
    assert job.cpu >= 0.0 and forked.workers_cpu() >= before


@pytest.mark.parametrize("parallel", [pytest.param(True, marks=needs_fork), False])
def test_forked_call_raises_the_exception_of_the_call(parallel):
    job = forked.start("fail", _fail, parallel=parallel)
    with pytest.raises(ValueError, match="no good"):
        job.result()


@needs_fork
def test_a_worker_that_dies_is_reported_with_how_to_avoid_it():
    job = forked.start("die", _die)
    with pytest.raises(forked.ChildFailed, match="workers=1"):
        job.result()


@needs_fork
@pytest.mark.parametrize("fn", [_fail_unrebuildable, _fail_unpicklable])
def test_an_error_that_cannot_come_back_names_its_place_not_the_record_values(fn):
    job = forked.start("fail", fn)
    with pytest.raises(forked.ChildFailed) as info:
        job.result()
    message = str(info.value)
    assert "workers=1" in message and "test_link_parallel.py" in message
    for value in ("Olena", "Shevchenko", "1999"):
        assert value not in message


def test_serial_fallback_runs_the_call_at_once():
    calls = []
    job = forked.start("append", calls.append, 1, parallel=False)
    assert calls == [1] and not job.forked  # already ran, in this process
    assert job.result() is None


@needs_fork
@pytest.mark.parametrize("two_source", [True, False])
def test_two_workers_give_the_same_links_as_one(problem, monkeypatch, two_source):
    monkeypatch.setattr(pipeline, "_SPLIT_FROM", 100)  # split the comparison even here
    one = link_records(problem, LinkSettings(two_source=two_source, workers=1))
    two = link_records(problem, LinkSettings(two_source=two_source, workers=2))
    assert np.array_equal(one.comparisons.a, two.comparisons.a)
    assert np.array_equal(one.comparisons.levels, two.comparisons.levels)
    assert np.array_equal(one.comparisons.swapped, two.comparisons.swapped)
    assert np.array_equal(one.probabilities, two.probabilities)
    assert np.array_equal(one.labels, two.labels)
    assert one.em.model.to_dict() == two.em.model.to_dict()
    assert two.cpu["compare workers"] > 0 and two.cpu["estimate"] > 0
    assert "compare workers" not in one.cpu
    assert "workers" not in one.settings.to_dict()


def test_phone_shortcut_equals_the_full_parse():
    rng = random.Random(3)
    regions = ["UA", "RU", "US", "CA", "GB", "IT", "DE", "PL", "BR", "KZ", "AU", "ua", "XX", None]
    prefixes = ["", "0", "8", "810", "011", "380", "7", "1", "44", "39", "0011", "80"]
    inputs = {("+380501234567", None), ("0501234567", "UA"), ("380501234567", "UA"),
              ("89161234567", "RU"), ("81038050123456", "RU"), ("0039061234567", "IT"),
              ("0612345678", "IT"), ("01712345678", "DE"), ("6135550123", "CA"),
              ("0501234567", "ua"), ("12345", "GB")}
    for _ in range(3000):
        digits = rng.choice(prefixes) + "".join(rng.choice("0123456789")
                                                for _ in range(rng.randint(5, 13)))
        region = rng.choice(regions)
        inputs |= {(digits, region), ("+" + digits, region)}
    checked = 0
    for s, region in sorted(inputs, key=str):
        fast = normalise._e164_fast(s, region)
        if fast is False:
            continue
        try:
            num = phonenumbers.parse(s, region)
            full = (phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_possible_number(num) else None)
        except phonenumbers.NumberParseException:
            full = None
        assert fast == full, (s, region)
        checked += 1
    assert checked > 4000


def test_name_counts_on_codes_equal_counting_the_strings(problem):
    r = prepare(problem)
    n = len(r)
    nat = np.array(["" if v is None else v for v in r.nationality.tolist()], dtype=object)
    names = [["" if v is None else v for v in getattr(r, attr).tolist()]
             for attr in TF_FIELDS.values()]
    # (group, name) -> the records holding the name in either role: a record counts once
    holders: dict[tuple[str, str], set[int]] = {}
    for i in range(n):
        for role in names:
            holders.setdefault((nat[i], role[i]), set()).add(i)
            holders.setdefault((None, role[i]), set()).add(i)
    _, nat_inv, nat_counts = np.unique(nat, return_inverse=True, return_counts=True)
    size = np.where(nat == "", n, nat_counts[nat_inv])
    got = name_counts(r)
    assert np.array_equal(got.size, size)
    for k, field in enumerate(TF_FIELDS):
        # a record without a nationality is counted among every record (its group)
        want = [len(holders[(None if nat[i] == "" else nat[i], names[k][i])]) for i in range(n)]
        assert got.count[field].tolist() == want


def test_small_vocabularies_by_matrix_score_as_distinct_pairs(problem, monkeypatch):
    r = prepare(problem)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(r), 20_000), rng.integers(0, len(r), 20_000)
    by_matrix = compare.compare(r, a, b)
    monkeypatch.setattr(compare, "_MATRIX_UP_TO", 0)
    by_pairs = compare.compare(r, a, b)
    assert np.array_equal(by_matrix.levels, by_pairs.levels)
    names = list(compare.FIELDS)
    assert (by_pairs.levels[:, names.index("locality")] == 2).any()  # similar places occur


def test_compare_a_subset_of_fields(problem):
    r = prepare(problem)
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, len(r), 5000), rng.integers(0, len(r), 5000)
    full = compare.compare(r, a, b)
    some = compare.compare(r, a, b, ("locality", "address"))
    names = list(compare.FIELDS)
    for j, name in enumerate(names):
        if name in ("locality", "address"):
            assert np.array_equal(some.levels[:, j], full.levels[:, j])
        else:
            assert not some.levels[:, j].any()
    assert not some.swapped.any()


def test_no_fork_while_other_python_threads_run():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        calls = []
        forked.start("append", calls.append, 1)
        assert calls == [1]  # ran here, serially
    finally:
        stop.set()
        thread.join()


def test_codes_from_prepares_arrow_columns_equal_codes_of_the_object_arrays(problem):
    import dataclasses

    extra = pa.table({"contributor": ["x", "x", "y"], "record_id": ["1", "2", "3"],
                      "full_name": ["Олександр Шевченко", None, "Maria Elena de Souza"],
                      "given_name": [None, "Ана", None], "family_name": [None, "Jäger", None]})
    for table in (problem, extra):
        records = prepare(table)
        assert records._arrow  # prepare kept the Arrow columns
        plain = dataclasses.replace(records)  # the same columns, without them
        assert not hasattr(plain, "_arrow")
        got, want = records.codes, plain.codes
        assert got.column.keys() == want.column.keys()
        for name in want.column:
            assert np.array_equal(got.column[name], want.column[name]), name
            assert got.vocab[name].tolist() == want.vocab[name].tolist(), name
