"""Findings of the new-user trial of ``safelight release`` on a CSV or Parquet TABLE, each with
the test that shows it fixed (numbers are the trial report's)."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner
from helpers_release import random_table

from safelight.errors import InputFileError
from safelight.release.cli import EXIT_DO_NOT_PUBLISH, release
from safelight.release.table import read_table, write_csv


def _table(tmp_path, name: str = "table.csv"):
    path = tmp_path / name
    write_csv(random_table(4, n=400), path)
    return path


def _run(*args: str):
    return CliRunner().invoke(release, [str(a) for a in args])


# 1 ---------------------------------------------------------------------------------------------

def test_force_refuses_an_input_inside_the_folder_it_would_clear(tmp_path) -> None:
    src = _table(tmp_path)
    chain = tmp_path / "chain"
    assert _run("microdata", src, "--k", "5", "--out", chain).exit_code == 0
    before = sorted(p.name for p in chain.iterdir())
    # the release's own output name, and any other file in the folder
    (chain / "mine.csv").write_bytes((chain / "microdata.csv").read_bytes())
    for method, inp in (("aggregates", chain / "microdata.csv"),
                        ("synthetic", chain / "microdata.csv"),
                        ("microdata", chain / "mine.csv"),
                        ("dp-aggregates", chain / "mine.csv")):
        extra = ("--epsilon", "1") if method.startswith("dp") else ()
        r = _run(method, inp, "--k", "5", *extra, "--out", chain, "--force")
        assert r.exit_code == 2, r.output
        assert "--force would clear" in r.output
        assert sorted(p.name for p in chain.iterdir()) == sorted([*before, "mine.csv"])
    # an input elsewhere is replaced as before
    r = _run("aggregates", src, "--k", "5", "--length", "2", "--out", chain, "--force")
    assert r.exit_code == 0, r.output
    assert (chain / "aggregates.csv").exists() and not (chain / "microdata.csv").exists()


# 5 ---------------------------------------------------------------------------------------------

def test_an_out_folder_that_cannot_be_created_is_a_usage_error(tmp_path) -> None:
    src = _table(tmp_path)
    precious = tmp_path / "precious.csv"
    precious.write_text("keep me\n", "utf-8")
    for method in ("aggregates", "synthetic", "microdata"):
        r = _run(method, src, "--k", "5", "--out", precious / "rel")
        assert r.exit_code == 2, r.output
        assert "cannot be created" in r.output and "Traceback" not in r.output
    assert precious.read_text("utf-8") == "keep me\n"


# 2 ---------------------------------------------------------------------------------------------

def _consent_table(tmp_path, words: list[str], name: str = "c.csv"):
    rows = ["gender,year,consent"] + [f"{'female' if i % 2 else 'male'},{2010 + i % 3},"
                                      f"{words[i % len(words)]}" for i in range(60)]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


def test_consent_is_read_with_the_consent_vocabulary_and_rows_left_out_are_counted(
        tmp_path, caplog) -> None:
    # codes, labels, yes/no in any case; blank allows nothing
    path = _consent_table(tmp_path, ["full", "None", "Statistics only", "No consent",
                                     "withdrawn", "yes", "ні", ""])
    with caplog.at_level(logging.WARNING, "safelight.release"):
        t = read_table(path)
    assert "consent" not in t.columns
    assert t.n_rows == 60 * 3 // 8 + 1  # full, Statistics only, yes (60 = 7·8 + 4)
    assert "37 of 60 rows left out" in caplog.text and "(7 blank)" in caplog.text
    # the same through the command, which says so, and its settings.json records it
    r = _run("aggregates", path, "--k", "5", "--length", "1", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    settings = json.loads((tmp_path / "o" / "settings.json").read_text("utf-8"))
    assert settings["source"]["rows_without_statistics_consent"] == 37


def test_a_consent_column_named_in_ukrainian_is_read_too(tmp_path) -> None:
    """A `Згода` column was released as an ordinary column, its `ні` rows with it (trial
    leftover, 2026-12-01): consent headers are known in the contributors' languages."""
    path = _consent_table(tmp_path, ["так", "ні", "Так"])
    path.write_text(path.read_text("utf-8").replace("consent", "Згода", 1), "utf-8")
    t = read_table(path)
    assert t.columns == ("gender", "year") and t.n_rows == 40


def test_htcds_spellings_and_labels_in_the_contributors_languages_are_read(tmp_path) -> None:
    """`NoConsent` (the HTCDS wording the demo writes) and `лише статистика` were refused
    (trial leftover, 2026-12-01): words match without blanks, `_` or `-`, and the codes' labels
    are known in the contributors' languages."""
    words = ["NoConsent", "StatisticsOnly", "statistics-only", "лише статистика", "відкликана",
             "Brak zgody", "Full"]
    t = read_table(_consent_table(tmp_path, words))
    assert t.n_rows == sum(1 for i in range(60) if i % 7 in (1, 2, 3, 6))


