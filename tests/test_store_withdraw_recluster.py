"""A record that leaves linkage does not keep joining the people it bridged.

Persons are written here as a link run writes them (one ``persons`` row per record, the accepted
links in ``person_links``); a person that loses a record is re-formed from the links that remain
and reviewers' decisions (:func:`safelight.link.hub.reform_persons`).
"""

from __future__ import annotations

import pyarrow as pa
from ingest_support import HEADER, TEST_PROFILE, good_row
from test_link_pprl import KEY, _people, _table  # noqa: I001  (shared generator)

from safelight.identity.encode import EncodingSettings, encode_table, write_package
from safelight.ingest import ingest_file, load_profile
from safelight.link.hub_pprl import receive_package

#: person "S0000000a" was one person only through w/1 (a/1 ~ w/1 ~ b/1); "S0000000b" lost
#: nothing; "S0000000c" is w/2 alone
PERSONS = {"S0000000a": [("a", "1", 0.91), ("w", "1", 0.93), ("b", "1", 0.91)],
           "S0000000b": [("a", "2", 0.97), ("b", "2", 0.97)],
           "S0000000c": [("w", "2", None)]}
#: the links a run accepted inside them
LINKS = [(("a", "1"), ("w", "1"), 0.91), (("w", "1"), ("b", "1"), 0.93),
         (("a", "2"), ("b", "2"), 0.97)]


def _write(path, rows):
    path.write_text("\n".join(";".join(r) for r in rows) + "\n", "utf-8")
    return path


def _linked_hub(tmp_path, hub, profile, *, ingest=True, links=LINKS):
    """Records 1 and 2 of contributors a, w, b (ingested unless ``ingest`` is false), linked
    into :data:`PERSONS` by ``links``."""
    for left, right, p in links:
        hub.con.execute("INSERT INTO person_links VALUES (?, ?, ?, ?, ?, 'run1')",
                        [*left, *right, p])
    if ingest:
        for c in ("a", "w", "b"):
            ingest_file(hub, _write(tmp_path / f"{c}.csv", [HEADER, good_row(1), good_row(2)]),
                        contributor=c, profile=profile)
    for person, records in PERSONS.items():
        n_contrib = len({c for c, _, _ in records})
        for c, r, p in records:
            hub.con.execute("INSERT INTO persons VALUES (?, ?, ?, ?, ?, ?, 'run1')",
                            [c, r, person, len(records), n_contrib, p])
    return hub.con


def _decide(con, left, right, decision):
    con.execute("""INSERT INTO link_review (run_id, left_contributor, left_record_id,
                   right_contributor, right_record_id, match_probability, match_weight, linked,
                   reasons, decision, decided_by, decided_at)
                   VALUES ('run1', ?, ?, ?, ?, 0.6, 1.0, true, '{}', ?, 'rev', now())""",
                [*left, *right, decision])


def _persons(con):
    return {(c, r): (p, size, n, weakest) for c, r, p, size, n, weakest in con.execute(
        "SELECT contributor, record_id, person_id, cluster_size, n_contributors, "
        "min_link_probability FROM persons").fetchall()}


def _assert_bridge_gone(con, hub, gone):
    got = _persons(con)
    assert gone not in got
    a, b = got[("a", "1")], got[("b", "1")]
    assert a[0] != b[0]                                     # no longer one person
    assert a[1:] == b[1:] == (1, 1, None)                   # each alone, no link
    assert {a[0], b[0]}.isdisjoint({"S0000000b", "S0000000c"})
    # the person that lost nothing keeps its rows as they were
    assert got[("a", "2")] == got[("b", "2")] == ("S0000000b", 2, 2, 0.97)
    return got


def test_a_withdrawn_bridge_no_longer_joins_the_records_it_bridged(tmp_path, hub, profile):
    con = _linked_hub(tmp_path, hub, profile)
    assert hub.status()["persons_seen_by_several_contributors"] == 2
    counts = hub.withdraw_consent("w", ["1"], actor="test")
    assert counts["person_links_removed"] == 1
    got = _assert_bridge_gone(con, hub, ("w", "1"))
    assert got[("w", "2")] == ("S0000000c", 1, 1, None)
    status = hub.status()  # what `safelight status` shows
    assert (status["persons"], status["persons_seen_by_several_contributors"]) == (4, 1)
    assert hub.verify_audit()[0]


def test_consent_set_to_statistics_only_by_a_later_export_unbridges_too(tmp_path, hub, profile):
    con = _linked_hub(tmp_path, hub, profile)
    stats_only = tmp_path / "stats_only.yaml"
    stats_only.write_text(TEST_PROFILE.replace("defaults: {consent: full}",
                                               "defaults: {consent: statistics_only}"))
    ingest_file(hub, _write(tmp_path / "w2.csv", [HEADER, good_row(1)]), contributor="w",
                profile=load_profile(stats_only))
    assert con.execute("SELECT consent, consent_linkage FROM cases WHERE contributor = 'w' "
                       "AND record_id = '1'").fetchone() == ("statistics_only", False)
    _assert_bridge_gone(con, hub, ("w", "1"))


