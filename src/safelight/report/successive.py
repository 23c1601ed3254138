"""Successive reports of one hub: a new report is published only if it cannot be differenced
against the reports published before it.

Two reports a few records apart differ by those records: published before and after one consent
withdrawal (or one new case), every cell the person is in drops (or grows) by exactly 1 and
their profile can be read off the difference (29 cells −1 in the privacy review that found it)
— also through a line's total minus its published members, or a cell moving between shown and
suppressed. Both publishers of a hub's report apply the same rule, with this module's one copy
of it:

* **What is compared** (:func:`gated_counts`): every count behind a report — each cell's *true*
  count, suppressed cells included, and every number in its limitations text. A new report may
  be published only when none of them differs from the last published report's by
  ``1 .. threshold - 1`` (:func:`small_differences`; a count missing from one report is 0
  there).
* **The web dashboard** (:mod:`safelight.web.dashboard`) keeps the counts of the figures it
  last published in ``<hub>.dashboard.json`` (:func:`write_snapshot`, :func:`read_snapshot`)
  and holds newer figures back while they differ from them or from the reports ``report hub``
  wrote (:func:`report_differences`).
* **``safelight report hub``** keeps the counts of the last report it wrote, one per *shape*
  (:func:`report_shape`: threshold, counting unit as resolved, region-table and conflict-list
  fingerprints — what decides which tables exist and what they count), in
  ``<hub>.report.json`` (:func:`record_report`). Before writing, :func:`refuse_differences`
  compares the new report with the last one of *every* shape and with the dashboard's figures,
  and raises :class:`DifferencedError` — nothing is written — when any count differs by
  ``1 .. threshold - 1``: against the same shape every count (a count missing from one is 0
  there); against another shape the cells both reports have, at the larger of the two
  thresholds, and not the limitations' numbers (the threshold is one of them). A stricter
  threshold or a re-saved region table therefore does not open a way round the rule (found by
  review: ``--threshold 12`` after a withdrawal passed when shapes were compared only with
  their own kind).

Privacy contract: the snapshot files hold true counts, suppressed ones included; they are
hub-internal like the hub file itself, never served nor copied into a report. Messages say how
many counts differ, never a count, a cell's name with its count or any other value.

The snapshot files are written readable by their owner only, and ``report hub`` refuses an
``--out`` folder that holds the hub (and so these files).

**One publisher at a time** (:func:`publishing`): a publisher checks and records its counts
while holding ``<hub>.publish.lock`` (an OS file lock, :mod:`filelock`), so of two reports — or
a report and the dashboard — computed a record apart at the same moment, the second is
checked against the first instead of both passing against the same earlier snapshot.

Limits: this stops a report from moving with each record, it is no guarantee against a reader
who keeps every published report (that takes noise, as the DP releases have). The files sit
beside the hub (a symlink to the hub finds them; a *copy* of the hub in another place starts
without them), and reports made outside these two publishers are not compared.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from safelight.errors import RefusedError
from safelight.report.model import Report, ReportError

__all__ = ["DifferencedError", "dashboard_shape", "gated_counts", "publishing",
           "read_report_snapshots", "read_snapshot", "record_report", "refuse_differences",
           "report_differences", "report_shape", "small_differences", "snapshot_path",
           "write_snapshot"]


class DifferencedError(ReportError, RefusedError):
    """A new report differs from one published before by fewer than the threshold in some
    count: publishing both would show who arrived or left. ``differing``: how many counts
    (against every earlier report and the dashboard), never which."""

    exit_code = RefusedError.exit_code

    def __init__(self, differing: int, message: str) -> None:
        super().__init__(message)
        self.differing = differing


def snapshot_path(hub_path: str | Path, publisher: str = "dashboard") -> Path:
    """Where the counts a publisher (``dashboard`` or ``report``) last published are kept:
    beside the hub (symlinks resolved), ``<hub>.<publisher>.json``."""
    return Path(f"{Path(hub_path).resolve()}.{publisher}.json")


#: seconds a publisher waits for another one's check and record (milliseconds of work)
LOCK_TIMEOUT = 60.0


@contextmanager
def publishing(hub_path: str | Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the hub's publishing lock (``<hub>.publish.lock`` beside it, owner-only) while a
    publisher checks its counts against the snapshots and records them: two publishers of one
    hub never check against the same snapshot at once. Raises :class:`ReportError` when the
    lock cannot be taken within ``timeout`` seconds (default :data:`LOCK_TIMEOUT`) or its file
    cannot be made (nothing is published then)."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    path = Path(f"{Path(hub_path).resolve()}.publish.lock")
    lock = FileLock(path, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise ReportError(f"{path.name}: another report or the dashboard has been publishing "
                          f"from this hub for over {timeout:.0f} s — nothing was written; try "
                          "again when it has finished") from None
    except OSError as exc:
        raise ReportError(f"{path.name}: cannot take the publishing lock beside the hub "
                          f"({exc.strerror}) — nothing was written; the hub's folder must be "
                          "writable") from exc
    try:
        yield
    finally:
        lock.release()


def gated_counts(indicators: list[Any], limitations: list[str]) -> dict[str, float]:
    """Every count behind a report: each cell's true count (suppressed or not; shares and the
    changes between years derive from them), by indicator and key, and each number in its
    limitations text, by the line's wording with the numbers taken out and their position."""
    out = {json.dumps([ind.id, [str(v) for v in c.key.values()]], ensure_ascii=False):
           float(c.count.mid)
           for ind in indicators for c in ind.cells if c.count is not None}
    for line in limitations:
        numbers = _NUMBER.findall(str(line))
        wording = _NUMBER.sub("#", str(line))
        for j, n in enumerate(numbers):
            out[json.dumps(["limitations", wording, j], ensure_ascii=False)] = float(
                n.replace(",", ""))
    return out


