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
