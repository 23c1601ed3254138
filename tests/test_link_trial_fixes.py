"""Findings of a new-user trial of identity encoding and file linkage (consent at the hub,
sex/nationality vocabularies, damaged packages, maps and key files)."""

from __future__ import annotations

import csv
import logging
import random
import textwrap

import pytest
from test_link_pprl import KEY, _observe, _people, _table  # noqa: I001  (shared generator)

from safelight.identity.encode import EncodingSettings, encode_table, write_package


def _package(tmp_path, name: str, prefix: str, people: list[dict]):
    rng = random.Random(3)
    rows = [_observe(p, rng, f"{prefix}{p['pid']}") for p in people]
    return write_package(encode_table(_table(rows), KEY, EncodingSettings(seed=5),
                                      contributor=name), tmp_path / name)


def _ingest_cases(hub, tmp_path, contributor: str, consent: dict[str, str]) -> None:
    """Cases of ``contributor`` at the hub: record id → consent code."""
    from safelight.ingest import ingest_file, load_profile

    prof = tmp_path / "cases.yaml"
    prof.write_text(textwrap.dedent("""
        profile: t
        version: 1
        record_id: id
        fields:
          year_of_registration: year
          consent: cons
    """), "utf-8")
    path = tmp_path / f"{contributor}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "year", "cons"])
        w.writerows([rid, "2021", c] for rid, c in consent.items())
    ingest_file(hub, path, contributor=contributor, profile=load_profile(prof))


def test_hub_pprl_leaves_out_records_whose_case_refuses_linkage(hub, tmp_path, caplog):
    """2c: a record whose case at the hub has consent none / statistics_only takes no part in
    `link hub --pprl`, whatever its package flag; a record without a case keeps its flag and
    is counted in a warning."""
    from safelight.link.hub_pprl import link_hub_encoded, load_hub_packages, receive_package

    people = _people(60, 4)
    receive_package(hub, _package(tmp_path, "ngo", "L", people[:40]), new_contributor=True)
    receive_package(hub, _package(tmp_path, "police", "R", people[20:]), new_contributor=True)
    consent = {f"L{i}": "full" for i in range(30)}
    consent |= {"L0": "statistics_only", "L1": "none"}  # L30..L39 have no case
    _ingest_cases(hub, tmp_path, "ngo", consent)
    with caplog.at_level(logging.WARNING, logger="safelight.link.hub_pprl"):
        er = load_hub_packages(hub)
    ids = {(c, r) for c, r in zip(er.contributor, er.record_id, strict=True)}
    assert ("ngo", "L0") not in ids and ("ngo", "L1") not in ids
    assert ("ngo", "L2") in ids and ("ngo", "L35") in ids  # consenting case; no case
    assert len(er) == 40 - 2 + 40
    assert "ngo: 10 package records have no case at the hub" in caplog.text
    assert "police" not in caplog.text  # the hub holds no case of police: nothing to check
    link_hub_encoded(hub)
    linked = {r for (r,) in hub.con.execute(
        "SELECT record_id FROM persons WHERE contributor = 'ngo'").fetchall()}
    assert "L0" not in linked and "L1" not in linked and "L2" in linked


def test_sex_and_nationality_written_differently_agree():
    """2b: sex and nationality are compared as the standard's codes, in the clear path and in
    the encoder alike (one normalisation function each)."""
    from safelight.identity.normalise import code_key, nationality_key, sex_key

    assert {sex_key(v) for v in ("жін.", "F", "female", "K", "Weiblich", "Ж")} == {"female"}
    assert {sex_key(v) for v in ("чол.", "M", "male", "m.", "М")} == {"male"}
    assert sex_key("unknown") is None and sex_key("") is None
    assert sex_key("??") == code_key("??")  # unknown words stay as the key
    assert {nationality_key(v) for v in ("UA", "Україна", "UKR", "ukrainian")} == {"UKR"}
    assert nationality_key("stateless") == "STATELESS"


