"""``safelight report hub`` refuses a report that could be differenced against the last one
published (one withdrawal or one new case between two reports shows that person's profile), as
the web dashboard does; ``--force`` overrides; reports of other settings are compared on the
cells they share."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report_hub import COLUMNS, _rows

from safelight.report.cli import report as report_cli
from safelight.report.hub import hub_report
from safelight.report.model import ReportSettings
from safelight.report.sources import hub_source
from safelight.report.successive import (
    DifferencedError,
    gated_counts,
    read_report_snapshots,
    read_snapshot,
    refuse_differences,
    report_shape,
    snapshot_path,
)


def _ingest(hub_path: Path, rows: list[dict[str, str]], contributor: str = "test") -> None:
    from safelight.ingest import ingest_file, load_profile
    from safelight.store import open_hub

    path = hub_path.with_name(f"{contributor}-{len(rows)}-{rows[0]['record_id']}.csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with open_hub(hub_path, create=not hub_path.exists()) as hub:
        assert ingest_file(hub, path, contributor=contributor,
                           profile=load_profile("safelight")).rows_quarantined == 0


@pytest.fixture(autouse=True)
def _no_charts(monkeypatch) -> None:
    """Write report.json only: the charts (4 CPU s a report) are tested by test_report_hub;
    here what matters is whether a report is written at all."""
    from safelight.report import render

    def write_json_only(rep, out_dir: Path) -> dict[str, Path]:
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "report.json").write_text(json.dumps(render.report_record(rep)))
        return {"html": Path(out_dir) / "report.html"}

    monkeypatch.setattr(render, "write_report", write_json_only)


@pytest.fixture
def hub_path(tmp_path) -> Path:
    path = tmp_path / "hub.duckdb"
    _ingest(path, _rows(seed=3, n=400))
    return path


def _withdraw_one(hub_path: Path) -> None:
    from safelight.store import open_hub

    with open_hub(hub_path) as hub:
        contributor, rid = hub.con.execute(
            "SELECT contributor, record_id FROM cases WHERE consent_statistics "
            "ORDER BY contributor, record_id LIMIT 1").fetchone()
        hub.withdraw_consent(contributor, [rid], actor="test")


def _new_cases(hub_path: Path, n: int, tag: str) -> None:
    """``n`` new cases alike in every field: each count they are in grows by exactly ``n``."""
    _ingest(hub_path, [{"record_id": f"{tag}{i}", "year_of_registration": "2021",
                        "gender": "female", "age_years": "24", "citizenship": "NGA",
                        "country_of_exploitation": "ITA",
                        "types_of_exploitation": "sexual_exploitation",
                        "means_of_control": "debt_bondage", "consent": "full"}
                       for i in range(n)], contributor=f"agency-{tag}")


def _run(hub_path: Path, out: Path, *extra: str):
    return CliRunner().invoke(report_cli, ["hub", str(hub_path), "--out", str(out), *extra])


def _counts(hub_path: Path, threshold: int = 11) -> dict[str, float]:
    with hub_source(hub_path, ReportSettings(threshold=threshold)) as src:
        rep = hub_report(src, ReportSettings(threshold=threshold))
    return gated_counts(rep.indicators, rep.limitations)


def test_a_withdrawal_is_refused_until_forced(hub_path, tmp_path):
    first = _run(hub_path, tmp_path / "jan")
    assert first.exit_code == 0, first.output
    (snap,) = read_report_snapshots(hub_path)  # the first report ever passes and is recorded
    assert snap["shape"]["threshold"] == 11 and snap["shape"]["unit"] == "records"
    assert snap["counts"] == _counts(hub_path) and not snap["forced"]
    recorded = snapshot_path(hub_path, "report").read_bytes()

    _withdraw_one(hub_path)
    refused = _run(hub_path, tmp_path / "feb")
    assert refused.exit_code == 8 and "refused" in refused.output and "--force" in refused.output
    assert "subtract" in refused.output and "from the last report" in refused.output
    assert not (tmp_path / "feb").exists()  # nothing written
    assert snapshot_path(hub_path, "report").read_bytes() == recorded
    # the message says how many counts, never which: no cell, group or value is named
    for name in ("girls", "women", "sexual_exploitation", "NGA", "UKR", "2021", "by_sex_age"):
        assert name not in refused.output

    forced = _run(hub_path, tmp_path / "feb", "--force")
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "feb" / "report.json").exists()
    (snap,) = read_report_snapshots(hub_path)  # the forced report is the one checked next
    assert snap["counts"] == _counts(hub_path) and snap["forced"]
    assert _run(hub_path, tmp_path / "mar").exit_code == 0  # nothing changed since


def test_one_new_case_is_refused_and_threshold_many_pass(hub_path, tmp_path):
    assert _run(hub_path, tmp_path / "r1").exit_code == 0
    _new_cases(hub_path, 1, "a")
    assert _run(hub_path, tmp_path / "r2").exit_code == 8
    # ten more cases alike: every count they are in is now 11 above the published one
    _new_cases(hub_path, 10, "b")
    res = _run(hub_path, tmp_path / "r3")
    assert res.exit_code == 0, res.output
    assert read_report_snapshots(hub_path)[0]["counts"] == _counts(hub_path)


def test_reports_of_other_settings_are_compared_on_the_cells_they_share(hub_path, tmp_path):
    """A stricter threshold, another unit or a re-saved table is no way round the rule (found
    by review: ``--threshold 12`` after a withdrawal passed when only equal settings were
    compared): the cells both reports hold are compared at the larger threshold."""
    assert _run(hub_path, tmp_path / "k11").exit_code == 0
    _withdraw_one(hub_path)
    for k in ("12", "5"):
        res = _run(hub_path, tmp_path / f"k{k}", "--threshold", k)
        assert res.exit_code == 8 and "other settings" in res.output, res.output
        assert not (tmp_path / f"k{k}").exists()
    with hub_source(hub_path, ReportSettings(threshold=11)) as src:
        rep = hub_report(src, ReportSettings(threshold=11))
    counts, shape = gated_counts(rep.indicators, rep.limitations), report_shape(rep)
    for other in ({}, {"unit": "persons"}, {"region_table": "0" * 16}, {"conflict_list": "x"}):
        with pytest.raises(DifferencedError) as err:
            refuse_differences(hub_path, counts, {**shape, **other})
        assert err.value.exit_code == 8
    # forced at 5, then unchanged data at 11: the limitations' numbers (the threshold is one)
    # are compared only between equal settings, so the change of threshold alone passes
    assert _run(hub_path, tmp_path / "k5f", "--threshold", "5", "--force").exit_code == 0
    assert sorted(s["shape"]["threshold"] for s in read_report_snapshots(hub_path)) == [5, 11]
    assert _run(hub_path, tmp_path / "k11f", "--force").exit_code == 0
    assert _run(hub_path, tmp_path / "k12", "--threshold", "12").exit_code == 0


def test_the_counts_beside_the_hub_stay_private(hub_path, tmp_path):
    """Owner-only file, found through a symlink to the hub, never inside the report's folder."""
    assert _run(hub_path, tmp_path / "r1").exit_code == 0
    assert snapshot_path(hub_path, "report").stat().st_mode & 0o777 == 0o600
    link = tmp_path / "elsewhere" / "hub-link.duckdb"
    link.parent.mkdir()
    link.symlink_to(hub_path)
    _withdraw_one(hub_path)
    assert _run(link, tmp_path / "r2").exit_code == 8  # the same hub, the same history
    for out in (hub_path.parent, tmp_path.parent):  # the hub's folder, or a folder above it
        res = _run(hub_path, out, "--force")
        assert res.exit_code == 2 and "--out holds the hub" in res.output


