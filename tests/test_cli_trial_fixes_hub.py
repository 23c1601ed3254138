"""Findings of a new-user trial of the hub commands (2026-12-01, second trial): an export that
overwrote the hub, tracebacks, a headerless file's first row printed in an error, blank rows
taken for cases, a multi-file ingest that stopped at its first bad file, a demo that replaced
the previous one, and paths that do not exist."""

from __future__ import annotations

import duckdb
from click.testing import CliRunner

from safelight.cli import main

PROFILE = "profile: t\nrecord_id: id\nfields: {gender: g, citizenship: nat}\n"
GENERATED = "profile: t\nrecord_id: {generate: true}\nfields: {gender: g, citizenship: nat}\n"


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _hub(tmp_path):
    hub = tmp_path / "h.duckdb"
    assert _run("init", hub).exit_code == 0
    return hub


def _ingested(tmp_path, profile: str, text: str, contributor: str, name: str = "a.csv"):
    """A new hub with ``text`` (a CSV file ``name``) ingested for ``contributor`` under the
    profile ``profile`` (YAML text); returns the hub and the ingest's result."""
    prof = tmp_path / "p.yaml"
    prof.write_text(profile, "utf-8")
    f = tmp_path / name
    f.write_text(text, "utf-8")
    hub = _hub(tmp_path)
    return hub, _run("ingest", hub, f, "-c", contributor, "-p", prof)


