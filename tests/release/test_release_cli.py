"""``safelight release ...`` end to end on a small generated table."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers_release import random_table

from safelight.release.cli import release
from safelight.release.table import read_table, write_csv


def _table(tmp_path):
    path = tmp_path / "table.csv"
    write_csv(random_table(4, n=400), path)
    return path


def test_aggregates_command(tmp_path) -> None:
    src = _table(tmp_path)
    out = tmp_path / "agg"
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5", "--length", "2",
                                     "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {"aggregates.csv", "settings.json",
                                               "evaluation.json", "evaluation.html",
                                               "PUBLISH.txt"}
    publish = (out / "PUBLISH.txt").read_text("utf-8")
    assert "Publish only the release file" in publish
    # k-release trial (2026-12-01): two file releases of a table that gained three people,
    # subtracted, gave their profile; nothing said that a file release has no ledger
    assert "no ledger records this release" in publish and "release hub" in publish
    assert "no ledger records this release" in r.output
    settings = json.loads((out / "settings.json").read_text())
    assert settings["method"] == "aggregates" and settings["k"] == 5
    assert settings["software"].startswith("safelight ")
    assert len(settings["source"]["sha256"]) == 64
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["leaked"] == 0
    # a second run into the same folder is refused without --force
    r = CliRunner().invoke(release, ["aggregates", str(src), "--out", str(out)])
    assert r.exit_code == 2 and "--force" in r.output


def test_a_failed_forced_release_keeps_the_earlier_one(tmp_path, monkeypatch) -> None:
    """--force replaces an earlier release only when the new one is written: a run that fails
    (here: a table without rows) puts the earlier files back, byte for byte."""
    src = _table(tmp_path)
    out = tmp_path / "agg"
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5", "--length", "2",
                                     "--out", str(out)])
    assert r.exit_code == 0, r.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n", encoding="utf-8")
    r = CliRunner().invoke(release, ["aggregates", str(bad), "--k", "5", "--out", str(out),
                                     "--force"])
    assert r.exit_code != 0
    assert "earlier release" in r.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a forced release that succeeds replaces the files and leaves nothing else behind
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "6", "--length", "2",
                                     "--out", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == set(before)
    assert json.loads((out / "settings.json").read_text())["k"] == 6
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # a run that fails after it wrote all its files (as a ledger record that fails does,
    # after _finish): they go, the earlier ones come back
    from safelight.release import cli as release_cli

    finish = release_cli._finish

    def broken(*args, **kwargs):
        finish(*args, **kwargs)
        raise OSError("the ledger could not be written (simulated)")

    monkeypatch.setattr(release_cli, "_finish", broken)
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "7", "--length", "2",
                                     "--out", str(out), "--force"])
    assert r.exit_code != 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_synthetic_command(tmp_path) -> None:
    src = _table(tmp_path)
    out = tmp_path / "syn"
    r = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--length", "3",
                                     "--iterations", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    syn = read_table(out / "synthetic.csv")
    assert syn.n_rows == 400
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["leaked"] == 0 and ev["fabricated"] == 0


def test_dp_needs_a_public_domain_and_bad_file(tmp_path) -> None:
    src = _table(tmp_path)
    r = CliRunner().invoke(release, ["synthetic", str(src), "--epsilon", "1",
                                     "--out", str(tmp_path / "dp")])
    assert r.exit_code == 2 and "--domain" in r.output  # a usage error
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = CliRunner().invoke(release, ["aggregates", str(empty), "--out", str(tmp_path / "x")])
    assert r.exit_code == 3 and "empty" in r.output


def _domain_file(tmp_path, src):
    t = read_table(src)
    path = tmp_path / "domain.json"
    path.write_text(json.dumps({c: list(t.values[j]) + ["never-seen"]
                                for j, c in enumerate(t.columns)}))
    return path


def test_dp_commands_charge_the_ledger_and_refuse_over_budget(tmp_path, hub) -> None:
    src = _table(tmp_path)
    dom = _domain_file(tmp_path, src)
    hub_path = str(hub.path)
    hub.close()
    r = CliRunner().invoke(release, ["budget", hub_path, "t", "--epsilon", "3",
                                     "--delta", "1e-5"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "dpagg"
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), "--epsilon", "2", "--k", "5",
                                     "--length", "2", "--domain", str(dom), "--hub", hub_path,
                                     "--dataset", "t", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "ledger release #" in r.output
    settings = json.loads((out / "settings.json").read_text())
    assert settings["method"] == "dp-aggregates" and settings["params"]["epsilon"] <= 2.0
    # recorded in a ledger: PUBLISH.txt and the console said "no ledger" (a trial)
    assert settings["params"]["ledger"] == {"hub": hub_path, "dataset": "t"}
    publish = (out / "PUBLISH.txt").read_text("utf-8")
    assert "no ledger" not in publish and "no ledger" not in r.output
    assert f"Recorded in the ledger of {hub_path} as dataset t" in publish
    assert settings["params"]["domain"].startswith("file ")
    with (out / "aggregates.csv").open() as fh:
        counts = [int(line.rsplit(",", 1)[1]) for line in list(fh)[1:]]
    assert counts and min(counts) >= 5  # the k floor
    assert {p.name for p in out.iterdir()} >= {"evaluation.json", "evaluation.html"}
    # a second release of epsilon 2 would spend 4 > 3: refused before measuring
    out2 = tmp_path / "dpsyn"
    r = CliRunner().invoke(release, ["dp-synthetic", str(src), "--epsilon", "2", "--k", "5",
                                     "--domain", str(dom), "--hub", hub_path, "--dataset", "t",
                                     "--out", str(out2)])
    assert r.exit_code == 8 and "over the budget" in r.output  # refused by policy
    assert not (out2 / "synthetic.csv").exists()
    r = CliRunner().invoke(release, ["dp-synthetic", str(src), "--epsilon", "1", "--k", "5",
                                     "--iterations", "2", "--domain", str(dom), "--hub",
                                     hub_path, "--dataset", "t", "--out", str(out2)])
    assert r.exit_code == 0, r.output
    syn = read_table(out2 / "synthetic.csv")
    params = json.loads((out2 / "settings.json").read_text())["params"]
    assert params["synthetic_rows"] == syn.n_rows and params["epsilon"] <= 1.0
    # the published row count is the noisy total, recorded as for DP aggregates
    assert round(params["noisy_total"]) == syn.n_rows
    from safelight.release.ledger import Ledger
    from safelight.store import open_hub

    h = open_hub(hub_path)
    try:
        spent = Ledger(h).spent("t")
        # OpenDP's map of each release, summed; the integer threshold of the row histogram
        # makes the map step, so a release may spend up to ~1% under its epsilon
        assert spent.releases == 2 and 2.95 <= spent.epsilon <= 3.0
    finally:
        h.close()


def test_microdata_command(tmp_path) -> None:
    src = _table(tmp_path)
    out = tmp_path / "micro"
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--quasi-identifiers",
                                     "col0,col1,col2,col3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    settings = json.loads((out / "settings.json").read_text())
    assert settings["params"]["quasi_identifiers"] == ["col0", "col1", "col2", "col3"]
    assert "information_loss" in settings["params"]
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["leaked"] == 0
    assert read_table(out / "microdata.csv").n_rows == 400


def test_a_dp_release_that_fails_after_reading_the_data_is_still_charged(tmp_path, hub,
                                                                        monkeypatch):
    # the measurement is taken, then a later step fails (as "nothing clears the floor" does,
    # whose outcome depends on the noisy counts): a retry must not be free
    import safelight.release.dp_synthetic as dps
    from safelight.release.errors import ReleaseUsageError

    def fail(*args, **kwargs):
        raise ReleaseUsageError("nothing clears the floor (simulated)")

    monkeypatch.setattr(dps, "fit_model", fail)
    measured = []
    real_measure = dps.measure_for_model
    monkeypatch.setattr(dps, "measure_for_model",
                        lambda *a, **kw: measured.append(1) or real_measure(*a, **kw))
    src = _table(tmp_path)
    dom = _domain_file(tmp_path, src)
    hub_path = str(hub.path)
    hub.close()
    assert CliRunner().invoke(release, ["budget", hub_path, "t", "--epsilon", "3", "--delta",
                                        "1e-5"]).exit_code == 0
    r = CliRunner().invoke(release, ["dp-synthetic", str(src), "--epsilon", "0.5", "--k", "5",
                                     "--domain", str(dom), "--hub", hub_path, "--dataset", "t",
                                     "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "nothing clears the floor" in r.output and measured
    from safelight.release.ledger import Ledger
    from safelight.store import open_hub

    h = open_hub(hub_path)
    try:
        ledger = Ledger(h)
        spent = ledger.spent("t")
        assert spent.releases == 1 and abs(spent.epsilon - 0.5) < 1e-9
        failed = json.loads(ledger.releases("t")[-1]["params"])["failed"]
        assert failed.startswith("ReleaseUsageError") and "nothing clears the floor" in failed
        # the audit log says it failed too (it read as an ordinary release without an output)
        details = h.con.execute("SELECT details FROM audit_log WHERE action = 'release' "
                                "ORDER BY seq DESC LIMIT 1").fetchone()[0]
        assert json.loads(details)["failed"] is True
    finally:
        h.close()


def _terminated_release(tmp_path, monkeypatch, out, stage: str):
    """Run ``safelight release synthetic`` through the top-level command (which installs the
    SIGTERM handler) and send the process SIGTERM once ``stage`` of the release ran."""
    import os
    import signal

    from safelight.cli import main
    from safelight.release import cli as release_cli

    src = _table(tmp_path)
    finish = release_cli._finish
    write_partial = release_cli._write_partial

    def finish_then_term(*args, **kwargs):
        finish(*args, **kwargs)
        if stage == "finish":
            os.kill(os.getpid(), signal.SIGTERM)

    def write_then_term(path, write):
        partial = write_partial(path, write)
        if stage == "written":
            os.kill(os.getpid(), signal.SIGTERM)
        return partial

    monkeypatch.setattr(release_cli, "_finish", finish_then_term)
    monkeypatch.setattr(release_cli, "_write_partial", write_then_term)
    before = signal.getsignal(signal.SIGTERM)
    try:
        return CliRunner().invoke(main, ["release", "synthetic", str(src), "--k", "5",
                                         "--length", "3", "--out", str(out)])
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_release_ended_by_sigterm_leaves_none_of_its_files(tmp_path, monkeypatch) -> None:
    """A release stopped by SIGTERM (a scheduler's timeout, `docker stop`) after it wrote its
    settings and evaluation, or its hidden release file, left them behind, with exit code
    -15: a half-written folder could be published. It now ends as on Ctrl-C (exit 130) and
    removes what it wrote; a folder it made (and the parents it made) goes, a folder the user
    made keeps their files."""
    for stage in ("finish", "written"):
        out = tmp_path / f"new-{stage}"
        r = _terminated_release(tmp_path, monkeypatch, out, stage)
        assert r.exit_code == 130, r.output
        assert "interrupted" in r.output
        assert not out.exists()
        # the parent folders it made for --out go too (they stayed, empty)
        top = tmp_path / f"made-{stage}"
        r = _terminated_release(tmp_path, monkeypatch, top / "2026" / "rel", stage)
        assert r.exit_code == 130, r.output
        assert not top.exists()
        mine = tmp_path / f"mine-{stage}"
        mine.mkdir()
        (mine / "notes.txt").write_text("the user's own file", "utf-8")
        r = _terminated_release(tmp_path, monkeypatch, mine, stage)
        assert r.exit_code == 130, r.output
        assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_the_release_file_is_written_last_and_hidden_until_complete(tmp_path,
                                                                    monkeypatch) -> None:
    """A SIGKILL, which no clean-up sees, must never leave a release file without its
    PUBLISH.txt and evaluation (whose warnings may say not to publish it) or cut short: the
    file is written after them, under a hidden name, and renamed into place."""
    import safelight.release.table as table_mod

    src = _table(tmp_path)
    out = tmp_path / "syn"
    seen = []
    write_csv_ = table_mod.write_csv

    def watching(t, path, *args, **kwargs):
        if Path(path).parent == out:
            seen.append((Path(path).name, sorted(p.name for p in out.iterdir())))
        return write_csv_(t, path, *args, **kwargs)

    monkeypatch.setattr(table_mod, "write_csv", watching)
    r = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--length", "3",
                                     "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert seen == [(".synthetic.csv.partial", ["PUBLISH.txt", "evaluation.html",
                                                "evaluation.json", "settings.json"])]
    assert sorted(p.name for p in out.iterdir()) == ["PUBLISH.txt", "evaluation.html",
                                                     "evaluation.json", "settings.json",
                                                     "synthetic.csv"]


def test_a_stop_during_the_ledger_record_waits_and_keeps_what_was_recorded(tmp_path,
                                                                           monkeypatch) -> None:
    """A forced release with a ledger stopped between its record and the rename that puts its
    file in place put the earlier release back at the path the ledger had just recorded
    (a review: two records, the file on disk the first one's). Ctrl-C and SIGTERM now wait for
    the record and the rename; the run then ends with the recorded file in place, saying so
    and exiting as the release would have (9 here: its warning says not to publish it)."""
    import hashlib
    import os
    import signal

    from safelight.cli import main
    from safelight.release import cli as release_cli
    from safelight.release.ledger import Ledger
    from safelight.store import open_hub

    src = _table(tmp_path)
    out = tmp_path / "mic"
    demo_hub = tmp_path / "hub.duckdb"
    open_hub(demo_hub, create=True).close()
    args = ["release", "microdata", str(src), "--k", "5", "--quasi-identifiers", "col0,col1",
            "--hub", str(demo_hub), "--dataset", "file:table", "--out", str(out)]
    before = signal.getsignal(signal.SIGTERM)
    try:
        r = CliRunner().invoke(main, args)
        assert r.exit_code in (0, 9), r.output
        record = release_cli._ledger_record

        def record_then_term(*a, **kw):
            rid = record(*a, **kw)
            os.kill(os.getpid(), signal.SIGTERM)  # held back until the file is in place
            return rid

        monkeypatch.setattr(release_cli, "_ledger_record", record_then_term)
        r = CliRunner().invoke(main, [*args[:3], "--k", "6", *args[5:], "--force"])
        assert r.exit_code == 9, r.output
        assert "interrupted after the work was complete" in r.output
        assert "recorded as ledger release #2" in r.output
    finally:
        signal.signal(signal.SIGTERM, before)
    with open_hub(demo_hub) as hub:
        rows = Ledger(hub).releases()
    assert len(rows) == 2
    on_disk = hashlib.sha256((out / "microdata.csv").read_bytes()).hexdigest()
    assert rows[-1]["output_sha256"] == on_disk


def test_what_a_killed_release_left_is_cleared_or_pointed_at(tmp_path) -> None:
    """SIGKILL leaves no visible release file, but its hidden partial file stays, and a killed
    --force run leaves the earlier release in a hidden folder: the next run removes the first
    and says where the second is (a review)."""
    src = _table(tmp_path)
    out = tmp_path / "agg"
    out.mkdir()
    (out / ".aggregates.csv.partial").write_text("cut short", "utf-8")
    aside = out / ".replaced-abc"
    aside.mkdir()
    (aside / "aggregates.csv").write_text("the earlier release", "utf-8")
    r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5", "--length", "2",
                                     "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert not (out / ".aggregates.csv.partial").exists()
    assert str(aside) in r.output and (aside / "aggregates.csv").exists()


def test_an_out_through_a_new_folder_and_back_is_the_folder_it_names(tmp_path, monkeypatch
                                                                      ) -> None:
    """``--out new/..`` names the folder holding ``new``: a release there saw no earlier
    release (``new/../settings.json`` does not exist before ``new`` does) and wrote over it
    without --force, and a failed one deleted that release's files. It is now read as the
    folder it names: refused without --force, and a failed run keeps the earlier files and
    makes no ``new``."""
    monkeypatch.chdir(tmp_path)
    src = _table(tmp_path)
    first = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--length", "3",
                                         "--out", "rel"])
    assert first.exit_code == 0, first.output
    before = sorted(p.name for p in (tmp_path / "rel").iterdir())
    r = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--length", "3",
                                     "--out", "rel/new/.."])
    assert r.exit_code == 2 and "already holds" in r.output, r.output
    assert sorted(p.name for p in (tmp_path / "rel").iterdir()) == before
    assert not (tmp_path / "rel" / "new").exists()


def test_parents_made_before_out_could_not_be_made_are_removed(tmp_path) -> None:
    """A --out whose last name is too long for the file system: mkdir made its parents, then
    failed, and the parents stayed."""
    r = CliRunner().invoke(release, ["synthetic", str(_table(tmp_path)), "--k", "5",
                                     "--out", str(tmp_path / "made" / "x" / ("n" * 300))])
    assert r.exit_code == 2 and "cannot be created" in r.output, r.output
    assert not (tmp_path / "made").exists()


def test_an_out_through_a_link_is_the_folder_the_system_reads(tmp_path, monkeypatch) -> None:
    """``link/../rel`` is ``rel`` beside the link's target, as the system reads it, not
    ``rel`` beside the link (a lexical reading wrote elsewhere than the path named); a name
    too long for the file system is a usage error, not a traceback."""
    target = tmp_path / "elsewhere" / "target"
    target.mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(target, target_is_directory=True)
    monkeypatch.chdir(work)
    src = _table(tmp_path)
    r = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--length", "3",
                                     "--out", "link/../rel"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "elsewhere" / "rel" / "synthetic.csv").exists()
    assert not (work / "rel").exists()
    r = CliRunner().invoke(release, ["synthetic", str(src), "--k", "5", "--out", "n" * 300])
    assert r.exit_code == 2 and "cannot be a folder" in r.output, r.output


def test_a_dataset_name_needs_a_hub_and_a_name(tmp_path, hub) -> None:
    """A trial: ``--dataset`` without ``--hub`` was ignored silently (microdata, DP
    aggregates), and ``release budget HUB ""`` set a budget for a dataset without a name."""
    src = _table(tmp_path)
    dom = _domain_file(tmp_path, src)
    for args in (["microdata", str(src), "--k", "5"],
                 ["dp-aggregates", str(src), "--epsilon", "1", "--k", "5", "--domain",
                  str(dom)]):
        r = CliRunner().invoke(release, [*args, "--dataset", "t", "--out",
                                         str(tmp_path / args[0])])
        assert r.exit_code == 2 and "give --hub too" in r.output, r.output
        assert not (tmp_path / args[0]).exists()
    hub_path = str(hub.path)
    hub.close()
    r = CliRunner().invoke(release, ["budget", hub_path, " ", "--epsilon", "1"])
    assert r.exit_code == 2 and "DATASET is empty" in r.output, r.output
    r = CliRunner().invoke(release, ["microdata", str(src), "--k", "5", "--hub", hub_path,
                                     "--dataset", "", "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "--dataset is empty" in r.output, r.output
