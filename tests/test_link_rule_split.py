"""Blocking shared between the two processes of a linkage run: whichever process runs which
rules, the candidate pairs are those of :func:`candidate_pairs`; each rule runs exactly once;
chunked comparison and scoring give the pairs' levels and weights of one call."""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.link import LinkSettings, forked, link_records, pipeline
from safelight.link.blocking import (
    DEFAULT_RULES,
    build_key_columns,
    candidate_pairs,
    reads_list_columns,
)
from safelight.link.prepare import prepare

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="no fork start method here")


@pytest.fixture(scope="module")
def records():
    r = generate_linkage_pairs(800, 800, seed=5)
    table = pa.concat_tables([r.left, r.right.cast(r.left.schema)])
    return prepare(table)


def test_rule_units_hold_every_rule_once_with_the_list_rules_together():
    units = pipeline.rule_units(DEFAULT_RULES)
    flat = [rule for unit in units for rule in unit]
    assert sorted(r.name for r in flat) == sorted(r.name for r in DEFAULT_RULES)
    lists = [unit for unit in units if any(reads_list_columns(r) for r in unit)]
    assert len(lists) == 1 and lists[0] == units[0]
    assert all(reads_list_columns(r) for r in units[0])
    # the word-pair and near-name rules read list columns without list_contains
    assert {"name_words", "near_names"} <= {r.name for r in units[0]}


def test_the_list_columns_wait_for_the_first_unit_which_reads_them():
    s = LinkSettings(two_source=True, workers=1)
    r = generate_linkage_pairs(300, 300, seed=2)
    records = prepare(pa.concat_tables([r.left, r.right.cast(r.left.schema)]))
    plain = tuple(rule for rule in s.rules if not reads_list_columns(rule))
    build_key_columns(records, plain)
    assert "lists" not in records.__dict__["_blocking_columns"]
    pipeline._unit_pairs(records, pipeline.rule_units(s.rules)[0], s)
    assert "lists" in records.__dict__["_blocking_columns"]