def _rows(hub, sql: str) -> list[tuple]:
    con = duckdb.connect(str(hub), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _audit_actions(hub) -> list[str]:
    return [a for (a,) in _rows(hub, "SELECT action FROM audit_log ORDER BY seq")]


def test_quarantine_never_writes_over_the_hub_nor_audits_a_file_it_could_not_write(tmp_path):
    hub = _hub(tmp_path)
    for target in (hub, tmp_path / "." / "h.duckdb", f"{hub}.wal"):
        res = _run("quarantine", hub, "--out", target)
        assert res.exit_code == 2 and "overwrite" in res.output
    assert _run("status", hub).exit_code == 0  # still a hub
    res = _run("quarantine", hub, "--out", tmp_path / "nodir" / "q.csv")
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output
    res = _run("quarantine", hub, "--contribution", 99, "--out", tmp_path / "q.csv")
    assert res.exit_code == 2 and "no contribution 99" in res.output
    assert "export_quarantine" not in _audit_actions(hub)
    assert _run("quarantine", hub, "--out", tmp_path / "q.csv").exit_code == 0
    assert _audit_actions(hub).count("export_quarantine") == 1


def test_a_binary_file_with_a_utf16_mark_is_one_line_not_a_traceback(tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(b"\xff\xfe\x00\xd8" + bytes(range(256)) * 8)
    res = _run("check", f, "-p", "ctdc-legacy")
    assert res.exit_code == 3 and "binary" in res.output and "Traceback" not in res.output
    hub = _hub(tmp_path)
    res = _run("check", hub, "-p", "ctdc-legacy")  # a hub given as the input file
    assert res.exit_code == 3 and "Traceback" not in res.output


def test_a_utf16_file_with_an_invalid_code_unit_later_quarantines_that_row(tmp_path):
    """Like bad bytes in UTF-8: the row is quarantined and named, the others are ingested (it was
    a traceback, or a refusal that did not say where)."""
    prof = tmp_path / "p.yaml"
    prof.write_text(PROFILE, "utf-8")
    f = tmp_path / "x.csv"
    text = "id\tg\tnat\n" + "".join(f"{i}\tfemale\tUKR\n" for i in range(1, 501))
    f.write_bytes(text.encode("utf-16") + "501\tfem".encode("utf-16-le") + b"\x00\xd8"
                  + "ale\tUKR\n502\tmale\tUKR\n".encode("utf-16-le"))
    res = _run("check", f, "-p", prof)
    assert res.exit_code == 0 and "Traceback" not in res.output
    assert "502 rows, 501 valid, 1 would be quarantined" in res.output
    assert "row 502" in res.output and "invalid_encoding" in res.output
    hub = _hub(tmp_path)
    res = _run("ingest", hub, f, "-c", "ua", "-p", prof, "--fail-on-quarantine")
    assert res.exit_code == 6 and "502 rows read, 501 accepted" in res.output, res.output
    assert "invalid_encoding (1)" in res.output


def test_a_headerless_file_s_first_row_is_not_printed(tmp_path):
    prof = tmp_path / "p.yaml"
    prof.write_text(PROFILE, "utf-8")
    f = tmp_path / "x.csv"
    f.write_text("ГЛ-2017-000777;01.02.2017;Присяжнюк;Олена;01.07.1978;+380 50 926 58 23\n",
                 "utf-8")
    res = _run("check", f, "-p", prof)
    assert res.exit_code == 3 and "its first row is not shown (6 cells" in res.output
    for value in ("Присяжнюк", "Олена", "926 58 23", "01.07.1978"):
        assert value not in res.output
    f.write_text("Присяжнюк;Олена;01.07.1978;жін\n", "utf-8")  # one date, names: not shown
    res = _run("check", f, "-p", prof)
    assert "Присяжнюк" not in res.output and "not shown" in res.output
    f.write_text("id;Стать\n1;ж\n", "utf-8")  # a header (it has a column of the profile)
    res = _run("check", f, "-p", prof)
    assert "its header is: id, Стать" in res.output
    res = _run("check", f, "-p", "ctdc-legacy")  # a built-in profile cannot be edited
    assert "choose the profile made for this file" in res.output


def test_blank_rows_are_quarantined_not_taken_for_cases(tmp_path):
    hub, res = _ingested(tmp_path, GENERATED, "g;nat\nfemale;UKR\nmale;MDA\n;\n ; \n", "x")
    assert res.exit_code == 0 and "2 accepted" in res.output and "empty_row (2)" in res.output
    assert _rows(hub, "SELECT count(*) FROM cases") == [(2,)]


def test_a_multi_file_ingest_reads_every_file_and_names_the_ones_it_could_not(tmp_path):
    prof = tmp_path / "p.yaml"
    prof.write_text(PROFILE, "utf-8")
    one, empty, three = (tmp_path / n for n in ("one.csv", "empty.csv", "three.csv"))
    one.write_text("id;g;nat\n1;female;UKR\n", "utf-8")
    empty.write_text("", "utf-8")
    three.write_text("id;g;nat\n3;male;MDA\n", "utf-8")
    hub = _hub(tmp_path)
    res = _run("ingest", hub, one, empty, three, "-c", "x", "-p", prof)
    assert res.exit_code == 3
    assert "1 of 3 files not ingested" in res.output and "three.csv: contribution" in res.output
    assert _rows(hub, "SELECT count(*) FROM cases") == [(2,)]


def test_paths_that_do_not_exist_are_usage_errors(tmp_path):
    hub = _hub(tmp_path)
    f = tmp_path / "x.csv"
    f.write_text("id;g;nat\n1;female;UKR\n", "utf-8")
    assert _run("check", tmp_path / "nope.csv").exit_code == 2
    assert _run("ingest", tmp_path / "nohub.duckdb", f, "-c", "x").exit_code == 2
    assert _run("ingest", hub, tmp_path / "nope.csv", "-c", "x").exit_code == 2


def test_standard_and_demo_refuse_bad_input_in_one_line(tmp_path):
    res = _run("standard", "codes", "nosuch")
    assert res.exit_code == 2 and "unknown code list 'nosuch'" in res.output
    res = _run("demo", "--out", tmp_path / "d", "--records", 5)
    assert res.exit_code == 2 and "200" in res.output
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "hub.duckdb").write_bytes(b"an earlier demo")
    res = _run("demo", "--out", tmp_path / "d")
    assert res.exit_code == 2 and "--force" in res.output
    assert (tmp_path / "d" / "hub.duckdb").read_bytes() == b"an earlier demo"


def test_the_demo_never_replaces_a_scenario_folder_it_did_not_write(tmp_path):
    """``safelight demo --out DIR`` removed ``DIR/scenario`` whatever it held: a user's own
    folder of that name went with their files. It replaces only an empty folder or an earlier
    demo's scenario (its scenario.json says the demo generator wrote it)."""
    mine = tmp_path / "work" / "scenario"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("the user's own file", "utf-8")
    res = _run("demo", "--out", tmp_path / "work", "--records", 200)
    assert res.exit_code == 2 and "holds no demo scenario" in res.output, res.output
    assert (mine / "notes.txt").exists() and not (tmp_path / "work" / "hub.duckdb").exists()
    (mine / "scenario.json").write_text('{"generator": "something else"}', "utf-8")
    assert _run("demo", "--out", tmp_path / "work", "--records", 200).exit_code == 2
    assert (mine / "notes.txt").exists()
    # a link named scenario is refused (its target stays), not followed nor a traceback
    link = tmp_path / "linked" / "scenario"
    link.parent.mkdir()
    link.symlink_to(mine, target_is_directory=True)
    res = _run("demo", "--out", tmp_path / "linked", "--records", 200)
    assert res.exit_code == 2 and "is a link" in res.output, res.output
    assert (mine / "notes.txt").exists()


def test_a_demo_stopped_while_generating_is_replaced_by_the_next_run(tmp_path, monkeypatch):
    """scenario.json is written last: a demo stopped while it generated left a scenario folder
    without it, and the next run refused to replace it. The demo marks its folder first."""
    import safelight.demo.generator as generator

    def stopped(out_dir, **kwargs):
        (out_dir / "ua-hotline").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(generator, "generate_scenario", stopped)
    assert _run("demo", "--out", tmp_path / "d", "--records", 200).exit_code != 0
    monkeypatch.undo()
    res = _run("demo", "--out", tmp_path / "d", "--records", 200)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "d" / "scenario" / "scenario.json").exists()


