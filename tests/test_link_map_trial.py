"""Findings of a new-user trial of `link pairs`, `link dedupe`, `identity encode` and `identity
keygen` (2026-12): a map's misspelt keys, consent by default, outputs already there or not
creatable, thresholds, dates written month first, where unreadable rows are, packages encoded
with different maps, and smaller messages."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from safelight.cli import main

_ROWS = [("a1", "Olena", "Kovalenko", "1990-03-04"), ("a2", "Iryna", "Shevchenko", "1988-11-21"),
         ("a3", "Oksana", "Bondarenko", "1995-07-30"), ("a4", "Maria", "Popescu", "1993-05-09"),
         ("a5", "Olena", "Kovalenko", "1990-03-04")]
_FIELDS = "fields:\n  given_name: given\n  family_name: family\n  birth_date: born\n"


def _files(tmp_path, map_head="consent: {all: full}\n", rows=_ROWS):
    data = tmp_path / "f.csv"
    data.write_text("id,given,family,born\n" + "".join(",".join(r) + "\n" for r in rows),
                    "utf-8")
    mp = tmp_path / "map.yaml"
    mp.write_text("id: id\n" + map_head + _FIELDS, "utf-8")
    return data, mp


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "k.key"
    assert _run("identity", "keygen", path).exit_code == 0
    return path


def test_a_misspelt_map_key_is_refused_with_the_key_it_resembles(tmp_path, key):
    """1: `Consent:` beside `fields:` was dropped, and every record was linked without consent."""
    data, mp = _files(tmp_path, "Consent: {all: none}\n")
    for args in (("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv"),
                 ("identity", "encode", data, "--map", mp, "--key", key,
                  "--out", tmp_path / "f.enc")):
        res = _run(*args)
        assert res.exit_code == 4, res.output
        assert "unknown key(s) Consent (did you mean 'consent'?)" in res.output
    assert not (tmp_path / "c.csv").exists() and not (tmp_path / "f.enc").exists()
    _, mp = _files(tmp_path, "date_format: ['%Y-%m-%d']\n")
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv")
    assert res.exit_code == 4 and "did you mean 'date_formats'?" in res.output, res.output


def test_a_map_that_says_nothing_of_consent_links_no_record(tmp_path, key):
    """1: a source that says nothing is `statistics_only` (README): nothing is linked and the
    package allows no record's linkage; `consent: {all: full}` states it for the whole file."""
    data, mp = _files(tmp_path, "")
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv")
    assert res.exit_code == 2 and "5 without consent to linkage" in res.output, res.output
    assert not (tmp_path / "c.csv").exists()
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", tmp_path / "f.enc")
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "f.enc" / "manifest.json").read_text())
    assert manifest["records_with_consent_to_linkage"] == 0
    data, mp = _files(tmp_path, "consent: {all: full}\n")
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv")
    assert res.exit_code == 0, res.output
    clusters = (tmp_path / "c.csv").read_text().splitlines()[1:]
    assert len({line.split(",")[1] for line in clusters}) == 4  # a1 and a5 are one person
    _, mp = _files(tmp_path, "consent: {all: yes}\n")
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "d.csv")
    assert res.exit_code == 4 and "not a consent code" in res.output, res.output


def test_a_map_sets_the_encoding_and_an_uncertain_guess_is_a_warning(tmp_path, caplog):
    """2: cp1252 names were read as cp1250 (Lefčvre), silently, and a map could not say so."""
    from safelight.errors import ProfileError
    from safelight.identity.mapping import load_map, read_identities

    data = tmp_path / "w.csv"
    data.write_bytes(("id,family\n" + "".join(f"r{i},Lefèvre\n" for i in range(30))
                      ).encode("cp1252"))
    mp = tmp_path / "m.yaml"
    mp.write_text("id: id\nconsent: {all: full}\nfields: {family_name: family}\n")
    got = read_identities(data, load_map(mp))
    assert set(got.table["family_name"].to_pylist()) == {"Lefèvre"}
    assert "encoding uncertain" in caplog.text and "encoding: in a" in caplog.text
    caplog.clear()
    mp.write_text("id: id\nconsent: {all: full}\nencoding: cp1250\n"
                  "fields: {family_name: family}\n")
    got = read_identities(data, load_map(mp))  # the map's word is taken, no guess
    assert set(got.table["family_name"].to_pylist()) == {"Lefčvre"}
    assert "encoding uncertain" not in caplog.text
    mp.write_text("id: id\nencoding: cp9999\nfields: {family_name: family}\n")
    with pytest.raises(ProfileError, match="is not an encoding"):
        load_map(mp)


