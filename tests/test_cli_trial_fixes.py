"""Findings of a new-user trial of the command line (2026-12-01): record ids, outputs that would
overwrite inputs, out-of-range options, a one-record file, a map's date format, error messages
that quoted a row, and the modes of the files written."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from safelight.cli import main

_MAP = ("id: id\nconsent: {all: full}\n"
        "fields:\n  given_name: given\n  family_name: family\n  birth_date: born\n")
_ROWS = [("a1", "Olena", "Kovalenko", "1990-03-04"), ("a2", "Iryna", "Shevchenko", "1988-11-21"),
         ("a3", "Oksana", "Bondarenko", "1995-07-30"), ("a4", "Maria", "Popescu", "1993-05-09")]


def _files(tmp_path, rows=_ROWS, map_text=_MAP):
    data = tmp_path / "left.csv"
    data.write_text("id,given,family,born\n" + "".join(",".join(r) + "\n" for r in rows),
                    "utf-8")
    mp = tmp_path / "map.yaml"
    mp.write_text(map_text, "utf-8")
    return data, mp


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("bad_id", ["", "   "])
def test_a_blank_record_id_is_refused(tmp_path, bad_id):
    rows = [*_ROWS[:3], (bad_id, "Ivan", "Petrenko", "1980-01-02")]
    data, mp = _files(tmp_path, rows)
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv")
    assert res.exit_code == 2 and "have no id (rows 5" in res.output, res.output  # file rows
    assert not (tmp_path / "c.csv").exists()
    key = tmp_path / "key"
    assert _run("identity", "keygen", key).exit_code == 0
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", tmp_path / "p")
    assert res.exit_code == 2 and "no id" in res.output and not (tmp_path / "p").exists()


def test_repeated_ids_are_refused_when_encoding(tmp_path):
    data, mp = _files(tmp_path, [*_ROWS, ("a2", "Ivan", "Petrenko", "1980-01-02")])
    key = tmp_path / "key"
    assert _run("identity", "keygen", key).exit_code == 0
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", tmp_path / "p")
    assert res.exit_code == 2 and "rows 3, 6 share one" in " ".join(res.output.split())
    assert "more than once" in res.output and "'a2'" not in res.output  # values never shown
    assert not (tmp_path / "p").exists()


def test_an_output_never_overwrites_an_input(tmp_path):
    data, mp = _files(tmp_path)
    right = tmp_path / "right.csv"
    right.write_bytes(data.read_bytes())
    before = data.read_bytes()
    for args in (("link", "pairs", data, right, "--map", mp, "--out", data),
                 ("link", "pairs", data, right, "--map", mp, "--out", tmp_path / "o.csv",
                  "--review", right),
                 ("link", "dedupe", data, "--map", mp, "--out", mp),
                 ("link", "dedupe", data, "--map", mp, "--out", tmp_path / "o.csv",
                  "--review", tmp_path / "o.csv")):
        res = _run(*args)
        assert res.exit_code == 2 and "overwrite" in res.output, (args, res.output)
    assert data.read_bytes() == before and not (tmp_path / "o.csv").exists()
    res = _run("link", "pairs", data, data, "--map", mp, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and "link dedupe" in res.output


def test_one_record_is_a_clear_error_not_a_traceback(tmp_path):
    data, mp = _files(tmp_path, _ROWS[:1])
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv")
    assert res.exit_code == 2 and "it takes two" in res.output, res.output
    assert "Traceback" not in res.output


def test_one_date_format_written_without_brackets(tmp_path):
    rows = [(i, g, f, ".".join(reversed(d.split("-")))) for i, g, f, d in _ROWS]
    data, mp = _files(tmp_path, rows, _MAP + 'date_formats: "%d.%m.%Y"\n')
    out = tmp_path / "c.csv"
    res = _run("link", "dedupe", data, "--map", mp, "--out", out)
    assert res.exit_code == 0, res.output
    assert "unparsed" not in res.output  # every date read (the string was split into letters)
    data, mp = _files(tmp_path, rows, _MAP + "date_formats: {day: first}\n")
    res = _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "d.csv")
    assert res.exit_code == 4 and "date_formats must be a list" in res.output, res.output


@pytest.mark.parametrize("args", [("link", "dedupe", "--threshold", "5"),
                                  ("link", "dedupe", "--threshold", "-1")])
def test_out_of_range_options_are_usage_errors(tmp_path, args):
    data, mp = _files(tmp_path)
    res = _run(*args[:2], data, "--map", mp, "--out", tmp_path / "c.csv", *args[2:])
    assert res.exit_code == 2 and "0<=x<=1" in res.output.replace(" ", ""), res.output
    key = tmp_path / "key"
    assert _run("identity", "keygen", key).exit_code == 0
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", tmp_path / "p",
               "--flip", "1.5")
    assert res.exit_code == 2 and "--flip" in res.output


def test_a_release_table_parse_error_does_not_quote_the_row(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("sex,nationality\nfemale,UKR\nmale,NGA,Olena Kovalenko 1978-07-01\n",
                     "utf-8")
    res = _run("release", "aggregates", table, "--k", "11", "--out", tmp_path / "rel")
    assert res.exit_code != 0 and "Expected 2 columns, got 3" in res.output, res.output
    assert "Olena" not in res.output and "NGA" not in res.output


def test_the_hub_and_what_the_cli_writes_are_the_owner_s_alone(tmp_path):
    hub = tmp_path / "hub.duckdb"
    old = os.umask(0o022)
    try:
        assert _run("init", hub).exit_code == 0
        assert stat.S_IMODE(hub.stat().st_mode) == 0o600
        data, mp = _files(tmp_path)
        assert _run("link", "dedupe", data, "--map", mp, "--out", tmp_path / "c.csv"
                    ).exit_code == 0
        assert stat.S_IMODE((tmp_path / "c.csv").stat().st_mode) & 0o077 == 0
    finally:
        os.umask(old)
    from safelight.store import open_hub

    os.umask(0o022)  # a library caller's umask: the new hub is still owner-only
    try:
        open_hub(tmp_path / "lib.duckdb", create=True).close()
        assert stat.S_IMODE((tmp_path / "lib.duckdb").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_encode_writes_a_package_folder_of_its_own(tmp_path):
    data, mp = _files(tmp_path)
    key = tmp_path / "key"
    assert _run("identity", "keygen", key).exit_code == 0
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", tmp_path)
    assert res.exit_code == 2 and "not a package" in res.output  # the folder of left.csv
    pkg = tmp_path / "p.enc"
    assert _run("identity", "encode", data, "--map", mp, "--key", key, "--out", pkg
                ).exit_code == 0
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", pkg)
    assert res.exit_code == 2 and "--force" in res.output  # an earlier package is kept...
    assert _run("identity", "encode", data, "--map", mp, "--key", key, "--out", pkg, "--force"
                ).exit_code == 0  # ...unless --force replaces it


def test_refused_releases_leave_no_folder_and_say_what_an_empty_release_is(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("sex,nationality\n" + "female,UKR\nmale,NGA\n" * 30, "utf-8")
    out = tmp_path / "rel"
    res = _run("release", "microdata", table, "--k", "11", "--quasi-identifiers", " , ",
               "--out", out)
    assert res.exit_code == 2 and "names no column" in res.output, res.output
    assert not out.exists()
    res = _run("release", "aggregates", table, "--k", "999", "--out", out)
    assert res.exit_code == 2 and "fewer rows than k = 999" in res.output, res.output
    assert not out.exists()  # it wrote a header-only file (a later trial)
    res = _run("release", "aggregates", table, "--k", "59", "--out", out)  # the total only
    assert res.exit_code == 0, res.output
    assert "error is not defined" in res.output and "0.000" not in res.output


def test_the_pprl_threshold_has_the_same_range(tmp_path):
    pkg = tmp_path / "p.enc"
    pkg.mkdir()
    res = _run("link", "pprl", pkg, pkg, "--out", tmp_path / "o.csv", "--threshold", "2")
    assert res.exit_code == 2 and "0<=x<=1" in res.output.replace(" ", ""), res.output


def test_debug_output_leaves_out_libraries_debug_chatter():
    """-vv printed pycountry's DEBUG lines ("This is an error in the databases") among
    safelight's own (new-user trial, 2026-12-01)."""
    import logging

    from click.testing import CliRunner

    from safelight.cli import main

    assert CliRunner().invoke(main, ["-vv", "standard", "codes", "consent"]).exit_code == 0
    assert logging.getLogger("pycountry.db").level == logging.WARNING  # set, not inherited


@pytest.mark.parametrize("map_text", [
    "id: passport\nconsent: {all: full}\nfields:\n  given_name: given\n"
    "  document_number: passport\n",
    "id: passport\nconsent: {all: full}\nfields:\n  given_name: given\n"])
def test_an_identifier_as_record_id_is_refused_when_encoding(tmp_path, map_text):
    """PPRL trial (2026-12-01): `id: document` with the same column mapped as
    document_number put every passport number into the package in clear (record ids travel
    as they are); an id column mapped or named as an identifier is refused."""
    data = tmp_path / "p.csv"
    data.write_text("passport,given\nЕК588674,Olena\nЕК595402,Iryna\n", "utf-8")
    mp = tmp_path / "map.yaml"
    mp.write_text(map_text, "utf-8")
    key = tmp_path / "key"
    assert _run("identity", "keygen", key).exit_code == 0
    res = _run("identity", "encode", data, "--map", mp, "--key", key, "--out", tmp_path / "p")
    assert res.exit_code == 4 and "record ids travel in clear" in res.output, res.output
    assert "ЕК588674" not in res.output and not (tmp_path / "p").exists()
