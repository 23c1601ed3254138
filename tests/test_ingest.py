"""The ingest pipeline: accounting, quarantine reasons, idempotence, updates, atomicity."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ingest_support import HEADER, TEST_PROFILE, good_row

from safelight.errors import InputFileError, ProfileError
from safelight.ingest import check_file, ingest_file, load_profile
from safelight.store import open_hub


def write(path, rows, delimiter=";"):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def accounting(hub):
    return hub.con.execute("SELECT sum(rows_read), sum(rows_accepted), sum(rows_quarantined) FROM contributions").fetchone()


def quarantine_rules(hub):
    return {row: rules for row, rules in hub.con.execute("SELECT source_row, rules FROM quarantine").fetchall()}


def test_counts_add_up_and_reasons_name_column_rule_value(tmp_path, hub, profile):
    rows = [HEADER] + [good_row(i) for i in range(1, 21)]
    rows[3][2] = "X"  # unknown gender code (row 4)
    rows[5][10] = "31.02.1990"  # impossible date (row 6)
    rows[7][3] = "abc"  # not an integer (row 8)
    rows[9][6] = "2"  # not a flag value (row 10)
    rows[11][4] = "Atlantis"  # unknown country (row 12)
    rows[13][0] = ""  # no record id (row 14)
    rows[15][10] = "01.01.2090"  # birth in the future (row 16)
    rows.append(list(rows[1]))  # duplicate record id of row 2 (row 22)
    path = write(tmp_path / "a.csv", rows)
    result = ingest_file(hub, path, contributor="ua", profile=profile)
    assert result.rows_read == 21
    assert result.rows_accepted + result.rows_quarantined == result.rows_read
    assert result.rows_quarantined == 8
    rules = quarantine_rules(hub)
    assert rules == {4: ["unknown_code"], 6: ["invalid_date"], 8: ["invalid_integer"], 10: ["invalid_flag"],
                     12: ["unknown_country"], 14: ["missing_record_id"], 16: ["date_in_future"],
                     22: ["duplicate_record_id"]}
    reasons = json.loads(hub.con.execute("SELECT reasons FROM quarantine WHERE source_row = 4").fetchone()[0])
    assert reasons == [{"column": "sex", "rule": "unknown_code", "value": "X", "message": reasons[0]["message"]}]
    raw = json.loads(hub.con.execute("SELECT raw FROM quarantine WHERE source_row = 6").fetchone()[0])
    assert raw["dob"] == "31.02.1990" and raw["first"] == rows[5][8]  # the whole row is kept


def test_values_are_mapped_and_raw_values_kept(tmp_path, hub, profile):
    path = write(tmp_path / "a.csv", [HEADER, ["7", "2020", "F", "17", "NA", "forced_labour,forced_begging", "1",
                                               "1", "Олена", "Шевченко", "1999"]])
    ingest_file(hub, path, contributor="ua", profile=profile)
    row = hub.con.execute("""SELECT gender, citizenship, age_band, majority_status, types_of_exploitation,
                             means_of_control, consent, consent_linkage, gender_raw, citizenship_raw,
                             means_of_control_raw, types_of_exploitation_raw FROM cases""").fetchone()
    assert row[:8] == ("female", "NAM", "9-17", "minor", ["forced_labour", "forced_begging"],
                       ["debt_bondage", "withholds_documents"], "full", True)
    # the raw value is kept next to the mapped one
    assert row[8:] == ("F", "NA", "debt=1; docs=1", "forced_labour,forced_begging")
    # identity fields live in their own table, never in cases
    case_columns = [d[0] for d in hub.con.execute("SELECT * FROM cases").description]
    assert not {"given_name", "family_name", "birth_date", "phone"} & set(case_columns)
    assert hub.con.execute("SELECT birth_date_raw FROM identities").fetchone() == ("1999",)
    ident = hub.con.execute("SELECT given_name, family_name, birth_year, birth_month, birth_date FROM identities").fetchone()
    assert ident == ("Олена", "Шевченко", 1999, None, None)


def test_reingest_same_file_changes_nothing(tmp_path, hub, profile):
    path = write(tmp_path / "a.csv", [HEADER] + [good_row(i) for i in range(1, 101)])
    first = ingest_file(hub, path, contributor="ua", profile=profile)
    again = ingest_file(hub, path, contributor="ua", profile=profile)
    assert again.already_ingested and again.contribution_id == first.contribution_id
    assert hub.con.execute("SELECT count(*) FROM cases").fetchone()[0] == 100
    assert hub.con.execute("SELECT count(*) FROM contributions").fetchone()[0] == 1


def test_later_export_updates_changed_records_only(tmp_path, hub, profile):
    rows = [HEADER] + [good_row(i) for i in range(1, 11)]
    ingest_file(hub, write(tmp_path / "jan.csv", rows), contributor="ua", profile=profile)
    rows[2][1] = "2022"  # record 2 changed
    rows[4][8] = "Olena"  # record 4: only the given name changed
    rows.append(good_row(11))  # record 11 new
    result = ingest_file(hub, write(tmp_path / "feb.csv", rows), contributor="ua", profile=profile)
    assert (result.rows_new, result.rows_updated, result.rows_unchanged) == (1, 2, 8)
    assert hub.con.execute("SELECT given_name FROM identities WHERE record_id='4'").fetchall() == [("Olena",)]
    assert hub.con.execute("SELECT count(*) FROM cases").fetchone()[0] == 11
    assert hub.con.execute("SELECT count(*) FROM identities").fetchone()[0] == 11
    assert hub.con.execute("SELECT year_of_registration, contribution_id FROM cases WHERE record_id='2'").fetchone() == (2022, 2)
    # another contributor's record with the same id is a different record
    ingest_file(hub, write(tmp_path / "pl.csv", rows), contributor="pl", profile=profile)
    assert hub.con.execute("SELECT count(*) FROM cases").fetchone()[0] == 22


def test_missing_profile_column_is_a_file_error(tmp_path, hub, profile):
    path = write(tmp_path / "a.csv", [["id", "year"], ["1", "2020"]])
    with pytest.raises(InputFileError, match="'sex'"):
        ingest_file(hub, path, contributor="ua", profile=profile)
    assert hub.con.execute("SELECT count(*) FROM contributions").fetchone()[0] == 0


def test_wrong_delimiter_is_explained(tmp_path, hub, profile_path):
    text = profile_path.read_text().replace("profile: test", "profile: test\nread: {delimiter: ','}")
    profile_path.write_text(text)
    path = write(tmp_path / "a.csv", [HEADER, good_row(1)], delimiter=";")
    with pytest.raises(InputFileError, match="delimiter is probably wrong"):
        ingest_file(hub, path, contributor="ua", profile=load_profile(profile_path))


def test_header_only_file_is_a_file_error_and_leaves_nothing(tmp_path, hub, profile):
    path = write(tmp_path / "a.csv", [HEADER])
    with pytest.raises(InputFileError, match="no data rows"):
        ingest_file(hub, path, contributor="ua", profile=profile)
    assert hub.con.execute("SELECT count(*) FROM contributions").fetchone()[0] == 0
    assert hub.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_duplicate_header_used_by_profile_is_refused(tmp_path, hub, profile):
    path = write(tmp_path / "a.csv", [HEADER + ["sex"], good_row(1) + ["M"]])
    with pytest.raises(InputFileError, match="more than once"):
        ingest_file(hub, path, contributor="ua", profile=profile)


def test_inconsistent_age_band_is_quarantined(tmp_path, hub):
    prof = tmp_path / "p.yaml"
    prof.write_text(textwrap.dedent("""
        profile: t
        record_id: id
        fields: {age_years: age, age_band: band}
    """))
    path = write(tmp_path / "a.csv", [["id", "age", "band"], ["1", "17", "9-17"], ["2", "25", "9-17"], ["3", "", "48+"]])
    ingest_file(hub, path, contributor="x", profile=load_profile(prof))
    assert quarantine_rules(hub) == {3: ["inconsistent_age"]}
    assert hub.con.execute("SELECT record_id, majority_status FROM cases ORDER BY 1").fetchall() == [("1", "minor"), ("3", "adult")]


def test_consent_defaults_to_statistics_only(tmp_path, hub):
    prof = tmp_path / "p.yaml"
    prof.write_text("profile: t\nrecord_id: id\nfields: {gender: g}\n")
    ingest_file(hub, write(tmp_path / "a.csv", [["id", "g"], ["1", "female"]]), contributor="x", profile=load_profile(prof))
    assert hub.con.execute("SELECT consent, consent_linkage, consent_statistics FROM cases").fetchone() == (
        "statistics_only", False, True)


def test_profile_errors_name_the_place(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("profile: t\nrecord_id: id\nfields: {gender: {column: g, values: {F: woman}}}\n")
    with pytest.raises(ProfileError, match=r"fields.gender value 'f'.*'woman' is not a code of gender"):
        load_profile(bad)
    bad.write_text("profile: t\nrecord_id: id\nfields: {colour: c}\n")
    with pytest.raises(ProfileError, match="'colour' is not a field"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="unknown profile"):
        load_profile("no-such-profile")


def test_check_file_without_hub(tmp_path, profile):
    rows = [HEADER] + [good_row(i) for i in range(1, 6)]
    rows[2][2] = "?!"
    result = check_file(write(tmp_path / "a.csv", rows), profile)
    assert (result["rows_read"], result["rows_valid"]) == (5, 4) and result["rules"] == {"unknown_code": 1}


def test_check_predicts_ingest_with_repeated_ids_and_rules_counted_per_row(tmp_path, hub, profile):
    rows = [HEADER] + [good_row(i) for i in range(1, 8)]
    rows.append(list(rows[3]))               # record 3 again
    rows[5][10] = "31.02.1990"               # an impossible birth date
    rows[6][2], rows[6][4] = "?!", "Atlantis"  # two unknown codes in one row
    path = write(tmp_path / "a.csv", rows)
    checked = check_file(path, profile)
    result = ingest_file(hub, path, contributor="ua", profile=profile)
    assert (checked["rows_valid"], checked["rows_invalid"]) == (result.rows_accepted,
                                                                result.rows_quarantined) == (5, 3)
    assert checked["rules"] == dict(result.top_rules)
    assert checked["rules"]["duplicate_record_id"] == 1


def test_audit_log_records_ingest_and_detects_tampering(tmp_path, hub, profile):
    ingest_file(hub, write(tmp_path / "a.csv", [HEADER, good_row(1)]), contributor="ua", profile=profile)
    assert hub.verify_audit()[0]
    hub.con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    ok, message = hub.verify_audit()
    assert not ok and "entry 1" in message


KILL_SCRIPT = """
import sys
from safelight.ingest import ingest_file, load_profile
from safelight.store import open_hub
hub = open_hub(sys.argv[1])
profile = load_profile(sys.argv[3])
def progress(rows, nbytes):
    if rows >= 100_000:
        print("midway", flush=True)
        import time; time.sleep(60)