def test_a_refer_key_that_is_another_file_is_named_as_such(tmp_path):
    import pytest

    from safelight.refer import vault

    f = tmp_path / "dir.json"
    f.write_text('{"name": "Центр допомоги"}', "utf-8")
    with pytest.raises(vault.VaultError, match="not a refer key file") as exc:
        vault.load_key(f)
    assert "codec" not in str(exc.value)


def test_removing_the_newest_audit_entries_is_seen_against_a_recorded_head(tmp_path):
    hub = _hub(tmp_path)
    assert _run("quarantine", hub, "--out", tmp_path / "q.csv").exit_code == 0
    first = _run("audit", "verify", hub)
    assert first.exit_code == 0
    head = first.output.split("head ")[1].split()[0]
    assert _run("audit", "verify", hub, "--head", head).exit_code == 0
    con = duckdb.connect(str(hub))
    con.execute("DELETE FROM audit_log WHERE action = 'export_quarantine'")  # the newest
    con.close()
    assert _run("audit", "verify", hub).exit_code == 0  # the chain alone cannot see it
    res = _run("audit", "verify", hub, "--head", head)
    assert res.exit_code == 1 and "newest entries were removed" in res.output
    for bad in ("nonsense", "0:" + "a" * 64, "3:" + "z" * 64):
        assert _run("audit", "verify", hub, "--head", bad).exit_code == 2


def test_a_resaved_copy_of_a_generated_id_export_is_pointed_out(tmp_path):
    """Ids generated from the file's hash change when Excel re-saves the file: the trial's
    re-saved CTDC export added 2,000 people a second time without a word."""
    prof = tmp_path / "p.yaml"
    prof.write_text(GENERATED, "utf-8")
    rows = [f"{'female' if i % 3 else 'male'};{['UKR', 'MDA', 'NGA'][i % 3 if i % 7 else 0]}"
            for i in range(60)]
    first, copy, other = (tmp_path / n for n in ("a.csv", "a-resaved.csv", "b.csv"))
    first.write_text("g;nat\n" + "\n".join(rows) + "\n", "utf-8")
    # other bytes, and a value written otherwise (Excel rewrites dates): the same once read
    copy.write_text("g;nat\r\n" + "\r\n".join(r.replace("UKR", "ukr") for r in rows) + "\r\n",
                    "utf-8")
    other.write_text("g;nat\n" + "\n".join(reversed(rows)) + "\n", "utf-8")  # same people?
    hub = _hub(tmp_path)
    assert "repeat contribution" not in _run("ingest", hub, first, "-c", "x", "-p", prof).output
    res = _run("ingest", hub, copy, "-c", "x", "-p", prof)
    assert res.exit_code == 0 and "60 of 60 rows repeat contribution 1 row for row" in res.output
    assert "repeat contribution" not in _run("ingest", hub, other, "-c", "x", "-p", prof).output


