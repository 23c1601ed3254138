"""The warning about consent values read neither way counts them and never shows them: a map
that names the wrong column as the consent column (here the surname) must not log names."""

from __future__ import annotations

import csv
import logging

from safelight.identity.mapping import load_map, read_identities

ROWS = [["id", "given", "surname", "consent"],
        ["1", "Olena", "Prysiazhniuk", "full"],
        ["2", "Olena", "Prysiazhniuk", "none"],
        ["3", "Ivan", "Kovalenko", "full"],
        ["4", "Maria", "", "full"],
        ["5", "Petro", "Ткаченко", "full"]]


def test_unread_consent_values_are_counted_never_logged(tmp_path, caplog):
    data = tmp_path / "d.csv"
    with open(data, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(ROWS)
    (tmp_path / "m.yaml").write_text(
        "id: id\nfields: {given_name: given}\nconsent: surname\n", "utf-8")  # the wrong column
    with caplog.at_level(logging.DEBUG, logger="safelight.identity"):
        got = read_identities(data, load_map(tmp_path / "m.yaml"))
    assert got.table["consent_linkage"].to_pylist() == [False] * 5
    warning, = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for name in ("Prysiazhniuk", "Kovalenko", "Ткаченко", "prysiazhniuk"):
        assert name not in logged
    assert "5 records hold a consent value (column surname)" in text
    assert "3 distinct values, 1 records empty" in text
