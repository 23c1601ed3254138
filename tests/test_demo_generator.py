"""Tests of the demo scenario generator, its name data and the transliteration tables."""

from __future__ import annotations

import csv
import io
import json
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
import yaml

from safelight.demo import generate_scenario, write_large_export
from safelight.demo.names import NamePools, feminine_family, load_yaml, patronymic
from safelight.identity.transliterate import SYSTEMS, transliterate
from safelight.standard.codelists import codelist
from safelight.standard.schema import FIELDS

N = 2000


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory):
    return generate_scenario(tmp_path_factory.mktemp("demo-a"), seed=7, n_records=N)


@pytest.fixture(scope="module")
def scenario_again(tmp_path_factory: pytest.TempPathFactory):
    return generate_scenario(tmp_path_factory.mktemp("demo-b"), seed=7, n_records=N)


@pytest.fixture(scope="module")
def manifest(scenario) -> dict[str, Any]:
    return json.loads(scenario.manifest_path.read_text("utf-8"))


@pytest.fixture(scope="module")
def truth(scenario) -> list[dict[str, str]]:
    with scenario.truth_path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _profile(c) -> dict[str, Any]:
    return yaml.safe_load(c.profile_path.read_text("utf-8"))


def _read_export(c) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of an export, read with plain libraries and the profile's read options."""
    prof = _profile(c)
    read = prof.get("read") or {}
    path: Path = c.export_path
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = list(wb[read["sheet"]].iter_rows(values_only=True))
        header = [str(h) for h in rows[0]]
        return header, [dict(zip(header, r, strict=True)) for r in rows[1:]]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return list(table.column_names), table.to_pylist()
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        return list(rows[0]), rows
    text = path.read_bytes().decode(read["encoding"]).removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=read["delimiter"])
    all_rows = list(reader)
    header = all_rows[0]
    return header, [dict(zip(header, r, strict=True)) for r in all_rows[1:]]


# --------------------------------------------------------------------------- transliteration


@pytest.mark.parametrize(
    ("text", "system", "expected"),
    [
        ("Олександр", "uk_national", "Oleksandr"),
        ("Щербина", "uk_national", "Shcherbyna"),
        ("Згурський", "uk_national", "Zghurskyi"),
        ("Юрій", "uk_national", "Yurii"),
        ("Знам'янка", "uk_national", "Znamianka"),
        ("Їжакевич", "uk_national", "Yizhakevych"),
        ("Марія", "uk_national", "Mariia"),
        ("Розгон", "uk_national", "Rozghon"),
        ("Александр", "ru_icao", "Aleksandr"),
        ("Юлия Соловьёва", "ru_icao", "Iuliia Soloveva"),
        ("Подъячев", "ru_icao", "Podieiachev"),
        ("Елена", "ru_bgn_pcgn", "Yelena"),
        ("Жук", "de_duden", "Schuk"),
        ("Александр", "de_duden", "Alexandr"),
        ("Дмитрий", "de_duden", "Dmitri"),
        ("Шевченко", "de_duden", "Schewtschenko"),
        ("Шевченко", "pl", "Szewczenko"),
        ("Медведев", "pl", "Miedwiediew"),
        ("Наталья", "pl", "Natalja"),
        ("Шевченко", "fr", "Chevtchenko"),
        ("Николай", "fr", "Nikolaï"),
        ("Шевченко", "scholarly", "Ševčenko"),
        ("Жук", "scholarly", "Žuk"),
        ("ОЛЕНА КОВАЛЕНКО", "uk_national", "OLENA KOVALENKO"),
        ("Anna Щербина", "uk_national", "Anna Shcherbyna"),
    ],
)
def test_transliterate_examples(text: str, system: str, expected: str) -> None:
    assert transliterate(text, system) == expected