#: a count in running text: digits (with thousands commas) standing alone, not part of an id,
#: a date or a time ("run 00c683b2a8ca, finished 2026-11-30 18:05:56" holds none)
_NUMBER = re.compile(r"(?<![\w:.,-])\d{1,3}(?:,\d{3})*(?![\w:-])|(?<![\w:.,-])\d+(?![\w:,-])")


def small_differences(before: dict[str, float], after: dict[str, float], threshold: int) -> int:
    """How many counts of ``before`` and ``after`` (a count missing from one is 0 there) differ
    by more than 0 and less than ``threshold`` — each would show fewer than ``threshold``
    people arriving or leaving."""
    return sum(1 for k in before.keys() | after.keys()
               if 0 < abs(after.get(k, 0.0) - before.get(k, 0.0)) < threshold)


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` by atomic replace (a crash leaves the earlier file whole)."""
    tmp = path.with_name("." + path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # true counts: owner only
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, ensure_ascii=False))
    os.chmod(tmp, 0o600)  # an older file of that name keeps its mode through O_TRUNC
    os.replace(tmp, path)


def write_snapshot(hub_path: str | Path, counts: dict[str, float], generated_at: str,
                   threshold: int) -> None:
    """Record ``counts`` as the counts behind the dashboard's published figures."""
    _write_json(snapshot_path(hub_path), {"generated_at": generated_at, "threshold": threshold,
                                          "counts": counts})


def read_snapshot(hub_path: str | Path) -> tuple[dict[str, float], int | None] | None:
    """The counts behind the dashboard's figures last published and the threshold they were
    judged at, or ``None`` when nothing was published yet."""
    path = snapshot_path(hub_path)
    if not path.exists():
        return None
    doc = _read_json(path, "counts")
    return {k: float(v) for k, v in doc["counts"].items()}, doc.get("threshold")


def report_shape(rep: Report) -> dict[str, Any]:
    """What decides which counts a hub report has and what they count: the threshold (it is in
    the limitations text), the counting unit as resolved (``auto`` becomes persons once the hub
    has a linkage run), and the fingerprints of the region table and the conflict list."""
    return {"threshold": rep.settings.threshold,
            "unit": rep.provenance["counting"]["counting_unit"],
            "region_table": rep.provenance["region_table_fingerprint"],
            "conflict_list": rep.provenance["conflict_list"]["fingerprint"]}


def dashboard_shape(counts: dict[str, float], threshold: int | None) -> dict[str, Any]:
    """The shape of the dashboard's published figures: its threshold, the shipped tables (the
    dashboard takes no others) and the unit named by the id of its first indicator
    (``persons_by_sex_age`` or ``records_by_sex_age``, see :mod:`safelight.report.hub`)."""
    from safelight.report.conflict import load_conflict_list
    from safelight.standard.geography import load_unodc_regions

    ids = {json.loads(k)[0] for k in counts}
    unit = next((u for u in ("persons", "records") if f"{u}_by_sex_age" in ids), None)
    return {"threshold": threshold, "unit": unit,
            "region_table": load_unodc_regions(None).fingerprint,
            "conflict_list": load_conflict_list(None).fingerprint}


def read_report_snapshots(hub_path: str | Path) -> list[dict[str, Any]]:
    """The snapshots of the reports ``report hub`` last wrote, one per shape (each with
    ``shape``, ``generated_at``, ``forced`` and ``counts``); empty before the first."""
    path = snapshot_path(hub_path, "report")
    if not path.exists():
        return []
    return _read_json(path, "snapshots")["snapshots"]


def _read_json(path: Path, key: str) -> dict[str, Any]:
    """A snapshot file's document; :class:`ReportError` naming the file when it is damaged
    (nothing can be checked against it, so nothing is published until it is restored)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or key not in doc:
            raise ValueError(f"no {key!r}")
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path.name}: the counts of the reports published before cannot be "
                          f"read ({exc}) — restore the file from a backup; deleting it makes the "
                          "next report pass unchecked") from exc
    return doc


def record_report(hub_path: str | Path, counts: dict[str, float], shape: dict[str, Any],
                  generated_at: str, *, forced: bool = False) -> None:
    """Record ``counts`` as the last published report of ``shape`` (replacing the one of the
    same shape, keeping the others). Raises :class:`ReportError` when the file cannot be
    written beside the hub: a report whose counts are not recorded is not written either."""
    kept = [s for s in read_report_snapshots(hub_path) if s["shape"] != shape]
    path = snapshot_path(hub_path, "report")
    try:
        _write_json(path, {"snapshots": [*kept, {"shape": shape, "generated_at": generated_at,
                                                 "forced": forced, "counts": counts}]})
    except OSError as exc:
        raise ReportError(f"{path.name}: cannot record the report's counts beside the hub "
                          f"({exc.strerror}) — nothing was written; the next report is checked "
                          "against them, so the hub's folder must be writable") from exc


def _is_limitation(key: str) -> bool:
    return key.startswith('["limitations"')


def _differences(before: dict[str, float], before_threshold: int | None, same_shape: bool,
                 after: dict[str, float], threshold: int) -> int:
    """:func:`small_differences` between a snapshot and a new report: every count for the same
    shape; for another shape the cells both hold (no limitations' numbers, which include the
    threshold), at the larger threshold."""
    if same_shape:
        return small_differences(before, after, threshold)
    shared = {k for k in before.keys() & after.keys() if not _is_limitation(k)}
    return small_differences({k: before[k] for k in shared}, {k: after[k] for k in shared},
                             max(threshold, before_threshold or threshold))


def report_differences(hub_path: str | Path, counts: dict[str, float], shape: dict[str, Any]
                       ) -> list[tuple[dict[str, Any], int]]:
    """Each snapshot of ``report hub`` (any shape) from which ``counts`` of ``shape`` differ
    by less than the threshold in some count, with how many counts (module docstring: which
    counts are compared across shapes)."""
    out = []
    for snap in read_report_snapshots(hub_path):
        n = _differences(snap["counts"], snap["shape"].get("threshold"), snap["shape"] == shape,
                         counts, shape["threshold"])
        if n:
            out.append((snap, n))
    return out


def refuse_differences(hub_path: str | Path, counts: dict[str, float],
                       shape: dict[str, Any]) -> None:
    """Raise :class:`DifferencedError` when ``counts`` differ by ``1 .. threshold - 1`` in any
    count from the last report of any shape written by ``report hub`` or from the dashboard's
    published figures (module docstring: which counts are compared across shapes); the message
    says how many counts, never which or by how much."""
    threshold = shape["threshold"]
    differing = report_differences(hub_path, counts, shape)
    found = [f"{n} counts from the last report written with "
             f"{'these' if snap['shape'] == shape else 'other'} settings "
             f"({snap['generated_at']})" for snap, n in differing]
    # the change each count needs: the larger threshold where another report's was larger
    need = max([threshold, *(snap["shape"].get("threshold") or 0 for snap, _ in differing)])
    total = sum(n for _, n in differing)
    dashboard = read_snapshot(hub_path)
    if dashboard is not None:
        same = dashboard_shape(*dashboard) == shape
        n = _differences(dashboard[0], dashboard[1], same, counts, threshold)
        if n:
            found.append(f"{n} counts from the web dashboard's published figures")
            need = max(need, dashboard[1] or 0)
            total += n
    if found:
        raise DifferencedError(total,
            f"refused: counts behind this report (its cells, suppressed ones included, and the "
            f"numbers in its limitations) differ by less than the threshold from figures published "
            f"before — {'; '.join(found)}. "
            "Publishing both would let a reader subtract them and see who arrived or left. "
            f"Nothing was written. Wait until later data change each such count by at least "
            f"{need}, or, if you have decided the earlier report was never published, run "
            "again with --force.")
