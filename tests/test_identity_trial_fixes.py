"""Identity normalisation found wrong by a linkage engineer trying it as a new user would
(2026-12-01): placeholder dates, zero parts and two-digit years; NaN; unknown nationalities and
ICAO codes; sex words; the map's phone region."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.errors import ProfileError
from safelight.identity.mapping import birth_date_parser, load_map
from safelight.identity.normalise import (
    birth_date_parts,
    code_key,
    family_key,
    fold,
    given_key,
    nationality_key,
    sex_key,
)


def test_a_1900_birth_date_is_no_date():
    """Two records born "01.01.1900" (a database's unknown) linked at p = 0.98 on a date
    level weighed above a real exact date."""
    y, m, d = birth_date_parts(np.array([1900, 1850, 1901, -1, 1990, 1900]),
                               np.array([1, 6, 1, 3, 13, 5]), np.array([1, 1, 1, 5, 2, 7]))
    assert y.tolist() == [-1, -1, 1901, -1, 1990, 1900]  # other dates of 1900 stay
    assert m.tolist() == [-1, -1, 1, 3, 13, 5]  # a month of 13: a day/month swap, kept
    assert d.tolist() == [-1, -1, 1, 5, 2, 7]


def test_the_linkage_reads_no_1900_date(tmp_path):
    import pyarrow as pa

    from safelight.link.prepare import prepare

    t = pa.table({"contributor": ["a", "b"], "record_id": ["1", "2"],
                  "given_name": ["Olha", "Olena"], "family_name": ["Bondar", "Bondar"],
                  "birth_year": pa.array([1900, 1988], pa.int16()),
                  "birth_month": pa.array([1, 4], pa.int16()),
                  "birth_day": pa.array([1, 2], pa.int16())})
    r = prepare(t)
    assert r.birth_year.tolist() == [-1, 1988] and r.birth_day.tolist() == [-1, 2]


def test_zero_parts_keep_the_year_and_two_digit_years_stay_in_the_past():
    p = birth_date_parser(())
    for raw in ("00.00.1972", "1972-00-00", "00/00/1972", "00.05.1972"):
        assert p(raw) == ((1972, None, None, None), None), raw
    assert p("31.02.1990")[1] is not None  # still no calendar date
    q = birth_date_parser(("%d.%m.%y",))
    assert q("15.03.55")[0][:3] == (1955, 3, 15)
    assert q("15.03.05")[0][:3] == (2005, 3, 15)


def test_nan_is_missing_everywhere():
    nan = float("nan")
    for fn in (fold, given_key, family_key, sex_key, nationality_key, code_key):
        assert fn(nan) is None, fn.__name__


def test_unknown_nationality_is_missing_and_icao_codes_read():
    assert nationality_key("unknown") is None and nationality_key("невідомо") is None
    assert nationality_key("XXX") is None
    assert nationality_key("D") == nationality_key("DEU") == "DEU"
    assert nationality_key("GBD") == "GBR"
    assert nationality_key("XXA") == nationality_key("stateless") == "STATELESS"
    assert nationality_key("none") is None and sex_key("none") is None
    assert nationality_key("NA") == "NAM"  # Namibia, as resolve_country reads it
    assert nationality_key("stateless") == "STATELESS"  # a status, agrees with itself
    assert code_key("?") is None and sex_key("-") is None


@pytest.mark.parametrize("word,code", [("Feminino", "female"), ("Mulher", "female"),
                                       ("Homem", "male"), ("Θήλυ", "female"),
                                       ("Άρρεν", "male"), ("intersex", "other")])
def test_more_sex_words(word, code):
    assert sex_key(word) == code


def test_the_maps_phone_region_is_a_country(tmp_path):
    for given, want in (("UKR", "UA"), ("Ukraine", "UA"), ("ua", "UA")):
        path = tmp_path / f"{given}.yaml"
        path.write_text(f"id: id\nphone_region: {given}\nfields:\n  phone: tel\n", "utf-8")
        assert load_map(path).phone_region == want
    for bad in ("XX", "380", "'+380'"):
        path = tmp_path / "bad.yaml"
        path.write_text(f"id: id\nphone_region: {bad}\nfields:\n  phone: tel\n", "utf-8")
        with pytest.raises(ProfileError, match="phone_region"):
            load_map(path)


def test_two_fields_of_one_column_are_refused(tmp_path):
    path = tmp_path / "same.yaml"
    path.write_text("id: id\nfields:\n  given_name: Vorname\n  family_name: Vorname\n", "utf-8")
    with pytest.raises(ProfileError, match="family_name and given_name are both mapped"):
        load_map(path)


@pytest.mark.parametrize("a,b,same", [
    ("Elżbieta", "Olena", False), ("Elżbieta", "Elena", False),  # through "Ela"
    ("Constantin", "Titilayo", False), ("Salvatore", "Antonio", False),  # Titi, Totò
    ("Марія", "Мар'яна", False), ("Emma", "Emmanuel", False), ("Sayed", "Saeed", False),
    ("Fatiha", "Fatima", False), ("Rada", "Ghada", False),
    ("Thi Lan", "Thi Mai", False), ("Abdul Karim", "Abdul Latif", False),
    ("Abu Bakr", "Abu Ali", False), ("Jean-Pierre", "Jean-Paul", False),
    ("Oleksandr", "Oleksandra", True), ("Sasha", "Oleksandr", True), ("Ela", "Ela", True),
    ("Abdul Karim", "Abdulkarim", True), ("Favour Osasere", "Favour", True),
    ("Дарина", "Dasha", True), ("Роман", "Roma", True), ("Valentyna", "Valia", True),
])
def test_name_groups_are_not_chained_through_shared_short_forms(a, b, same):
    """Trial: groups were joined whenever two entries shared a short form, so sisters Марія
    and Мар'яна sharing a phone linked at p = 1.000, and Elżbieta was Olena."""
    from safelight.identity.normalise import given_group

    assert (given_group(a) == given_group(b)) is same


@pytest.mark.parametrize("text,given,family", [
    ("Павлюк Степан Сергійович", "Степан", "Павлюк"),
    ("Степан Сергійович Павлюк", "Степан", "Павлюк"),
    ("Shevchenko Olena Petrivna", "Olena", "Shevchenko"),
    ("Иванов Владимир Ильич", "Владимир", "Иванов"),
    ("Favour Osasere Okoro", "Favour", "Osasere Okoro"),
    ("Hans Ulrich Meyer", "Hans", "Ulrich Meyer"),  # Ulrich is no patronymic
    ("Smith John Rich", "Smith", "John Rich"),
    # -ovich / -evich is a surname too (review): the first word stays the given name
    ("Sarah Jane Rabinovich", "Sarah", "Jane Rabinovich"),
    ("Kovalenko Stepan Ivanovych", "Stepan", "Kovalenko"),  # Ivanovych: formed from Ivan
    ("Stepan Serhiyovych Pavliuk", "Stepan", "Pavliuk"),
    # the third review: surnames that look like patronymics stay surnames
    ("Ana Rabinovich García", "Ana", "Rabinovich García"),
    ("John Paul Petrovich", "John", "Paul Petrovich"),
    ("Lucia Maria Jovanovich", "Lucia", "Maria Jovanovich"),
    ("Ivanov Ivan Petrovich", "Ivan", "Ivanov"),
    ("Олена Марія Лукашевич", "Олена", "Марія Лукашевич"),
])
def test_full_names_in_the_east_slavic_order(text, given, family):
    """Trial: "Павлюк Степан Сергійович" (family, given, patronymic: the official order) was
    read as given name Павлюк and family name "Степан Сергійович" — 0 of 80 linked."""
    from safelight.identity.normalise import split_full_name

    assert split_full_name(text) == (given, family)


def test_registers_in_the_official_order_link(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from safelight.cli import main
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    p = generate_linkage_pairs(300, 300, seed=5)
    left, right = p.left, p.right
    g, f = right.column("given_name").to_pylist(), right.column("family_name").to_pylist()
    full = [f"{b} {a} Іванович" if a and b else None for a, b in zip(g, f, strict=True)]
    right = right.drop(["given_name", "family_name"]).append_column("full_name",
                                                                   pa.array(full, pa.string()))
    pq.write_table(left, tmp_path / "l.parquet")
    pq.write_table(right, tmp_path / "r.parquet")
    keep = ("birth_year", "birth_month", "birth_day", "sex", "nationality")
    both = "".join(f"  {c}: {c}\n" for c in keep)
    (tmp_path / "l.yaml").write_text("id: record_id\nconsent: {all: full}\nfields:\n"
                                     "  given_name: given_name\n  family_name: family_name\n"
                                     + both, "utf-8")
    (tmp_path / "r.yaml").write_text("id: record_id\nconsent: {all: full}\nfields:\n"
                                     "  full_name: full_name\n" + both, "utf-8")
    r = CliRunner().invoke(main, ["link", "pairs", str(tmp_path / "l.parquet"),
                                  str(tmp_path / "r.parquet"), "--map", str(tmp_path / "l.yaml"),
                                  "--right-map", str(tmp_path / "r.yaml"), "--out",
                                  str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    written = int(r.output.split("wrote ")[1].split(" pairs")[0].replace(",", ""))
    # 147 of 150 here; 135 when the family name was read as the given name (the swap and the
    # patronymic glued to the given name are partly recovered crosswise)
    assert written >= 0.95 * p.true_pairs, (written, p.true_pairs)


def test_birth_date_readings_stay_plausible():
    """Review: a four-digit future year was moved back a century, zero parts skipped the
    plausibility checks, and 1972-05-00 lost its month."""
    p = birth_date_parser(("%d.%m.%Y", "%d.%m.%y"))
    assert p("15.03.2055")[1] is not None
    assert p("15.03.55")[0][:3] == (1955, 3, 15)
    assert p("00.00.2099")[1] is not None and p("00.00.0000")[1] is not None
    assert p("1972-05-00")[0][:3] == (1972, 5, None)
    assert birth_date_parser(("%y%m%d",))("550315")[0][:3] == (1955, 3, 15)  # MRZ dates
    assert birth_date_parser(("%Y/%d/%m",))("1972/05/00")[0][:3] == (1972, None, None)


def test_phone_region_no_is_norway(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("id: id\nphone_region: NO\nfields:\n  phone: tel\n", "utf-8")
    assert load_map(path).phone_region == "NO"
    path.write_text("id: id\nphone_region: false\nfields:\n  phone: tel\n", "utf-8")
    with pytest.raises(ProfileError, match="phone_region"):
        load_map(path)


def test_a_contributor_that_names_a_column_is_warned_about(tmp_path, caplog):
    """Clustering trial (2026-12-01): `contributor: source` in the map of a file combining
    four agencies was taken as the name "source" for every record, silently."""
    from safelight.identity.mapping import read_identities

    data = tmp_path / "combined.csv"
    data.write_text("rid,source,given_name\nA1,ua-hotline,Olena\nA2,pl-ngo,Olena\n",
                    encoding="utf-8")
    mp = tmp_path / "map.yaml"
    mp.write_text("id: rid\ncontributor: source\nconsent: {all: full}\n"
                  "fields: {given_name: given_name}\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        read_identities(data, load_map(mp))
    assert "contributor: source is the name of one of the file's columns" in caplog.text
    caplog.clear()
    mp.write_text("id: rid\ncontributor: ngo-a\nconsent: {all: full}\n"
                  "fields: {given_name: given_name}\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        read_identities(data, load_map(mp))
    assert "contributor:" not in caplog.text


@pytest.mark.parametrize("a,b,same", [
    ("al-Fassi", "Fassi", True), ("El Fassi", "al-Fassi", True), ("Alfassi", "al-Fassi", True),
    ("الفاسي", "al-Fassi", True), ("ash-Shami", "Shami", True), ("El Mehdi", "Mehdi", True),
    ("an-Nur", "Nur", True),
    ("Al Halabi", "El Fassi", False), ("An Khang", "Khang", False), ("Alina", "Ina", False),
    ("Alex", "Ex", False),
    # a review: names that open with al / el / an of their own
    ("Alisa", "Issa", False), ("Elisa", "Isa", False), ("إلياس", "Yas", False),
    ("إلهام", "Ham", False), ("An-Mei", "Mei", False), ("Ed-Win", "Win", False),
    ("El–Mehdi", "Mehdi", True), ("El.Mehdi", "Mehdi", True),
])
def test_a_given_name_opening_with_an_arabic_article_is_keyed_without_it(a, b, same):
    """PPRL blocking misses at 100k: a family name written in the given-name field kept its
    article (al-Fassi | Haleema against Haleema | al-Fassi: "alfasi" against "fasi"), and
    every "Al X" given name took the group "al" (its first word)."""
    from safelight.identity.normalise import family_key, given_group, given_key

    assert (given_key(a) == given_key(b)) is same
    assert (given_group(a) == given_group(b)) is same
    if same:
        assert given_key(a) == family_key(a)


@pytest.mark.parametrize("a,b,same", [
    ("Thị Lan", "Lan", True), ("Thi Lan", "Lan", True), ("Văn Nam", "Nam", True),
    ("Thu Hà", "Ha", True), ("Thị Ngọc", "Ngọc", True), ("Thi Lan", "Thi Mai", False),
    ("Thu", "Thu Hà", False), ("Kim Lan", "Lan", False), ("Favour Osasere", "Favour", True),
])
def test_a_vietnamese_given_name_takes_its_last_word_group_after_a_middle_name(a, b, same):
    """PPRL blocking misses at 100k: Thị Lan | Trần and Lan | Tran shared no name-group key
    (the group of "Thi Lan" was the whole name). Kim is left out on purpose (a Western call
    name as often), and the first word stays the call name of other names."""
    from safelight.identity.normalise import given_group

    assert (given_group(a) == given_group(b)) is same


@pytest.mark.parametrize("given_a,family_a,given_b,family_b", [
    ("Lan", "Trần", "Trần", "Thị Lan"),  # the Vietnamese order taken at face value
    ("Thi Lan", "Tran", "Tran", "Thi Lan"),
    ("Văn Long", "Bùi", "Bui", "Văn Long"),
])
def test_vietnamese_names_in_either_order_share_sorted_name_keys(given_a, family_a, given_b,
                                                                 family_b):
    """Thị Lan | Trần against Trần | Thị Lan and Lan | Tran: Thị and Văn only say the sex, so
    the keys leave them out, in either field (the sorted-names blocking key then meets)."""
    from safelight.identity.normalise import family_key, given_key

    assert sorted([given_key(given_a), family_key(family_a)]) == sorted(
        [given_key(given_b), family_key(family_b)])


def test_a_plain_van_is_kept_in_either_field_and_van_with_its_breve_dropped_in_both():
    """A plain "Van" opens Dutch family names (van Dijk is not Dijk, nor Dick), so it is kept in
    both fields alike — a review found the given name dropping it and the family name not, so
    swapped names stopped meeting; Văn with its breve is dropped in both (also decomposed)."""
    import unicodedata

    from safelight.identity.normalise import family_key, given_key

    assert family_key("Van Dijk") != family_key("Dijk")
    assert given_key("Van Dijk") == family_key("Van Dijk") != given_key("Dick")
    assert given_key("Van Long") == family_key("Van Long") != given_key("Long")
    for text in ("Văn Long", unicodedata.normalize("NFD", "Văn Long"), "Văn-Long"):
        assert given_key(text) == family_key(text) == given_key("Long")


def test_a_misspelt_key_of_the_map_is_called_a_key_not_an_identity_field(tmp_path) -> None:
    """`feilds:` said "unknown identity field(s) feilds (did you mean 'fields'?) — use
    address_line, birth_date, …": a key of the map, listed as if it were a field (a trial)."""
    path = tmp_path / "m.yaml"
    path.write_text("id: rec\nfeilds:\n  given_name: first\n", "utf-8")
    with pytest.raises(ProfileError) as err:
        load_map(path)
    msg = str(err.value)
    assert "unknown key(s) feilds (did you mean 'fields'?)" in msg
    assert "a map has consent, contributor" in msg and "under fields:" in msg
    path.write_text("id: rec\nshoe_size: first\n", "utf-8")  # a field: worded as before
    with pytest.raises(ProfileError, match="unknown identity field"):
        load_map(path)
