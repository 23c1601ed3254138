"""Findings of a new-user trial of identity encoding and file linkage (consent at the hub,
sex/nationality vocabularies, damaged packages, maps and key files)."""

from __future__ import annotations

import csv
import logging
import random
import textwrap

from test_link_pprl import KEY, _observe, _people, _table  # noqa: I001  (shared generator)

from safelight.identity.encode import EncodingSettings, encode_table, write_package


def _package(tmp_path, name: str, prefix: str, people: list[dict]):
    rng = random.Random(3)
    rows = [_observe(p, rng, f"{prefix}{p['pid']}") for p in people]
    return write_package(encode_table(_table(rows), KEY, EncodingSettings(seed=5),
                                      contributor=name), tmp_path / name)


def _ingest_cases(hub, tmp_path, contributor: str, consent: dict[str, str]) -> None:
    """Cases of ``contributor`` at the hub: record id → consent code."""
    from safelight.ingest import ingest_file, load_profile

    prof = tmp_path / "cases.yaml"
    prof.write_text(textwrap.dedent("""
        profile: t
        version: 1
        record_id: id
        fields:
          year_of_registration: year
          consent: cons
    """), "utf-8")
    path = tmp_path / f"{contributor}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "year", "cons"])
        w.writerows([rid, "2021", c] for rid, c in consent.items())
    ingest_file(hub, path, contributor=contributor, profile=load_profile(prof))


def test_hub_pprl_leaves_out_records_whose_case_refuses_linkage(hub, tmp_path, caplog):
    """2c: a record whose case at the hub has consent none / statistics_only takes no part in
    `link hub --pprl`, whatever its package flag; a record without a case keeps its flag and
    is counted in a warning."""
    from safelight.link.hub_pprl import link_hub_encoded, load_hub_packages, receive_package

    people = _people(60, 4)
    receive_package(hub, _package(tmp_path, "ngo", "L", people[:40]))
    receive_package(hub, _package(tmp_path, "police", "R", people[20:]))
    consent = {f"L{i}": "full" for i in range(30)}
    consent |= {"L0": "statistics_only", "L1": "none"}  # L30..L39 have no case
    _ingest_cases(hub, tmp_path, "ngo", consent)
    with caplog.at_level(logging.WARNING, logger="safelight.link.hub_pprl"):
        er = load_hub_packages(hub)
    ids = {(c, r) for c, r in zip(er.contributor, er.record_id, strict=True)}
    assert ("ngo", "L0") not in ids and ("ngo", "L1") not in ids
    assert ("ngo", "L2") in ids and ("ngo", "L35") in ids  # consenting case; no case
    assert len(er) == 40 - 2 + 40
    assert "ngo: 10 package records have no case at the hub" in caplog.text
    assert "police" not in caplog.text  # the hub holds no case of police: nothing to check
    link_hub_encoded(hub)
    linked = {r for (r,) in hub.con.execute(
        "SELECT record_id FROM persons WHERE contributor = 'ngo'").fetchall()}
    assert "L0" not in linked and "L1" not in linked and "L2" in linked
