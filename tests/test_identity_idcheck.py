"""Record ids that carry their record's identity are refused before a package is written."""

from __future__ import annotations

import pyarrow as pa
import pytest

from safelight.errors import ProfileError
from safelight.identity.encode import encode_table, write_package
from safelight.identity.idcheck import identity_in_ids

KEY = b"k" * 32


def _table(ids):
    n = len(ids)
    return pa.table({
        "record_id": ids,
        "given_name": ["Тетяна", "Olena", "Ivan", "Petro", "Anna", "Maria"][:n],
        "family_name": ["Кравченко", "Shevchenko", "Bondar", "Гончаренко", "Koval", "Lysenko"][:n],
        "birth_year": [1988, 1990, 1991, 1992, 1993, 1988][:n],
        "birth_month": [3, 1, 2, 3, 4, 3][:n],
        "birth_day": [16, 2, 3, 4, 5, 16][:n],
        "document_number": [None, None, "AB 1234567", None, None, None][:n],
        "phone": [None, None, None, None, "+380671234567", None][:n],
    })


def test_ids_holding_a_name_date_document_or_phone_are_refused(tmp_path):
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
    assert not list(tmp_path.iterdir())


def test_a_name_in_another_script_or_another_row_s_values():
    t = _table(["kravchenko-7", "UA-2", "Bondar", "UA-4", "UA-5", "16-03-1988"])
    found = identity_in_ids(t.column("record_id").to_pylist(),
                            t.column("given_name").to_pylist(),
                            t.column("family_name").to_pylist(),
                            *(t.column(c).to_numpy() for c in ("birth_year", "birth_month",
                                                               "birth_day")),
                            [None] * 6, [None] * 6)
    # Кравченко written in Latin letters is found; "Bondar" is row 3's own name (Ivan
    # Bondar) — found too; row 6's date is its own birth date
    assert found["name"].tolist() == [0, 2]
    assert found["birth date"].tolist() == [5]


def test_case_numbers_pass(tmp_path):
    """Running numbers, a shared agency prefix that is also a name (KOVAL- in every id),
    registration dates and short numbers are no identity."""
    ids = ["KOVAL-2023-03-16-001", "KOVAL-2023-000002", "KOVAL-12", "KOVAL-19880317",
           "KOVAL-5", "KOVAL-1234"]
    enc = encode_table(_table(ids), KEY)
    write_package(enc, tmp_path / "p.enc")
    assert enc.manifest["records"] == 6
