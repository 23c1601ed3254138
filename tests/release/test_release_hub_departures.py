"""Records that leave a hub's consenting set through a later export, and the one ledger dataset
of a hub's cases (privacy review, 2026-12-01).

A later export that changed one person's consent to ``none`` and added one new record kept the
number of consenting cases the same, so the check on counts let a second release through; its
difference with the first showed what the person who left was. And ``release hub --dataset``
charged a release of the same cases to another name, outside their budget and their checks.
"""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from safelight.ingest import ingest_file, load_profile
from safelight.release.cli import release
from safelight.release.hub import RecordsLeftError, release_hub

COLS = ["gender", "citizenship", "year_of_registration"]
PROFILE = """profile: t
version: 1
record_id: id
fields:
  gender: g
  citizenship: nat
  year_of_registration: year
  consent: consent
"""


def _export(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["id", "g", "nat", "year", "consent"])
        w.writerows(rows)
    return path


def _rows(n: int, left: int | None = None, extra: int = 0) -> list[list[str]]:
    """``n`` people with full consent; record ``left`` (if any) now says ``none``; ``extra``
    new records after them."""
    rows = [[f"r{i}", "female" if i % 3 else "male", ["UKR", "MDA"][i % 2], "2021",
             "none" if i == left else "full"] for i in range(n + extra)]
    return rows


@pytest.fixture
def filled(hub, tmp_path):
    prof = tmp_path / "p.yaml"
    prof.write_text(PROFILE, "utf-8")
    ingest_file(hub, _export(tmp_path / "one.csv", _rows(300)), contributor="agency",
                profile=load_profile(prof))
    return hub, load_profile(prof)


def test_a_departure_hidden_by_a_new_record_is_refused(filled, tmp_path):
    hub, prof = filled
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)
    before = hub.con.execute("SELECT count(*) FROM cases WHERE consent_statistics").fetchone()[0]
    ingest_file(hub, _export(tmp_path / "two.csv", _rows(300, left=7, extra=1)),
                contributor="agency", profile=prof)
    now = hub.con.execute("SELECT count(*) FROM cases WHERE consent_statistics").fetchone()[0]
    assert now == before  # the count alone cannot see it
    assert hub.con.execute("SELECT records FROM statistics_departures").fetchall() == [(1,)]
    with pytest.raises(RecordsLeftError, match="1 case record.*no longer allows statistics"):
        release_hub(hub, "synthetic", tmp_path / "second", columns=COLS, k=11, length=2)
    assert not (tmp_path / "second").exists()
    release_hub(hub, "synthetic", tmp_path / "accepted", columns=COLS, k=11, length=2,
                after_withdrawal=True)


def test_an_export_that_changes_no_consent_records_no_departure(filled, tmp_path):
    hub, prof = filled
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)
    rows = _rows(300, extra=5)
    rows[3][1] = "male" if rows[3][1] == "female" else "female"  # an update, consent kept
    ingest_file(hub, _export(tmp_path / "two.csv", rows), contributor="agency", profile=prof)
    assert hub.con.execute("SELECT count(*) FROM statistics_departures").fetchone()[0] == 0
    release_hub(hub, "aggregates", tmp_path / "second", columns=COLS, k=11, length=2)


def test_release_hub_charges_one_dataset(filled, tmp_path):
    hub, _ = filled
    path = hub.path
    hub.close()
    r = CliRunner().invoke(release, ["hub", str(path), "--method", "aggregates", "--dataset",
                                     "hub:cases-2", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "--dataset" in r.output
    with pytest.raises(TypeError):
        release_hub(None, "aggregates", tmp_path / "y", dataset="x")  # type: ignore[call-arg]


def test_a_withdrawal_of_a_case_without_statistics_consent_blocks_no_release(filled, tmp_path):
    """A record that never allowed statistics was in no release: its withdrawal (trial,
    2026-12-01: it refused every later release of a monthly publisher) removes nobody. One that
    allowed statistics still blocks the next release."""
    hub, prof = filled
    ingest_file(hub, _export(tmp_path / "two.csv", _rows(300, left=7)), contributor="agency",
                profile=prof)  # r7 now says none: a departure, before any release
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)
    hub.withdraw_consent("agency", ["r7"], actor="test")
    release_hub(hub, "aggregates", tmp_path / "second", columns=COLS, k=11, length=2)
    hub.withdraw_consent("agency", ["r8"], actor="test")
    with pytest.raises(RecordsLeftError, match="1 consent withdrawal"):
        release_hub(hub, "aggregates", tmp_path / "third", columns=COLS, k=11, length=2)


def test_withdrawals_recorded_before_the_migration_still_block(hub, tmp_path):
    """Schema version 11 counts the withdrawals a hub recorded before it as departures (it
    cannot tell which had statistics consent), as the check read them until then."""
    from safelight.store.migrations import MIGRATIONS

    sql = next(s for v, _, s in MIGRATIONS if v == 11)
    prof = tmp_path / "p.yaml"
    prof.write_text(PROFILE, "utf-8")
    ingest_file(hub, _export(tmp_path / "one.csv", _rows(300)), contributor="agency",
                profile=load_profile(prof))
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)
    hub.withdraw_consent("agency", ["r3", "r4"], actor="test")
    hub.con.execute("DELETE FROM statistics_departures")  # as an older safelight left them
    hub.con.execute(sql.split("DROP NOT NULL;", 1)[1])  # its INSERT (the ALTER is done)
    assert hub.con.execute("SELECT contribution_id, records FROM statistics_departures"
                           ).fetchall() == [(None, 2)]
    with pytest.raises(RecordsLeftError, match="2 consent withdrawal"):
        release_hub(hub, "aggregates", tmp_path / "second", columns=COLS, k=11, length=2)