def test_status_never_cuts_a_count_on_a_narrow_terminal(tmp_path):
    hub, ingest = _ingested(tmp_path, PROFILE, "id;g;nat\n" + "".join(
        f"{i};female;UKR\n" for i in range(1234)), "ua-hotline",
        name="a-rather-long-export-file-name-from-the-agency.csv")
    assert ingest.exit_code == 0
    res = CliRunner(env={"COLUMNS": "80"}).invoke(main, ["status", str(hub)])
    assert res.exit_code == 0
    assert "1,234 read, 1,234 accepted" in res.output and "…" not in res.output


def test_check_says_which_profile_it_used_when_none_was_given(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("record_id;gender\n1;female\n", "utf-8")
    assert "no -p given: the built-in safelight profile" in _run("check", f).output
    assert "no -p given" not in _run("check", f, "-p", "safelight").output


def test_a_document_or_image_is_named_as_such_not_read_as_a_table(tmp_path):
    """Random bytes named wrong.pdf were read as CSV and refused for "missing columns"."""
    prof = tmp_path / "p.yaml"
    prof.write_text(PROFILE, "utf-8")
    for name, data in (("wrong.pdf", b"\x93\x88random bytes;;;\n" * 50),
                       ("scan.csv", b"%PDF-1.7\n%binary"), ("photo.jpg", b"\xff\xd8\xff\xe0")):
        f = tmp_path / name
        f.write_bytes(data)
        res = _run("check", f, "-p", prof)
        assert res.exit_code == 3 and "not a table" in res.output, (name, res.output)


def test_a_withdrawal_naming_ids_the_hub_does_not_hold_is_refused_and_says_what_ids_are(
        tmp_path):
    """k-release trial: `consent withdraw hub -c ngo2 2` (the row number, not the generated id)
    was recorded for an id that can never match, and the person's consent stayed in force; the
    generated ids were shown nowhere."""
    hub, ingest = _ingested(tmp_path, GENERATED, "g;nat\nfemale;UKR\nmale;MDA\n", "ngo2")
    assert ingest.exit_code == 0, ingest.output
    ids = dict(_rows(hub, "SELECT source_row, record_id FROM cases"))
    assert f"{ids[2]} is row 2's" in ingest.output and "consent withdraw" in ingest.output
    before = _audit_actions(hub)
    res = _run("consent", "withdraw", hub, "-c", "ngo2", "2", ids[3])
    assert res.exit_code == 2
    assert "1 of 2 record id(s) name nothing of 'ngo2' in the hub: '2' —" in res.output
    assert "nothing was withdrawn" in res.output and ids[2] in res.output
    assert "--not-yet-received" in res.output
    assert _audit_actions(hub) == before  # nothing recorded, not even the known id
    assert _rows(hub, "SELECT count(*) FROM consent_withdrawals") == [(0,)]
    # the right ids, or ones the hub has not received yet when the user says so
    assert _run("consent", "withdraw", hub, "-c", "ngo2", ids[2]).exit_code == 0
    again = _run("consent", "withdraw", hub, "-c", "ngo2", ids[2])  # recorded already: known
    assert again.exit_code == 0, again.output
    later = _run("consent", "withdraw", hub, "-c", "ngo2", "N-77", "--not-yet-received")
    assert later.exit_code == 0 and "remembered and applied when they arrive" in later.output


def test_a_record_held_only_in_the_quarantine_can_be_withdrawn(tmp_path):
    """Its raw row (the person's data) is in the hub: the withdrawal has something to redact."""
    hub, ingest = _ingested(tmp_path, PROFILE, "id;g;nat\nA1;female;UKR\nA2;female;XXQ\n",
                            "ngo")
    assert "1 quarantined" in ingest.output
    res = _run("consent", "withdraw", hub, "-c", "ngo", "A2")
    assert res.exit_code == 0, res.output
    # the id is held (its quarantined row): counted as redacted, not as waiting for a record
    assert "1 quarantined row(s)" in res.output and "not (yet) in the hub" not in res.output
    assert "safelight compact" in res.output
    raw = _rows(hub, "SELECT raw FROM quarantine")
    assert raw and all("XXQ" not in r for (r,) in raw)