def test_a_consent_word_outside_the_vocabulary_is_refused(tmp_path) -> None:
    path = _consent_table(tmp_path, ["full", "agreed"])
    with pytest.raises(InputFileError, match="30 rows hold a consent value") as e:
        read_table(path)
    assert "agreed" not in str(e.value).split("—")[0]  # the values are not shown
    r = _run("synthetic", path, "--k", "5", "--out", tmp_path / "o")
    assert r.exit_code == 3 and "consent" in r.output
    assert not (tmp_path / "o").exists()
    # the command's help says how consent is read
    assert "consent" in _run("aggregates", "--help").output


# 3 ---------------------------------------------------------------------------------------------

def _people(tmp_path, header: str, n: int = 60):
    """A table of ``gender``, ``year`` and one more column ``header`` whose values repeat
    (every value held by 3 rows: no value guard can catch it)."""
    rows = [f"gender,year,{header}"] + [
        f"{'female' if i % 2 else 'male'},{2010 + i % 3},v{i % (n // 3)}" for i in range(n)]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


@pytest.mark.parametrize("header", [
    "address_line", "street_number", "birth_year", "birth_month", "birth_day", "locality",
    "Name", "Surname", "Tel", "Passport", "DOB_year", "E-Mail", "First Name", "POSTCODE",
    "Прізвище", "Ім'я", "Дата народження", "Населений пункт", "Телефон", "Vorname",
    "Nazwisko", "Prénom"])
def test_identity_columns_are_refused_by_the_standard_s_names_and_synonyms(tmp_path,
                                                                          header) -> None:
    path = _people(tmp_path, header)
    with pytest.raises(InputFileError, match="identity column") as e:
        read_table(path)
    assert header in str(e.value)
    assert read_table(path, ["gender", "year"]).n_columns == 2  # left out: not checked


def test_case_attributes_among_the_identity_fields_pass(tmp_path) -> None:
    for header in ("sex", "nationality", "region", "citizenship", "Datasource"):
        assert header in read_table(_people(tmp_path, header)).columns


def test_columns_is_applied_before_the_identity_guard(tmp_path) -> None:
    path = _people(tmp_path, "postcode")
    r = _run("aggregates", path, "--k", "5", "--columns", "gender,year", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    r = _run("aggregates", path, "--k", "5", "--columns", "gender,postcode",
             "--out", tmp_path / "o2")
    assert r.exit_code == 3 and "postcode" in r.output


def test_a_column_of_nearly_all_distinct_values_is_refused_unless_allowed(tmp_path) -> None:
    rows = ["gender,year,case_ref"] + [f"{'female' if i % 2 else 'male'},{2010 + i % 3},"
                                       f"GL-{i:05d}" for i in range(60)]
    path = tmp_path / "ids.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    with pytest.raises(InputFileError, match="column case_ref: 60 of its 60 values"):
        read_table(path)
    for method in ("aggregates", "microdata"):
        r = _run(method, path, "--k", "5", "--out", tmp_path / method)
        assert r.exit_code == 3 and "case_ref" in r.output and "--allow-distinct" in r.output
    r = _run("microdata", path, "--k", "5", "--quasi-identifiers", "gender,year",
             "--allow-distinct-columns", "--out", tmp_path / "m")
    assert r.exit_code == EXIT_DO_NOT_PUBLISH, r.output  # written: the QIs leave rare combinations
    # a small table (fewer than 20 one-row values) is not refused for being small
    small = tmp_path / "small.csv"
    small.write_text("\n".join(rows[:11]) + "\n", "utf-8")
    assert read_table(small).n_rows == 10


# 4 ---------------------------------------------------------------------------------------------

def test_a_repeated_column_name_is_refused(tmp_path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("gender,gender,year\n" + "F,M,2020\n" * 30, "utf-8")
    with pytest.raises(InputFileError, match=r"repeats column name\(s\) gender \(columns 1, 2\)"):
        read_table(path)
    r = _run("aggregates", path, "--k", "5", "--out", tmp_path / "o")
    assert r.exit_code == 3 and "gender" in r.output and not (tmp_path / "o").exists()


# 7 ---------------------------------------------------------------------------------------------

def test_a_row_with_too_many_fields_is_named_by_its_line(tmp_path) -> None:
    path = tmp_path / "ragged.csv"
    rows = ["gender,year"] + ["female,2020"] * 5 + ['"male\nor not",2021', "", "male,2020,Olena"]
    path.write_text("\n".join(rows) + "\n", "utf-8")
    with pytest.raises(InputFileError, match="Expected 2 columns, got 3 on line 10") as e:
        read_table(path)
    assert "Olena" not in str(e.value)


# 6 ---------------------------------------------------------------------------------------------

def test_aggregates_shows_its_stage_on_a_terminal(tmp_path, monkeypatch, caplog) -> None:
    import contextlib

    import safelight.cli_support as support

    entered = []

    @contextlib.contextmanager
    def recording(*a, **kw):
        entered.append(True)
        yield

    monkeypatch.setattr(support, "stage_status", recording)
    with caplog.at_level(logging.INFO, "safelight"):
        r = _run("aggregates", _table(tmp_path), "--k", "5", "--length", "2",
                 "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert entered  # the command runs under the spinner, as synthetic and microdata do
    stages = [m for m in caplog.messages if m.startswith(("reading", "counting",
                                                          "interval audit", "evaluating"))]
    assert len(stages) >= 4, caplog.messages