def test_transliterate_language_changes_letters() -> None:
    # г is h in Ukrainian and g in Russian; и is y and i
    assert transliterate("Григорій", "pl", lang="uk") == "Hryhorij"
    assert transliterate("Григорий", "pl", lang="ru") == "Grigorij"
    assert transliterate("Олександр", "pl", lang="uk") == "Ołeksandr"
    assert transliterate("Олександр", "de_duden", lang="uk") == "Olexandr"


def test_transliterate_every_system_yields_ascii_or_latin() -> None:
    for system in SYSTEMS:
        out = transliterate("Щасливий Юрій Ґалаґан Ёлкин", system)
        assert not any("\u0400" <= ch <= "\u04ff" for ch in out), (system, out)


def test_transliterate_unknown_system() -> None:
    with pytest.raises(ValueError, match="unknown transliteration system"):
        transliterate("Олена", "klingon")


# --------------------------------------------------------------------------- name data


def _all_strings(values: list[Any]) -> bool:
    return all(isinstance(v, str) and v.strip() for v in values)


def test_name_lists_are_big_enough_and_all_strings() -> None:
    for lang in ("uk", "ru", "pl", "ro"):
        doc = load_yaml("safelight.demo", f"names_{lang}.yaml")
        assert len(doc["female"]) >= 60 and len(doc["male"]) >= 60, lang
        assert len(set(doc["family"])) >= 80, lang
        assert _all_strings(doc["female"] + doc["male"] + doc["family"]), lang
    for lang in ("ng", "south_asia"):
        doc = load_yaml("safelight.demo", f"names_{lang}.yaml")
        groups = doc["groups"].values()
        assert sum(len(g["female"]) for g in groups) >= 60
        assert sum(len(g["male"]) for g in groups) >= 60
        fam = [n for g in groups for k in ("family", "clan") for n in g.get(k, [])]
        assert len(set(fam)) >= 80, lang
    for lang in ("de", "it", "vi"):
        doc = load_yaml("safelight.demo", f"names_{lang}.yaml")
        assert _all_strings(doc["female"] + doc["male"] + doc["family"]), lang


def test_arabic_names_and_nicknames() -> None:
    ar = load_yaml("safelight.identity", "arabic_names.yaml")
    assert len(ar["given"]) >= 60 and len(ar["family"]) >= 40
    muhammad = next(g for g in ar["given"] if g["arabic"] == "محمد")
    assert {"Mohammed", "Muhammad", "Mohamed", "Mohamad", "Muhammed"} <= set(muhammad["variants"])
    abd = next(g for g in ar["given"] if g["arabic"] == "عبد الرحمن")
    assert {"Abdelrahman", "Abd al-Rahman", "Abdul Rahman", "Abdulrahman"} <= set(abd["variants"])
    nick = load_yaml("safelight.identity", "nicknames.yaml")
    entries = sum(len(v) for k, v in nick.items() if k != "version")
    assert entries >= 80
    assert "Сашко" in nick["uk"]["Олександр"] and "Kasia" in nick["pl"]["Katarzyna"]
    assert "Seun" in nick["yo"]["Oluwaseun"] and "Bill" in nick["en"]["William"]


def test_feminine_forms_and_patronymics() -> None:
    assert feminine_family("Згурський", "uk") == "Згурська"
    assert feminine_family("Шевченко", "uk") == "Шевченко"
    assert feminine_family("Иванов", "ru") == "Иванова"
    assert feminine_family("Kowalski", "pl") == "Kowalska"
    assert patronymic("Петро", "female", "uk") == "Петрівна"
    assert patronymic("Сергей", "male", "ru") == "Сергеевич"


def test_name_pools_are_deterministic() -> None:
    import random

    pools = NamePools()
    a = [pools.person_name(random.Random(5), c, "female") for c in ("uk", "ar", "ng:edo", "vi")]
    b = [pools.person_name(random.Random(5), c, "female") for c in ("uk", "ar", "ng:edo", "vi")]
    assert a == b


# --------------------------------------------------------------------------- scenario


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes(scenario, scenario_again) -> None:
    a, b = _files(scenario.out_dir), _files(scenario_again.out_dir)
    assert a.keys() == b.keys()
    assert len(a) == 2 + 2 * 6
    for name in a:
        assert a[name] == b[name], name