def test_the_dashboards_published_figures_are_checked(hub_path, tmp_path):
    from safelight.web.dashboard import publish
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    state = HubState(hub_path, WebSettings())
    try:
        assert publish(state)["empty"] is None
    finally:
        state.close()
    assert read_snapshot(hub_path)[0] == _counts(hub_path)
    # the dashboard's figures have the shape of a default report: the same report passes
    assert _run(hub_path, tmp_path / "same").exit_code == 0
    snapshot_path(hub_path, "report").unlink()  # only the dashboard's figures are left
    _withdraw_one(hub_path)
    res = _run(hub_path, tmp_path / "after")
    assert res.exit_code == 8 and "dashboard" in res.output
    assert "from the last report" not in res.output
    assert not (tmp_path / "after").exists()
    assert json.loads(snapshot_path(hub_path).read_text())["threshold"] == 11


def test_a_report_whose_counts_cannot_be_recorded_is_not_written(hub_path, tmp_path,
                                                                 monkeypatch):
    import os

    def read_only(*_args) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", read_only)
    res = _run(hub_path, tmp_path / "out")
    assert res.exit_code == 1 and "cannot record" in res.output
    assert not (tmp_path / "out").exists() and not read_report_snapshots(hub_path)


def test_the_dashboard_holds_back_figures_that_differ_from_a_written_report(hub_path, tmp_path):
    """A report written with ``report hub``, then one withdrawal: the dashboard's first figures
    would differ from it by 1, so they are held back (found by review: the dashboard read only
    its own snapshot); an administrator's publish still records them."""
    from safelight.web.dashboard import Dashboard, publish
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    assert _run(hub_path, tmp_path / "jan").exit_code == 0
    _withdraw_one(hub_path)
    state = HubState(hub_path, WebSettings())
    try:
        shown = Dashboard(state).get()
        assert shown["held_back"] and not shown["indicators"]
        assert read_snapshot(hub_path) is None  # nothing published
        assert publish(state)["empty"] is None
    finally:
        state.close()
    assert read_snapshot(hub_path)[0] == _counts(hub_path)


