"""Keyed, hardened Bloom-filter encodings: no clear identifier in a package, keyed blocking
keys, the key never leaves, BLIP noise, consent."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from safelight.identity.encode import (
    EncodingError,
    EncodingSettings,
    encode_table,
    key_fingerprint,
    load_key,
    new_key,
    write_package,
)
from safelight.identity.normalise import (
    document_key,
    family_key,
    fold,
    given_group,
    given_key,
    locality_key,
    name_tokens,
    phone_e164,
)
from safelight.identity.transliterate import SYSTEMS, transliterate
from safelight.link.encoded import read_packages

KEY = bytes(range(32))

PEOPLE = [
    # given, family, (y, m, d), sex, nationality, phone, region, document, locality, street, pc
    ("Олександр", "Шевченко", (1985, 3, 27), "M", "UKR", "050 123 4567", "UA", "KH260964",
     "Львів", "вулиця Шевченка", "79013"),
    ("Kateryna", "Hrytsenko", (1992, 11, 9), "F", "UKR", "+380671112233", "UA", "FA884211",
     "Kharkiv", "Sumska street", "61057"),
    ("Mohammed", "al-Hassan", (1978, 8, 14), "M", "SYR", "+963944556677", "SY", "N0098765",
     "Aleppo", "Baron street", "21599"),
    ("Ngozi", "Okeke", (2001, 6, 30), "F", "NGA", "+2348031234567", "NG", "A07733991",
     "Benin City", "Akpakpava road", "30028"),
    ("Ołena", "Kowalczyk", (1969, 12, 24), "F", "POL", "+48601998877", "PL", "ZX4455667",
     "Przemyśl", "ulica Mickiewicza", "37713"),
]


def _table(consent: list[bool] | None = None) -> pa.Table:
    cols = list(zip(*PEOPLE, strict=True))
    dates = cols[2]
    t = pa.table({
        "record_id": [f"r{i:03d}" for i in range(len(PEOPLE))],
        "given_name": list(cols[0]),
        "family_name": list(cols[1]),
        "birth_year": pa.array([d[0] for d in dates], pa.int16()),
        "birth_month": pa.array([d[1] for d in dates], pa.int16()),
        "birth_day": pa.array([d[2] for d in dates], pa.int16()),
        "sex": list(cols[3]),
        "nationality": list(cols[4]),
        "phone": list(cols[5]),
        "phone_region": list(cols[6]),
        "document_number": list(cols[7]),
        "locality": list(cols[8]),
        "address_line": list(cols[9]),
        "postcode": list(cols[10]),
        "street_number": ["17", "204", "3", "58", "911"],
    })  # fmt: skip
    if consent is not None:
        t = t.append_column("consent_linkage", pa.array(consent))
    return t


def _needles() -> set[str]:
    """Every clear form of the input an attacker could grep for."""
    out: set[str] = set()
    for given, family, (y, m, d), _sex, _nat, phone, region, doc, loc, street, pc in PEOPLE:
        for name in (given, family, loc, street):
            forms = {name, name.lower(), name.upper(), fold(name) or "", given_key(name) or "",
                     family_key(name) or "", given_group(name) or "", locality_key(name) or ""}
            forms |= set(name_tokens(name))
            forms |= {transliterate(name, s) for s in SYSTEMS}
            forms |= {f.replace(" ", "") for f in forms}
            out |= {f for f in forms if len(f) >= 4}
        out |= {f"{y:04d}-{m:02d}-{d:02d}", f"{y:04d}{m:02d}{d:02d}", f"{d:02d}.{m:02d}.{y:04d}",
                f"{d:02d}/{m:02d}/{y:04d}", f"{m:02d}/{d:02d}/{y:04d}", f"{d}/{m}/{y}",
                f"{y}-{m}-{d}", f"ymd{y}-{m}-{d}", f"y{y}"}
        e164 = phone_e164(phone, region) or ""
        digits = "".join(c for c in phone if c.isdigit())
        out |= {phone, e164, e164.lstrip("+"), digits, doc, document_key(doc) or "", pc}
    return {n for n in out if n}


def _byte_forms(needle: str) -> list[bytes]:
    forms = [needle.encode("utf-8"), needle.encode("utf-16-le")]
    if needle.isdigit() and len(needle) >= 8:
        v = int(needle)
        if v < 2**31:
            forms.append(struct.pack("<i", v))
        forms.append(struct.pack("<q", v))
    return forms


def test_package_holds_no_clear_identifier(tmp_path):
    pkg = write_package(encode_table(_table(), KEY, contributor="ngo-a"), tmp_path / "a.enc")
    files = sorted(p for p in pkg.rglob("*") if p.is_file())
    assert {p.name for p in files} == {"records.parquet", "manifest.json"}
    blob = b"".join(p.read_bytes() for p in files)
    # the Parquet footer metadata is inside the file bytes; decompress the columns as well
    table = pq.read_table(pkg / "records.parquet")
    blob += b"".join(buf.to_pybytes() for col in table.columns for chunk in col.chunks
                     for buf in chunk.buffers() if buf is not None)
    blob += str(pq.ParquetFile(pkg / "records.parquet").metadata.to_dict()).encode()
    # every blocking-key column is in the searched bytes, with values (PEOPLE carry names,
    # dates and addresses, so each narrowed key applies to someone, except the open keys)
    from safelight.identity.encode import BLOCKING_RULES

    for rule, (_space, _parts, missing) in BLOCKING_RULES.items():
        col = table.column(f"bk_{rule}")
        assert missing or col.null_count < len(col), rule
    needles = _needles()
    assert len(needles) > 80  # the search really covers names, dates and numbers
    found = [n for n in needles for form in _byte_forms(n) if form in blob]
    assert found == []
    # the same search on the clear input finds every person's names, dates and numbers
    pq.write_table(_table().append_column(
        "dob", pa.array([f"{y:04d}-{m:02d}-{d:02d}" for _, _, (y, m, d), *_ in PEOPLE])),
        tmp_path / "clear.parquet", compression="none")
    clear = (tmp_path / "clear.parquet").read_bytes()
    hits = {n for n in needles for form in _byte_forms(n) if form in clear}
    for given, family, (y, m, d), *_rest in PEOPLE:
        assert {given, family, f"{y:04d}-{m:02d}-{d:02d}"} <= hits


def test_manifest_has_settings_and_fingerprint_not_key(tmp_path):
    pkg = write_package(encode_table(_table(), KEY, contributor="ngo-a"), tmp_path / "a.enc")
    man = json.loads((pkg / "manifest.json").read_text())
    assert man["key_fingerprint"] == key_fingerprint(KEY)
    assert KEY.hex() not in json.dumps(man)
    assert man["settings"]["flip_probability"] == EncodingSettings().flip_probability
    assert man["records"] == len(PEOPLE)
    assert man["records_sha256"] == hashlib.sha256((pkg / "records.parquet").read_bytes()
                                                   ).hexdigest()
    blob = b"".join(p.read_bytes() for p in pkg.rglob("*") if p.is_file())
    assert KEY not in blob and KEY.hex().encode() not in blob


def test_blocking_keys_are_keyed_not_dictionary_hashes():
    enc = encode_table(_table(), KEY)
    other = encode_table(_table(), bytes(32))
    bk = enc.table.column("bk_family_year").to_pylist()
    assert all(v is not None for v in bk)
    assert bk != other.table.column("bk_family_year").to_pylist()
    # an unkeyed hash of the clear values (what blocklib does) appears nowhere
    dictionary = set()
    for _g, family, (y, _m, _d), *_ in PEOPLE:
        for text in (f"{family_key(family)}{y}", f"{family_key(family)}\x1f{y}",
                     f"{family_key(family)} {y}"):
            for algo in (hashlib.sha1, hashlib.md5, hashlib.sha256):
                digest = algo(text.encode()).digest()
                dictionary |= {int.from_bytes(digest[:8], "little", signed=True),
                               int.from_bytes(digest[:8], "big", signed=True)}
    assert dictionary.isdisjoint(bk)
    # and with the key it is HMAC: the same values give the same key in every package
    again = encode_table(_table(), KEY)
    assert again.table.column("bk_family_year").to_pylist() == bk


def test_same_name_gives_different_filters_but_links():
    t = pa.concat_tables([_table(), _table()])
    enc = encode_table(t, KEY, EncodingSettings(seed=3))
    col = enc.table.column("bf_family_name").to_pylist()
    n = len(PEOPLE)
    assert all(col[i] != col[i + n] for i in range(n))  # BLIP: no identical encodings
    plain = encode_table(t, KEY, EncodingSettings(flip_probability=0.0))
    pcol = plain.table.column("bf_family_name").to_pylist()
    assert all(pcol[i] == pcol[i + n] for i in range(n))  # without it they would be


def test_different_keys_give_unrelated_filters():
    a = encode_table(_table(), KEY, EncodingSettings(flip_probability=0.0))
    b = encode_table(_table(), bytes(32), EncodingSettings(flip_probability=0.0))
    fa = np.frombuffer(b"".join(a.table.column("bf_given_name").to_pylist()), np.uint8)
    fb = np.frombuffer(b"".join(b.table.column("bf_given_name").to_pylist()), np.uint8)
    inter = np.unpackbits(fa & fb).sum()
    dice = 2 * inter / (np.unpackbits(fa).sum() + np.unpackbits(fb).sum())
    assert dice < 0.4


def test_records_without_consent_carry_nothing(tmp_path):
    enc = encode_table(_table([True, False, True, True, False]), KEY)
    t = enc.table
    for name in t.column_names:
        if name.startswith(("bf_", "bk_")):
            vals = t.column(name).to_pylist()
            assert vals[1] is None and vals[4] is None, name
    pkg = write_package(enc, tmp_path / "p.enc")
    er = read_packages([pkg])
    assert len(er) == 3 and sorted(er.record_id) == ["r000", "r002", "r003"]


def test_key_files(tmp_path):
    path = tmp_path / "key"
    new_key(path)
    key = load_key(path)
    assert len(key) == 32 and (path.stat().st_mode & 0o777) == 0o600
    with pytest.raises(EncodingError, match="refusing to overwrite"):
        new_key(path)
    short = tmp_path / "short"
    short.write_text("abcd")
    with pytest.raises(EncodingError, match="at least 32"):
        load_key(short)
    with pytest.raises(EncodingError, match="cannot read"):
        load_key(tmp_path / "missing")
    for blank in (b"", b"\n  \n"):  # was "text of 0 words or lines ... is it a data file?"
        (tmp_path / "empty").write_bytes(blank)
        with pytest.raises(EncodingError, match="the key file is empty"):
            load_key(tmp_path / "empty")
    fp = key_fingerprint(key)
    assert fp != key_fingerprint(bytes(32)) and fp not in key.hex()
    assert fp == hmac.new(key, b"safelight/pprl/key-fingerprint/v1",
                          hashlib.sha256).hexdigest()[:16]


def _gappy_table() -> pa.Table:
    """PEOPLE plus records missing a given name, a day and month, a 1 January placeholder, a
    year, or a family name: every blocking rule, the open ones included, applies to someone."""
    t = _table()
    extra = pa.table({
        "record_id": ["g1", "g2", "g3", "g4", "g5"],
        "given_name": [None, "Iryna", "Petro", "Taras", "Sofia"],
        "family_name": ["Bondar", "Melnyk", "Koval", "Lysenko", None],
        "birth_year": pa.array([1990, 1983, 1975, None, 1999], pa.int16()),
        "birth_month": pa.array([5, None, 1, 4, 2], pa.int16()),
        "birth_day": pa.array([6, None, 1, 9, 8], pa.int16()),
        "postcode": ["01001", "02002", "03003", "04004", "05005"],
    })  # fmt: skip
    return pa.concat_tables([t, extra], promote_options="default")


def test_every_blocking_key_is_keyed_and_never_a_name_alone():
    from safelight.identity.encode import BLOCKING_RULES

    enc = encode_table(_gappy_table(), KEY).table
    other = encode_table(_gappy_table(), bytes(32)).table
    for rule, (_space, parts, _missing) in BLOCKING_RULES.items():
        # every key combines two attributes or more (a phone or document number alone is
        # an identifier the hub may only compare, never a name)
        assert len(parts) >= 2 or parts[0] in ("phone", "document"), rule
        mine = [v for v in enc.column(f"bk_{rule}").to_pylist() if v is not None]
        theirs = [v for v in other.column(f"bk_{rule}").to_pylist() if v is not None]
        assert mine, rule  # the check below is not vacuous: the column has values
        assert set(mine).isdisjoint(theirs), rule  # another key: unrelated keys


def test_keys_never_chain_records_onto_a_birth_year_axis():
    """One person encoded with every birth year from 1970 to 1989: two records share a key
    value only when their years fall in one two-year window, so equal keys never link a year to
    the next window (with "year" and "year + 1" keys in one space, 1981 met 1982, 1982 met
    1983, ... and the hub could order all records by birth year)."""
    from safelight.identity.encode import BLOCKING_RULES

    years = list(range(1970, 1990))
    rows = [{"record_id": f"y{y}", "given_name": "Olena", "family_name": "Shevchenko",
             "birth_year": y, "birth_month": 3, "birth_day": 7} for y in years]
    enc = _keys_of(rows)
    values: list[set[int]] = [set() for _ in years]
    for rule in BLOCKING_RULES:
        for i, v in enumerate(enc.column(f"bk_{rule}").to_pylist()):
            if v is not None:
                values[i].add(v)
    common = set.intersection(*values)  # the keys without a year (names alone, day + month)
    values = [v - common for v in values]
    for i, a in enumerate(years):
        for j, b in enumerate(years):
            if a < b:
                shared = values[i] & values[j]
                assert not shared or a // 2 == b // 2, (a, b)
    # a year off by one inside a window still meets (as the clear rules let it)
    assert values[years.index(1980)] & values[years.index(1981)]


def test_no_record_holds_one_value_in_two_crosswise_keys():
    """Equal crosswise keys in one record would tell the hub that both names start alike, or
    that given name = family name; the second key is then a keyed filler unique to the record,
    and the pairs the equal value found still meet through the first key."""
    from safelight.identity.encode import CROSSWISE_KEYS

    base = {"birth_year": 1980, "birth_month": 3, "birth_day": 7}
    rows = [dict(base, record_id="aa", given_name="Anna", family_name="Adamenko"),
            dict(base, record_id="a2", given_name="Ali", family_name="Ali"),
            dict(base, record_id="ab", given_name="Anna", family_name="Bondar"),
            dict(base, record_id="ba", given_name="Bohdan", family_name="Adamenko")]
    cols = ("record_id", "given_name", "family_name", "birth_year", "birth_month", "birth_day")
    t = pa.table({c: [r.get(c) for r in rows] for c in cols})
    t = t.append_column("address_line", pa.array(["Main street"] * 4))
    t = t.append_column("street_number", pa.array(["3"] * 4))
    enc = encode_table(t, KEY).table
    col = {c: enc.column(c).to_pylist() for c in enc.column_names}
    for first, second in CROSSWISE_KEYS:
        a, b = col[f"bk_{first}"], col[f"bk_{second}"]
        assert all(x is not None and y is not None for x, y in zip(a, b, strict=True)), first
        assert all(x != y for x, y in zip(a, b, strict=True)), (first, second)
    # the pairs "aa" met through its (now filler) family-initial keys meet through the first
    gi, fi = col["bk_birth_date_gi"], col["bk_birth_date_fi"]
    assert gi[0] == gi[2]  # aa – ab: same date, given initial A (gi ↔ gi)
    assert gi[0] == fi[3]  # aa – ba: same date, family initial A (gi ↔ fi, crosswise join)
    ag, af = col["bk_address_gi"], col["bk_address_fi"]
    assert ag[0] == ag[2] and ag[0] == af[3]
    # the filler is unique to the record (another id: another filler; it meets no other key)
    # and stable: a package sent again changes no key, so comparing the two shows nothing
    again = encode_table(t, KEY).table.column("bk_birth_date_fi").to_pylist()
    assert again == fi
    renamed = t.set_column(0, "record_id", pa.array(["aa2", "a2", "ab", "ba"]))
    other_id = encode_table(renamed, KEY).table.column("bk_birth_date_fi").to_pylist()
    assert other_id[0] != fi[0] and other_id[1:] == fi[1:]
    everything = [v for c in col if c.startswith("bk_") for v in col[c]]
    assert everything.count(fi[0]) == 1 and everything.count(af[0]) == 1


def _keys_of(rows: list[dict]) -> pa.Table:
    cols = ("record_id", "given_name", "family_name", "birth_year", "birth_month", "birth_day")
    t = pa.table({c: [r.get(c) for r in rows] for c in cols})
    return encode_table(t.set_column(3, "birth_year", t.column("birth_year").cast(pa.int32())),
                        KEY).table


def test_narrowed_keys_meet_as_the_clear_rules_do():
    """A year off by one within a two-year window meets; a record without a full date
    carries an open key equal to the full key of its rule, which the hub joins against."""
    base = {"given_name": "Olena", "family_name": "Shevchenko", "birth_month": 3, "birth_day": 7}
    t = _keys_of([dict(base, record_id="a", birth_year=1980),
                  dict(base, record_id="b", birth_year=1981),
                  dict(base, record_id="c", birth_year=1981, birth_month=None, birth_day=None),
                  dict(base, record_id="d", birth_year=1990, birth_month=7, birth_day=3)])
    col = {c: t.column(c).to_pylist() for c in t.column_names}
    assert col["bk_given_family_year2"][0] == col["bk_given_family_year2"][1]
    assert col["bk_family_year"][0] != col["bk_family_year"][1]
    # c has no full date: open key, equal to b's full (family, year) key; a and b have none
    assert col["bk_family_year_open_date"][2] == col["bk_family_year"][1]
    assert col["bk_family_year_open_date"][:2] == [None, None]
    assert col["bk_family_year_date"][2] is None
    # day and month swapped: the unordered pair keeps the date key in the same year
    assert col["bk_given_year_date"][3] != col["bk_given_year_date"][0]
    swapped = _keys_of([dict(base, record_id="e", birth_year=1980, birth_month=7, birth_day=3)])
    assert swapped.column("bk_family_year_date")[0].as_py() == col["bk_family_year_date"][0]
    # given and family names swapped meet crosswise (name + other initial + year)
    crossed = _keys_of([dict(base, record_id="f", birth_year=1980, given_name="Shevchenko",
                             family_name="Olena")])
    assert crossed.column("bk_name_as_given")[0].as_py() == col["bk_name_as_family"][0]


#: the keys of formats v3/v5 that meet across birth years (no year or two-year window in
#: them). A key this specific that meets across the windows tells the hub which same-year
#: groups are adjacent years: format v4's two {day, month} keys did, and were withdrawn
#: (docs/pprl.md, "Withdrawn: format v4"). A new key here needs the chain attack run first:
#: `bench/linkage/attack.py --year-chain 10000` and `100000` (docs/pprl.md, "Birth years at
#: the hub" — at scale phone, document and the hub's own links order the classes already).
AUDITED_YEARLESS = {"given_family", "given_family_open", "given_family_locality",
                    "given_family_street", "sorted_names", "sorted_names_open",
                    "sorted_names_locality", "name_prefixes", "name_prefixes_open",
                    "given_month_day", "phone", "document", "family_postcode", "given_postcode",
                    "address_gi", "address_fi", "postcode_locality"}


def test_every_key_that_meets_across_birth_years_was_audited():
    """A new key without the year must be audited against the birth-year chain first."""
    from safelight.identity.encode import BLOCKING_RULES

    yearless = {rule for rule, (_space, parts, _missing) in BLOCKING_RULES.items()
                if not {"year", "year2"} & set(parts)}
    assert yearless == AUDITED_YEARLESS, (
        "a blocking key that meets across birth years was added or removed: run the "
        "birth-year chain attack on it (docs/pprl.md) before adding it to AUDITED_YEARLESS")


def test_blip_flips_each_bit_with_the_stated_probability():
    from safelight.identity.encode import _flip

    rng = np.random.default_rng(5)
    zeros = np.zeros((2000, 64), dtype=np.uint8)
    flipped = _flip(zeros.copy(), 0.01, rng)
    bits = np.unpackbits(flipped, axis=1)
    assert abs(bits.mean() - 0.01) < 0.001  # 1,024,000 bits: sd 0.0001
    assert abs(bits[:, :256].mean() - bits[:, 256:].mean()) < 0.002  # uniform over positions
    assert not np.array_equal(flipped[0], flipped[1])
    assert np.array_equal(_flip(zeros.copy(), 0.0, rng), zeros)
    ones = np.full((10, 8), 0xFF, dtype=np.uint8)
    assert np.unpackbits(_flip(ones, 0.3, rng)).mean() < 0.8  # flips set bits too


def test_a_package_does_not_keep_the_export_s_order(tmp_path):
    """An export sorted by family name would give the hub each record's alphabetical rank
    (with a table of name frequencies, a pointer to the names): packages hold their records
    in a random order, different each time (privacy review, 2026-12-01)."""
    ids = [f"r{i:03d}" for i in range(200)]
    t = pa.table({"record_id": ids, "given_name": ["Olena"] * 200,
                  "family_name": sorted(f"Family{i:03d}" for i in range(200))})
    orders = []
    for k in range(2):
        pkg = write_package(encode_table(t, KEY, EncodingSettings(seed=1)), tmp_path / f"p{k}")
        got = read_packages([pkg]).record_id.tolist()
        assert sorted(got) == sorted(ids)
        orders.append(got)
    assert orders[0] != ids and orders[1] != ids and orders[0] != orders[1]


def test_guessable_or_shared_key_files_are_warned_about(tmp_path, caplog):
    """PPRL trial (2026-12-01): a passphrase, 64 × 'a' and a key file readable by everyone
    were used without a word — whoever holds a package can test guesses of a passphrase
    offline (the key fingerprint checks each)."""
    import logging
    import os

    good = tmp_path / "good"
    new_key(good)
    with caplog.at_level(logging.WARNING, "safelight.identity.encode"):
        load_key(good)
    assert not caplog.text
    for name, text in (("pass", "ukraine-poland-shared-secret-2026\n"), ("aaa", "a" * 64)):
        path = tmp_path / name
        path.write_text(text)
        os.chmod(path, 0o600)
        caplog.clear()
        with caplog.at_level(logging.WARNING, "safelight.identity.encode"):
            load_key(path)
        assert "not a random key" in caplog.text and "guesses" in caplog.text
    os.chmod(good, 0o644)
    caplog.clear()
    with caplog.at_level(logging.WARNING, "safelight.identity.encode"):
        load_key(good)
    assert "can be read by other users" in caplog.text and "chmod 600" in caplog.text


def test_keys_saved_with_a_byte_order_mark_or_as_utf16_are_the_same_key(tmp_path):
    """Notepad's UTF-8 with BOM and CRLF, PowerShell's UTF-16: the same hex key, not its bytes."""
    path = tmp_path / "key"
    new_key(path)
    key = load_key(path)
    text = path.read_text("ascii").strip()
    for name, data in (("bom", b"\xef\xbb\xbf" + text.encode() + b"\r\n"),
                       ("utf16", (text + "\r\n").encode("utf-16")),
                       ("utf16be", "\ufeff".encode("utf-16-be") + text.encode("utf-16-be"))):
        (tmp_path / name).write_bytes(data)
        (tmp_path / name).chmod(0o600)
        assert load_key(tmp_path / name) == key, name


def test_a_package_folder_holding_its_key_is_refused(tmp_path, caplog):
    """The key beside the package (copied in as the contributor packed it) reaches whoever
    receives it: refused, under any name and in any of the forms a key file takes."""
    from safelight.link.encoded import read_packages

    path = tmp_path / "key"
    new_key(path)
    key = load_key(path)
    pkg = tmp_path / "p.enc"
    write_package(encode_table(_table(), key), pkg)
    (pkg / "notes.txt").write_text("sent on Monday\n")
    with caplog.at_level("WARNING"):
        read_packages([pkg])  # another file: read, with a warning naming it
    assert "notes.txt" in caplog.text and "not read" in caplog.text
    text = path.read_text("ascii")
    for name, data in (("shared.key", text.encode()), ("k", text.upper().encode() + b"\r\n"),
                       ("raw.bin", key)):
        (pkg / name).write_bytes(data)
        with pytest.raises(EncodingError, match=f"{name} in the package folder is the key"):
            read_packages([pkg])
        (pkg / name).unlink()
    read_packages([pkg])
