"""The dashboard: the report stage's hub report, computed once per data version and served from
memory (tables, the JSON document, rendered page fragments and charts drawn on first request).

**Published snapshots, not live figures.** Two dashboards a few records apart differ by those
records: read before and after one consent withdrawal (or one upload), every cell the person is
in drops (or grows) by exactly 1 and their profile can be read off the difference — also
through a line's total minus its published members, or a cell moving between shown and
suppressed. So a newly computed report replaces the one on show only when no count behind it —
every cell's *true* count, suppressed cells included, and every number in its limitations text
— differs from the report last published by ``1 .. threshold - 1`` (the rule of
:mod:`safelight.report.successive`, which ``safelight report hub`` applies too); otherwise the
earlier figures stay on show with a fixed note, until later data make every difference 0 or
at least the threshold, or an administrator publishes the current figures (``safelight
dashboard publish HUB``). The rule is strict: most batches of
uploads change some rare cell by a few people, so in practice publishing is an administrator's
decision rather than automatic with every write; it is not a guarantee against someone who
reads two published snapshots (that would take noise, as the DP releases have). The counts
behind the last published report are kept beside the hub (``<hub>.dashboard.json``: true
counts, hub-internal like the hub file itself, never served) with the threshold they were
judged at, so a restart does not publish around the rule: without the figures in memory the
page says that the dashboard is held back.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from safelight.report.successive import (
    dashboard_shape,
    gated_counts,
    publishing,
    read_snapshot,
    report_differences,
    small_differences,
    write_snapshot,
)
from safelight.store.hub import now_utc
from safelight.web.state import HubState


def publish(state: HubState) -> dict[str, Any]:
    """Compute the hub report and record it as the dashboard's published figures whatever the
    differences (an administrator's decision: ``safelight dashboard publish``)."""
    return Dashboard(state).get(force=True)


class Dashboard:
    """The hub report (disclosure-controlled indicators), cached per data version and for
    ``dashboard_cache_seconds``; each chart is drawn on its first request and cached with it
    (matplotlib is slow and not thread-safe, so one chart is drawn at a time)."""

    def __init__(self, state: HubState) -> None:
        self.state = state
        self._lock = threading.RLock()
        self._cached: tuple[int, float, dict[str, Any]] | None = None

    def cached(self) -> dict[str, Any] | None:
        """The current report if it is cached and fresh (no waiting: for the event loop)."""
        c = self._cached
        if (c is None or c[0] != self.state.version
                or time.monotonic() - c[1] > self.state.settings.dashboard_cache_seconds):
            return None
        return c[2]

    def get(self, *, force: bool = False) -> dict[str, Any]:
        """The figures on show: the report of the current data when it may replace the figures
        published before (see the module docstring; ``force`` publishes it regardless), else
        the earlier figures with a note."""
        ttl = self.state.settings.dashboard_cache_seconds
        with self._lock:
            c = self._cached
            if (force or c is None or c[0] != self.state.version
                    or time.monotonic() - c[1] > ttl):
                version = self.state.version
                self._cached = (version, time.monotonic(),
                                self._gate(self._compute(), c[2] if c else None, force))
            return self._cached[2]

    def _gate(self, fresh: dict[str, Any], shown: dict[str, Any] | None,
              force: bool) -> dict[str, Any]:
        """``fresh`` if it may be published (and record it), else what stays on show."""
        if fresh["empty"] is not None:
            return fresh
        threshold = self.state.settings.report_threshold
        counts = gated_counts(list(fresh["_indicators"].values()), fresh["limitations"])
        with publishing(self.state.path):  # a report hub run checks and records after us
            before = read_snapshot(self.state.path)
            held = not force and (
                (before is not None and (before[1] != threshold
                                         or small_differences(before[0], counts, threshold) > 0))
                or bool(report_differences(self.state.path, counts,
                                           dashboard_shape(counts, threshold))))
            if not held:
                write_snapshot(self.state.path, counts, fresh["generated_at"], threshold)
        if not held:
            return fresh
        note = (f"Held back: the data changed since these figures were published by fewer than "
                f"{threshold} people in some count, which would show who arrived or left. The "
                f"dashboard is updated when later data make every change 0 or at least "
                f"{threshold}, or when an administrator publishes it (safelight dashboard "
                f"publish).")
        if shown is None or shown.get("empty") is not None:
            return {"empty": note, "held_back": note, "indicators": [], "record": None,
                    "charts": {}, "_indicators": {}, "_fragments": {}}
        if shown.get("held_back") != note:  # the page and the JSON document say so
            record = dict(shown["record"])
            record["held_back"] = note
            shown = {k: v for k, v in shown.items() if k != "_json"}
            shown.update(held_back=note, record=record, _fragments={})
        return shown

    def chart(self, indicator_id: str) -> str | None:
        """The SVG chart of an indicator (``None`` if it has none)."""
        from safelight.report.charts import render_chart

        with self._lock:
            d = self.get()
            if indicator_id not in d["charts"]:
                ind = d["_indicators"].get(indicator_id)
                if ind is None:
                    return None
                with tempfile.TemporaryDirectory() as tmp:
                    d["charts"][indicator_id] = render_chart(ind, Path(tmp), "hub")
            return d["charts"][indicator_id]

    def _compute(self) -> dict[str, Any]:
        from safelight.report.charts import CHARTS
        from safelight.report.hub import hub_report
        from safelight.report.model import ReportError, ReportSettings
        from safelight.report.render import display_rows, report_record
        from safelight.report.sources import Source
        from safelight.standard.geography import load_unodc_regions

        settings = ReportSettings(threshold=self.state.settings.report_threshold)
        regions = load_unodc_regions(settings.region_table)
        prov = {"input": "hub", "input_kind": "hub (web dashboard)",  # no server path shown
                "generated_at": now_utc().isoformat(timespec="seconds")}
        with self.state.read() as con:
            cur = con.cursor()  # its own connection: the report registers tables on it
            try:
                rep = hub_report(Source(cur, prov, regions), settings)
            except ReportError as exc:
                return {"empty": str(exc), "held_back": None, "indicators": [], "record": None,
                        "charts": {}, "_indicators": {}, "_fragments": {}}
            finally:
                cur.close()
        indicators = [{"id": ind.id, "title": ind.title, "definition": ind.definition,
                       "denominator": ind.denominator, "keys": ind.key_names,
                       "notes": ind.notes, "headline": ind.headline,
                       "rows": display_rows(ind, settings.threshold),
                       "chart": ind.chart in CHARTS} for ind in rep.indicators]
        return {"empty": None, "held_back": None, "title": rep.title, "limitations": rep.limitations,
                "counting_unit": rep.counting_unit, "indicators": indicators,
                "record": report_record(rep), "charts": {},
                "_indicators": {ind.id: ind for ind in rep.indicators}, "_fragments": {},
                "generated_at": prov["generated_at"]}
