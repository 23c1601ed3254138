"""``safelight identity keygen/encode/inspect`` and ``safelight link pprl`` end to end."""

from __future__ import annotations

import csv
import json
import random

from click.testing import CliRunner

from safelight.identity.cli import identity
from safelight.link.cli import link

MAP = """
id: rec_id
contributor: {name}
date_formats: ["%Y%m%d"]
consent: {{all: full}}
fields:
  given_name: first
  family_name: surname
  birth_date: dob
  locality: town
"""

_GIVEN = ["Olena", "Mykola", "Iryna", "Taras", "Oksana", "Andrii", "Natalia", "Serhii",
          "Ngozi", "Chinedu", "Amina", "Tunde", "Maria", "Ion", "Elena", "Mihai"]
_FAMILY = ["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Oliinyk",
           "Okeke", "Adeyemi", "Popescu", "Ionescu", "Moroz", "Lysenko", "Melnyk", "Savchenko"]
_TOWNS = ["Lviv", "Kyiv", "Odesa", "Lagos", "Benin City", "Iasi"]
_rng = random.Random(3)
ROWS = [(_rng.choice(_GIVEN), _rng.choice(_FAMILY),
         f"{_rng.randint(1950, 2005)}{_rng.randint(1, 12):02d}{_rng.randint(1, 28):02d}",
         _rng.choice(_TOWNS)) for _ in range(150)]


def _write(tmp_path, name, rows, typo=False):
    path = tmp_path / f"{name}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rec_id", "first", "surname", "dob", "town"])
        for i, (g, f, d, t) in enumerate(rows):
            w.writerow([f"{name}-{i}", g, f[:-1] + "a" if typo and i % 2 else f, d, t])
        w.writerow([f"{name}-bad", "X", "Y", "not a date", ""])
    (tmp_path / f"{name}.yaml").write_text(MAP.format(name=name), "utf-8")
    return path


def test_keygen_encode_inspect_and_link(tmp_path):
    runner = CliRunner()
    key = tmp_path / "shared.key"
    r = runner.invoke(identity, ["keygen", str(key)])
    assert r.exit_code == 0, r.output
    assert runner.invoke(identity, ["keygen", str(key)]).exit_code != 0  # never overwrites
    pkgs = []
    for name, typo in (("ngo", False), ("police", True)):
        src = _write(tmp_path, name, ROWS, typo)
        out = tmp_path / f"{name}.enc"
        r = runner.invoke(identity, ["encode", str(src), "--map", str(tmp_path / f"{name}.yaml"),
                                     "--key", str(key), "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert "1 unparsed birth date" in r.output
        pkgs.append(out)
        blob = b"".join(p.read_bytes() for p in out.iterdir())
        assert not any(v.encode() in blob for g, f, d, _t in ROWS for v in (g, f, d) if len(v) > 3)
    r = runner.invoke(identity, ["inspect", str(pkgs[0])])
    assert r.exit_code == 0 and json.loads(r.stdout)["contributor"] == "ngo"
    assert "records.parquet matches the manifest" in r.stderr
    # a manifest whose counts were altered (its SHA-256 covers the records only) is refused,
    # and a zipped package is named for what it is
    import shutil

    altered = tmp_path / "altered.enc"
    shutil.copytree(pkgs[0], altered)
    man = json.loads((altered / "manifest.json").read_text())
    man["records_with_consent_to_linkage"] = 1
    man["fields_present"]["birth_date"] = 0
    man["fields_present"]["bogus"] = 0  # a field the records lack: said, no traceback
    (altered / "manifest.json").write_text(json.dumps(man))
    r = runner.invoke(identity, ["inspect", str(altered)])
    assert r.exit_code == 7 and "records_with_consent_to_linkage 1 (the records: 15" in r.output
    assert "fields_present.birth_date 0" in r.output
    assert "fields_present.bogus 0 (the records hold no such field)" in r.output
    zipped = shutil.make_archive(str(tmp_path / "ngo.enc"), "zip", pkgs[0])
    for cmd, args in ((identity, ["inspect", zipped]), (link, ["pprl", zipped, str(pkgs[1]),
                                                             "--out", str(tmp_path / "z.csv")])):
        r = runner.invoke(cmd, args)
        assert r.exit_code == 7 and "unpack the archive first" in r.output, r.output

    pairs = tmp_path / "pairs.csv"
    r = runner.invoke(link, ["pprl", *map(str, pkgs), "--out", str(pairs)])
    assert r.exit_code == 0, r.output
    with open(pairs, encoding="utf-8") as fh:
        rows = [(row["left_id"], row["right_id"]) for row in csv.DictReader(fh)]
    assert rows == sorted(rows)  # by the left record's id (a package comes shuffled)
    got = set(rows)
    want = {(f"ngo-{i}", f"police-{i}") for i in range(len(ROWS))}
    assert len(got & want) >= 0.95 * len(want) and len(got - want) <= 2
    side = json.loads((tmp_path / "pairs.csv.json").read_text())
    assert side["settings"]["one_to_one"] and "model" in side

    clusters = tmp_path / "clusters.csv"
    r = runner.invoke(link, ["pprl", *map(str, pkgs), "--dedupe", "--out", str(clusters)])
    assert r.exit_code == 0, r.output
    with open(clusters, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * (len(ROWS) + 1)


def test_encode_reports_a_bad_map(tmp_path):
    runner = CliRunner()
    key = tmp_path / "k"
    runner.invoke(identity, ["keygen", str(key)])
    src = _write(tmp_path, "a", ROWS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: rec_id\nfields:\n  shoe_size: first\n", "utf-8")
    r = runner.invoke(identity, ["encode", str(src), "--map", str(bad), "--key", str(key),
                                 "--out", str(tmp_path / "x.enc")])
    assert r.exit_code != 0 and "unknown identity field" in r.output
    missing_col = tmp_path / "m.yaml"
    missing_col.write_text("id: rec_id\ngiven_name: nope\n", "utf-8")
    r = runner.invoke(identity, ["encode", str(src), "--map", str(missing_col), "--key", str(key),
                                 "--out", str(tmp_path / "y.enc")])
    assert r.exit_code != 0 and "nope" in r.output


def test_a_common_name_for_a_field_gets_the_field_it_means(tmp_path):
    """``surname:`` was answered with "did you mean 'full_name'?" (spelling alone)."""
    runner = CliRunner()
    key = tmp_path / "k"
    runner.invoke(identity, ["keygen", str(key)])
    src = _write(tmp_path, "a", ROWS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: rec_id\nfields:\n  given_name: first\n  surname: surname\n  DOB: dob\n",
                   "utf-8")
    r = runner.invoke(identity, ["encode", str(src), "--map", str(bad), "--key", str(key),
                                 "--out", str(tmp_path / "x.enc")])
    assert r.exit_code == 4
    assert "surname (did you mean 'family_name'?)" in r.output
    assert "DOB (did you mean 'birth_date'?)" in r.output