def test_different_seed_gives_different_data(scenario, tmp_path: Path) -> None:
    other = generate_scenario(tmp_path, seed=8, n_records=N)
    a, b = _files(scenario.out_dir), _files(other.out_dir)
    for c in scenario.contributors:
        rel = c.export_path.relative_to(scenario.out_dir).as_posix()
        assert a[rel] != b[rel], rel
    assert a["truth.csv"] != b["truth.csv"]


def test_counts_are_close_to_n_records(scenario, manifest) -> None:
    total = sum(c.n_records for c in scenario.contributors)
    assert abs(total - N) <= 0.02 * N
    assert manifest["n_records"] == total == scenario.n_records
    assert {c.name for c in scenario.contributors} >= {
        "ua-hotline",
        "pl-ngo",
        "de-police",
        "it-labour",
        "ng-ngo",
    }
    for c in scenario.contributors:
        _, rows = _read_export(c)
        assert len(rows) == c.n_records, c.name


def test_share_of_persons_registered_twice(truth, manifest) -> None:
    per_person = Counter(t["person_id"] for t in truth)
    share = sum(1 for n in per_person.values() if n >= 2) / len(per_person)
    assert 0.12 <= share <= 0.18
    assert manifest["n_persons"] == len(per_person)
    # some persons really cross borders (at least two different contributors)
    contributors = defaultdict(set)
    for t in truth:
        contributors[t["person_id"]].add(t["contributor"])
    assert sum(1 for s in contributors.values() if len(s) >= 2) > 0.08 * len(per_person)


def test_female_share_matches_published_figure(scenario) -> None:
    female = total = 0
    for c in scenario.contributors:
        values = _profile(c)["fields"]["gender"]
        _, rows = _read_export(c)
        for row in rows:
            code = values["values"].get(str(row[values["column"]]))
            total += 1
            female += code == "female"
    assert abs(female / total - 0.74) <= 0.05


def test_age_and_year_distributions(manifest) -> None:
    d = manifest["distributions"]
    assert abs(d["child_share_of_records"] - 0.24) <= 0.05
    assert abs(d["aged_18_29_share_of_records"] - 0.43) <= 0.05
    years = d["records_by_year"]
    assert set(years) == {str(y) for y in range(2017, 2024)}
    assert years["2020"] < years["2019"]
    consent = d["consent_share_of_records"]
    assert abs(consent["statistics_only"] - 0.08) < 0.03 and abs(consent["none"] - 0.02) < 0.015


def test_exports_have_their_own_formats(scenario) -> None:
    by = {c.name: c for c in scenario.contributors}
    ua = by["ua-hotline"].export_path.read_bytes()
    assert ua.startswith(b"\xef\xbb\xbf") and b";" in ua.split(b"\r\n")[0]
    de = by["de-police"].export_path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        de.decode("utf-8")
    assert any(ch in de.decode("cp1252") for ch in "äöüß")
    wb = openpyxl.load_workbook(by["pl-ngo"].export_path, read_only=True)
    assert wb.sheetnames == ["Rejestr", "Uwagi"]
    header, rows = _read_export(by["ng-ngo"])
    assert {
        "prs_FirstName",
        "prs_LastName",
        "prs_Birthdate",
        "prs_Gender",
        "vic_TypeOfExploitation",
    } <= set(header)
    assert {r["prs_Gender"] for r in rows} <= {"Feminine", "Masculine", "NonConforming"}
    _, it_rows = _read_export(by["it-labour"])
    assert all(r["cittadinanza"] is None or r["cittadinanza"].isdigit() for r in it_rows)
    _, ua_rows = _read_export(by["ua-hotline"])
    assert {r["Стать"] for r in ua_rows} <= {"жін.", "чол.", "інше"}