@pytest.mark.parametrize("cross_only", [True, False])
def test_any_split_of_the_units_gives_the_candidate_pairs(records, cross_only):
    s = LinkSettings(two_source=cross_only, workers=1)
    units = pipeline.rule_units(s.rules)
    a, b, _ = candidate_pairs(records, s.rules, cross_only=cross_only)
    per_unit = [pipeline._unit_pairs(records, unit, s) for unit in units]
    n = len(records)
    for k in (0, 1, len(units) // 2, len(units) - 1, len(units)):
        head = [c for codes in per_unit[:k] for c in codes]
        tail = pipeline._union([c for codes in per_unit[k:] for c in codes])
        codes = pipeline._union([*head, tail])
        assert np.array_equal(codes // n, a) and np.array_equal(codes % n, b), k


def test_claims_from_both_ends_take_each_unit_once():
    claims = forked.Claims(7, shared=False)
    got = [claims.head(), claims.tail(), claims.tail(), claims.head()]
    assert got == [0, 6, 5, 1]
    rest = []
    while (k := claims.head()) is not None:
        rest.append(k)
    assert rest == [2, 3, 4] and claims.tail() is None


def _take_tail(claims: forked.Claims) -> list[int]:
    out = []
    while (k := claims.tail()) is not None:
        out.append(k)
    return out


@needs_fork
def test_shared_claims_across_a_fork_take_each_unit_once():
    claims = forked.Claims(20_000, shared=True)
    job = forked.start("claims", _take_tail, claims)
    mine = []
    while (k := claims.head()) is not None:
        mine.append(k)
    theirs = job.result()
    assert job.forked
    assert sorted(mine + theirs) == list(range(20_000))
    assert mine == list(range(len(mine))) and theirs == sorted(theirs, reverse=True)


@needs_fork
def test_the_model_worker_takes_blocking_rules_and_the_links_stay_the_same(monkeypatch):
    r = generate_linkage_pairs(1200, 1200, seed=9)
    table = pa.concat_tables([r.left, r.right.cast(r.left.schema)])
    one = link_records(table, LinkSettings(two_source=True, workers=1))
    # a model fitted at once leaves the worker most of the rules
    fitted = pipeline._estimate(pipeline.prepare(table), LinkSettings(two_source=True))
    monkeypatch.setattr(pipeline, "_estimate", lambda records, s, samples=None, reviewed=None: fitted)
    monkeypatch.setattr(pipeline, "_CHUNK", 1000)  # several chunks per process
    monkeypatch.setattr(pipeline, "_SPLIT_FROM", 100)
    two = link_records(table, LinkSettings(two_source=True, workers=2))
    assert two.cpu.get("blocking workers", 0) > 0  # the worker ran some rules
    assert np.array_equal(one.comparisons.a, two.comparisons.a)
    assert np.array_equal(one.comparisons.b, two.comparisons.b)
    assert np.array_equal(one.comparisons.levels, two.comparisons.levels)
    assert np.array_equal(one.comparisons.swapped, two.comparisons.swapped)
    assert np.array_equal(one.weights, two.weights)
    assert np.array_equal(one.labels, two.labels)
    assert "blocking workers" not in one.cpu and "compare workers" in two.cpu


def test_chunked_scoring_equals_one_call(records, monkeypatch):
    s = LinkSettings(two_source=True, workers=1)
    a, b, _ = candidate_pairs(records, s.rules, cross_only=True)
    em, _ = pipeline._estimate(records, s)
    comps, w = pipeline.score_pairs(em, records, a, b)
    monkeypatch.setattr(pipeline, "_CHUNK", 777)
    chunked, cw = pipeline._compare_score(records, a, b, em, parallel=False)
    assert np.array_equal(comps.levels, chunked.levels)
    assert np.array_equal(comps.swapped, chunked.swapped)
    assert np.array_equal(w, cw)


def test_two_source_u_is_measured_across_the_sources(records):
    from safelight.link.compare import FIELD_NAMES
    from safelight.link.model import estimate_u

    across = records.codes.column["contributor"]
    j = FIELD_NAMES.index("contributor")
    plain = estimate_u(records, n_pairs=20_000)
    cross = estimate_u(records, n_pairs=20_000, across=across)
    assert 0.3 < plain[j][1] < 0.7  # about half of random pairs share a contributor
    assert cross[j][1] < 1e-3  # none across the sources (the pseudo-count only)
    again = estimate_u(records, n_pairs=20_000)  # deterministic
    assert all(np.array_equal(x, y) for x, y in zip(again, plain, strict=True))


def test_two_source_prior_is_taken_over_the_pairs_across_the_sources(records):
    s = LinkSettings(two_source=True, workers=1)
    em, _ = pipeline._estimate(records, s)
    n_left = int((records.codes.column["contributor"] == 0).sum())
    n_right = len(records) - n_left
    # the prior is the share of matches among left × right pairs: about one per right record
    # that has its person in the left file (half of them in the generator)
    expected = 0.5 * min(n_left, n_right) / (n_left * n_right)
    assert 0.5 * expected < em.model.prior < 2 * expected


@needs_fork
def test_phones_split_between_the_processes_equal_one_process(monkeypatch):
    from safelight.link import prepare as prep

    r = generate_linkage_pairs(600, 600, seed=4)
    table = pa.concat_tables([r.left, r.right.cast(r.left.schema)])
    one = prep.prepare(table, parallel=False)
    taken, parent, real = [], os.getpid(), prep.phones_from_keys

    def slow_in_worker(keys):
        if os.getpid() == parent:
            taken.append(len(keys))
        else:  # a slow worker leaves parts to this process
            time.sleep(0.2)
        return real(keys)

    monkeypatch.setattr(prep, "phones_from_keys", slow_in_worker)
    two = prep.prepare(table, parallel=True)
    assert 0 < len(taken) < prep._PHONE_PARTS  # this process did some of the parts only
    assert np.array_equal(one.phone, two.phone)
    assert (np.not_equal(two.phone, None)).sum() > 100


@needs_fork
def test_this_process_takes_the_u_samples_when_the_model_is_slower(monkeypatch):
    r = generate_linkage_pairs(800, 800, seed=6)
    table = pa.concat_tables([r.left, r.right.cast(r.left.schema)])
    one = link_records(table, LinkSettings(two_source=True, workers=1))
    real = pipeline._USamples.get

    def late(self, records, s):  # the worker reaches u only after this process took the task
        deadline = time.monotonic() + 120
        while self._claim._ends[0] < self._claim._ends[1] and time.monotonic() < deadline:
            time.sleep(0.01)  # the task is still open
        return real(self, records, s)

    monkeypatch.setattr(pipeline._USamples, "get", late)
    two = link_records(table, LinkSettings(two_source=True, workers=2))
    assert two.cpu.get("estimate u", 0) > 0 and "estimate u" not in one.cpu
    assert one.em.model.to_dict() == two.em.model.to_dict()
    assert np.array_equal(one.weights, two.weights)
    assert np.array_equal(one.labels, two.labels)


def test_duckdb_blocking_spills_only_into_a_private_directory_it_removes(tmp_path, monkeypatch):
    """DuckDB's in-memory spill directory defaults to ``.tmp`` in the working directory; the
    blocking table (birth dates, name codes) must never land there."""
    from safelight.link import blocking

    monkeypatch.chdir(tmp_path)
    seen = []
    real = blocking.duckdb.connect

    def connect(*args, **kwargs):
        seen.append(kwargs.get("config", {}).get("temp_directory"))
        return real(*args, **kwargs)

    monkeypatch.setattr(blocking.duckdb, "connect", connect)
    r = generate_linkage_pairs(200, 200, seed=4)
    records = prepare(pa.concat_tables([r.left, r.right.cast(r.left.schema)]))
    candidate_pairs(records, DEFAULT_RULES[:3], cross_only=True, engine="duckdb")
    blocking.training_pairs(records, cross_only=True)
    assert len(seen) == 2 and all(seen)
    for spill in seen:
        assert not os.path.exists(spill) and not spill.startswith(str(tmp_path))
    assert list(tmp_path.iterdir()) == []
