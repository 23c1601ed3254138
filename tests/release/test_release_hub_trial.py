"""Findings of the new-user trial of `release hub` over successive months (2026-12-01), each
with the test that shows it fixed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers_release import random_table
from test_release_trial_fixes import _fill_hub

from safelight.release.cli import release
from safelight.release.errors import ReleaseUsageError
from safelight.release.hub import DATASET, release_hub
from safelight.release.table import write_csv


def test_a_file_release_cannot_be_charged_to_the_hubs_cases(hub, tmp_path) -> None:
    """1: `release microdata FILE --hub HUB --dataset hub:cases` became the newest release of
    the cases, and the withdrawal check then compared against it: the next hub release showed
    the withdrawn person's year."""
    src = tmp_path / "t.csv"
    write_csv(random_table(2, n=100), src)
    path = str(hub.path)
    hub.close()
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--hub", path,
                                     "--dataset", DATASET, "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "the hub's own datasets" in r.output, r.output


def test_accept_falls_is_for_aggregates_only(hub, tmp_path) -> None:
    """8: `--accept-falls` with another method was recorded as a risk taken."""
    _fill_hub(hub)
    with pytest.raises(ReleaseUsageError, match="--accept-falls applies to --method aggregates"):
        release_hub(hub, "synthetic", tmp_path / "s", columns=["gender", "citizenship"],
                    accept_falls=True)


def test_a_refused_release_keeps_the_users_empty_folder(hub, tmp_path, monkeypatch) -> None:
    """6: a refused release removed the (empty) folder the user had made for it."""
    import safelight.release.hub as hub_module

    _fill_hub(hub)

    def refuse(*args, **kwargs):
        (tmp_path / "mine" / "aggregates.csv").write_text("partial")
        raise ReleaseUsageError("refused (simulated)")

    monkeypatch.setattr(hub_module, "_run", refuse)
    (tmp_path / "mine").mkdir()
    with pytest.raises(ReleaseUsageError):
        release_hub(hub, "aggregates", tmp_path / "mine", columns=["gender"])
    assert (tmp_path / "mine").is_dir() and not any((tmp_path / "mine").iterdir())
    with pytest.raises(ReleaseUsageError):
        release_hub(hub, "aggregates", tmp_path / "new", columns=["gender"])
    assert not (tmp_path / "new").exists()


def test_row_level_releases_after_earlier_ones_are_warned_about(hub, tmp_path) -> None:
    """2: two microdata releases either side of new records showed the new records' rows by
    difference, unwarned (only k-aggregates are audited against the ledger)."""
    _fill_hub(hub)
    first = release_hub(hub, "microdata", tmp_path / "m1", columns=["gender", "citizenship"],
                        k=5)
    assert "not audited" not in (first.folder / "PUBLISH.txt").read_text("utf-8")
    second = release_hub(hub, "microdata", tmp_path / "m2", columns=["gender", "citizenship"],
                         k=5)
    note = (second.folder / "PUBLISH.txt").read_text("utf-8")
    assert note.startswith("WARNING: ") and "row-level releases are not audited" in note


def test_a_withdrawal_of_an_id_the_hub_does_not_hold_blocks_nothing(hub, tmp_path) -> None:
    """5: a withdrawal of a mistyped id (no case of it) refused every later release."""
    _fill_hub(hub)
    release_hub(hub, "aggregates", tmp_path / "a1", columns=["gender"], length=1)
    hub.withdraw_consent("agency", ["no-such-id"], actor="test")
    release_hub(hub, "aggregates", tmp_path / "a2", columns=["gender"], length=1)
    hub.withdraw_consent("agency", ["r1"], actor="test")  # a case: refused
    from safelight.release.hub import RecordsLeftError

    with pytest.raises(RecordsLeftError):
        release_hub(hub, "aggregates", tmp_path / "a3", columns=["gender"], length=1)


def test_the_ledger_listing_shows_k_length_and_risks_taken(hub, tmp_path) -> None:
    """9: `release budget HUB hub:cases` listed releases without k, length or the risks an
    operator accepted."""
    _fill_hub(hub)
    release_hub(hub, "aggregates", tmp_path / "a1", columns=["gender"], length=1)
    hub.withdraw_consent("agency", ["r1"], actor="test")
    release_hub(hub, "aggregates", tmp_path / "a2", columns=["gender"], length=1,
                after_withdrawal=True)
    path = str(hub.path)
    hub.close()
    r = CliRunner().invoke(release, ["budget", path, DATASET])
    assert r.exit_code == 0, r.output
    assert "UTC aggregates by cli: k 11, length 1;" in r.output
    assert "(risk accepted: --after-withdrawal)" in r.output


def test_a_hub_release_its_warning_says_not_to_publish_exits_9(hub, tmp_path,
                                                                monkeypatch) -> None:
    """`release hub` whose warning says "Do not publish" (a trial's microdata with 7,396
    combinations under k beside its quasi-identifiers) exited 0 where the file commands exit
    9 (2026-12-02): a script publishing on success would publish it."""
    import dataclasses

    import safelight.release.hub as hub_module
    from safelight.release.cli import EXIT_DO_NOT_PUBLISH
    from safelight.release.settings import DO_NOT_PUBLISH

    _fill_hub(hub)
    path = hub.path
    hub.close()
    made = hub_module.release_hub

    def leaky(*args, **kwargs):
        rel = made(*args, **kwargs)
        return dataclasses.replace(rel, warnings=(f"{DO_NOT_PUBLISH} this file: a test",))

    args = ["hub", str(path), "--method", "aggregates", "--columns", "gender", "--k", "5"]
    r = CliRunner().invoke(release, [*args, "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    monkeypatch.setattr(hub_module, "release_hub", leaky)
    r = CliRunner().invoke(release, [*args, "--out", str(tmp_path / "b")])
    assert r.exit_code == EXIT_DO_NOT_PUBLISH, r.output
    assert "release #" in r.output  # written and recorded: only the exit code says it