def test_a_damaged_snapshot_is_named_and_nothing_is_written(hub_path, tmp_path):
    assert _run(hub_path, tmp_path / "r1").exit_code == 0
    snapshot_path(hub_path, "report").write_text("{not json", encoding="utf-8")
    res = _run(hub_path, tmp_path / "r2")
    assert res.exit_code != 0 and "hub.duckdb.report.json" in res.output
    assert "restore" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r2").exists()


def test_a_forced_report_is_audited_before_it_is_written(hub_path, tmp_path):
    """``--force`` publishes differences a reviewer decided to accept: the hub's audit log
    records where it went and how many counts differ (a number, never a count or a cell)."""
    from safelight.store import open_hub

    assert _run(hub_path, tmp_path / "jan").exit_code == 0
    _withdraw_one(hub_path)
    assert _run(hub_path, tmp_path / "feb", "--force").exit_code == 0
    with open_hub(hub_path, read_only=True) as hub:
        (obj, details), = hub.con.execute(
            "SELECT object, details FROM audit_log WHERE action = 'report.forced'").fetchall()
        assert hub.verify_audit()[0]
    details = json.loads(details)
    assert obj == str((tmp_path / "feb").resolve())
    assert details["counts_under_threshold"] > 0 and details["shape"]["threshold"] == 11
    assert set(details) == {"shape", "generated_at", "counts_under_threshold"}


def test_a_forced_report_that_cannot_be_audited_is_not_written(hub_path, tmp_path,
                                                                monkeypatch):
    """The hub in use by another process (a server) means no audit entry: nothing is
    written and the snapshot is not replaced."""
    import safelight.store
    from safelight.errors import StoreError

    assert _run(hub_path, tmp_path / "jan").exit_code == 0
    _withdraw_one(hub_path)
    recorded = snapshot_path(hub_path, "report").read_bytes()

    def in_use(path, **_kwargs):
        raise StoreError(f"{path}: the hub is in use by another safelight process")

    monkeypatch.setattr(safelight.store, "open_hub", in_use)
    res = _run(hub_path, tmp_path / "feb", "--force")
    assert res.exit_code != 0 and "in use" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "feb").exists()
    assert snapshot_path(hub_path, "report").read_bytes() == recorded


def test_one_publisher_at_a_time(hub_path, tmp_path, monkeypatch):
    """A report computed while another publisher holds the lock is checked against what that
    publisher recorded, not against the snapshot both saw before; and waits no longer than
    its timeout."""
    import threading
    import time
    from contextlib import contextmanager

    from safelight.report import successive
    from safelight.report.successive import ReportError, record_report

    assert _run(hub_path, tmp_path / "jan").exit_code == 0
    (snap,) = read_report_snapshots(hub_path)
    real = successive.publishing
    asking = threading.Event()

    @contextmanager
    def announced(path, timeout=None):  # the report asks for the lock: say so, then take it
        asking.set()
        with real(path, timeout):
            yield

    monkeypatch.setattr(successive, "publishing", announced)
    done: dict[str, object] = {}
    with real(hub_path):
        worker = threading.Thread(
            target=lambda: done.update(res=_run(hub_path, tmp_path / "feb")))
        worker.start()
        assert asking.wait(60)  # the report is computed and asks for the lock
        time.sleep(0.3)
        assert "res" not in done  # it waits
        # the other publisher records figures one person apart from today's data
        moved = dict(snap["counts"])
        key = next(k for k, v in moved.items() if v >= 1 and not k.startswith('["limitations"'))
        moved[key] -= 1
        record_report(hub_path, moved, snap["shape"], snap["generated_at"])
    worker.join(timeout=60)
    assert done["res"].exit_code == 8, done["res"].output  # checked against the new record
    assert not (tmp_path / "feb").exists()

    with real(hub_path), pytest.raises(ReportError, match="another report"):
        with real(hub_path, timeout=0.2):
            pass
    assert (Path(f"{hub_path.resolve()}.publish.lock").stat().st_mode & 0o777) == 0o600


def test_a_publishing_lock_that_cannot_be_made_refuses_with_a_message(tmp_path, monkeypatch):
    """The lock lives beside the hub: when its file cannot be made (a read-only folder; the
    error is simulated, as root writes anywhere) the publisher refuses, naming the lock and
    the fix, and nothing runs under it."""
    import errno

    from filelock import FileLock

    from safelight.report.model import ReportError
    from safelight.report.successive import publishing

    def cannot(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(FileLock, "acquire", cannot)
    ran = []
    with pytest.raises(ReportError, match="cannot take the publishing lock.*Permission denied"):
        with publishing(tmp_path / "hub.duckdb"):
            ran.append(True)
    assert not ran
