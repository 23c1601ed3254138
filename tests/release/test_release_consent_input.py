"""Release inputs: rows without statistics consent never enter, identity columns are refused."""

from __future__ import annotations

import pytest

from safelight.errors import InputFileError
from safelight.release.table import read_table


def test_rows_without_statistics_consent_are_left_out(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("gender,citizenship,consent_statistics\nfemale,UKR,true\nmale,NGA,false\n"
                 "female,ROU,1\nmale,MDA,no\n", "utf-8")
    table = read_table(p)
    assert table.n_rows == 2
    assert "consent_statistics" not in table.columns


def test_a_file_with_names_is_refused(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("gender,family_name\nfemale,Shevchenko\n", "utf-8")
    with pytest.raises(InputFileError, match="family_name"):
        read_table(p)