def test_reviewers_decisions_keep_holding_in_the_persons_re_formed(tmp_path, hub, profile):
    con = _linked_hub(tmp_path, hub, profile)
    # a/1 = b/1 decided by a reviewer: still one person without w/1 (and the decision stays)
    _decide(con, ("a", "1"), ("b", "1"), "match")
    _decide(con, ("w", "1"), ("b", "1"), "match")  # goes with w/1's withdrawal
    hub.withdraw_consent("w", ["1"], actor="test")
    got = _persons(con)
    assert got[("a", "1")][0] == got[("b", "1")][0] not in {"S0000000b", "S0000000c"}
    assert got[("a", "1")][1:] == got[("b", "1")][1:] == (2, 2, None)  # no link, a decision
    assert got[("a", "2")] == ("S0000000b", 2, 2, 0.97)
    assert con.execute("SELECT count(*) FROM link_review").fetchone()[0] == 1
    # a decided match across two persons the run kept apart, both losing a record, is not
    # joined by the withdrawal: only the next link run may
    _decide(con, ("a", "1"), ("a", "2"), "match")
    hub.withdraw_consent("b", ["1", "2"], actor="test")
    got = _persons(con)
    assert got[("a", "1")][1:] == got[("a", "2")][1:] == (1, 1, None)
    assert got[("a", "1")][0] != got[("a", "2")][0]


def test_a_decided_non_match_keeps_apart_even_with_a_decided_match_chain(tmp_path, hub,
                                                                       profile):
    con = _linked_hub(tmp_path, hub, profile)
    con.execute("INSERT INTO persons VALUES ('w', '3', 'S0000000a', 4, 3, 0.9, 'run1')")
    # b/1 = a/1 and b/1 = w/3 decided, a/1 != w/3 decided: the non-match wins, as in a run
    _decide(con, ("b", "1"), ("a", "1"), "match")
    _decide(con, ("b", "1"), ("w", "3"), "match")
    _decide(con, ("a", "1"), ("w", "3"), "non_match")
    hub.withdraw_consent("w", ["1"], actor="test")
    got = _persons(con)
    assert got[("a", "1")][0] != got[("w", "3")][0]
    assert len({got[k][0] for k in (("a", "1"), ("b", "1"), ("w", "3"))}) == 2


def test_a_new_package_without_the_bridge_unbridges_in_pprl_mode(tmp_path, hub):
    people = _people(2, 3)
    rows = [dict(p, record_id=str(i + 1)) for i, p in enumerate(people)]

    def package(name, table):
        return write_package(encode_table(table, KEY, EncodingSettings(seed=5),
                                          contributor="w"), tmp_path / name)

    receive_package(hub, package("w-jan", _table(rows)), new_contributor=True)
    con = _linked_hub(tmp_path, hub, None, ingest=False)
    # the next package withdraws record 1 from linkage (its flag off)
    table = _table(rows).append_column("consent_linkage", pa.array([False, True]))
    receive_package(hub, package("w-feb", table), new_contributor=True)
    _assert_bridge_gone(con, hub, ("w", "1"))


def test_a_person_also_linked_directly_keeps_one_id(tmp_path, hub, profile):
    direct = [*LINKS, (("b", "1"), ("a", "1"), 0.95)]
    con = _linked_hub(tmp_path, hub, profile, links=direct)
    hub.withdraw_consent("w", ["1"], actor="test")
    got = _persons(con)
    assert got[("a", "1")][0] == got[("b", "1")][0]
    assert got[("a", "1")][1:] == got[("b", "1")][1:] == (2, 2, 0.95)  # the link that remains
    assert con.execute("SELECT count(*) FROM person_links WHERE left_contributor = 'w' "
                       "OR right_contributor = 'w'").fetchone()[0] == 0


def test_an_upgrade_is_said_and_audited_and_a_newer_hub_read_with_a_warning(tmp_path, caplog):
    """A hub upgraded on the way (any command) said nothing; `status` read a newer one as if
    it knew it (new-user trial, 2026-12-01)."""
    import json

    from safelight.store import open_hub
    from safelight.store.migrations import LATEST_VERSION

    path = tmp_path / "h.duckdb"
    with open_hub(path, create=True) as h:
        assert not h.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]  # a new hub
        h.con.execute("DELETE FROM schema_migrations WHERE version = ?", [LATEST_VERSION])
    with caplog.at_level("WARNING"), open_hub(path) as h:
        (details,) = h.con.execute("SELECT CAST(details AS VARCHAR) FROM audit_log WHERE "
                                   "action = 'schema_upgrade'").fetchone()
        h.con.execute("INSERT INTO schema_migrations VALUES (?, 'later', now())",
                      [LATEST_VERSION + 1])
    assert json.loads(details)["to"] == LATEST_VERSION
    assert "was upgraded from schema version" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"), open_hub(path, read_only=True):
        pass
    assert "newer than this safelight knows" in caplog.text
