"""u in registers of a handful of people (a new-user trial of the linkage commands, 2026-12-02).

u came from random pairs of the input alone, and in a register of a few people those pairs are
mostly its duplicates: in two files of three people each the one pair with a phone on both
sides was the true pair, so a shared phone weighed −1.7 bits and a different one +15.5; the
true pairs were left unlinked. The generated problem's u (``default_u``) is now mixed in as
:data:`~safelight.link.model.U_PRIOR_PAIRS` pairs beside the input's distinct pairs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from safelight.link.compare import FIELDS
from safelight.link.default_m import NEUTRAL_FIELDS, U_FLOOR, default_u
from safelight.link.encoded import ENCODED_FIELDS
from safelight.link.model import U_PRIOR_PAIRS, _compatriot_pool, _pair_pool, with_default_u

_MAP = """id: {id}
consent: {{all: full}}
fields: {{given_name: {g}, family_name: {f}, birth_date: {d}, phone: {p}}}
date_formats: ['%d.%m.%Y']
phone_region: UA
"""


def _run(*args):
    from safelight.link.cli import link

    return CliRunner().invoke(link, [str(a) for a in args])


def test_three_people_in_two_files_link_and_agreement_counts_for_a_match(tmp_path):
    (tmp_path / "l.csv").write_text(
        "case_id,first,last,dob,tel\nL1,José,Müller,17.05.1990,+4915112345678\n"
        "L2,François,Lefèvre,03.02.1985,\nL3,Zoë,Þórsdóttir,01.01.1980,\n", "utf-8")
    (tmp_path / "r.csv").write_text(
        "rid,given,family,birth,phone\nR1,Jose,Mueller,17.05.1990,+4915112345678\n"
        "R2,Francois,Lefevre,03.02.1985,\nR3,Zoe,Thorsdottir,01.01.1980,\n", "utf-8")
    (tmp_path / "l.yaml").write_text(_MAP.format(id="case_id", g="first", f="last", d="dob",
                                                 p="tel"), "utf-8")
    (tmp_path / "r.yaml").write_text(_MAP.format(id="rid", g="given", f="family", d="birth",
                                                 p="phone"), "utf-8")
    out = tmp_path / "pairs.csv"
    r = _run("pairs", tmp_path / "l.csv", tmp_path / "r.csv", "--map", tmp_path / "l.yaml",
             "--right-map", tmp_path / "r.yaml", "--out", out)
    assert r.exit_code == 0, r.output
    pairs = {tuple(line.split(",")[:2]) for line in out.read_text().splitlines()[1:]}
    assert pairs == {("L1", "R1"), ("L2", "R2"), ("L3", "R3")}
    fields = json.loads((tmp_path / "pairs.csv.json").read_text())["model"]["fields"]
    assert fields["phone"]["same"]["weight"] > 0 > fields["phone"]["different"]["weight"]
    for name in ("given_name", "family_name", "birth_date"):
        assert fields[name]["exact"]["weight"] > 0 > fields[name]["different"]["weight"], name


def test_a_small_dedupe_links_duplicates_and_keeps_namesakes_of_another_name_apart(tmp_path):
    (tmp_path / "d.csv").write_text(
        "id,name,surname,born,phone\n1,Олександр,Шевченко,17.05.1990,+380501234567\n"
        "2,Oleksandr,Shevchenko,17.05.1990,0501234567\n3,Олександр,Шевченко,17.05.1990,\n"
        "4,Sasha,Shevchenko,17.05.1990,050 123 45 67\n5,Тетяна,Кравченко,03.02.1985,\n"
        "6,Tatiana,Kravchenko,02.03.1985,\n7,Ірина,Мельник,05.05.1995,0661234567\n"
        "8,Iryna,Melnyk,,066-123-45-67\n9,John,Smith,01.01.1980,\n10,Jane,Smith,01.01.1980,\n"
        "11,Petro,Bondar,10.10.1970,\n12,Maria,Rusu,11.11.1991,\n", "utf-8")
    (tmp_path / "d.yaml").write_text(_MAP.format(id="id", g="name", f="surname", d="born",
                                                 p="phone"), "utf-8")
    out = tmp_path / "c.csv"
    r = _run("dedupe", tmp_path / "d.csv", "--map", tmp_path / "d.yaml", "--out", out)
    assert r.exit_code == 0, r.output
    cluster = dict(line.split(",") for line in out.read_text().splitlines()[1:])
    assert len({cluster[i] for i in "1234"}) == 1
    assert cluster["5"] == cluster["6"] and cluster["7"] == cluster["8"]
    assert cluster["9"] != cluster["10"]  # John and Jane Smith, born on a 1 January
    assert len(set(cluster.values())) == 7
    fields = json.loads((tmp_path / "c.csv.json").read_text())["model"]["fields"]
    for name in ("given_name", "family_name"):
        assert fields[name]["exact"]["weight"] > 0, name


@pytest.mark.parametrize("fields", [FIELDS, ENCODED_FIELDS], ids=["clear", "encoded"])
def test_stored_default_u_matches_the_levels_and_makes_agreement_rare(fields):
    # a renamed or added level needs bench/linkage/default_m.py --part u again
    got = default_u(fields)
    assert set(got) == set(fields) - set(NEUTRAL_FIELDS) - {"region"}
    for u in got.values():
        assert u[0] == 0 and np.isclose(u[1:].sum(), 1.0) and u[1:].min() >= U_FLOOR * 0.99
    for name in ("given_name", "family_name", "birth_date", "phone", "document"):
        assert got[name][1] < 0.01 and got[name][-1] > 0.8, name


def test_the_default_weighs_as_its_pairs_beside_the_input_s():
    fields = {"phone": FIELDS["phone"], "region": FIELDS["region"]}
    measured = [np.array([0.0, 0.9, 0.1]), np.array([0.0, 0.6, 0.4])]
    d = default_u(fields)["phone"]
    assert np.allclose(with_default_u(measured, fields, 0)[0], d)  # no pairs: the default
    w = U_PRIOR_PAIRS / (9 + U_PRIOR_PAIRS)
    assert np.allclose(with_default_u(measured, fields, 9)[0], (1 - w) * measured[0] + w * d)
    big = with_default_u(measured, fields, 10**10)[0]
    assert np.allclose(big, measured[0], rtol=1e-6)
    assert with_default_u(measured, fields, 9)[1] is measured[1]  # no stored table: as measured
    assert with_default_u(measured, fields, 9, only=("region",))[0] is measured[0]


def test_the_pair_pool_counts_distinct_pairs():
    assert _pair_pool(6, None) == 15
    assert _pair_pool(6, np.array([0, 0, 0, 1, 1, 1])) == 9  # 3 x 3 across
    assert _pair_pool(4, np.array([0, 0, 1, -1])) == 5  # the ungrouped one pairs with all


def test_the_compatriot_pool_counts_the_pairs_estimate_u_within_draws_from():
    one_country = np.zeros(6, dtype=np.int64)
    assert _compatriot_pool(one_country, None) == 15
    assert _compatriot_pool(one_country, np.array([0, 0, 0, 1, 1, 1])) == 9  # across files
    # two countries of two, one record without a nationality (pairs with anyone: 4 / 2)
    assert _compatriot_pool(np.array([0, 0, 1, 1, -1]), np.array([0, 1, 0, 1, 0])) == 4
