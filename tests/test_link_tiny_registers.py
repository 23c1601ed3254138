"""Registers of a handful of records, and people of a nationality nobody else in the input has.

Two faults a new user's trial found (2026-12-01): two identical records of the only two people
of their nationality were not linked, because the name's frequency among compatriots counted
the pair itself (``f = 2 / 2``: an exact name weighed −0.4 bits); and a register of four people
whose two matches both missed an exact birth date got a prior near 10⁻⁷ from a training session
of one pair, which no evidence could overcome.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.link.model import expected_matches
from safelight.link.pipeline import LinkSettings, link_records

_PEOPLE = [  # given, family, birth date, sex, nationality: ordinary people of two countries
    ("Olena", "Kovalenko", "1990-03-04", "female", "UKR"),
    ("Iryna", "Shevchenko", "1988-11-21", "female", "UKR"),
    ("Oksana", "Bondarenko", "1995-07-30", "female", "UKR"),
    ("Natalia", "Tkachenko", "1992-01-15", "female", "UKR"),
    ("Maria", "Popescu", "1993-05-09", "female", "MDA"),
    ("Ana", "Rusu", "1991-12-02", "female", "MDA"),
    ("Elena", "Ceban", "1989-08-17", "female", "MDA"),
    ("Victoria", "Lungu", "1996-02-25", "female", "MDA"),
]


def _table(shared: tuple[str, ...]) -> pa.Table:
    """Two sources of the eight people above, the left holding ``shared`` (one person, the
    same on both sides) too, and the right holding it as well."""
    rows = []
    for side in ("left", "right"):
        people = _PEOPLE[:4] if side == "left" else _PEOPLE[4:]
        for i, (g, f, d, s, n) in enumerate([*people, shared]):
            y, m, day = map(int, d.split("-"))  # link_records reads the parts of a date
            rows.append({"contributor": side, "record_id": f"{side[0]}{i}", "given_name": g,
                         "family_name": f, "birth_year": y, "birth_month": m,
                         "birth_day": day, "sex": s, "nationality": n})
    return pa.Table.from_pylist(rows)


def test_identical_records_of_a_nationality_nobody_else_has_link():
    table = _table(("Tarek", "Al-Khatib", "1987-06-12", "male", "IRQ"))
    res = link_records(table, LinkSettings(two_source=True, workers=1))
    c = res.comparisons
    ids = table.column("record_id").to_pylist()
    k = next(i for i in range(len(c.a)) if {ids[c.a[i]], ids[c.b[i]]} == {"l4", "r4"})
    assert res.linked[k] and res.probabilities[k] > 0.9
    reasons = res.reasons(np.array([k]))[0]
    # agreeing exactly on a name is evidence for the match, never against it
    assert reasons["given_name"]["weight"] > 0 and reasons["family_name"]["weight"] > 0
    assert int(res.linked.sum()) == 1  # and nobody else is linked


def test_the_prior_survives_a_session_without_matches():
    # found / agree when many matches are found; (1 - agree) / agree when none were
    assert expected_matches(10_000.0, 0.5, 10**6) == pytest.approx(20_000.0, abs=1.0)
    assert expected_matches(0.0, 0.6, 8) == pytest.approx(0.4 / 0.6)
    assert expected_matches(0.0, 0.001, 8) == 8  # capped at the records
    assert expected_matches(3.0, 1.0, 100) == 3.0


@pytest.mark.parametrize("seed", [1, 4])
def test_a_register_of_four_links_its_matches(seed):
    # 4 x 4, two people in both: with seed 1 neither pair shares an exact birth date and the
    # prior fell to 1.3e-7 (no link); with seed 4 one link of two was made
    p = generate_linkage_pairs(4, 4, seed=seed)
    table, person = p.combined()
    res = link_records(table, LinkSettings(two_source=True, workers=1))
    c, linked = res.comparisons, res.linked
    assert int((linked & (person[c.a] == person[c.b])).sum()) == p.true_pairs == 2
    assert not (linked & (person[c.a] != person[c.b])).any()
    assert 1e-3 < res.em.model.prior < 0.5


def test_two_encoded_registers_of_the_same_four_people_link():
    """PPRL: the name pair's frequency counted the pair itself (two of eight records: f = 0.25,
    and agreeing on both names weighed against the match: tried as a new user would, four
    people alike on names, full date and sex in two registers of four got no link)."""
    from safelight.identity.encode import EncodingSettings, encode_table
    from safelight.link.encoded import from_parts
    from safelight.link.pprl import PPRLSettings, link_encoded

    key = bytes(range(1, 33))
    parts = []
    for side in ("left", "right"):
        t = pa.Table.from_pylist([
            {"record_id": f"{side[0]}{i}", "given_name": g, "family_name": f,
             "birth_year": int(d[:4]), "birth_month": int(d[5:7]), "birth_day": int(d[8:]),
             "sex": s, "nationality": n}
            for i, (g, f, d, s, n) in enumerate(_PEOPLE[:4])],
            schema=pa.schema([("record_id", pa.string()), ("given_name", pa.string()),
                              ("family_name", pa.string()), ("birth_year", pa.int16()),
                              ("birth_month", pa.int16()), ("birth_day", pa.int16()),
                              ("sex", pa.string()), ("nationality", pa.string())]))
        enc = encode_table(t, key, EncodingSettings(seed=3), contributor=side)
        parts.append((enc.manifest, enc.table))
    er = from_parts(parts, ["left", "right"])
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    ids = list(er.record_id)
    linked = {(ids[a], ids[b]) for a, b in zip(res.comparisons.a, res.comparisons.b,
                                               strict=True) if res.labels[a] == res.labels[b]}
    assert linked == {(f"l{i}", f"r{i}") for i in range(4)}


def test_a_record_without_nationality_counts_its_name_among_every_record():
    """Its group is every record: a common name is common for it too (a review found it
    counted among the records without a nationality only, so every name looked rare)."""
    from safelight.link.model import name_counts
    from safelight.link.prepare import prepare

    rows = [{"contributor": "left", "record_id": f"l{i}", "given_name": "Olena",
             "family_name": f"Family{i}", "nationality": "UKR"} for i in range(7)]
    rows.append({"contributor": "left", "record_id": "lx", "given_name": "Olena",
                 "family_name": "Other", "nationality": None})
    counts = name_counts(prepare(pa.Table.from_pylist(rows)))
    assert counts.count["given_name"].tolist() == [7] * 7 + [8]
    assert counts.size.tolist() == [7] * 7 + [8]


def test_a_name_held_in_both_roles_counts_its_record_once():
    from safelight.link.model import name_counts
    from safelight.link.prepare import prepare

    rows = [{"contributor": "left", "record_id": "l0", "given_name": "Ali",
             "family_name": "Ali", "nationality": "IRQ"},
            {"contributor": "left", "record_id": "l1", "given_name": "Ali",
             "family_name": "Hassan", "nationality": "IRQ"},
            {"contributor": "left", "record_id": "l2", "given_name": "Omar",
             "family_name": "Ali", "nationality": "IRQ"}]
    counts = name_counts(prepare(pa.Table.from_pylist(rows)))
    # three records hold Ali (the first in both roles): three, not four
    assert counts.count["given_name"].tolist() == [3, 3, 1]
    assert counts.count["family_name"].tolist() == [3, 1, 3]


def test_an_encoded_name_frequency_leaves_the_record_itself_out():
    """A reference sample that is the whole input counted each record among its name's
    holders: a name nobody else has looked as common as one other record sharing it."""
    from safelight.identity.encode import EncodingSettings, encode_table
    from safelight.link.encoded import from_parts, name_frequencies
    from safelight.link.model import TF_PSEUDO_RECORDS

    rows = [{"record_id": f"l{i}", "given_name": g, "family_name": f, "nationality": n}
            for i, (g, f, _, _, n) in enumerate(_PEOPLE)]
    rows.append({"record_id": "l8", "given_name": "Olena", "family_name": "Rusu",
                 "nationality": "UKR"})
    t = pa.Table.from_pylist(rows, schema=pa.schema([
        ("record_id", pa.string()), ("given_name", pa.string()), ("family_name", pa.string()),
        ("nationality", pa.string())]))
    enc = encode_table(t, bytes(range(1, 33)), EncodingSettings(seed=3), contributor="left")
    er = from_parts([(enc.manifest, enc.table)], ["left"])
    u = 0.01
    f = name_frequencies(er, {"given_name": u, "family_name": u})
    # UKR: five records; each is compared with its four compatriots
    alone = TF_PSEUDO_RECORDS * u / (4 + TF_PSEUDO_RECORDS)
    shared = (1 + TF_PSEUDO_RECORDS * u) / (4 + TF_PSEUDO_RECORDS)
    assert f["given_name"][1] == pytest.approx(alone)  # Iryna: nobody else
    assert f["given_name"][0] == pytest.approx(shared)  # Olena: one other Olena
    assert f["given_name"][8] == pytest.approx(shared)
    assert f["family_name"][5] == pytest.approx(TF_PSEUDO_RECORDS * u / (3 + TF_PSEUDO_RECORDS))
