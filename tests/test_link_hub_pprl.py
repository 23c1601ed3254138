"""PPRL inside a hub: packages stored (migration 7), linked to persons, review with reasons."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from click.testing import CliRunner
from test_link_pprl import KEY, _observe, _people, _table  # noqa: I001  (shared generator)

from safelight.errors import RefusedError, SafelightError
from safelight.identity.encode import EncodingSettings, encode_table, write_package
from safelight.link import pairwise_scores
from safelight.link.hub_pprl import link_hub_encoded, load_hub_packages, receive_package


def _sources() -> tuple[list[dict], list[dict]]:
    rng = random.Random(21)
    people = _people(400, 8)
    left = [_observe(p, rng, f"L{p['pid']}") for p in people[:300]]
    right = [_observe(p, rng, f"R{p['pid']}") for p in people[100:]]
    return left, right


@pytest.fixture
def packages(tmp_path):
    left, right = _sources()
    s = EncodingSettings(seed=5)
    paths = [write_package(encode_table(_table(rows), KEY, s, contributor=name), tmp_path / name)
             for name, rows in (("ngo", left), ("police", right))]
    truth = {(c, r["record_id"]): r["pid"] for c, rows in (("ngo", left), ("police", right))
             for r in rows}
    return paths, truth


def test_packages_stored_and_linked_to_persons(hub, packages, tmp_path):
    paths, truth = packages
    for p in paths:
        receive_package(hub, p, new_contributor=True)
    receive_package(hub, paths[0])  # a new package of a known contributor replaces the old one
    assert hub.con.execute("SELECT count(*) FROM pprl_packages").fetchone()[0] == 2
    er = load_hub_packages(hub)
    assert len(er) == len(truth)
    result = link_hub_encoded(hub)
    rows = hub.con.execute("SELECT contributor, record_id, person_id FROM persons").fetchall()
    assert len(rows) == len(truth)
    pid = np.array([truth[(c, r)] for c, r, _ in rows])
    labels = np.unique([p for _, _, p in rows], return_inverse=True)[1]
    scores = pairwise_scores(labels, pid)
    assert scores["f1"] > 0.9, scores
    assert result.persons_in_several_contributors > 150
    run = hub.con.execute("SELECT settings FROM link_runs").fetchone()[0]
    assert json.loads(run)["mode"] == "pprl"
    for (reasons,) in hub.con.execute("SELECT reasons FROM link_review").fetchall():
        r = json.loads(reasons)
        assert set(r["given_name"]) == {"level", "weight"}


def test_a_package_with_another_key_is_refused(hub, packages, tmp_path):
    paths, _ = packages
    receive_package(hub, paths[0], new_contributor=True)
    rows = [_observe(p, random.Random(2), f"X{p['pid']}") for p in _people(20, 3)]
    other = write_package(encode_table(_table(rows), bytes(32), contributor="x"),
                          tmp_path / "other")
    with pytest.raises(SafelightError, match="another key"):
        receive_package(hub, other, new_contributor=True)
    damaged = write_package(encode_table(_table(rows), KEY, contributor="y"), tmp_path / "dmg")
    (damaged / "records.parquet").write_bytes((damaged / "records.parquet").read_bytes()[:-1]
                                              + b"\0")
    with pytest.raises(SafelightError, match="damaged"):
        receive_package(hub, damaged, new_contributor=True)


def test_cli_receive_and_link_hub_pprl(tmp_path, packages):
    from safelight.link.cli import link
    from safelight.store import open_hub

    paths, _ = packages
    open_hub(tmp_path / "h.duckdb", create=True).close()
    runner = CliRunner()
    r = runner.invoke(link, ["receive", str(tmp_path / "h.duckdb"), *map(str, paths)])
    assert r.exit_code == 2 and "knows no contributor named 'ngo'" in r.output, r.output
    r = runner.invoke(link, ["receive", str(tmp_path / "h.duckdb"), *map(str, paths),
                             "--new-contributor"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(link, ["hub", str(tmp_path / "h.duckdb"), "--pprl", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["persons_in_several_contributors"] > 150
    # a clear run after it would replace its persons with those of the records in clear (none
    # here): refused without --switch-mode, before any work (a trial: 15,732 persons of 6
    # contributors became 7,717 of 2 the other way round, with a warning only after)
    r = runner.invoke(link, ["hub", str(tmp_path / "h.duckdb")])
    assert r.exit_code == 2, r.output
    assert "its persons come from a pprl run" in r.output and "--switch-mode" in r.output
    assert "link hub " + str(tmp_path / "h.duckdb") + " --pprl`" in r.output
    r = runner.invoke(link, ["hub", str(tmp_path / "h.duckdb"), "--switch-mode"])
    assert r.exit_code != 0 and "fewer than two" in r.output  # the mode check let it through


def test_a_misspelt_contributor_cannot_bring_a_withdrawn_record_back(hub, tmp_path):
    """Trial finding (2026-12-01): a package encoded as `de-polce` was stored and linked,
    and its record that `de-police` had withdrawn at the hub was linked again. A contributor
    the hub does not know is refused (with the name it resembles), unless received as new."""
    rows = [_observe(p, random.Random(3), f"R{p['pid']}") for p in _people(30, 4)]
    hub.con.execute("INSERT INTO contributors VALUES ('de-police', 'DE', now())")
    hub.withdraw_consent("de-police", [rows[0]["record_id"]], actor="test")
    typo = write_package(encode_table(_table(rows), KEY, contributor="de-polce"),
                         tmp_path / "typo")
    with pytest.raises(SafelightError, match="did you mean 'de-police'"):
        receive_package(hub, typo)
    assert hub.con.execute("SELECT count(*) FROM pprl_packages").fetchone()[0] == 0
    right = write_package(encode_table(_table(rows), KEY, contributor="de-police"),
                          tmp_path / "right")
    assert receive_package(hub, right)["encoded_records_erased"] == 1


def test_a_package_carrying_clear_data_is_refused(hub, packages, tmp_path):
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from safelight.identity.encode import MANIFEST, RECORDS

    path = packages[0][0]
    table = pq.read_table(path / RECORDS)
    table = table.append_column("given_name_clear", pa.array(["Olena"] * table.num_rows))
    pq.write_table(table, path / RECORDS)
    manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    manifest["records_sha256"] = hashlib.sha256((path / RECORDS).read_bytes()).hexdigest()
    manifest["note"] = "Olena Shevchenko"
    (path / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(SafelightError, match="given_name_clear"):
        receive_package(hub, path, new_contributor=True)
    assert hub.con.execute("SELECT count(*) FROM pprl_packages").fetchone()[0] == 0


def test_stored_package_keeps_only_known_manifest_keys_and_no_metadata(hub, packages):
    import io

    import pyarrow.parquet as pq

    from safelight.identity.encode import MANIFEST

    path = packages[0][0]
    manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    manifest["note"] = "Olena Shevchenko"
    (path / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    receive_package(hub, path, new_contributor=True)
    stored_manifest, blob = hub.con.execute(
        "SELECT CAST(manifest AS VARCHAR), records FROM pprl_packages").fetchone()
    assert "Olena" not in stored_manifest and "note" not in json.loads(stored_manifest)
    assert pq.read_table(io.BytesIO(bytes(blob))).schema.metadata is None


@pytest.mark.parametrize("version", [1, 2])
def test_a_stored_package_of_an_older_format_is_refused_at_linking(hub, packages, version):
    """A package stored before the blocking keys changed (format v1; v2 with its "year + 1"
    keys) is not linked with its old keys: the run stops and says to re-encode."""
    paths, _ = packages
    for p in paths:
        receive_package(hub, p, new_contributor=True)
    man = json.loads(hub.con.execute("SELECT manifest FROM pprl_packages WHERE contributor = "
                                     "'ngo'").fetchone()[0])
    man["format_version"] = version
    hub.con.execute("UPDATE pprl_packages SET manifest = ? WHERE contributor = 'ngo'",
                    [json.dumps(man)])
    with pytest.raises(SafelightError, match="older than this hub's.*re-encode"):
        link_hub_encoded(hub)


def test_a_new_package_withdrawing_records_removes_their_links_and_review_decisions(
        hub, packages, tmp_path):
    """In PPRL mode a contributor withdraws a record by sending a new package with its consent
    flag off (or without it): the record's person link and review pairs go with the old
    package, decision and note included, so no decision binds a later run."""
    import pyarrow as pa

    from safelight.link.decisions import load_decisions

    paths, _ = packages
    for p in paths:
        receive_package(hub, p, new_contributor=True)
    link_hub_encoded(hub)
    pairs = hub.con.execute("""
        SELECT left_contributor, left_record_id, right_contributor, right_record_id
        FROM link_review ORDER BY ALL""").fetchall()
    ngo = sorted({r for lc, lr, rc, rr in pairs for c, r in ((lc, lr), (rc, rr)) if c == "ngo"})
    assert len(ngo) >= 3
    withdrawn, dropped, kept = ngo[0], ngo[1], ngo[2]
    hub.con.execute("UPDATE link_review SET decision = 'match', decided_by = 'rev', "
                    "decision_note = 'seen the passport'")
    assert len(load_decisions(hub)) == len(pairs)

    left, _ = _sources()
    rows = [r for r in left if r["record_id"] != dropped]
    table = _table(rows).append_column(
        "consent_linkage", pa.array([r["record_id"] != withdrawn for r in rows]))
    new = write_package(encode_table(table, KEY, EncodingSettings(seed=5), contributor="ngo"),
                        tmp_path / "ngo2")
    receive_package(hub, new, new_contributor=True)

    def rows_of(rid: str) -> int:
        return hub.con.execute("""
            SELECT (SELECT count(*) FROM persons WHERE contributor = 'ngo' AND record_id = $r)
                 + (SELECT count(*) FROM link_review
                    WHERE (left_contributor = 'ngo' AND left_record_id = $r)
                       OR (right_contributor = 'ngo' AND right_record_id = $r))""",
                               {"r": rid}).fetchone()[0]

    assert rows_of(withdrawn) == 0 and rows_of(dropped) == 0
    assert rows_of(kept) >= 2  # the others keep their person link and their decisions
    decided = load_decisions(hub)
    assert 0 < len(decided) < len(pairs)
    note = hub.con.execute("SELECT count(*) FROM link_review WHERE decision_note IS NOT NULL"
                           ).fetchone()[0]
    assert note == len(decided)
    audit = hub.con.execute("SELECT details FROM audit_log WHERE action = 'pprl_receive' "
                            "ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert json.loads(audit)["review_pairs_removed"] > 0
    link_hub_encoded(hub)  # the next run neither fails nor brings the withdrawn record back
    assert rows_of(withdrawn) == 0


def test_a_withdrawal_erases_the_records_encodings_from_the_stored_package(hub, packages):
    import io

    import pyarrow.parquet as pq

    paths, _ = packages
    hub.withdraw_consent("ngo", ["L3"], actor="test")  # recorded before the package comes
    for p in paths:
        receive_package(hub, p, new_contributor=True)

    def stored(contributor):
        m, r, sha = hub.con.execute("SELECT manifest, records, records_sha256 FROM pprl_packages "
                                    "WHERE contributor = ?", [contributor]).fetchone()
        return json.loads(m), pq.read_table(io.BytesIO(bytes(r))), sha

    manifest, table, sha = stored("ngo")
    ids = set(table["record_id"].to_pylist())
    assert "L3" not in ids and len(ids) == manifest["records"] == 299
    assert manifest["records_sha256"] == sha
    counts = hub.withdraw_consent("ngo", ["L5", "L7"], actor="test")
    assert counts["encoded_records_erased"] == 2
    manifest, table, _ = stored("ngo")
    assert not {"L5", "L7"} & set(table["record_id"].to_pylist()) and manifest["records"] == 297
    assert stored("police")[1].num_rows == 300  # another contributor's package is untouched
    assert len(load_hub_packages(hub)) == 297 + 300


def test_the_web_lists_the_persons_of_a_hub_of_packages_only(hub, packages):
    """Trial finding (2026-12-01): /api/v1/persons was empty for a hub holding packages and
    no cases (it joined every person to a case), while `status` counted them."""
    from types import SimpleNamespace

    from safelight.web.linkage import persons_seen_by_several
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    for p in packages[0]:
        receive_package(hub, p, new_contributor=True)
    result = link_hub_encoded(hub)
    path = hub.path
    hub.close()
    state = HubState(path, WebSettings())
    try:
        listed = persons_seen_by_several(state, SimpleNamespace(username="ana"), limit=1000)
    finally:
        state.close()
    assert listed["total"] == result.persons_in_several_contributors > 150


def test_a_hub_of_packages_is_relinked_privately_from_the_web(hub, packages, caplog):
    """Trial finding (2026-12-01): the web's "run linkage" ran clear linkage only — a hub of
    packages got "fewer than two records", and one holding both had its privacy-preserving
    persons replaced by a clear run's. It runs the mode of the hub's last run; `link hub`
    in clear on a hub of packages points to --pprl, and a run of the other mode warns."""
    import logging
    from types import SimpleNamespace

    from safelight.link.hub import last_run_mode, link_hub
    from safelight.web.linkage import run_linkage
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    for p in packages[0]:
        receive_package(hub, p, new_contributor=True)
    assert last_run_mode(hub) is None
    with pytest.raises(SafelightError, match="2 contribution package.*--pprl"):
        link_hub(hub)
    path = hub.path
    hub.close()
    state = HubState(path, WebSettings())
    try:
        first = run_linkage(state, SimpleNamespace(username="admin"))
        again = run_linkage(state, SimpleNamespace(username="admin"))
    finally:
        state.close()
    assert first["mode"] == again["mode"] == "pprl"
    assert again["persons_in_several_contributors"] > 150
    from safelight.store import open_hub

    with open_hub(path) as h:
        assert last_run_mode(h) == "pprl"
        h.con.execute("INSERT INTO link_runs SELECT 'older', started_at, finished_at - "
                      "INTERVAL 1 DAY, software_version, '{}', model, records, candidate_pairs,"
                      " linked_pairs, persons, review_pairs FROM link_runs LIMIT 1")
        assert last_run_mode(h) == "pprl"  # the newest run decides; no mode recorded = clear
        h.con.execute("DELETE FROM link_runs WHERE run_id <> 'older'")
        assert last_run_mode(h) == "clear"
        with caplog.at_level(logging.WARNING, "safelight.link"):
            link_hub_encoded(h)
        assert "replaces the persons of the hub's clear run" in caplog.text


def test_withdrawing_a_record_of_a_package_only_contributor(hub, packages, tmp_path):
    """PPRL trial (2026-12-01): `consent withdraw -c ua-ngo` on a hub holding ua-ngo's package
    only was refused as an unknown contributor; with --before-first-export it erased the
    record from the package but said "0 known". It is known; the output counts what it erased."""
    from safelight.cli import main

    paths, truth = packages
    receive_package(hub, paths[0], new_contributor=True)
    rid = next(r for c, r in truth if c == "ngo")
    path = hub.path
    hub.close()
    r = CliRunner().invoke(main, ["consent", "withdraw", str(path), "-c", "ngo", rid])
    assert r.exit_code == 0, r.output
    assert "1 encoded record(s) of stored packages erased" in r.output
    from safelight.store import open_hub

    with open_hub(path) as h:
        entry = h.con.execute("SELECT details FROM audit_log WHERE action = 'withdraw_consent'"
                              ).fetchone()[0]
    assert json.loads(entry)["encoded_records_erased"] == 1


def test_link_pprl_refuses_a_package_twice_and_outputs_inside_a_package(packages, tmp_path):
    """PPRL trial: three packages with one repeated linked (a record in two clusters), and
    `--out ngo.enc/records.parquet --force` overwrote the package it read. Packages of one
    contributor link only when no record id is in two of them."""
    from safelight.link.cli import link

    paths, _ = packages
    runner = CliRunner()
    r = runner.invoke(link, ["pprl", *map(str, paths), str(paths[1]), "--out",
                             str(tmp_path / "c.csv")])
    assert r.exit_code == 2 and "given twice" in r.output, r.output
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(paths[1], copy)
    r = runner.invoke(link, ["pprl", *map(str, paths), str(copy), "--out",
                             str(tmp_path / "c.csv")])
    assert r.exit_code == 2 and "of contributor 'police' hold" in r.output, r.output
    r = runner.invoke(link, ["pprl", str(paths[1]), str(copy), "--dedupe", "--out",
                             str(tmp_path / "d.csv")])  # two, with --dedupe: the same (review)
    assert r.exit_code == 2 and "record would sit in two clusters" in r.output, r.output
    target = paths[0] / "records.parquet"
    before = target.read_bytes()
    r = runner.invoke(link, ["pprl", *map(str, paths), "--out", str(target), "--force"])
    assert r.exit_code == 2 and "inside the input" in r.output, r.output
    assert target.read_bytes() == before


@pytest.mark.parametrize("edit", [
    {"format_version": None}, {"format_version": "six"}, {"contributor": ["a"]},
    {"records": "600"}, {"settings": []}, "drop format_version", {"settings": {}},
    {"settings.flip_probability": "abc"}, {"settings.fields": ["given_name"]},
    {"fields_present": [1]},
])
def test_a_hand_edited_manifest_is_damaged_not_a_traceback(packages, edit):
    """PPRL trial (2026-12-01): hand-edited manifest values were TypeErrors and ValueErrors
    (exit 1); a missing format_version said "format v-1 is older"."""
    from safelight.identity.encode import MANIFEST
    from safelight.link.encoded import read_package

    path = packages[0][0]
    manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    if edit == "drop format_version":
        del manifest["format_version"]
    else:
        for key, value in edit.items():
            if key.startswith("settings."):
                manifest["settings"][key.split(".", 1)[1]] = value
            else:
                manifest[key] = value
    (path / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(SafelightError, match="damaged") as e:
        read_package(path)
    assert e.value.exit_code == 7


@pytest.mark.parametrize("change", ["null id", "repeated id", "no column", "short filters"])
def test_hand_edited_records_are_refused(packages, tmp_path, change):
    """PPRL trial: a null record id linked (a pair with an empty id), repeated ids were
    accepted, `identity inspect` passed a package without a filter column, and filters cut
    short were a traceback."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from safelight.identity.encode import MANIFEST, RECORDS
    from safelight.link.encoded import read_packages

    path = packages[0][0]
    table = pq.read_table(path / RECORDS)
    ids = table["record_id"].to_pylist()
    if change == "null id":
        ids[3] = None
    if change == "repeated id":
        ids[3] = ids[4]
    table = table.set_column(table.schema.get_field_index("record_id"), "record_id",
                             pa.array(ids, pa.string()))
    if change == "no column":
        table = table.drop_columns(["bf_given_name"])
    if change == "short filters":
        i = table.schema.get_field_index("bf_given_name")
        col = table["bf_given_name"].combine_chunks()
        table = table.set_column(i, "bf_given_name", pc.binary_slice(col, 0, 8)
                                 if hasattr(pc, "binary_slice") else
                                 pa.array([b[:8] if b else b for b in col.to_pylist()],
                                          col.type))
    pq.write_table(table, path / RECORDS)
    manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    manifest["records_sha256"] = hashlib.sha256((path / RECORDS).read_bytes()).hexdigest()
    (path / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(SafelightError) as e:
        read_packages(packages[0])
    assert e.value.exit_code == 7, e.value


def test_status_names_linked_contributors_without_a_country(hub, packages):
    """Hub trial (2026-12-01): a hub ingested without --country said "0 in several
    countries", as if none crossed a border; status names the contributors whose country it
    does not know."""
    from safelight.cli import main

    for p in packages[0]:
        receive_package(hub, p, new_contributor=True)
    link_hub_encoded(hub)
    path = hub.path
    hub.close()
    r = CliRunner().invoke(main, ["status", str(path)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "country unknown for 2 contributor(s): ngo, police" in text
    assert "--country" in text
    r = CliRunner().invoke(main, ["status", str(path), "--json"])
    assert json.loads(r.output)["linked_contributors_without_country"] == ["ngo", "police"]


def test_receive_registers_the_contributors_country(hub, packages):
    """Review (2026-12-01): a hub of packages never knew its contributors' countries, so
    "persons in several countries" stayed 0 and status advised an ingest there was no file
    for; `link receive --country` registers it (checked: not a country is refused)."""
    paths, _ = packages
    with pytest.raises(SafelightError, match="is not a country"):
        receive_package(hub, paths[0], new_contributor=True, country="Atlantis")
    assert hub.con.execute("SELECT count(*) FROM pprl_packages").fetchone()[0] == 0
    receive_package(hub, paths[0], new_contributor=True, country="UA")
    receive_package(hub, paths[1], new_contributor=True, country="Poland")
    result = link_hub_encoded(hub)
    st = hub.status()
    assert st["persons_seen_in_several_countries"] == \
        result.persons_in_several_contributors > 150
    # hub trial (2026-12-01): status gave no breakdown, last run or queue
    assert st["persons_by_contributor_count"] == {"2": result.persons_in_several_contributors}
    run = st["last_link_run"]
    assert run["mode"] == "pprl" and run["records"] == result.records
    assert run["run_id"] == result.run_id and run["review_pairs"] == result.review_pairs
    assert st["review_queue"] == {"open": run["review_pairs"], "decided": 0}


def test_a_package_file_given_as_a_file_in_clear_points_to_the_package(packages, tmp_path):
    """PPRL trial: `link pairs PKG/records.parquet … --map` called the Parquet file damaged."""
    from safelight.link.cli import link

    paths, _ = packages
    mp = tmp_path / "m.yaml"
    mp.write_text("id: record_id\nfields: {given_name: given_name}\n")
    r = CliRunner().invoke(link, ["pairs", str(paths[0] / "records.parquet"),
                                  str(paths[1] / "records.parquet"), "--map", str(mp),
                                  "--out", str(tmp_path / "p.csv")])
    assert r.exit_code == 2 and "is part of the encoded package" in r.output, r.output


def test_a_pprl_run_learns_m_from_reviewers_decisions(hub, packages, tmp_path):
    """``link hub --pprl --learn-from-reviews``: the decided pairs refine m (they were used
    only to bind persons), the decisions still bind, and the run records the setting."""
    from safelight.link.cli import link
    from safelight.link.pprl import PPRLSettings

    paths, truth = packages
    for p in paths:
        receive_package(hub, p, new_contributor=True)
    first = link_hub_encoded(hub)
    queue = hub.con.execute("SELECT left_contributor, left_record_id, right_contributor, "
                            "right_record_id FROM link_review WHERE run_id = ?",
                            [first.run_id]).fetchall()
    assert queue
    for lc, lr, rc, rr in queue:
        same = truth[(lc, lr)] == truth[(rc, rr)]
        hub.con.execute("UPDATE link_review SET decision = ?, decided_by = 'rev', decided_at = "
                        "now() WHERE left_contributor = ? AND left_record_id = ? AND "
                        "right_contributor = ? AND right_record_id = ?",
                        ["match" if same else "non_match", lc, lr, rc, rr])
    plain = link_hub_encoded(hub)
    refined = link_hub_encoded(hub, PPRLSettings(learn_from_reviews=True))
    assert sum(s.get("reviewed_pairs", 0) for s in plain.result.em.sessions) == 0
    assert sum(s.get("reviewed_pairs", 0) for s in refined.result.em.sessions) > 0
    assert not all(np.allclose(x, y) for x, y in zip(plain.result.em.model.m,
                                                      refined.result.em.model.m, strict=True))
    persons = {(c, r): p for c, r, p in hub.con.execute(
        "SELECT contributor, record_id, person_id FROM persons").fetchall()}
    for lc, lr, rc, rr in queue:
        assert (persons[(lc, lr)] == persons[(rc, rr)]) == (truth[(lc, lr)] == truth[(rc, rr)])
    run = json.loads(hub.con.execute("SELECT settings FROM link_runs ORDER BY finished_at DESC "
                                     "LIMIT 1").fetchone()[0])
    assert run["mode"] == "pprl" and run["learn_from_reviews"] is True
    path = hub.path
    hub.close()
    r = CliRunner().invoke(link, ["hub", str(path), "--pprl", "--learn-from-reviews", "--json"])
    assert r.exit_code == 0, r.output


def test_an_older_package_cannot_undo_a_newer_one_and_the_same_one_changes_nothing(
        hub, packages, tmp_path):
    """A package encoded before the stored one would bring back the records the newer export
    withdrew: refused unless --allow-older. The stored package received again writes nothing."""
    import pyarrow as pa

    paths, _ = packages
    for p in paths:
        receive_package(hub, p, new_contributor=True)
    audits = hub.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    again = receive_package(hub, paths[0])
    assert again["unchanged"] is True
    assert hub.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits
    left, _ = _sources()
    withdrawn = left[0]["record_id"]
    table = _table(left).append_column(
        "consent_linkage", pa.array([r["record_id"] != withdrawn for r in left]))
    newer = encode_table(table, KEY, EncodingSettings(seed=5), contributor="ngo")
    newer.manifest["created"] = "2099-01-01T00:00:00Z"
    receive_package(hub, write_package(newer, tmp_path / "ngo_newer"))
    with pytest.raises(RefusedError, match="before the one the hub holds.*--allow-older"):
        receive_package(hub, paths[0])
    stored = json.loads(hub.con.execute(
        "SELECT manifest FROM pprl_packages WHERE contributor = 'ngo'").fetchone()[0])
    assert stored["created"] == "2099-01-01T00:00:00Z"
    assert receive_package(hub, paths[0], allow_older=True)["unchanged"] is False


def test_a_country_given_to_a_stored_package_is_said_and_audited(hub, packages, tmp_path):
    """`link receive --country PL` of the package stored already set the contributor's country
    (75 more persons "in several countries") and said "nothing changed", without an audit entry
    (a new-user trial of the hub, 2026-12-02)."""
    from safelight.link.cli import link

    paths, _ = packages
    receive_package(hub, paths[0], new_contributor=True)
    hub.close()
    r = CliRunner().invoke(link, ["receive", str(hub.path), str(paths[0]), "--country", "PL"])
    assert r.exit_code == 0, r.output
    assert "its country is now POL" in r.output and "nothing changed" not in r.output
    r = CliRunner().invoke(link, ["receive", str(hub.path), str(paths[0]), "--country", "PL"])
    assert "nothing changed" in r.output  # the same country again
    from safelight.store import open_hub

    with open_hub(hub.path) as h:
        rows = h.con.execute("SELECT CAST(details AS VARCHAR) FROM audit_log WHERE action = "
                             "'contributor_country'").fetchall()
    assert len(rows) == 1 and json.loads(rows[0][0]) == {"country": "POL"}


def test_a_changed_country_is_warned_about_and_audited(hub, packages, caplog):
    paths, _ = packages
    receive_package(hub, paths[0], new_contributor=True, country="UA")
    with caplog.at_level("WARNING"):  # the same package again: its country still counts
        assert receive_package(hub, paths[0], country="PL")["unchanged"] is True
    assert "registered in UKR and is now in POL" in caplog.text
    assert hub.con.execute("SELECT country FROM contributors WHERE name = 'ngo'"
                           ).fetchone()[0] == "POL"
    details = hub.con.execute("SELECT details FROM audit_log WHERE action = "
                              "'contributor_country' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert json.loads(details)["country_changed_from"] == "UKR"
    paths2 = write_package(encode_table(_table(_sources()[0]), KEY, EncodingSettings(seed=6),
                                        contributor="ngo"), paths[0].parent / "ngo_again")
    caplog.clear()
    with caplog.at_level("WARNING"):
        receive_package(hub, paths2, country="UA")
    assert "registered in POL and is now in UKR" in caplog.text
    details = hub.con.execute("SELECT details FROM audit_log WHERE action = 'pprl_receive' "
                              "ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert json.loads(details)["country_changed_from"] == "POL"
