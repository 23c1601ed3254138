"""``safelight link pairs`` / ``link dedupe`` on files in clear, through a MAP.yaml."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from safelight.cli import main
from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.link import pairwise_scores

MAP = """\
id: rec_id
phone_region: UA
consent: linkage_ok
fields:
  given_name: first
  family_name: surname
  birth_date: dob
  sex: sex
  nationality: nationality
  phone: phone
  document_number: passport
  locality: city
  street_number: house
  address_line: street
  postcode: postcode
"""
_COLUMNS = {"record_id": "rec_id", "given_name": "first", "family_name": "surname",
            "sex": "sex", "nationality": "nationality", "phone": "phone",
            "document_number": "passport", "locality": "city", "street_number": "house",
            "address_line": "street", "postcode": "postcode"}


def _as_contributor_file(table: pa.Table, path: Path, no_consent: set[str]) -> None:
    """Write ``table`` the way a contributor's export looks: its own column names, a
    day/month/year date column and a consent column."""
    cols = {new: table.column(old) for old, new in _COLUMNS.items()}
    y, m, d = (table.column(c).to_pylist() for c in ("birth_year", "birth_month", "birth_day"))
    cols["dob"] = pa.array([f"{dd:02d}/{mm:02d}/{yy}" if yy and mm and dd else (str(yy) if yy
                            else None) for yy, mm, dd in zip(y, m, d, strict=True)])
    ids = table.column("record_id").to_pylist()
    cols["linkage_ok"] = pa.array(["no" if i in no_consent else "yes" for i in ids])
    pacsv.write_csv(pa.table(cols), path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("files")
    r = generate_linkage_pairs(1500, 1500, seed=11)
    refused = set(r.right.column("record_id").to_pylist()[:20])
    _as_contributor_file(r.left, tmp / "left.csv", set())
    _as_contributor_file(r.right, tmp / "right.csv", refused)
    (tmp / "map.yaml").write_text(MAP, "utf-8")
    person = dict(zip(r.left.column("record_id").to_pylist() + r.right.column("record_id")
                      .to_pylist(), list(r.left_person) + list(r.right_person), strict=True))
    return tmp, person, refused, r


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_link_pairs_in_clear_finds_the_true_pairs(files):
    tmp, person, refused, _ = files
    out, review = tmp / "pairs.csv", tmp / "review.csv"
    res = CliRunner().invoke(main, ["link", "pairs", str(tmp / "left.csv"), str(tmp / "right.csv"),
                                    "--map", str(tmp / "map.yaml"), "--out", str(out),
                                    "--review", str(review)])
    assert res.exit_code == 0, res.output
    assert "20 without consent to linkage" in res.output
    rows = _rows(out)
    assert list(rows[0]) == ["left_id", "right_id", "match_probability"]
    assert all(r["left_id"].startswith("A") and r["right_id"].startswith("B") for r in rows)
    assert not {r["right_id"] for r in rows} & refused  # consent respected
    lefts, rights = [r["left_id"] for r in rows], [r["right_id"] for r in rows]
    assert len(set(lefts)) == len(lefts) and len(set(rights)) == len(rights)  # one-to-one
    assert all(0.5 <= float(r["match_probability"]) <= 1 for r in rows)
    found = sum(person[a] == person[b] for a, b in zip(lefts, rights, strict=True))
    assert found / len(rows) > 0.95  # precision
    n_true = _cross_true_pairs(person, refused)
    assert found / n_true > 0.85  # recall on data with heavy corruption
    side = json.loads((tmp / "pairs.csv.json").read_text("utf-8"))
    assert side["settings"]["two_source"] is True and side["inputs"][1]["without_consent"] == 20
    rev = _rows(review)
    assert rev and all(0.2 <= float(r["match_probability"]) < 0.9 for r in rev)
    assert all(r["left_id"].startswith("A") and r["right_id"].startswith("B") for r in rev)
    reasons = json.loads(rev[0]["reasons"])
    assert {"level", "weight"} <= set(reasons["family_name"]) and "prior_log2_odds" in reasons


def _cross_true_pairs(person: dict[str, int], refused: set[str]) -> int:
    left, right = {}, {}
    for rid, p in person.items():
        if rid in refused:
            continue
        (left if rid[0] == "A" else right).setdefault(p, 0)
        (left if rid[0] == "A" else right)[p] += 1
    return sum(n * right.get(p, 0) for p, n in left.items())


def test_outputs_hold_no_identity_value(files):
    tmp, _, _, r = files
    out, review = tmp / "pairs2.csv", tmp / "review2.csv"
    res = CliRunner().invoke(main, ["link", "pairs", str(tmp / "left.csv"), str(tmp / "right.csv"),
                                    "--map", str(tmp / "map.yaml"), "--out", str(out),
                                    "--review", str(review)])
    assert res.exit_code == 0, res.output
    text = "".join(p.read_text("utf-8") for p in (out, review, tmp / "pairs2.csv.json"))
    values = {v for c in ("given_name", "family_name", "phone", "document_number", "locality",
                          "address_line") for v in r.left.column(c).to_pylist()
              if v and len(v) >= 4}
    assert values and not [v for v in values if v in text]


def test_link_dedupe_clusters_one_file(files, tmp_path):
    tmp, person, _, r = files
    both = tmp_path / "both.csv"
    left, right = ((tmp / n).read_text("utf-8").splitlines() for n in ("left.csv", "right.csv"))
    assert left[0] == right[0]
    both.write_text("\n".join(left + right[1:]) + "\n", "utf-8")
    out = tmp_path / "clusters.csv"
    res = CliRunner().invoke(main, ["link", "dedupe", str(both), "--map", str(tmp / "map.yaml"),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert list(rows[0]) == ["record_id", "cluster_id"]
    ids = [x["record_id"] for x in rows]
    scores = pairwise_scores(np.array([int(x["cluster_id"]) for x in rows]),
                             np.array([person[i] for i in ids]))
    assert scores["f1"] > 0.85
    assert len(rows) == r.left.num_rows + r.right.num_rows - 20  # without consent: left out


def test_bad_inputs_say_what_to_fix(files, tmp_path):
    tmp, *_ = files
    runner = CliRunner()
    res = runner.invoke(main, ["link", "pairs", str(tmp / "left.csv"), str(tmp / "right.csv"),
                               "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "--map" in res.output
    res = runner.invoke(main, ["link", "pairs", str(tmp / "left.csv"), str(tmp_path),
                               "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "not one of each" in res.output
    dup = tmp_path / "dup.csv"
    lines = (tmp / "left.csv").read_text("utf-8").splitlines()
    dup.write_text("\n".join(lines + [lines[1]]) + "\n", "utf-8")
    res = runner.invoke(main, ["link", "dedupe", str(dup), "--map", str(tmp / "map.yaml"),
                               "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 2 and "more than once" in res.output
    assert not (tmp_path / "c.csv").exists()
    bad_map = tmp_path / "bad.yaml"
    bad_map.write_text("id: rec_id\nfields:\n  given_name: nope\n", "utf-8")
    res = runner.invoke(main, ["link", "dedupe", str(tmp / "left.csv"), "--map", str(bad_map),
                               "--out", str(tmp_path / "c.csv")])
    assert res.exit_code != 0 and "nope" in res.output


def test_link_pairs_of_two_encoded_packages(files, tmp_path):
    tmp, person, refused, _ = files
    runner = CliRunner()
    key = tmp_path / "key"
    assert runner.invoke(main, ["identity", "keygen", str(key)]).exit_code == 0
    for name in ("left", "right"):
        res = runner.invoke(main, ["identity", "encode", str(tmp / f"{name}.csv"), "--map",
                                   str(tmp / "map.yaml"), "--key", str(key), "--out",
                                   str(tmp_path / f"{name}.enc"), "--contributor", name])
        assert res.exit_code == 0, res.output
    out = tmp_path / "pairs.csv"
    res = runner.invoke(main, ["link", "pairs", str(tmp_path / "left.enc"),
                               str(tmp_path / "right.enc"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert list(rows[0]) == ["left_id", "right_id", "match_probability"]
    assert not {r["right_id"] for r in rows} & refused
    found = sum(person[r["left_id"]] == person[r["right_id"]] for r in rows)
    assert found / len(rows) > 0.9 and found / _cross_true_pairs(person, refused) > 0.8
    res = runner.invoke(main, ["link", "pairs", str(tmp_path / "left.enc"),
                               str(tmp_path / "right.enc"), "--map", str(tmp / "map.yaml"),
                               "--out", str(out)])
    assert res.exit_code == 2 and "packages carry their own fields" in res.output
    # the same package twice, or two packages of one contributor: nothing could link across
    # contributors, so the command says so instead of writing an empty file
    out = tmp_path / "refused.csv"  # pairs.csv exists: replacing it would need --force
    res = runner.invoke(main, ["link", "pairs", str(tmp_path / "left.enc"),
                               str(tmp_path / "left.enc"), "--out", str(out)])
    assert res.exit_code == 2 and "given twice" in res.output
    res = runner.invoke(main, ["identity", "encode", str(tmp / "right.csv"), "--map",
                               str(tmp / "map.yaml"), "--key", str(key), "--out",
                               str(tmp_path / "right_as_left.enc"), "--contributor", "left"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["link", "pairs", str(tmp_path / "left.enc"),
                               str(tmp_path / "right_as_left.enc"), "--out", str(out)])
    assert res.exit_code == 2 and "both packages are from contributor 'left'" in res.output
    assert "--dedupe" in res.output
    # one file encoded twice: the hint is not --dedupe of both (its record ids repeat)
    res = runner.invoke(main, ["identity", "encode", str(tmp / "left.csv"), "--map",
                               str(tmp / "map.yaml"), "--key", str(key), "--out",
                               str(tmp_path / "left_again.enc"), "--contributor", "left"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["link", "pairs", str(tmp_path / "left.enc"),
                               str(tmp_path / "left_again.enc"), "--out", str(out)])
    assert res.exit_code == 2 and "one file encoded twice?" in res.output


def test_a_package_without_consenting_records_is_refused_by_name(files, tmp_path):
    tmp, _, _, r = files
    runner = CliRunner()
    key = tmp_path / "key"
    assert runner.invoke(main, ["identity", "keygen", str(key)]).exit_code == 0
    sub = r.right.slice(0, 50)
    _as_contributor_file(sub, tmp_path / "none.csv", set(sub.column("record_id").to_pylist()))
    for name, src in (("left", tmp / "left.csv"), ("none", tmp_path / "none.csv")):
        res = runner.invoke(main, ["identity", "encode", str(src), "--map", str(tmp / "map.yaml"),
                                   "--key", str(key), "--out", str(tmp_path / f"{name}.enc"),
                                   "--contributor", name])
        assert res.exit_code == 0, res.output
    out = tmp_path / "pairs.csv"
    res = runner.invoke(main, ["link", "pprl", str(tmp_path / "left.enc"),
                               str(tmp_path / "none.enc"), "--out", str(out)])
    assert res.exit_code == 2 and "none.enc: no record with consent to linkage" in res.output
    res = runner.invoke(main, ["link", "pprl", str(tmp_path / "none.enc"), "--out", str(out)])
    assert res.exit_code == 2 and "no record with consent to linkage" in res.output
    assert not out.exists()