ingest_file(hub, sys.argv[2], contributor="ua", profile=profile, progress=progress)
"""


def test_killed_ingest_leaves_no_partial_contribution(tmp_path, profile_path):
    hub_path = tmp_path / "hub.duckdb"
    open_hub(hub_path, create=True).close()
    path = write(tmp_path / "big.csv", [HEADER] + [good_row(i) for i in range(1, 200_001)])
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), str(hub_path), str(path), str(profile_path)],
                            stdout=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    line = b""
    while time.time() < deadline and b"midway" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert b"midway" in line, "the ingest did not reach the middle of the file"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open_hub(hub_path) as hub:
        assert hub.con.execute("SELECT count(*) FROM contributions").fetchone()[0] == 0
        assert hub.con.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
        assert hub.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
        stages = hub.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '_stage%'").fetchone()[0]
        assert stages == 0
        assert not list(tmp_path.glob("hub.duckdb.ingest-*")), "the spool of the killed ingest was not removed"
        # and the hub still works
        result = ingest_file(hub, write(tmp_path / "small.csv", [HEADER, good_row(1)]), contributor="ua",
                             profile=load_profile(profile_path))
        assert result.rows_accepted == 1


def test_xlsx_progress_moves_while_the_workbook_is_read(tmp_path, hub, profile):
    """Rows and bytes read so far are reported during the read, as for CSV (a workbook of fewer
    than 50,000 rows showed 0 rows and no bytes until it had been read whole)."""
    import openpyxl

    path = tmp_path / "a.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    for row in [HEADER] + [good_row(i) for i in range(1, 6_001)]:
        ws.append(row)
    wb.save(path)
    seen: list[tuple[int, int]] = []
    result = ingest_file(hub, path, contributor="ua", profile=profile,
                         progress=lambda rows, nbytes: seen.append((rows, nbytes)))
    rows, nbytes = [r for r, _ in seen], [b for _, b in seen]
    assert len(seen) >= 2 and rows == sorted(rows) and rows[0] < rows[-1] == result.rows_read == 6_000
    assert 0 < nbytes[0] < nbytes[-1] <= path.stat().st_size


def test_age_is_derived_from_birth_date_when_missing(tmp_path, hub):
    prof = tmp_path / "p.yaml"
    prof.write_text(textwrap.dedent("""
        profile: t
        record_id: id
        fields: {registration_date: reg, age_years: age, birth_date: dob}
    """))
    rows = [["id", "reg", "age", "dob"],
            ["1", "2020-06-15", "", "2003-06-16"],   # exact: 16 (birthday not yet reached)
            ["2", "2020-06-15", "", "1990"],         # year only: 29 or 30 straddle two bands → none
            ["3", "2020-06-15", "", "1985"],         # 34 or 35 → 30-38
            ["4", "2020-06-15", "40", "1985"]]       # a given age wins
    ingest_file(hub, write(tmp_path / "a.csv", rows, delimiter=","), contributor="x", profile=load_profile(prof))
    got = hub.con.execute("SELECT record_id, age_years, age_band, majority_status FROM cases ORDER BY 1").fetchall()
    assert got == [("1", 16, "9-17", "minor"), ("2", None, None, "adult"), ("3", None, "30-38", "adult"),
                   ("4", 40, "39-47", "adult")]


def test_consent_withdrawal_is_sticky_and_erases_identity(tmp_path, hub, profile):
    rows = [HEADER] + [good_row(i) for i in range(1, 6)]
    ingest_file(hub, write(tmp_path / "jan.csv", rows), contributor="ua", profile=profile)
    counts = hub.withdraw_consent("ua", ["2", "99"], actor="test", reason="asked by the person")
    assert counts == {"requested": 2, "known": 1, "cases_withdrawn": 1, "identities_erased": 1,
                      "quarantined_rows_redacted": 0, "encoded_records_erased": 0,
                      "person_links_removed": 0,
                      "release_true_counts_dropped": 0, "referral_rows_cleared": 0}
    row = hub.con.execute("SELECT consent, consent_linkage, consent_statistics FROM cases WHERE record_id='2'").fetchone()
    assert row == ("withdrawn", False, False)
    assert hub.con.execute("SELECT count(*) FROM identities WHERE record_id='2'").fetchone()[0] == 0
    # a later export that still says "full" does not revive it; record 99 arrives and is withdrawn too
    rows[2][1] = "2022"
    rows.append(["99"] + good_row(99)[1:])
    ingest_file(hub, write(tmp_path / "feb.csv", rows), contributor="ua", profile=profile)
    got = dict(hub.con.execute("SELECT record_id, consent FROM cases WHERE record_id IN ('2', '99')").fetchall())
    assert got == {"2": "withdrawn", "99": "withdrawn"}
    assert hub.con.execute("SELECT count(*) FROM identities WHERE record_id IN ('2', '99')").fetchone()[0] == 0
    assert hub.verify_audit()[0]


def test_withdrawal_redacts_the_records_quarantined_rows_and_keeps_the_accounting(tmp_path, hub, profile):
    rows = [HEADER] + [good_row(i) for i in range(1, 6)]
    rows.append(list(rows[2]))          # record 2 again: quarantined as a duplicate id
    bad = good_row(7)
    bad[0] = " 7 "                      # written with spaces (ingest trims ids)
    bad[10] = "31.02.1990"              # record 7: an impossible birth date, quarantined
    rows.append(bad)
    ingest_file(hub, write(tmp_path / "jan.csv", rows), contributor="ua", profile=profile)
    con = hub.con

    def quarantine_text():
        return " ".join(r + " " + str(j) for r, j in con.execute(
            "SELECT raw, CAST(reasons AS VARCHAR) FROM quarantine").fetchall())

    assert "Name2" in quarantine_text() and "Name7" in quarantine_text()
    counts = hub.withdraw_consent("ua", ["2", "7"], actor="test")
    assert counts["quarantined_rows_redacted"] == 2
    text = quarantine_text()
    for clear in ("Name2", "Name7", "31.02.1990", '"2"', '"7"'):
        assert clear not in text
    # rules, columns and the row accounting stay
    assert quarantine_rules(hub) == {7: ["duplicate_record_id"], 8: ["invalid_date"]}
    assert accounting(hub) == (7, 5, 2)
    # a later export with the same bad row is redacted as it arrives
    ingest_file(hub, write(tmp_path / "feb.csv", rows + [good_row(8)]), contributor="ua", profile=profile)
    assert "Name7" not in quarantine_text() and "Name2" not in quarantine_text()


def _three_linked_records(tmp_path, hub, profile, *pairs):
    """Records 1-3 of contributor ``ua`` in one person, with review pairs ``pairs``."""
    rows = [HEADER] + [good_row(i) for i in range(1, 4)]
    ingest_file(hub, write(tmp_path / "jan.csv", rows), contributor="ua", profile=profile)
    con = hub.con
    for rid in ("1", "2", "3"):
        con.execute("INSERT INTO persons VALUES ('ua', ?, 'S0000000a', 3, 1, 0.9, 'run1')", [rid])
    for left, right in pairs:
        con.execute("""INSERT INTO link_review (run_id, left_contributor, left_record_id,
                       right_contributor, right_record_id, match_probability, match_weight,
                       linked, reasons) VALUES ('run1', 'ua', ?, 'ua', ?, 0.5, 0.0, true, '{}')""",
                    [left, right])
    return con


def test_an_export_that_drops_linkage_consent_unlinks_the_record(tmp_path, hub, profile):
    con = _three_linked_records(tmp_path, hub, profile, ("1", "2"), ("3", "1"))
    prof = tmp_path / "none.yaml"
    prof.write_text(TEST_PROFILE.replace("defaults: {consent: full}", "defaults: {consent: none}"))
    ingest_file(hub, write(tmp_path / "feb.csv", [HEADER, good_row(2)]), contributor="ua",
                profile=load_profile(prof))
    assert con.execute("SELECT consent_linkage FROM cases WHERE record_id = '2'").fetchone() == (False,)
    assert con.execute("SELECT record_id FROM persons ORDER BY 1").fetchall() == [("1",), ("3",)]
    assert con.execute("SELECT left_record_id, right_record_id FROM link_review").fetchall() == [("3", "1")]


def test_future_is_judged_against_the_day_of_the_ingest(tmp_path, hub):
    import datetime as dt

    prof = tmp_path / "p.yaml"
    prof.write_text("profile: t\nrecord_id: id\nfields: {registration_date: {column: d, date_formats: ['%Y-%m-%d']}}\n")
    today = dt.date.today()
    rows = [["id", "d"], ["1", today.isoformat()], ["2", (today + dt.timedelta(days=1)).isoformat()]]
    ingest_file(hub, write(tmp_path / "a.csv", rows, delimiter=","), contributor="x", profile=load_profile(prof))
    assert quarantine_rules(hub) == {3: ["date_in_future"]}


def test_withdrawal_removes_the_record_from_persons_and_the_review_queue(tmp_path, hub, profile):
    con = _three_linked_records(tmp_path, hub, profile, ("1", "2"), ("3", "1"), ("1", "3"))
    counts = hub.withdraw_consent("ua", ["2"], actor="test", reason="asked by the person")
    assert counts["person_links_removed"] == 1
    assert con.execute("SELECT record_id FROM persons ORDER BY 1").fetchall() == [("1",), ("3",)]
    left = con.execute("SELECT left_record_id, right_record_id FROM link_review ORDER BY 1, 2").fetchall()
    assert left == [("1", "3"), ("3", "1")]


def test_quarantine_keeps_only_the_columns_the_profile_maps(tmp_path, hub, profile):
    header = HEADER + ["victim_phone_note"]
    bad = good_row(1)
    bad[1] = "not a year"
    rows = [header, bad + ["+380509999999 Maria Secret"], good_row(2) + ["+380501111111"]]
    ingest_file(hub, write(tmp_path / "x.csv", rows), contributor="ua", profile=profile)
    raw = hub.con.execute("SELECT string_agg(raw, ' ') FROM quarantine").fetchone()[0]
    assert raw and "not a year" in raw
    assert "Maria Secret" not in raw and "380509999999" not in raw


def test_compact_removes_erased_identities_from_the_file(tmp_path, hub, profile):
    """A withdrawal deletes the identity row, but DuckDB leaves the freed block's bytes in the
    file (privacy review, 2026-12-01): `safelight compact` rewrites the hub without them,
    keeping every row, the sequences and the audit chain."""
    from click.testing import CliRunner

    from safelight.cli import main

    rows = [HEADER] + [good_row(i) for i in range(1, 30)]
    rows[5][9] = "Zaporozhchenko-Withdrawn"  # record 5's family name, held by no one else
    ingest_file(hub, write(tmp_path / "jan.csv", rows), contributor="ua", profile=profile)
    hub.withdraw_consent("ua", ["5"], actor="test")
    hub.con.execute("CHECKPOINT")
    counts = {t: hub.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("cases", "identities", "audit_log", "contributions")}
    path = hub.path
    hub.close()
    assert b"Zaporozhchenko-Withdrawn" in path.read_bytes()  # the leak being closed
    link = tmp_path / "elsewhere" / "hub-link.duckdb"  # a symlink compacts what it points to
    link.parent.mkdir()
    link.symlink_to(path)
    res = CliRunner().invoke(main, ["compact", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and not Path(f"{path}.wal").exists()
    assert b"Zaporozhchenko-Withdrawn" not in path.read_bytes()
    assert (path.stat().st_mode & 0o777) == 0o600
    from safelight.store import open_hub

    with open_hub(path) as again:
        for t, n in counts.items():
            extra = 1 if t == "audit_log" else 0  # the compaction's own entry
            assert again.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == n + extra
        assert again.verify_audit()[0]
        last = again.con.execute("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
        assert last.fetchone()[0] == "compact"
        # the sequences carry on where they were: a new contribution gets the next id
        before = again.con.execute("SELECT max(contribution_id) FROM contributions").fetchone()[0]
        ingest_file(again, write(tmp_path / "feb.csv", [HEADER, good_row(40)]), contributor="ua",
                    profile=profile)
        after = again.con.execute("SELECT max(contribution_id) FROM contributions").fetchone()[0]
        assert after > before
    assert not list(tmp_path.glob(".hub.duckdb.compact*"))


def test_a_web_upload_spool_left_by_a_killed_server_is_removed_when_the_hub_opens(tmp_path):
    """The spool holds the uploaded file itself (names and all); a server killed during an
    upload left it beside the hub for good (privacy review, 2026-12-01)."""
    hub_path = tmp_path / "hub.duckdb"
    open_hub(hub_path, create=True).close()
    spool = tmp_path / ".hub.duckdb.upload-x1y2"
    spool.mkdir()
    (spool / "Prysiazhniuk Olena.csv").write_text("ГЛ-1;Присяжнюк;Олена\n", "utf-8")
    other = tmp_path / ".other.duckdb.upload-x1y2"  # another hub's: not ours to remove
    other.mkdir()
    with open_hub(hub_path):
        pass
    assert not spool.exists() and other.exists()


@pytest.mark.parametrize("fault", ["broken chain", "rows differ", "copy fails its check"])
def test_a_compaction_that_cannot_be_trusted_replaces_nothing(tmp_path, hub, profile, fault,
                                                               monkeypatch):
    """Every refusal leaves the hub's file as it was and no copy beside it."""
    import safelight.store.hub as store_hub
    from safelight.errors import StoreError

    ingest_file(hub, write(tmp_path / "jan.csv", [HEADER, good_row(1), good_row(2)]),
                contributor="ua", profile=profile)
    if fault == "broken chain":
        hub.con.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1")
    hub.con.execute("CHECKPOINT")
    path = hub.path
    hub.close()
    if fault == "rows differ":
        real = store_hub._row_counts
        calls = []

        def counts(con, catalog):
            calls.append(catalog)
            out = real(con, catalog)
            return {**out, "cases": out["cases"] - 1} if catalog == "compacted" else out

        monkeypatch.setattr(store_hub, "_row_counts", counts)
    elif fault == "copy fails its check":
        real_verify = store_hub.Hub.verify_audit

        def verify(self, head=None):
            if self.path.name.endswith(".compact"):
                return False, "simulated"
            return real_verify(self, head)

        monkeypatch.setattr(store_hub.Hub, "verify_audit", verify)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="broken|does not hold|does not check out"):
        store_hub.compact_hub(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".hub.duckdb.compact*"))


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_json_and_parquet_progress_moves_with_the_bytes_read(tmp_path, hub, profile, fmt):
    """JSON, JSON Lines and Parquet report how far into the file they are, as CSV does (they
    reported 0 bytes: a progress bar that never filled)."""
    import dataclasses

    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [dict(zip(HEADER, good_row(i), strict=True)) for i in range(1, 3_002)]
    path = tmp_path / f"a.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(records), "utf-8")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(records), path, row_group_size=500)
    seen: list[tuple[int, int]] = []
    small_chunks = dataclasses.replace(profile, read=dataclasses.replace(profile.read,
                                                                         chunk_rows=1_000))
    result = ingest_file(hub, path, contributor="ua", profile=small_chunks,
                         progress=lambda rows, nbytes: seen.append((rows, nbytes)))
    assert result.rows_read == 3_001  # the last chunk a partial one, read once the file closed
    nbytes = [b for _, b in seen]
    assert len(seen) >= 2 and 0 < nbytes[0] < nbytes[-1] <= path.stat().st_size
    assert nbytes == sorted(nbytes)


