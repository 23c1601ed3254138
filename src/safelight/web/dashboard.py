"""The dashboard: the report stage's hub report, computed once per data version and served from
memory (tables, the JSON document, rendered page fragments and charts drawn on first request).
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from safelight.store.hub import now_utc
from safelight.web.state import HubState


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

    def get(self) -> dict[str, Any]:
        ttl = self.state.settings.dashboard_cache_seconds
        with self._lock:
            c = self._cached
            if c is None or c[0] != self.state.version or time.monotonic() - c[1] > ttl:
                version = self.state.version
                self._cached = (version, time.monotonic(), self._compute())
            return self._cached[2]

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
        prov = {"input": str(self.state.path), "input_kind": "hub (web dashboard)",
                "generated_at": now_utc().isoformat(timespec="seconds")}
        with self.state.read() as con:
            cur = con.cursor()  # its own connection: the report registers tables on it
            try:
                rep = hub_report(Source(cur, prov, regions), settings)
            except ReportError as exc:
                return {"empty": str(exc), "indicators": [], "record": None, "charts": {},
                        "_indicators": {}, "_fragments": {}}
            finally:
                cur.close()
        indicators = [{"id": ind.id, "title": ind.title, "definition": ind.definition,
                       "denominator": ind.denominator, "keys": ind.key_names,
                       "notes": ind.notes, "headline": ind.headline,
                       "rows": display_rows(ind, settings.threshold),
                       "chart": ind.chart in CHARTS} for ind in rep.indicators]
        return {"empty": None, "title": rep.title, "limitations": rep.limitations,
                "counting_unit": rep.counting_unit, "indicators": indicators,
                "record": report_record(rep), "charts": {},
                "_indicators": {ind.id: ind for ind in rep.indicators}, "_fragments": {},
                "generated_at": prov["generated_at"]}