def test_clear_and_encoded_comparisons_read_codes_not_text():
    import numpy as np
    import pyarrow as pa

    from safelight.link.compare import FIELD_NAMES, compare
    from safelight.link.encoded import ENCODED_FIELDS, compare_encoded, from_parts
    from safelight.link.prepare import prepare

    base = {"given_name": ["Olena", "Olena"], "family_name": ["Koval", "Koval"],
            "birth_year": pa.array([1990, 1990], pa.int16()),
            "birth_month": pa.array([3, 3], pa.int16()), "birth_day": pa.array([4, 4], pa.int16())}
    table = pa.table({"contributor": ["ua", "pl"], "record_id": ["1", "2"], **base,
                      "sex": ["жін.", "K"], "nationality": ["Україна", "UA"]})
    rec = prepare(table)
    assert rec.sex[0] == rec.sex[1] == "female"
    assert rec.nationality[0] == rec.nationality[1] == "UKR"
    comp = compare(rec, np.array([0]), np.array([1]))
    for f in ("sex", "nationality"):
        assert comp.levels[0, FIELD_NAMES.index(f)] == 1, f  # "same"
    s = EncodingSettings(flip_probability=0.0, seed=1)
    parts = []
    for i, c in enumerate(("ua", "pl")):
        enc = encode_table(table.slice(i, 1).drop_columns(["contributor"]), KEY, s,
                           contributor=c)
        parts.append((enc.manifest, enc.table))
    er = from_parts(parts, ["ua", "pl"])
    lv = compare_encoded(er, np.array([0]), np.array([1])).levels[0]
    names = list(ENCODED_FIELDS)
    assert lv[names.index("sex")] == 1 and lv[names.index("nationality")] == 1


def test_an_older_package_s_sex_and_nationality_are_absent_beside_a_v6_one(tmp_path, caplog):
    """2b: format v6 encodes codes; a v5 package (text) beside it does not compare them — and
    says so once (it was also warned about as a map naming fewer fields: PPRL trial)."""
    import json
    import shutil

    from safelight.identity.encode import FORMAT_VERSION
    from safelight.link.encoded import CODES_VERSION, read_packages

    assert FORMAT_VERSION >= CODES_VERSION == 6
    people = _people(30, 4)
    a = _package(tmp_path, "a", "A", people)
    b = _package(tmp_path, "b", "B", people)
    old = tmp_path / "a5"
    shutil.copytree(a, old)
    man = json.loads((old / "manifest.json").read_text())
    man["format_version"] = 5
    (old / "manifest.json").write_text(json.dumps(man))
    with caplog.at_level(logging.WARNING, "safelight"):
        er = read_packages([old, b])
    assert "left out of the comparison" in caplog.text
    assert "names fewer identity fields" not in caplog.text
    assert not er.present["sex"][:30].any() and er.present["sex"][30:].all()
    assert not er.filters["sex"][:30].any()
    assert er.present["given_name"][:30].all()
    both_old = tmp_path / "b5"
    shutil.copytree(b, both_old)
    (both_old / "manifest.json").write_text(json.dumps(
        json.loads((b / "manifest.json").read_text()) | {"format_version": 5}))
    assert read_packages([old, both_old]).present["sex"].all()  # same text on both sides


def test_a_package_one_format_older_is_linked_with_a_warning(tmp_path, caplog):
    """v7 beside v8 (a review, 2026-12-02): linked, but names whose normalisation changed
    compare as different — the run says so and names the package; same versions say nothing."""
    import json
    import shutil

    from safelight.identity.encode import FORMAT_VERSION
    from safelight.link.encoded import read_packages

    people = _people(20, 4)
    a = _package(tmp_path, "a", "A", people)
    b = _package(tmp_path, "b", "B", people)
    with caplog.at_level(logging.WARNING, "safelight"):
        read_packages([a, b])
    assert "older format" not in caplog.text
    old = tmp_path / "a_prev"
    shutil.copytree(a, old)
    man = json.loads((old / "manifest.json").read_text())
    man["format_version"] = FORMAT_VERSION - 1
    (old / "manifest.json").write_text(json.dumps(man))
    with caplog.at_level(logging.WARNING, "safelight"):
        er = read_packages([old, b])
    assert f"older format than v{FORMAT_VERSION}" in caplog.text and str(old) in caplog.text
    assert er.present["given_name"].all()  # still linked


@pytest.fixture
def two_packages(tmp_path):
    people = _people(40, 4)
    return _package(tmp_path, "a", "A", people), _package(tmp_path, "b", "B", people[10:])


def _runs(args: list[str], group=None):
    from click.testing import CliRunner

    from safelight.link.cli import link

    return CliRunner().invoke(group or link, args)


