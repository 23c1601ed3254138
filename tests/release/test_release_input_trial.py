"""Findings of the new-user trial of the release commands on their input (2026-12-02), each
with the test that shows it fixed: placeholders for missing, a column without a name, where a
bad consent value stands, a table smaller than k, a 2012.0 year, and the exit codes of a
missing hub and a malformed domain file."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from safelight.errors import InputFileError
from safelight.release.aggregates import release_aggregates
from safelight.release.cli import release
from safelight.release.errors import ReleaseUsageError
from safelight.release.microdata import hierarchy_for
from safelight.release.table import from_columns, read_table


def _run(*args):
    return CliRunner().invoke(release, [str(a) for a in args])


def test_placeholders_for_missing_are_named_in_a_warning(tmp_path, caplog) -> None:
    """"NA", "N/A", "null", "-" were released as categories with no word (only '' is missing);
    a country column of two-letter codes keeps "NA", Namibia's, without a warning."""
    src = tmp_path / "t.csv"
    src.write_text("sex,country,route\n" + "f,NA,N/A\n" * 3 + "m,UA,null\n" * 2
                   + "m,PL, \n" + "f,UA,-\n" + "f,PL,land\n", "utf-8")
    with caplog.at_level(logging.WARNING, "safelight.release.table"):
        t = read_table(src)
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1, warned
    assert "column route: 7 rows hold 'N/A' (3), 'null' (2), blanks only (1), '-' (1)" \
        in warned[0] and "blank them" in warned[0]
    # nothing read differently: the warning is all
    assert t.values[t.columns.index("route")] == (" ", "-", "N/A", "land", "null")

    caplog.clear()
    other = tmp_path / "o.csv"
    other.write_text("answer\n" + "NA\n" * 3 + "yes\n" * 3, "utf-8")
    with caplog.at_level(logging.WARNING, "safelight.release.table"):
        read_table(other)
    assert "1 row" not in caplog.text and "3 rows hold 'NA' (3)" in caplog.text


def test_a_column_without_a_name_is_refused_if_it_holds_values(tmp_path, caplog) -> None:
    """A column with an empty header was released under no name."""
    named = tmp_path / "named.csv"
    named.write_text("sex,,country\nf,x,UA\nm,,PL\n", "utf-8")
    with pytest.raises(InputFileError, match=r"column\(s\) 2 have no name in the header but "
                                             "hold values"):
        read_table(named)
    # a trailing comma on every line (a spreadsheet's export): left out, with a note
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("sex,country,,\nf,UA,,\nm,PL,, \n", "utf-8")
    with caplog.at_level(logging.INFO, "safelight.release.table"):
        t = read_table(trailing)
    assert t.columns == ("sex", "country")
    assert "2 column(s) without a name and without values left out" in caplog.text
    pq.write_table(pa.table({"sex": ["f", "m"], " ": ["a", "b"]}), tmp_path / "t.parquet")
    with pytest.raises(InputFileError, match="have no name"):
        read_table(tmp_path / "t.parquet")


def test_a_bad_consent_value_is_placed_without_being_shown(tmp_path) -> None:
    src = tmp_path / "c.csv"
    src.write_text('sex,consent\nf,yes\n\nm,"yes"\nf,perhaps\nm,perhaps\n', "utf-8")
    with pytest.raises(InputFileError) as err:
        read_table(src)
    assert "2 rows hold a consent value that is not a consent word (1 distinct values, not " \
        "shown), the first on line 5" in str(err.value)
    assert "perhaps" not in str(err.value)
    pq.write_table(pa.table({"sex": ["f", "m"], "consent": ["no", "maybe"]}),
                   tmp_path / "c.parquet")
    with pytest.raises(InputFileError, match="1 row holds a consent value .* the first in "
                                             "row 2"):
        read_table(tmp_path / "c.parquet")


