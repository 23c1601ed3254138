"""A reviewer's decision changes the hub's persons as soon as it is recorded
(:func:`safelight.link.hub.apply_review_decision`), not only from the next link run.

The persons are those of ``test_store_withdraw_recluster``: ``S0000000a`` is a/1 ~ w/1 ~ b/1
(links 0.91 and 0.93), ``S0000000b`` is a/2 ~ b/2 (0.97), ``S0000000c`` is w/2 alone.
"""

from __future__ import annotations

import pytest
from test_store_withdraw_recluster import _decide, _linked_hub, _persons

from safelight.errors import UsageError
from safelight.link.hub import apply_review_decision


def _decide_now(hub, left, right, decision):
    """Record the decision and apply it in one transaction, as the review page does."""
    with hub.transaction():
        _decide(hub.con, left, right, decision)
        return apply_review_decision(hub, left, right, decision)


def test_a_decided_non_match_splits_the_person_at_once(tmp_path, hub):
    con = _linked_hub(tmp_path, hub, None, ingest=False)
    assert _decide_now(hub, ("a", "1"), ("b", "1"), "non_match") == 2
    got = _persons(con)
    assert got[("a", "1")][0] != got[("b", "1")][0]
    # w/1 stays with the record it is linked to more strongly (b/1, 0.93)
    assert got[("w", "1")][0] == got[("b", "1")][0]
    assert got[("w", "1")][1:] == got[("b", "1")][1:] == (2, 2, 0.93)
    assert got[("a", "1")][1:] == (1, 1, None)
    # the persons it did not concern are untouched
    assert got[("a", "2")] == got[("b", "2")] == ("S0000000b", 2, 2, 0.97)
    assert got[("w", "2")] == ("S0000000c", 1, 1, None)
    assert hub.status()["persons_seen_by_several_contributors"] == 2


def test_a_decided_match_joins_two_persons_and_a_reversal_parts_them(tmp_path, hub):
    con = _linked_hub(tmp_path, hub, None, ingest=False)
    assert _decide_now(hub, ("w", "2"), ("b", "2"), "match") == 1
    got = _persons(con)
    assert got[("w", "2")][0] == got[("a", "2")][0] == got[("b", "2")][0]
    assert got[("w", "2")][1:] == (3, 3, None)          # kept by the decision, no link
    assert got[("a", "2")][1:] == (3, 3, 0.97)
    assert got[("a", "1")][0] == "S0000000a"            # another person: untouched
    # the reviewer changes their mind: the latest decision holds
    assert _decide_now(hub, ("w", "2"), ("b", "2"), "non_match") == 2
    got = _persons(con)
    assert got[("a", "2")][0] == got[("b", "2")][0] != got[("w", "2")][0]
    assert got[("w", "2")][1:] == (1, 1, None)


def test_a_decided_match_does_not_override_an_earlier_non_match(tmp_path, hub):
    con = _linked_hub(tmp_path, hub, None, ingest=False)
    _decide_now(hub, ("a", "2"), ("w", "2"), "non_match")   # apart already: nothing to do
    assert _persons(con)[("w", "2")] == ("S0000000c", 1, 1, None)
    assert _decide_now(hub, ("b", "2"), ("w", "2"), "match") == 2
    got = _persons(con)
    assert got[("b", "2")][0] == got[("w", "2")][0] != got[("a", "2")][0]


def test_nothing_changes_where_the_persons_already_agree_or_a_record_has_none(tmp_path, hub):
    con = _linked_hub(tmp_path, hub, None, ingest=False)
    before = _persons(con)
    assert _decide_now(hub, ("a", "1"), ("b", "1"), "match") == 0       # one person already
    assert _decide_now(hub, ("a", "1"), ("a", "2"), "non_match") == 0   # apart already
    assert _decide_now(hub, ("a", "1"), ("z", "9"), "non_match") == 0   # z/9 not linked yet
    assert _persons(con) == before
    with pytest.raises(UsageError):
        apply_review_decision(hub, ("a", "1"), ("b", "1"), "maybe")
