"""Report: indicators, charts and an offline HTML report — every published number
disclosure-controlled and traceable.

In: a hub (``cases`` for the case-record report, ``series`` for UNODC GLOTIP data) or the GLOTIP
export file itself (ingested into a temporary hub by the ingest stage). Out: ``report.html``
(self-contained, no network), ``report.json`` (every indicator value with its definition,
denominator, filters, SQL, provenance and settings), ``tables/*.csv``, ``charts/*.svg|png``.

Guarantees:

* every count passes :mod:`safelight.report.disclosure` (small cells and the cells that would
  reveal them are suppressed) before it is written; a suppressed value is never written;
* every indicator states its denominator rule and the filters and query that produced it, and
  every output names the input file's SHA-256, the contribution, the software version and the
  settings;
* GLOTIP ``"<5"`` counts are carried as bounds (1..4), never as 0 or 5;
* the hub report counts persons after linkage (records joined by ``persons``; see
  :mod:`safelight.report.units` for how a person's attributes are chosen), and falls back to
  case records — saying so in every output — when the hub has no linkage run;
* victims from conflict-affected countries use a versioned, cited, replaceable list
  (:mod:`safelight.report.conflict`); a year without a list is not computed.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Exports are loaded on first use, so that `safelight --help` (which imports the report CLI)
# does not pay for matplotlib.
_EXPORTS = {
    "Estimate": "model", "Indicator": "model", "Report": "model", "ReportError": "model",
    "ReportSettings": "model", "glotip_report": "glotip", "hub_report": "hub",
    "write_report": "render", "glotip_source": "sources", "hub_source": "sources",
    "load_conflict_list": "conflict", "counting_unit": "units",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"safelight.report.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'safelight.report' has no attribute {name!r}")