def test_aggregates_of_a_table_smaller_than_k_are_refused(tmp_path) -> None:
    """It wrote a header-only aggregates.csv and exited 0, where microdata and synthetic
    refuse the same table."""
    t = from_columns({"sex": ["f", "m", "f"], "country": ["UA", "PL", "UA"]})
    with pytest.raises(ReleaseUsageError, match=r"fewer rows than k = 11: every count, "
                                                "the total too, describes fewer than k people"):
        release_aggregates(t, 11, 2)
    with pytest.raises(ReleaseUsageError, match="fewer than k"):
        release_aggregates(t, 11, 2, method="suppress")
    assert release_aggregates(t, 3, 2).total == 3  # k rows: the total is released
    src = tmp_path / "t.csv"
    src.write_text("sex\nf\nm\nf\n", "utf-8")
    r = _run("aggregates", src, "--k", "11", "--out", tmp_path / "out")
    assert r.exit_code == 2 and "nothing released" in r.output
    assert not (tmp_path / "out").exists()


def test_years_and_ages_written_as_floats_take_their_hierarchy() -> None:
    """A year written 2012.0 (a pandas round trip) was released only as itself or blank."""
    h = hierarchy_for("yearOfRegistration", ("2012.0", "2013.0", "2016"))
    assert h.names == ("year", "5 years", "blank")
    assert h.maps[1] == {"2012.0": "2010-2014", "2013.0": "2010-2014", "2016": "2015-2019"}
    age = hierarchy_for("age", ("34.0", "12", "7.0"))
    assert age.names[0] == "age" and age.maps[1]["34.0"] == "30-38"
    assert age.maps[2] == {"34.0": "adult", "12": "minor", "7.0": "minor"}
    assert hierarchy_for("household_size", ("3.0", "4")).names == ("value", "blank")
    assert hierarchy_for("code", ("2012.5", "2013")).names == ("value", "blank")


def test_a_missing_hub_is_a_usage_error_and_a_bad_domain_file_an_input_error(tmp_path) -> None:
    """The README: a path on the command line that does not exist is a usage error (2); a
    missing --hub exited 5. A malformed --domain file exited 1; it is an input file (3)."""
    src = tmp_path / "t.csv"
    src.write_text("sex\n" + "f\n" * 12, "utf-8")
    r = _run("synthetic", src, "--epsilon", "1", "--hub", tmp_path / "none.duckdb",
             "--out", tmp_path / "o1")
    assert r.exit_code == 2 and "does not exist" in r.output
    bad = tmp_path / "dom.json"
    bad.write_text("{bad", "utf-8")
    r = _run("synthetic", src, "--epsilon", "1", "--domain", bad, "--out", tmp_path / "o2")
    assert r.exit_code == 3 and "cannot read the domain file" in r.output
    bad.write_text('["sex"]', "utf-8")
    r = _run("synthetic", src, "--epsilon", "1", "--domain", bad, "--out", tmp_path / "o3")
    assert r.exit_code == 3 and "a JSON object of lists of values" in r.output


def test_refer_commands_on_a_missing_hub_are_usage_errors(tmp_path) -> None:
    from safelight.refer.cli import refer

    r = CliRunner().invoke(refer, ["grant", str(tmp_path / "none.duckdb"), "bob"])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_a_review_s_findings_on_the_input_checks(tmp_path, caplog) -> None:
    """A review of the fixes above (2026-12-02): "NA" was named in a column of codes that also
    held a placeholder; a float NaN was the category "nan"; a bad consent value in a second
    consent column was placed on the wrong line; a nameless Parquet column of lists gave a
    traceback."""
    pq.write_table(pa.table({"country": ["NA", "UA", "n/a"] * 10,
                             "score": [1.0, float("nan"), 2.0] * 10}), tmp_path / "n.parquet")
    with caplog.at_level(logging.WARNING, "safelight.release.table"):
        t = read_table(tmp_path / "n.parquet")
    assert "'n/a' (10)" in caplog.text and "'NA'" not in caplog.text
    assert t.values[1] == ("1", "2")  # NaN is missing, as in pandas
    assert (t.codes[:, 1] == 0).sum() == 10
    src = tmp_path / "c2.csv"
    src.write_text("sex,consent,statistics_consent\nm,none,yes\nf,yes,yes\nm,yes,agreed\n",
                   "utf-8")
    with pytest.raises(InputFileError, match="column statistics_consent: 1 row holds .* the "
                                             "first on line 4"):
        read_table(src)
    pq.write_table(pa.table({"sex": ["f", "m"], "": [[1], [2]]}), tmp_path / "l.parquet")
    with pytest.raises(InputFileError, match="have no name"):
        read_table(tmp_path / "l.parquet")
