"""The dashboard: the report stage's hub report, computed once per data version and served from
memory (tables, the JSON document, rendered page fragments and charts drawn on first request).

**Published snapshots, not live figures.** Two dashboards a few records apart differ by those
records: read before and after one consent withdrawal (or one upload), every cell the person is
in drops (or grows) by exactly 1 and their profile can be read off the difference. So a newly
computed report replaces the one on show only when no count published in both differs by
``1 .. threshold - 1`` (:func:`small_differences`); otherwise the earlier figures stay on show,
with a note, until later data makes every difference 0 or at least the threshold, or an
administrator publishes the current figures (``safelight dashboard publish HUB``). The counts
last published are kept beside the hub (``<hub>.dashboard.json``: published counts only, the
same numbers the page showed), so a restart does not publish around the rule: without the
figures in memory the page says that the dashboard is held back.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from safelight.store.hub import now_utc
from safelight.web.state import HubState


def snapshot_path(hub_path: str | Path) -> Path:
    """Where the counts of the dashboard last published are kept: beside the hub."""
    return Path(str(hub_path) + ".dashboard.json")


def published_counts(indicators: list[Any]) -> dict[str, float]:
    """Every published (not suppressed) count of a report's indicators, by indicator and key."""
    return {json.dumps([ind.id, [str(v) for v in c.key.values()]], ensure_ascii=False):
            float(c.count.mid)
            for ind in indicators for c in ind.cells
            if not c.suppressed and c.count is not None}


def small_differences(before: dict[str, float], after: dict[str, float], threshold: int) -> int:
    """How many counts published in both ``before`` and ``after`` differ by more than 0 and less
    than ``threshold`` — each would show fewer than ``threshold`` people arriving or leaving."""
    return sum(1 for k, v in after.items()
               if k in before and 0 < abs(v - before[k]) < threshold)


def write_snapshot(hub_path: str | Path, counts: dict[str, float], generated_at: str) -> None:
    """Record ``counts`` as the dashboard's published figures (atomic replace)."""
    path = snapshot_path(hub_path)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps({"generated_at": generated_at, "counts": counts},
                              ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_snapshot(hub_path: str | Path) -> dict[str, float] | None:
    """The counts last published, or ``None`` when nothing was published yet."""
    path = snapshot_path(hub_path)
    if not path.exists():
        return None
    return {k: float(v) for k, v in json.loads(path.read_text(encoding="utf-8"))["counts"].items()}


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
        counts = published_counts(fresh["_indicators"].values())
        before = read_snapshot(self.state.path)
        small = 0 if before is None or force else small_differences(
            before, counts, self.state.settings.report_threshold)
        if not small:
            write_snapshot(self.state.path, counts, fresh["generated_at"])
            return fresh
        note = (f"Held back: the data changed since these figures were published, and "
                f"{small} counts would change by fewer than "
                f"{self.state.settings.report_threshold} people, which would show who arrived "
                f"or left. The dashboard is updated when later data makes every change 0 or at "
                f"least {self.state.settings.report_threshold}, or when an administrator "
                f"publishes it (safelight dashboard publish).")
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