@pytest.mark.parametrize("content", [b"given,family\nA,B\n", b"PAR1\x00\x00", b'{"a": 1}\n'])
def test_a_data_file_given_as_the_hub_is_refused_not_filled_in_memory(tmp_path, profile_path,
                                                                        content):
    """Trial finding (2026-12-01): `safelight ingest jan.tsv feb.tsv …` (HUB forgotten) took
    jan.tsv as the hub — DuckDB opened it as an empty in-memory database — reported feb.tsv's
    rows stored and kept nothing. A file that is not a DuckDB database is not a hub."""
    from click.testing import CliRunner

    from safelight.cli import main
    from safelight.errors import StoreError

    notahub = tmp_path / "jan.csv"
    notahub.write_bytes(content)
    with pytest.raises(StoreError, match="not a safelight hub"):
        open_hub(notahub)
    feb = write(tmp_path / "feb.csv", [HEADER, good_row(1)])
    r = CliRunner().invoke(main, ["ingest", str(notahub), str(feb), "-c", "ua", "-p",
                                  str(profile_path)])
    assert r.exit_code == 5 and "not a safelight hub" in r.output, r.output
    r = CliRunner().invoke(main, ["link", "hub", str(notahub)])
    assert r.exit_code == 5 and "not a safelight hub" in r.output, r.output
    assert notahub.read_bytes() == content