def test_outputs_are_not_replaced_without_force(tmp_path, key):
    """3: `link pairs`/`dedupe`/`identity encode` wrote over an earlier result silently."""
    data, mp = _files(tmp_path)
    out = tmp_path / "c.csv"
    assert _run("link", "dedupe", data, "--map", mp, "--out", out).exit_code == 0
    (tmp_path / "c.csv").write_text("earlier result\n")
    res = _run("link", "dedupe", data, "--map", mp, "--out", out)
    assert res.exit_code == 2 and "c.csv exists already" in res.output and "--force" in res.output
    assert out.read_text() == "earlier result\n"
    out.unlink()  # the run record alone is an earlier result too
    res = _run("link", "dedupe", data, "--map", mp, "--out", out)
    assert res.exit_code == 2 and "c.csv.json exists already" in res.output, res.output
    assert _run("link", "dedupe", data, "--map", mp, "--out", out, "--force").exit_code == 0
    enc = tmp_path / "f.enc"
    args = ("identity", "encode", data, "--map", mp, "--key", key, "--out", enc)
    assert _run(*args).exit_code == 0
    res = _run(*args)
    assert res.exit_code == 2 and "f.enc exists already" in res.output, res.output
    assert _run(*args, "--force").exit_code == 0


@pytest.mark.parametrize("target", ["nodir/x", "precious.csv/x"])
def test_an_output_that_cannot_be_created_is_a_usage_error_before_any_work(tmp_path, key,
                                                                          target):
    """4: tracebacks (exit 1), for `link pairs` after the whole linkage had run."""
    data, mp = _files(tmp_path)
    (tmp_path / "precious.csv").write_text("keep me\n")
    for args in (("link", "dedupe", data, "--map", mp, "--out", tmp_path / f"{target}.csv"),
                 ("identity", "encode", data, "--map", mp, "--key", key,
                  "--out", tmp_path / f"{target}.enc"),
                 ("identity", "keygen", tmp_path / f"{target}.key")):
        res = _run(*args)
        assert res.exit_code == 2, res.output
        assert "give an output in an existing folder" in res.output and res.exception is not None
    assert (tmp_path / "precious.csv").read_text() == "keep me\n"
    res = _run("identity", "keygen", key)
    assert res.exit_code == 2 and "refusing to overwrite a key" in res.output  # 9: was 7


@pytest.mark.parametrize("threshold", ["nan", "inf", "-0.1", "1.01"])
def test_a_threshold_that_is_not_a_probability_is_refused(tmp_path, threshold):
    """5: `--threshold nan` linked nothing and wrote `"threshold": NaN`, invalid JSON."""
    data, mp = _files(tmp_path)
    for cmd in (("link", "dedupe", data, "--map", mp), ("link", "hub", tmp_path / "h.duckdb")):
        res = _run(*cmd, "--out", tmp_path / "c.csv", "--threshold", threshold) if \
            cmd[1] == "dedupe" else _run(*cmd, "--threshold", threshold)
        assert res.exit_code == 2 and "is not a probability in the range 0<=x<=1" in res.output
    assert not (tmp_path / "c.csv").exists()


def test_dates_written_month_first_are_named_with_the_map_setting(tmp_path, caplog):
    """6: US dates were read day first, silently: those with a day over 12 went missing and
    the others were swapped, and only 'N unparsed birth date(s)' was said."""
    from safelight.identity.mapping import load_map, read_identities

    rows = [(f"r{i}", "Ann", "Lee", f"{1 + i % 12:02d}/{1 + i % 28:02d}/1990") for i in range(40)]
    data, mp = _files(tmp_path, rows=rows)
    got = read_identities(data, load_map(mp))
    assert got.unparsed_dates > 0
    assert "parse month first (%m/%d/%Y)" in caplog.text
    assert "date_formats: ['%m/%d/%Y']" in caplog.text and "1990" not in caplog.text
    caplog.clear()
    _, mp = _files(tmp_path, "consent: {all: full}\ndate_formats: ['%m/%d/%Y']\n", rows)
    got = read_identities(data, load_map(mp))
    assert got.unparsed_dates == 0 and "month first" not in caplog.text
    assert got.table["birth_month"].to_pylist()[:3] == [1, 2, 3]


def test_unreadable_rows_are_located(tmp_path):
    """7: '1 unreadable rows' was said, never where."""
    rows = [*_ROWS[:2], ("a9", "Ann", "Lee", "1990-01-01", "extra"), *_ROWS[2:]]
    data, mp = _files(tmp_path, rows=rows)
    out = tmp_path / "c.csv"
    res = _run("link", "dedupe", data, "--map", mp, "--out", out)
    assert res.exit_code == 0 and "1 unreadable rows (row 4)" in res.output, res.output
    side = json.loads((tmp_path / "c.csv.json").read_text())
    assert side["inputs"][0]["unreadable_row_numbers"] == [4]
    from safelight.identity.mapping import IdentityFile

    many = IdentityFile(None, 20, list(range(30, 2, -3)))
    assert many.unreadable_where() == " (rows 3, 6, 9, 12, 15 and 5 more)"
