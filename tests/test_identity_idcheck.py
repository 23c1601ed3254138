"""Record ids that carry their record's identity are refused before a package is written."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from safelight.errors import ProfileError
from safelight.identity.encode import encode_table, write_package
from safelight.identity.idcheck import identity_in_ids

KEY = b"k" * 32


def _table(ids, **over):
    n = len(ids)
    cols = {
        "record_id": ids,
        "given_name": ["Тетяна", "Olena", "Ivan", "Petro", "Anna", "Maria"][:n],
        "family_name": ["Кравченко", "Shevchenko", "Bondar", "Гончаренко", "Koval", "Lysenko"][:n],
        "birth_year": [1988, 1990, 1991, 1992, 1993, 1988][:n],
        "birth_month": [3, 1, 2, 3, 4, 3][:n],
        "birth_day": [16, 2, 3, 4, 5, 16][:n],
        "document_number": [None, None, "AB 1234567", None, None, None][:n],
        "phone": [None, None, None, None, "+380671234567", None][:n],
    }
    cols.update({k: v[:n] for k, v in over.items()})
    return pa.table(cols)


def _found(t):
    return identity_in_ids(
        t.column("record_id").to_pylist(), t.column("given_name").to_pylist(),
        t.column("family_name").to_pylist(),
        *(np.asarray(t.column(c).to_pylist(), dtype=float).astype(int)
          for c in ("birth_year", "birth_month", "birth_day")),
        [None] * t.num_rows, [None] * t.num_rows)


def test_ids_holding_a_name_date_document_or_phone_are_refused():
    ids = ["Кравченко Тетяна 16.03.1988 #130", "UA-2", "AB1234567", "Гончаренко-12",
           "x-067 123 45 67", "UA-19880316"]
    with pytest.raises(ProfileError) as err:
        encode_table(_table(ids), KEY, source="ua.csv")
    msg = str(err.value)
    assert msg.startswith("ua.csv:")
    for part in ("name in 2 row(s) (data rows 1, 4)", "birth date in 2 row(s) (data rows 1, 6)",
                 "document in 1 row(s) (data rows 3)", "phone in 1 row(s) (data rows 5)"):
        assert part in msg
    for value in ("Кравченко", "1988", "1234567", "0671234567", "Гончаренко"):
        assert value not in msg  # counts and row numbers only


def test_only_the_row_s_own_values_count():
    """Row 2's id holds row 3's family name and row 6's birth date: no row's own."""
    t = _table(["UA-1", "Bondar-16-03-1988", "UA-3", "UA-4", "UA-5", "UA-6"])
    assert _found(t) == {}
    t = _table(["kravchenko-7", "UA-2", "Bondar", "UA-4", "UA-5", "16-03-1988"])
    found = _found(t)  # Кравченко in Latin letters, Ivan Bondar's own name, row 6's own date
    assert found["name"].tolist() == [0, 2] and found["birth date"].tolist() == [5]


def test_the_forms_a_review_found_missing():
    """Short national numbers (Moldova), phones not read, Cyrillic document series, a
    document's digits alone, ddmmyy, a name fused to a letter, and a family's surname that
    two ids share (not an agency prefix: it is their own name)."""
    t = _table(["MD-069123456", "UA-2", "ЖБ123456", "x-0671234567", "T.Koval", "UA-16031988"],
               phone=["+37369123456", None, None, "067 123 45 67", None, None],
               document_number=[None, None, "ЖБ 123456", None, None, None])
    with pytest.raises(ProfileError) as err:
        encode_table(t, KEY)
    msg = str(err.value)
    assert "phone in 2 row(s) (data rows 1, 4)" in msg
    assert "document in 1 row(s) (data rows 3)" in msg and "birth date in 1 row(s)" in msg
    t = _table(["UA-1", "UA-2", "X-1234567", "UA-4", "UA-5", "TKravchenko"],
               family_name=["Кравченко", "Shevchenko", "Bondar", "Гончаренко", "Koval",
                            "Kravchenko"],
               document_number=[None, None, "AB 1234567", None, None, None])
    found = _found(t)
    assert found["name"].tolist() == [5]
    t = _table(["Koval-1", "Koval-2", "X-3"], family_name=["Koval", "Koval", "Bondar"])
    assert _found(t)["name"].tolist() == [0, 1]
    t = _table(["TKravchenko-1", "TKravchenko-2", "X-3"],
               family_name=["Kravchenko", "Kravchenko", "Bondar"])  # fused and shared
    assert _found(t)["name"].tolist() == [0, 1]


def test_chance_meetings_are_no_identity():
    """A running number that is someone's yymmdd (a child born 2000-01-15, id 000115), and a
    filler phone inside a zero-padded case number, refused whole files (second review)."""
    t = _table(["000115", "UA0000000012"], birth_year=[2000, 1990], birth_month=[1, 1],
               birth_day=[15, 2], phone=[None, "0000000"])
    with_raw = identity_in_ids(
        t.column("record_id").to_pylist(), t.column("given_name").to_pylist(),
        t.column("family_name").to_pylist(), np.array([2000, 1990]), np.array([1, 1]),
        np.array([15, 2]), [None, None], [None, None], ["", "0000000"])
    assert with_raw == {}


def test_case_numbers_pass(tmp_path):
    """Running numbers, a shared agency prefix that is also one row's name (KOVAL- in every
    id), registration dates and short numbers are no identity."""
    ids = ["KOVAL-2023-03-16-001", "KOVAL-2023-000002", "KOVAL-12", "KOVAL-19880317",
           "KOVAL-5", "KOVAL-1234"]
    enc = encode_table(_table(ids), KEY)
    write_package(enc, tmp_path / "p.enc")
    assert enc.manifest["records"] == 6


def test_the_message_gives_the_file_s_rows(tmp_path):
    """An unreadable row before it moved the number onto a clean row."""
    from safelight.cli import main

    (tmp_path / "f.csv").write_text(
        "id,given,family\nUA-1,Olena,Koval\nUA-2,Ivan,Bondar,extra\nUA-3,Anna,Melnyk\n"
        "Lysenko-4,Petro,Lysenko\n", "utf-8")
    (tmp_path / "m.yaml").write_text("id: id\nconsent: {all: full}\nfields:\n  given_name: "
                                     "given\n  family_name: family\n", "utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["identity", "keygen", str(tmp_path / "k")]).exit_code == 0
    r = runner.invoke(main, ["identity", "encode", str(tmp_path / "f.csv"), "--map",
                             str(tmp_path / "m.yaml"), "--key", str(tmp_path / "k"), "--out",
                             str(tmp_path / "p.enc")])
    assert r.exit_code == 4 and "name in 1 row(s) (rows 5)" in r.output, r.output
    assert not (tmp_path / "p.enc").exists()