def test_a_blank_withdrawal_id_is_refused_and_redacts_nobody_else(tmp_path, hub, profile):
    """A trial's `consent withdraw HUB -c ua ""` (an empty shell variable) redacted every
    quarantined row with a blank cell — other people's rows — and was recorded for good. A
    blank id, or one with a control character, is refused; and an id matches a raw line that
    is not JSON as one of its fields only, not inside a date or a longer id."""
    from safelight.errors import UsageError

    rows = [HEADER] + [good_row(i) for i in range(1, 6)]
    bad = good_row(7)
    bad[10] = "31.02.1990"              # quarantined: an impossible birth date
    assert bad[6] == ""                 # and a blank cell
    rows.append(bad)
    ingest_file(hub, write(tmp_path / "jan.csv", rows), contributor="ua", profile=profile)
    before = hub.con.execute("SELECT raw FROM quarantine").fetchall()
    assert len(before) == 1
    for ids in ([""], ["  "], ["7\tName7"]):
        with pytest.raises(UsageError):
            hub.withdraw_consent("ua", ids, actor="test")
        with pytest.raises(UsageError):
            hub.withdrawal_pending("ua", ids, not_yet_received=True, record_anyway="x")
    assert hub.con.execute("SELECT raw FROM quarantine").fetchall() == before
    assert hub.con.execute("SELECT count(*) FROM consent_withdrawals").fetchone()[0] == 0
    # a raw line that is not JSON (a ragged line): "3" is in its date, not one of its fields
    hub.con.execute("UPDATE quarantine SET raw = '17;Name17;03.03.1993', "
                    "reasons = '[]'")
    assert hub.unknown_record_ids("ua", ["3", "17"]) == []   # 3 is a case, 17 the line's id
    assert hub.withdraw_consent("ua", ["3"], actor="test")["quarantined_rows_redacted"] == 0
    assert hub.withdraw_consent("ua", ["17"], actor="test")["quarantined_rows_redacted"] == 1


def test_consent_withdraw_command_refuses_an_empty_id(tmp_path, profile):
    from click.testing import CliRunner

    from safelight.cli import main

    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        ingest_file(h, write(tmp_path / "jan.csv", [HEADER, good_row(1)]), contributor="ua",
                    profile=profile)
    r = CliRunner().invoke(main, ["consent", "withdraw", str(hub_path), "-c", "ua", ""])
    assert r.exit_code == 2, r.output
    assert "empty or blank" in r.output