def test_a_damaged_manifest_is_refused_with_a_message(hub, two_packages):
    """1a: a truncated manifest.json gives the package error, not a JSONDecodeError."""
    from safelight.identity.cli import identity
    from safelight.identity.encode import EncodingError
    from safelight.link.encoded import read_packages
    from safelight.link.hub_pprl import receive_package

    a, b = two_packages
    man = (a / "manifest.json").read_text()
    (a / "manifest.json").write_text(man[: len(man) // 2])
    msg = "manifest.json is damaged .*ask the contributor to send the package again"
    with pytest.raises(EncodingError, match=msg):
        read_packages([a, b])
    with pytest.raises(EncodingError, match=msg):
        receive_package(hub, a, new_contributor=True)
    for r in (_runs(["inspect", str(a)], identity), _runs(["pprl", str(a), str(b), "--out",
                                                           str(b.parent / "p.csv")])):
        assert r.exit_code == 7 and "manifest.json is damaged" in r.output, r.output
        assert "Traceback" not in r.output
    (a / "manifest.json").write_text("[1, 2]")
    with pytest.raises(EncodingError, match="damaged"):
        read_packages([a, b])


def test_every_path_checks_the_records_against_the_manifest(two_packages, tmp_path):
    """2d: `link pprl`, `link pairs X.enc Y.enc` and `identity inspect` refuse a package whose
    records.parquet is not the one its manifest states, or whose record count was altered."""
    import json
    import shutil

    from safelight.identity.cli import identity

    a, b = two_packages
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    shutil.copy(b / "records.parquet", mixed / "records.parquet")  # b's records, a's manifest
    recount = tmp_path / "recount"
    shutil.copytree(a, recount)
    man = json.loads((a / "manifest.json").read_text())
    (recount / "manifest.json").write_text(json.dumps(man | {"records": man["records"] + 5}))
    out = str(tmp_path / "p.csv")
    for bad, msg in ((mixed, "does not match the SHA-256"), (recount, "holds 40 records")):
        for r in (_runs(["pprl", str(bad), str(b), "--out", out]),
                  _runs(["pairs", str(bad), str(b), "--out", out]),
                  _runs(["inspect", str(bad)], identity)):
            assert r.exit_code == 7 and msg in r.output, r.output
    assert _runs(["pairs", str(a), str(b), "--out", out]).exit_code == 0


def _write_csv(path, rows: list[list[str]]):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize("fields, msg", [
    ("[given_name, family_name]", "'fields:' must map each identity field to its column"),
    ("{given_name: [a, b]}", "given_name need one column name"),
    ("{given_name: ''}", "given_name need one column name"),
    ("{given_name: {column: a}}", "given_name need one column name"),
])
def test_a_map_whose_fields_are_not_field_column_pairs_is_refused(tmp_path, fields, msg):
    """1b: `fields:` as a list (or a field without one column name) is a map error (exit 2
    like the other map errors), not a crash."""
    from safelight.errors import ProfileError
    from safelight.identity.mapping import load_map

    path = tmp_path / "m.yaml"
    path.write_text(f"id: rid\nfields: {fields}\n", "utf-8")
    with pytest.raises(ProfileError, match=msg):
        load_map(path)
    data = _write_csv(tmp_path / "d.csv", [["rid", "a"], ["1", "x"]])
    r = _runs(["dedupe", str(data), "--map", str(path), "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == ProfileError.exit_code and "Traceback" not in r.output, r.output


def test_a_damaged_or_wrong_key_file_is_refused(tmp_path):
    """3c: a keygen key missing a digit or with a character changed, or a data file given
    as the key, exits 7 instead of being used as raw bytes; good keys still load."""
    from safelight.identity.cli import identity
    from safelight.identity.encode import EncodingError, load_key, new_key

    good = tmp_path / "good.key"
    new_key(good)
    digits = good.read_text().strip()
    assert len(load_key(good)) == 32
    cases = {"cut.key": digits[:-1] + "\n", "typo.key": digits[:10] + "g" + digits[11:] + "\n",
             "data.key": "id,given_name\n1,Olena\n2,Petro\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(EncodingError, match="damaged|not a key file"):
            load_key(tmp_path / name)
    (tmp_path / "raw.key").write_bytes(bytes(range(200, 240)))  # raw bytes still work
    assert load_key(tmp_path / "raw.key") == bytes(range(200, 240))
    (tmp_path / "m.yaml").write_text("id: id\nfields: {given_name: given_name}\n")
    for name in (*cases, "data.csv"):
        path = tmp_path / name
        if name == "data.csv":
            _write_csv(path, [["id", "given_name"], ["1", "Olena"], ["2", "Petro"]])
        r = _runs(["encode", str(path if name == "data.csv" else tmp_path / "data.key"),
                   "--map", str(tmp_path / "m.yaml"), "--key", str(path),
                   "--out", str(tmp_path / "o.enc")], identity)
        assert r.exit_code == 7, (name, r.output)


def test_birth_dates_counted_per_row_and_float_years_read(tmp_path):
    """2f: unparsed birth dates are counted per row, not per distinct value; a birth year
    written as a float ("1985.0", spreadsheet exports) is read."""
    from safelight.identity.mapping import load_map, read_identities

    (tmp_path / "m.yaml").write_text(
        "id: id\nfields: {birth_date: dob, birth_year: y, birth_month: m}\n")
    rows = [["id", "dob", "y", "m"], ["1", "31.02.1990", "1985.0", "3.0"],
            ["2", "31.02.1990", "1985", "03"], ["3", "garbage", " 1985.00 ", "x"],
            ["4", "1990-01-02", "1985.5", ""]]
    got = read_identities(_write_csv(tmp_path / "d.csv", rows), load_map(tmp_path / "m.yaml"))
    assert got.unparsed_dates == 3  # two rows of one bad value, one of another
    assert got.table["birth_year"].to_pylist() == [1985, 1985, 1985, None]
    assert got.table["birth_month"].to_pylist() == [3, 3, None, None]


def test_a_header_only_file_says_so(tmp_path):
    """4b: a file with a header and no rows says so (as ingest does), and a missing column's
    message never lists the reader's internal row column."""
    from safelight.errors import InputFileError, ProfileError
    from safelight.identity.mapping import load_map, read_identities

    (tmp_path / "m.yaml").write_text("id: id\nfields: {given_name: given_name}\n")
    with pytest.raises(InputFileError, match="no data rows"):
        read_identities(_write_csv(tmp_path / "h.csv", [["id", "given_name"]]),
                        load_map(tmp_path / "m.yaml"))
    with pytest.raises(ProfileError, match=r"its header is: id, first$"):
        read_identities(_write_csv(tmp_path / "c.csv", [["id", "first"], ["1", "a"]]),
                        load_map(tmp_path / "m.yaml"))
    # a file without a header row: its first row is a person's record, never printed
    with pytest.raises(ProfileError, match="first row is not shown") as e:
        read_identities(_write_csv(tmp_path / "n.csv", [["NGO-1", "Юлія", "21.04.1989",
                                                         "052 783 85 03"], ["2", "a", "b", "c"]]),
                        load_map(tmp_path / "m.yaml"))
    assert "Юлія" not in str(e.value) and "783" not in str(e.value)


def test_consent_column_reads_the_standard_codes_and_the_map_s_words(tmp_path, caplog):
    """4c: consent values are read as the standard's codes, true/false words, or the words
    the map lists (values: / true_values:); other values are warned about, with counts."""
    from safelight.errors import ProfileError
    from safelight.identity.mapping import load_map, read_identities

    rows = [["id", "g", "c"], ["1", "a", "повна"], ["2", "a", "лише статистика"],
            ["3", "a", "відсутня"], ["4", "a", "full"], ["5", "a", "Statistics only"],
            ["6", "a", "yes"], ["7", "a", "так"], ["8", "a", "maybe"], ["9", "a", "maybe"],
            ["10", "a", ""]]
    data = _write_csv(tmp_path / "d.csv", rows)
    (tmp_path / "plain.yaml").write_text("id: id\nfields: {given_name: g}\nconsent: c\n")
    with caplog.at_level(logging.WARNING, logger="safelight.identity.mapping"):
        got = read_identities(data, load_map(tmp_path / "plain.yaml"))
    # the Ukrainian labels are the vocabulary's too (safelight.standard.consent.LABELS)
    assert got.table["consent_linkage"].to_pylist() == [True, False, False, True, False,
                                                        True, True, False, False, False]
    assert "3 records hold a consent value" in caplog.text
    assert "(1 distinct values, 1 records empty" in caplog.text
    assert "повна" not in caplog.text and "maybe" not in caplog.text  # counts, never values
    (tmp_path / "words.yaml").write_text(textwrap.dedent("""
        id: id
        fields: {given_name: g}
        consent:
          column: c
          values: {повна: full, лише статистика: statistics_only, відсутня: none}
          true_values: [maybe]
    """), "utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="safelight.identity.mapping"):
        got = read_identities(data, load_map(tmp_path / "words.yaml"))
    assert got.table["consent_linkage"].to_pylist() == [True, False, False, True, False,
                                                        True, True, True, True, False]
    assert "1 records hold a consent value" in caplog.text
    assert "(0 distinct values, 1 records empty" in caplog.text
    (tmp_path / "bad.yaml").write_text(
        "id: id\nfields: {given_name: g}\nconsent: {column: c, values: {повна: all}}\n")
    with pytest.raises(ProfileError, match="unknown consent code"):
        load_map(tmp_path / "bad.yaml")


def test_packages_encoded_with_fewer_fields_are_named_with_the_fields_they_lack(tmp_path,
                                                                                caplog):
    """A package whose map named the names only linked 6 of 250 true pairs against a full one,
    without a word (new-user trial, 2026-12-01): reading them warns, naming what it lacks."""
    import logging

    import pyarrow as pa
    from test_link_pprl import KEY, _people, _table

    from safelight.identity.encode import EncodingSettings, encode_table, write_package
    from safelight.link.encoded import read_packages

    rows = [dict(p, record_id=str(i)) for i, p in enumerate(_people(40, 1))]
    full = _table(rows)
    names = full.select(["record_id", "given_name", "family_name"])
    paths = [write_package(encode_table(t, KEY, EncodingSettings(seed=5), contributor=c),
                           tmp_path / c) for c, t in (("a", full), ("b", names))]
    with caplog.at_level(logging.WARNING, logger="safelight.link.encoded"):
        read_packages(paths)
    said = [r.getMessage() for r in caplog.records if "no record holds" in r.getMessage()]
    assert len(said) == 1 and str(paths[1]) in said[0]
    assert "birth_date" in said[0] and "sex" in said[0] and "locality" in said[0]
    assert "given_name" not in said[0]
    # two packages lacking the same fields: one warning names both
    paths.append(write_package(encode_table(names.set_column(0, "record_id", pa.array(
        [f"c{i}" for i in range(names.num_rows)])), KEY, EncodingSettings(seed=5),
        contributor="c"), tmp_path / "c"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="safelight.link.encoded"):
        read_packages(paths)
    said = [r.getMessage() for r in caplog.records if "no record holds" in r.getMessage()]
    assert len(said) == 1 and str(paths[1]) in said[0] and str(paths[2]) in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="safelight.link.encoded"):
        read_packages([paths[0], paths[0].parent / "a"])  # the same fields: nothing said
    assert not [r for r in caplog.records if "no record holds" in r.getMessage()]


def test_link_dedupe_of_a_package_points_to_the_pprl_command(tmp_path):
    """`link dedupe x.enc` gave click's "is a directory" (new-user trial, 2026-12-01)."""
    from click.testing import CliRunner

    from safelight.cli import main

    (tmp_path / "x.enc").mkdir()
    (tmp_path / "map.yaml").write_text("id: id\nfields: {given_name: given}\n")
    res = CliRunner().invoke(main, ["link", "dedupe", str(tmp_path / "x.enc"), "--map",
                                    str(tmp_path / "map.yaml"), "--out",
                                    str(tmp_path / "c.csv")])
    assert res.exit_code == 2 and "safelight link pprl" in res.output


def test_link_records_refuses_a_birth_date_column_it_would_not_read():
    """Hub trial (2026-12-01): `link_records` read a `birth_date` column as no date at all
    (every pair's birth date "missing"), silently."""
    import pyarrow as pa

    from safelight.errors import UsageError
    from safelight.link import link_records

    t = pa.table({"contributor": ["a", "b"], "record_id": ["1", "2"],
                  "given_name": ["Olena", "Olena"], "birth_date": ["1990-01-02"] * 2})
    with pytest.raises(UsageError, match="birth_date column, which is not read"):
        link_records(t)


def test_a_map_reads_records_under_a_key_of_a_json_object(tmp_path):
    """PPRL trial (2026-12-01): a JSON object input was refused with "set read.records_path",
    a setting of ingest profiles that MAP.yaml refused as an unknown key."""
    import json as json_

    from safelight.errors import InputFileError
    from safelight.identity.mapping import load_map, read_identities

    data = tmp_path / "o.json"
    data.write_text(json_.dumps({"cases": [{"id": "1", "g": "Olena"}, {"id": "2", "g": "Iryna"}]}))
    (tmp_path / "m.yaml").write_text("id: id\nfields: {given_name: g}\n")
    with pytest.raises(InputFileError, match="records_path: KEY") as e:
        read_identities(data, load_map(tmp_path / "m.yaml"))
    assert "read.records_path" not in str(e.value)
    (tmp_path / "m2.yaml").write_text("id: id\nrecords_path: cases\nfields: {given_name: g}\n")
    assert read_identities(data, load_map(tmp_path / "m2.yaml")).table.num_rows == 2