def test_profiles_name_only_present_columns_and_known_fields(scenario) -> None:
    for c in scenario.contributors:
        prof = _profile(c)
        assert prof["profile"] == c.name and isinstance(prof["version"], int)
        header, _ = _read_export(c)
        assert prof["record_id"] in header
        for fname, spec in prof["fields"].items():
            assert fname in FIELDS, fname
            if isinstance(spec, str):
                assert spec in header, (c.name, spec)
            elif "flags" in spec:
                assert set(spec["flags"]) <= set(header), c.name
            else:
                assert spec["column"] in header, (c.name, spec["column"])
                sep = str(spec.get("separator", "")).strip()
                if sep and "values" in spec:  # a term must not contain its separator
                    assert not any(sep in term for term in spec["values"]), (c.name, fname)


def _parse_date(value: Any, formats: list[str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    for fmt in formats:
        try:
            return datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    return None


def test_only_listed_rows_are_bad(scenario, manifest) -> None:
    """Every coded value is known to its profile and every date valid — except the listed rows."""
    listed = defaultdict(set)
    for bad in manifest["bad_rows"]:
        listed[bad["contributor"], bad["kind"]].add(bad["row"])
    canon_countries = set()
    for a3, c in load_yaml("safelight.demo", "countries.yaml").items():
        canon_countries |= {a3, c["a2"], str(c["num"]), c["en"]}
    for c in scenario.contributors:
        prof = _profile(c)
        _, rows = _read_export(c)
        found = defaultdict(set)
        ids = Counter()
        for i, row in enumerate(rows, start=1):
            rid = str(row[prof["record_id"]])
            ids[rid] += 1
            if ids[rid] == 2:
                found["duplicate_record_id"].add(i)
            for fname, spec in prof["fields"].items():
                if isinstance(spec, dict) and "flags" in spec:
                    flag_values = spec.get("true_values", []) + spec.get("false_values", [])
                    for col in spec["flags"]:
                        assert str(row[col]).casefold() in {v.casefold() for v in flag_values}
                    continue
                if isinstance(spec, str):
                    if FIELDS[fname].kind == "country" and isinstance(spec, str):
                        v = row[spec]
                        if v not in (None, ""):
                            assert str(v) in canon_countries, (c.name, i, v)
                    continue
                v = row[spec["column"]]
                if v in (None, ""):
                    continue
                if "date_formats" in spec:
                    d = _parse_date(v, spec["date_formats"])
                    if d is None:
                        found["invalid_date"].add(i)
                    elif d > date.today():
                        found["future_birth_date"].add(i)
                elif "values" in spec:
                    known = {k.casefold() for k in spec["values"]}
                    if FIELDS[fname].codelist:
                        known |= {k.casefold() for k in codelist(FIELDS[fname].codelist).codes}
                    if FIELDS[fname].kind == "country":
                        known |= {k.casefold() for k in canon_countries}
                    parts = [v] if "separator" not in spec else str(v).split(spec["separator"])
                    for part in parts:
                        if part.strip().casefold() not in known:
                            found["unknown_code"].add(i)
        for kind in ("invalid_date", "future_birth_date", "unknown_code", "duplicate_record_id"):
            assert found[kind] == listed[c.name, kind], (c.name, kind)
            assert listed[c.name, kind], (c.name, kind)
        n_bad = sum(
            len(listed[c.name, k])
            for k in ("invalid_date", "future_birth_date", "unknown_code", "duplicate_record_id")
        )
        assert 0.003 * len(rows) <= n_bad <= 0.02 * len(rows) + 4, c.name


def test_listed_bad_rows_point_at_their_values(scenario, manifest) -> None:
    by = {c.name: c for c in scenario.contributors}
    header_lines = {"it-labour": 0, "ng-ngo": 0}
    for bad in manifest["bad_rows"]:
        _, rows = _read_export(by[bad["contributor"]])
        row = rows[bad["row"] - 1]
        assert str(row[bad["column"]]) == bad["value"], bad
        assert bad["source_row"] == bad["row"] + header_lines.get(bad["contributor"], 1)


def test_the_ingest_stage_quarantines_exactly_the_listed_rows(scenario, manifest) -> None:
    """Cross-check with the real ingest (dry run): the profiles read every export."""
    ingest = pytest.importorskip("safelight.ingest")
    rule_of = {
        "invalid_date": "invalid_date",
        "future_birth_date": "date_in_future",
        "unknown_code": "unknown_code",
        "duplicate_record_id": "duplicate_record_id",  # the dry run counts repeated ids too
    }
    for c in scenario.contributors:
        result = ingest.check_file(c.export_path, ingest.load_profile(c.profile_path))
        assert result["rows_read"] == c.n_records, c.name
        expected = Counter(
            rule_of[b["kind"]]
            for b in manifest["bad_rows"]
            if b["contributor"] == c.name and b["kind"] in rule_of
        )
        assert result["rules"] == dict(expected), (c.name, result["examples"][:3])


def test_truth_covers_every_record(scenario, truth) -> None:
    by_contributor = defaultdict(list)
    for t in truth:
        by_contributor[t["contributor"]].append(t["record_id"])
    for c in scenario.contributors:
        prof = _profile(c)
        _, rows = _read_export(c)
        assert [str(r[prof["record_id"]]) for r in rows] == by_contributor[c.name], c.name
    assert all(t["person_id"].startswith("P") for t in truth)


def _is_cyrillic(s: str) -> bool:
    return any("CYRILLIC" in unicodedata.name(ch, "") for ch in s)


def test_cyrillic_and_latin_spellings_of_one_person(scenario, truth) -> None:
    by = {c.name: c for c in scenario.contributors}
    names: dict[tuple[str, str], str] = {}
    for cname, given_col in (("ua-hotline", "Ім'я"), ("pl-ngo", "Imię"), ("de-police", "Vorname")):
        prof = _profile(by[cname])
        _, rows = _read_export(by[cname])
        ids = [t for t in truth if t["contributor"] == cname]
        for t, row in zip(ids, rows, strict=True):
            names[cname, t["person_id"]] = str(row[given_col] or "")
        assert prof["fields"]["given_name"] == given_col
    both = [pid for (c, pid) in names if c == "ua-hotline" and ("pl-ngo", pid) in names]
    assert len(both) >= 20
    crossed = [
        pid
        for pid in both
        if _is_cyrillic(names["ua-hotline", pid])
        and names["pl-ngo", pid]
        and not _is_cyrillic(names["pl-ngo", pid])
    ]
    assert len(crossed) >= 0.8 * len(both)
    # and the Latin spellings differ between agencies for some of them (Polish vs passport)
    pl_spellings = {names["pl-ngo", pid] for pid in both}
    assert any("ł" in s or "sz" in s or "cz" in s or "w" in s for s in pl_spellings)


def test_households_are_separate_persons(manifest) -> None:
    assert manifest["n_households"] > 0
    assert manifest["n_household_members"] >= 2 * manifest["n_households"]


def test_small_n_records_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_scenario(tmp_path, n_records=10)


def test_write_large_export_is_fast_and_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    started = time.perf_counter()
    write_large_export(path, 50_000, seed=3, chunk_rows=20_000)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, elapsed
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.removeprefix("\ufeff").split("\r\n")
    assert lines[-1] == "" and len(lines) == 50_000 + 2
    header = lines[0].split(";")
    assert all(len(line.split(";")) == len(header) for line in lines[1:-1])
    ids = [line.split(";", 1)[0] for line in lines[1:-1]]
    assert len(set(ids)) == len(ids)
    profile = yaml.safe_load(Path(str(path) + ".profile.yaml").read_text("utf-8"))
    assert profile["record_id"] == header[0]
    genders = Counter(line.split(";")[header.index("Стать")] for line in lines[1:-1])
    assert abs(genders["жін."] / 50_000 - 0.80) < 0.02
    # deterministic
    again = tmp_path / "again.csv"
    write_large_export(again, 50_000, seed=3, chunk_rows=20_000)
    assert again.read_bytes() == path.read_bytes()
