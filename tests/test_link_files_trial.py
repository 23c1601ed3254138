"""`link pairs` / `link dedupe` on files found wrong by trying them as a new user would
(2026-12-01): a map without names, a negative seed, a pasted note in a name field, stored dates
and years alone, pairs lost between the threshold and the review band, CSV written under other
names, and the advice for `consent: full`."""

from __future__ import annotations

import csv

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from safelight.cli import main

PEOPLE = [("Olena", "Shevchenko", "1990-05-17"), ("Andrii", "Melnyk", "1985-03-02"),
          ("Iryna", "Kovalenko", "1979-11-30"), ("Taras", "Bondar", "2001-01-15")] * 1


def _csv(path, rows, header=("id", "given", "family", "born")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _map(path, text):
    path.write_text("id: id\nconsent: {all: full}\n" + text, "utf-8")
    return path


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_map_without_names_is_refused_not_a_traceback(tmp_path):
    f = _csv(tmp_path / "a.csv", [(i, "", "", "1990") for i in range(5)])
    m = _map(tmp_path / "m.yaml", "fields:\n  birth_date: born\n")
    r = _run("link", "dedupe", f, "--map", m, "--out", tmp_path / "o.csv")
    assert r.exit_code == 2 and "no record has a name" in r.output
    assert not (tmp_path / "o.csv").exists()


def test_a_negative_seed_is_a_usage_error(tmp_path):
    f = _csv(tmp_path / "a.csv", [(i, g, fam, d) for i, (g, fam, d) in enumerate(PEOPLE)])
    m = _map(tmp_path / "m.yaml", "fields:\n  given_name: given\n  family_name: family\n")
    r = _run("link", "dedupe", f, "--map", m, "--out", tmp_path / "o.csv", "--seed", "-1")
    assert r.exit_code == 2 and "--seed" in r.output


def test_a_pasted_note_in_a_name_field_costs_no_memory(tmp_path):
    from safelight.link.name_keys import MAX_VARIANT_LETTERS, deletion_hashes

    owner, _ = deletion_hashes(["anna", "x" * 200_000, "olena"])
    assert set(owner.tolist()) == {0, 2}
    assert MAX_VARIANT_LETTERS >= 40


def test_stored_dates_and_years_alone_are_read_whatever_the_formats(tmp_path):
    left = _csv(tmp_path / "l.csv", [(i, g, f, d) for i, (g, f, d) in enumerate(PEOPLE)])
    t = pa.table({"id": [10, 11, 12, 13], "given": [g for g, _, _ in PEOPLE],
                  "family": [f for _, f, _ in PEOPLE],
                  "born": pa.array([__import__("datetime").date.fromisoformat(d)
                                    for _, _, d in PEOPLE], pa.date32())})
    pq.write_table(t, tmp_path / "r.parquet")
    m = _map(tmp_path / "m.yaml", "date_formats: ['%d.%m.%Y']\nfields:\n  given_name: given\n"
             "  family_name: family\n  birth_date: born\n")
    r = _run("link", "pairs", left, tmp_path / "r.parquet", "--map", m, "--out",
             tmp_path / "p.csv")
    assert r.exit_code == 0, r.output
    assert "unparsed" not in r.output and "wrote 4 pairs" in r.output  # was 0 dates read
    from safelight.identity.mapping import birth_date_parser

    p = birth_date_parser(("%d.%m.%Y",))
    assert p("1990")[0][:3] == (1990, None, None)
    assert p("1990-05-17 00:00:00")[0][:3] == (1990, 5, 17)


def test_csv_outputs_named_as_other_formats_are_refused(tmp_path):
    f = _csv(tmp_path / "a.csv", [(i, g, fam, d) for i, (g, fam, d) in enumerate(PEOPLE)])
    m = _map(tmp_path / "m.yaml", "fields:\n  given_name: given\n  family_name: family\n")
    r = _run("link", "dedupe", f, "--map", m, "--out", tmp_path / "o.xlsx")
    assert r.exit_code == 2 and "name it .csv" in r.output


def test_consent_full_names_the_all_form(tmp_path):
    f = _csv(tmp_path / "a.csv", [(i, g, fam, d) for i, (g, fam, d) in enumerate(PEOPLE)])
    m = tmp_path / "m.yaml"
    m.write_text("id: id\nconsent: full\nfields:\n  given_name: given\n", "utf-8")
    r = _run("link", "dedupe", f, "--map", m, "--out", tmp_path / "o.csv")
    assert r.exit_code == 4 and "consent: {all: full}" in r.output


def test_review_reaches_up_to_a_high_threshold(tmp_path):
    """Pairs between review_high (0.9) and a higher --threshold were in neither file."""
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    problem = generate_linkage_pairs(400, 400, seed=3)
    paths = []
    for side, t in (("l", problem.left), ("r", problem.right)):
        pq.write_table(t, tmp_path / f"{side}.parquet")
        paths.append(tmp_path / f"{side}.parquet")
    fields = "".join(f"  {c}: {c}\n" for c in ("given_name", "family_name", "birth_year",
                                              "birth_month", "birth_day", "sex", "nationality")
                     if c in problem.left.column_names)
    m = tmp_path / "m.yaml"
    m.write_text(f"id: record_id\nconsent: {{all: full}}\nfields:\n{fields}", "utf-8")
    base = ("link", "pairs", *paths, "--map", m)
    assert _run(*base, "--out", tmp_path / "all.csv").exit_code == 0
    r = _run(*base, "--out", tmp_path / "high.csv", "--review", tmp_path / "rev.csv",
             "--threshold", "0.999")
    assert r.exit_code == 0, r.output

    def pairs(name):
        with open(tmp_path / name, encoding="utf-8") as fh:
            return {(row["left_id"], row["right_id"]): float(row["match_probability"])
                    for row in csv.DictReader(fh)}

    between = {k for k, p in pairs("all.csv").items() if 0.9 <= p < 0.999}
    assert between  # the problem has pairs in the band
    assert between <= set(pairs("rev.csv")) | set(pairs("high.csv"))


def test_a_workbook_is_read_from_the_sheet_whose_header_fits_the_map(tmp_path):
    """The data on a second sheet after an "Info" sheet: exit 4, "columns not in the file"."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Info"
    wb.active.append(["Exported by", "agency"])
    data = wb.create_sheet("Cases")
    data.append(["id", "given", "family", "born"])
    for i, (g, f, d) in enumerate(PEOPLE):
        data.append([i, g, f, d])
    wb.save(tmp_path / "w.xlsx")
    m = _map(tmp_path / "m.yaml", "fields:\n  given_name: given\n  family_name: family\n")
    r = _run("link", "dedupe", tmp_path / "w.xlsx", "--map", m, "--out", tmp_path / "o.csv")
    assert r.exit_code == 0, r.output
    assert "4 records" in r.output


def test_an_empty_workbook_s_message_fits_a_map(tmp_path):
    """It pointed to read.header_row, a setting a map refuses."""
    from openpyxl import Workbook

    Workbook().save(tmp_path / "e.xlsx")
    m = _map(tmp_path / "m.yaml", "fields:\n  given_name: given\n  family_name: family\n")
    r = _run("link", "dedupe", tmp_path / "e.xlsx", "--map", m, "--out", tmp_path / "o.csv")
    assert r.exit_code == 3 and "read.header_row" not in r.output
    assert "first row names the columns" in r.output


def test_binary_files_are_named_for_what_they_are(tmp_path):
    """An ELF program named .csv was read as UTF-16 and blamed on the map (exit 4); an old
    .xls was told to set an encoding."""
    m = _map(tmp_path / "m.yaml", "fields:\n  given_name: given\n")
    for head, said in ((b"\x7fELF\x02\x01\x01\x00" + bytes(600), "a program"),
                       (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old Excel (.xls)"),
                       (b"\x1f\x8b\x08\x00" + bytes(100), "gzip")):
        f = tmp_path / "x.csv"
        f.write_bytes(head)
        r = _run("link", "dedupe", f, "--map", m, "--out", tmp_path / "o.csv")
        assert r.exit_code == 3 and said in r.output, r.output
