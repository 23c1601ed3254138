"""Reviewers' decisions bind later link runs (safelight.link.decisions)."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.demo import read_truth
from safelight.link import link_hub, pairwise_scores
from safelight.link.decisions import Decisions, apply_decisions, decided_mask, index_decisions

C = np.array(["x"] * 5, dtype=object)
R = np.array(["r0", "r1", "r2", "r3", "r4"], dtype=object)


def _d(matches=(), non=()):
    def key(i, j):
        x, y = ("x", f"r{i}"), ("x", f"r{j}")
        return (x, y) if x <= y else (y, x)
    return Decisions(frozenset(key(*p) for p in matches), frozenset(key(*p) for p in non))


def _apply(labels, decisions, a, b, w):
    return apply_decisions(labels, index_decisions(decisions, C, R), a, b, w)


def test_no_decision_leaves_labels_alone():
    labels = np.array([0, 0, 1, 2, 2])
    out, stats = _apply(labels, _d(), np.array([0]), np.array([1]), np.array([5.0]))
    assert out is labels and stats["matches"] == stats["non_matches"] == 0


def test_decided_match_merges_two_persons():
    labels = np.array([0, 0, 1, 2, 3])
    out, stats = _apply(labels, _d(matches=[(1, 2)]), np.array([0]), np.array([1]),
                        np.array([5.0]))
    assert out[0] == out[1] == out[2] and len(set(out[2:].tolist())) == 3
    assert stats["matches"] == 1 and stats["clusters_reclustered"] == 0


def test_decided_non_match_breaks_a_chain_and_keeps_the_stronger_link():
    labels = np.array([0, 0, 0, 1, 2])
    a, b, w = np.array([0, 1]), np.array([1, 2]), np.array([12.0, 3.0])  # r0~r1 strong
    out, stats = _apply(labels, _d(non=[(0, 2)]), a, b, w)
    assert out[0] == out[1] and out[2] != out[0]
    assert stats["clusters_reclustered"] == 1 and stats["contradictions"] == 0


def test_two_broken_clusters_are_re_clustered_each_on_its_own_pairs():
    labels = np.array([0, 0, 0, 1, 1])  # r0~r1~r2 and r3~r4; r3-r4 decided apart
    a, b, w = np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([12.0, 3.0, 9.0])
    out, stats = _apply(labels, _d(non=[(0, 2), (3, 4)]), a, b, w)
    assert out[0] == out[1] and len({out[0], out[2], out[3], out[4]}) == 4
    assert stats["clusters_reclustered"] == 2


def _empty():
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)


def test_contradictions_keep_the_non_match():
    labels = np.array([0, 1, 2, 3, 4])
    out, stats = _apply(labels, _d(matches=[(0, 1), (1, 2)], non=[(0, 2)]), *_empty())
    assert out[0] != out[2] and stats["contradictions"] == 1


def test_pairs_between_persons_a_decided_non_match_parts_are_settled():
    """A new record linked into a person was queued against the person a decision had parted
    it from; a "match" there moved it out of its own person (new-user trial, 2026-12-01)."""
    from safelight.link.decisions import settled_by_decision

    labels = np.array([0, 0, 1, 2, 2])  # r0 r1 | r2 | r3 r4
    decided = index_decisions(_d(non=[(0, 2)]), C, R)
    a, b = np.array([1, 0, 3, 1]), np.array([2, 2, 2, 0])
    # r1-r2: r1 shares r0's person, which the decision parts from r2's: settled; r0-r2 is the
    # decided pair itself; r3-r2 is another person; r1-r0 one person
    assert settled_by_decision(decided, labels, a, b).tolist() == [True, True, False, False]
    assert not settled_by_decision(index_decisions(_d(), C, R), labels, a, b).any()


def test_the_queue_leaves_out_uncertain_pairs_a_decision_settled_only():
    """A confident pair between parted persons stays queued: clustering may have put r2
    beside the wrong one of two namesakes (second review, 2026-12-01)."""
    from safelight.link.hub import review_pairs

    labels = np.array([0, 1, 0])  # r0 and r2 together, r1 apart (r0-r1 decided non-match)
    decided = index_decisions(_d(non=[(0, 1)]), C[:3], R[:3])
    a, b = np.array([0, 1]), np.array([1, 2])  # the decided pair, and r1-r2 across it
    for p, queued, settled in ((np.array([0.999, 0.999]), [1], 0),
                               (np.array([0.999, 0.5]), [], 1)):
        idx, n = review_pairs(p, labels, a, b, decided, 0.2, 0.9)
        assert idx.tolist() == queued and n == settled


def test_decided_pairs_are_found_in_either_order():
    decided = index_decisions(_d(matches=[(0, 1)], non=[(3, 2)]), C, R)
    a, b = np.array([1, 0, 2, 2, 0]), np.array([0, 2, 3, 4, 1])
    assert decided_mask(decided, 5, a, b).tolist() == [True, False, True, False, True]


def test_decisions_about_absent_records_are_ignored():
    labels = np.array([0, 1, 2, 3, 4])
    d = Decisions(frozenset({(("x", "r0"), ("y", "gone"))}), frozenset())
    out, stats = _apply(labels, d, *_empty())
    assert stats["matches"] == 0 and len(set(out.tolist())) == 5


@pytest.fixture(scope="module")
def hub_path(tmp_path_factory):
    from safelight.demo.run import run_demo

    out = tmp_path_factory.mktemp("decisions")
    run_demo(out, seed=5, n_records=2000)
    return out / "hub.duckdb", read_truth(out / "scenario" / "truth.csv")


def _persons(hub) -> dict[tuple[str, str], str]:
    return {(c, r): p for c, r, p in hub.con.execute(
        "SELECT contributor, record_id, person_id FROM persons").fetchall()}


def _f1(persons, truth) -> float:
    keys = sorted(persons)
    _, pred = np.unique([persons[k] for k in keys], return_inverse=True)
    _, true = np.unique([truth[k] for k in keys], return_inverse=True)
    return pairwise_scores(pred, true)["f1"]


def _decide_queue(hub, run_id: str, truth: dict) -> list[tuple]:
    """A reviewer who knows the truth decides every pair the run queued; returns the queue."""
    queue = hub.con.execute(
        """SELECT left_contributor, left_record_id, right_contributor, right_record_id
           FROM link_review WHERE run_id = ?""", [run_id]).fetchall()
    for lc, lr, rc, rr in queue:
        same = truth[(lc, lr)] == truth[(rc, rr)]
        hub.con.execute(
            """UPDATE link_review SET decision = ?, decided_by = 'alice',
               decided_at = now(), decision_note = 'checked the files'
               WHERE run_id = ? AND left_contributor = ? AND left_record_id = ?
               AND right_contributor = ? AND right_record_id = ?""",
            ["match" if same else "non_match", run_id, lc, lr, rc, rr])
    return queue


def test_reviewed_decisions_bind_the_next_run_and_leave_the_queue(hub_path):
    from safelight.store import open_hub

    path, truth = hub_path
    with open_hub(path) as hub:
        first = link_hub(hub)
        before = _persons(hub)
        queue = _decide_queue(hub, first.run_id, truth)
        assert len(queue) >= 10
        second = link_hub(hub)
        after = _persons(hub)
        requeued = hub.con.execute(
            """SELECT count(*) FROM link_review n JOIN link_review o
               ON o.run_id = ? AND n.left_record_id = o.left_record_id
               AND n.right_record_id = o.right_record_id
               AND n.left_contributor = o.left_contributor
               AND n.right_contributor = o.right_contributor
               WHERE n.run_id = ?""", [first.run_id, second.run_id]).fetchone()[0]
    for lc, lr, rc, rr in queue:
        assert (after[(lc, lr)] == after[(rc, rr)]) == (truth[(lc, lr)] == truth[(rc, rr)])
    assert requeued == 0
    assert second.decisions["matches"] + second.decisions["non_matches"] == len(queue)
    assert _f1(after, truth) >= _f1(before, truth)


def test_clamped_em_swaps_estimated_posteriors_for_decisions():
    from safelight.link.model import _em

    fields = {"given_name": ("exact", "close", "different"), "birth_date": ("exact", "different")}
    rng = np.random.default_rng(1)
    # 300 matches (mostly exact names) and 3,000 non-matches (mostly different names)
    lv = np.concatenate([
        np.stack([rng.choice([1, 2, 3], 300, p=[.8, .15, .05]), np.full(300, 1)], axis=1),
        np.stack([rng.choice([1, 2, 3], 3000, p=[.01, .04, .95]),
                  rng.choice([1, 2], 3000, p=[.02, .98])], axis=1)])
    u = [np.array([0, .01, .04, .95]), np.array([0, .02, .98])]
    init = [np.array([0, .6, .3, .1]), np.array([0, .7, .3])]
    active = np.ones(2, dtype=bool)

    def fit(labelled=None):
        m, share, _, ok = _em(lv, active, u, [x.copy() for x in init], 200, 1e-8, fields,
                              None, labelled)
        assert ok
        return m, share

    m0, share0 = fit()
    m_none, share_none = fit((np.zeros((0, 2), dtype=lv.dtype), np.zeros(0, bool), 1.0))
    assert all(np.allclose(x, y) for x, y in zip(m0, m_none, strict=True))
    assert share_none == share0
    pairs = np.array([[2, 1]] * 100)  # "close" names, same birth date
    m_match, _ = fit((pairs, np.ones(100, dtype=bool), 1.0))
    m_weak, _ = fit((pairs, np.ones(100, dtype=bool), 0.1))
    m_non, share_non = fit((pairs, np.zeros(100, dtype=bool), 1.0))
    # decided matches pull m of "close" up (more with more weight), non-matches pull it down
    assert m_match[0][2] > m_weak[0][2] > m0[0][2] > m_non[0][2]
    assert share_non < share0
    assert all(np.all(x[1:] > 0) for x in m_non)  # never a level of probability 0


def test_learning_from_reviews_refines_m_and_decisions_still_bind(tmp_path):
    from safelight.demo.run import run_demo
    from safelight.link import LinkSettings
    from safelight.store import open_hub

    run_demo(tmp_path, seed=5, n_records=2000)
    truth = read_truth(tmp_path / "scenario" / "truth.csv")
    with open_hub(tmp_path / "hub.duckdb") as hub:
        first = link_hub(hub)
        queue = _decide_queue(hub, first.run_id, truth)
        plain = link_hub(hub)
        refined = link_hub(hub, LinkSettings(learn_from_reviews=True))
        after = _persons(hub)
    assert sum(s["reviewed_pairs"] for s in plain.result.em.sessions) == 0
    assert sum(s["reviewed_pairs"] for s in refined.result.em.sessions) > 0
    m_plain, m_refined = plain.result.em.model.m, refined.result.em.model.m
    assert not all(np.allclose(x, y) for x, y in zip(m_plain, m_refined, strict=True))
    assert refined.result.settings.to_dict()["learn_from_reviews"] is True
    for lc, lr, rc, rr in queue:
        assert (after[(lc, lr)] == after[(rc, rr)]) == (truth[(lc, lr)] == truth[(rc, rr)])


def test_a_new_run_replaces_the_open_pairs_and_keeps_the_decided(hub_path, tmp_path):
    import shutil

    from safelight.store import open_hub

    path = tmp_path / "hub.duckdb"  # without the decisions the module's other tests made
    shutil.copy(hub_path[0], path)
    with open_hub(path) as hub:
        hub.con.execute("DELETE FROM link_review")
        first = link_hub(hub)
        assert first.review_pairs > 0
        (lc, lr, rc, rr), = hub.con.execute(
            "SELECT left_contributor, left_record_id, right_contributor, right_record_id "
            "FROM link_review WHERE run_id = ? LIMIT 1", [first.run_id]).fetchall()
        hub.con.execute("UPDATE link_review SET decision = 'non_match', decided_by = 'alice', "
                        "decided_at = now() WHERE run_id = ? AND left_contributor = ? AND "
                        "left_record_id = ? AND right_contributor = ? AND right_record_id = ?",
                        [first.run_id, lc, lr, rc, rr])
        decided = hub.con.execute("SELECT count(*) FROM link_review WHERE decision IS NOT NULL"
                                  ).fetchone()[0]
        second = link_hub(hub)
        open_runs = hub.con.execute("SELECT run_id, count(*) FROM link_review "
                                    "WHERE decision IS NULL GROUP BY run_id").fetchall()
        twice = hub.con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM link_review GROUP BY left_contributor, "
            "left_record_id, right_contributor, right_record_id HAVING count(*) > 1)"
        ).fetchone()[0]
        assert hub.con.execute("SELECT count(*) FROM link_review WHERE decision IS NOT NULL"
                               ).fetchone()[0] == decided
        replaced = hub.con.execute("SELECT CAST(details AS VARCHAR) FROM audit_log WHERE "
                                   "action = 'link' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert open_runs == ([(second.run_id, second.review_pairs)] if second.review_pairs else [])
    assert twice == 0
    assert f'"earlier_open_pairs_replaced": {first.review_pairs - 1}' in replaced


def test_contradictions_are_found_with_the_shortest_chain():
    from safelight.link.decisions import Decisions

    r = {x: ("c", x) for x in "ABCDE"}
    d = Decisions(frozenset(), frozenset())
    for x, y, what in (("A", "B", "match"), ("B", "C", "match"), ("C", "D", "match"),
                       ("A", "E", "non_match")):
        d = d.with_decision(r[x], r[y], what)
    assert d.contradicted() == {}
    bad = d.with_decision(r["D"], r["A"], "non_match")
    assert bad.contradicted() == {(r["A"], r["D"]): [(r["A"], r["B"]), (r["B"], r["C"]),
                                                     (r["C"], r["D"])]}
    # a later decision on the same pair replaces the earlier one
    assert bad.with_decision(r["A"], r["D"], "match").contradicted() == {}
    assert d.with_decision(r["E"], r["D"], "match").contradicted()
