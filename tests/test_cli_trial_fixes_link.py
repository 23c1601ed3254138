"""Findings of a new-user trial of the linkage commands (2026-12-02), each with the test that
shows it fixed: a row of delimiters only, an output folder that takes no file, and Ctrl-C while
a command's stage is still being imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

_MAP = "id: case_id\nconsent: {all: full}\nfields: {given_name: first, family_name: last}\n"
_ROWS = "case_id,first,last\nL1,Olena,Koval\nL2,Iryna,Melnyk\nL3,Olena,Koval\n"


def _files(tmp_path: Path, rows: str) -> tuple[Path, Path]:
    (tmp_path / "in.csv").write_text(rows, "utf-8")
    (tmp_path / "map.yaml").write_text(_MAP, "utf-8")
    return tmp_path / "in.csv", tmp_path / "map.yaml"


def test_a_row_of_delimiters_only_is_no_record(tmp_path, caplog):
    """Excel writes ",,,,," rows below the data: read as a record without an id, it refused
    the whole file (exit 2); an empty line was skipped."""
    import logging

    from safelight.link.cli import link

    src, mp = _files(tmp_path, _ROWS + ",,\n , ,\n")
    with caplog.at_level(logging.INFO, "safelight.identity.mapping"):
        r = CliRunner().invoke(link, ["dedupe", str(src), "--map", str(mp), "--out",
                                      str(tmp_path / "c.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c.csv").read_text().count("\n") == 4  # header + 3 records
    assert "2 row(s) with every field blank left out" in caplog.text
    # a file of such rows only holds no record (it encoded an empty package, exit 0)
    src, mp = _files(tmp_path, "case_id,first,last\n,,\n,,\n")
    r = CliRunner().invoke(link, ["dedupe", str(src), "--map", str(mp), "--out",
                                  str(tmp_path / "e.csv")])
    assert r.exit_code == 3 and "holds no data rows" in r.output
    # a row with a value but no id is still refused
    src, mp = _files(tmp_path, _ROWS + ",Petro,\n")
    r = CliRunner().invoke(link, ["dedupe", str(src), "--map", str(mp), "--out",
                                  str(tmp_path / "d.csv")])
    assert r.exit_code == 2 and "have no id" in r.output


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (Linux)")
def test_an_output_folder_that_takes_no_file_is_refused_before_the_work(tmp_path):
    """``--out /proc/x.csv`` ran the whole linkage and ended in a traceback (exit 1)."""
    from safelight.link.cli import link

    src, mp = _files(tmp_path, _ROWS)
    r = CliRunner().invoke(link, ["dedupe", str(src), "--map", str(mp), "--out", "/proc/x.csv"])
    assert r.exit_code == 2, r.output
    assert "no file can be written in /proc" in r.output and "Traceback" not in r.output


def test_ctrl_c_while_the_stage_loads_exits_130(monkeypatch):
    """A stop in the first second or two, while the command's stage was imported, gave click's
    "Aborted!" and exit 1 (Ctrl-C) or 143 without a word (SIGTERM); the README says 130."""
    import signal

    from safelight.cli import _StageGroup, main

    def stop(self, ctx, name):
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(_StageGroup, "get_command", stop)
    r = CliRunner().invoke(main, ["link", "--help"])
    assert r.exit_code == 130 and "interrupted" in r.output and "Aborted" not in r.output
    assert signal.getsignal(signal.SIGTERM) == before  # the handler it replaced is back


@pytest.mark.parametrize("n", [40, 200])
def test_packages_that_link_nothing_say_a_key_may_differ(tmp_path, caplog, n):
    """A package whose manifest was edited to state the other's key fingerprint passed every
    check and linked nothing, without a word (the hub holds no key to check the statement);
    from a few hundred records on, chance gives candidate pairs, but no person."""
    import json
    import logging
    import random

    from test_link_pprl import KEY, _observe, _people, _table

    from safelight.identity.encode import encode_table, write_package
    from safelight.link.pprl_cli import pprl

    people = _people(n, 5)
    left = write_package(encode_table(_table([_observe(p, random.Random(1), f"L{p['pid']}")
                                              for p in people]), KEY, contributor="a"),
                         tmp_path / "a.enc")
    right = write_package(encode_table(_table([_observe(p, random.Random(2), f"R{p['pid']}")
                                               for p in people]), bytes(32), contributor="b"),
                          tmp_path / "b.enc")
    stated = json.loads((left / "manifest.json").read_text())["key_fingerprint"]
    manifest = json.loads((right / "manifest.json").read_text())
    manifest["key_fingerprint"] = stated
    (right / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with caplog.at_level(logging.WARNING, "safelight.link"):
        r = CliRunner().invoke(pprl, [str(left), str(right), "--out", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    assert "no person was found in two packages" in caplog.text
    assert "were not encoded under the same key" in caplog.text
    caplog.clear()
    same = write_package(encode_table(_table([_observe(p, random.Random(2), f"R{p['pid']}")
                                              for p in people]), KEY, contributor="b"),
                         tmp_path / "c.enc")
    with caplog.at_level(logging.WARNING, "safelight.link"):
        r = CliRunner().invoke(pprl, [str(left), str(same), "--out", str(tmp_path / "q.csv")])
    assert r.exit_code == 0 and "were not encoded under the same key" not in caplog.text
