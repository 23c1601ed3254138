"""Writing a computed :class:`~safelight.report.model.Report` to disk.

Outputs in ``out_dir`` (all offline — no CDN, no external request, charts inlined as SVG):

* ``report.html`` — the self-contained report: what the data can and cannot say, headlines, one
  section per indicator (chart, definition, denominator, filters, table, the SQL it ran);
* ``report.json`` — every indicator value with its traceability (provenance, filters, query,
  settings); suppressed cells appear with ``"suppressed": reason`` and no value;
* ``tables/<indicator>.csv`` — one table per indicator, same rule;
* ``charts/<indicator>.svg`` and ``.png``;
* ``settings.json`` — the settings of the run (versioned).

Contract: a value of a suppressed cell is never written to any output.
"""

from __future__ import annotations

import csv
import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from safelight.errors import UsageError
from safelight.report.charts import render_chart
from safelight.report.model import Cell, Estimate, Indicator, Report

log = logging.getLogger("safelight.report")


def _round(e: Estimate | None, digits: int) -> dict[str, float] | None:
    return None if e is None else e.as_dict(digits)


def cell_record(c: Cell) -> dict[str, Any]:
    """A cell as written to JSON/CSV: no value at all when it is suppressed."""
    out: dict[str, Any] = dict(c.key)
    if c.suppressed:
        out.update(count=None, share=None, units=c.units, suppressed=c.suppressed)
        return out
    out.update(count=_round(c.count, 2), share=_round(c.share, 6), units=c.units,
               suppressed=None)
    return out


def indicator_record(ind: Indicator) -> dict[str, Any]:
    return {
        "id": ind.id, "title": ind.title, "definition": ind.definition,
        "denominator": ind.denominator, "unit": ind.unit, "censoring": ind.censoring,
        "filters": ind.filters, "query": ind.query.strip(), "keys": ind.key_names,
        "headline": ind.headline, "notes": ind.notes,
        "cells": [cell_record(c) for c in ind.cells],
    }


def report_record(report: Report) -> dict[str, Any]:
    """The JSON document of a report (see the module docstring)."""
    return {
        "report": report.kind, "title": report.title, "counting_unit": report.counting_unit,
        "provenance": report.provenance, "settings": report.settings.as_dict(),
        "limitations": report.limitations,
        "indicators": [indicator_record(i) for i in report.indicators],
    }


def _write_csv(ind: Indicator, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*ind.key_names, "count_low", "count_central", "count_high", "share_low",
                    "share_central", "share_high", "units", "status"])
        for c in ind.cells:
            if c.suppressed:
                w.writerow([*c.key.values(), "", "", "", "", "", "", c.units or "",
                            f"suppressed ({c.suppressed})"])
                continue
            cnt = [f"{v:.1f}".removesuffix(".0") for v in (c.count.low, c.count.mid,
                                                           c.count.high)] if c.count else [""] * 3
            shr = [f"{v:.6f}" for v in (c.share.low, c.share.mid, c.share.high)] \
                if c.share else [""] * 3
            w.writerow([*c.key.values(), *cnt, *shr, c.units if c.units is not None else "",
                        "published"])


def fmt_count(e: Estimate | None) -> str:
    if e is None:
        return ""
    if e.is_exact:
        return f"{e.mid:,.0f}"
    return f"{e.mid:,.0f} ({e.low:,.0f}–{e.high:,.0f})"


def fmt_share(e: Estimate | None, signed: bool = False) -> str:
    if e is None:
        return ""
    sign = "+" if signed else ""
    if abs(e.high - e.low) < 0.0005:
        return f"{e.mid:{sign}.1%}"
    return f"{e.mid:{sign}.1%} ({e.low:{sign}.1%} to {e.high:{sign}.1%})"


def display_rows(ind: Indicator, threshold: int) -> list[dict[str, Any]]:
    """An indicator's cells as table rows for people to read (the HTML report and the web dashboard).

    A cell suppressed as small shows ``<threshold``, one suppressed for another reason (e.g.
    complementary suppression) shows ``×``; neither shows a share. The rows hold only what
    disclosure control already let through; they add nothing to ``ind.cells``.
    """
    rows = []
    signed = ind.id.startswith("change")
    for c in ind.cells:
        if c.suppressed == "small":
            shown = f"<{threshold}"
            rows.append({"key": list(c.key.values()), "count": shown, "share": "suppressed",
                         "units": c.units, "hidden": True})
        elif c.suppressed:
            rows.append({"key": list(c.key.values()), "count": "×", "share": "suppressed",
                         "units": c.units, "hidden": True})
        else:
            rows.append({"key": list(c.key.values()), "count": fmt_count(c.count),
                         "share": fmt_share(c.share, signed), "units": c.units,
                         "hidden": False})
    return rows


def _template():
    env = Environment(autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    text = resources.files("safelight.report").joinpath("templates/report.html.j2").read_text(
        "utf-8")
    return env.from_string(text)


#: what a report writes into its folder (``tables/*.csv`` and ``charts/*.svg`` besides)
_REPORT_FILES = ("report.html", "report.json", "settings.json")


#: what a report's folder may hold: its files, and its tables and charts (name → suffixes)
_REPORT_FOLDERS = {"tables": (".csv",), "charts": (".svg", ".png")}


def _foreign(out: Path) -> list[str]:
    """Entries of the folder ``out`` that no report writes."""
    found = []
    for entry in out.iterdir():
        if entry.is_file() and entry.name in _REPORT_FILES:
            continue
        if entry.is_dir() and entry.name in _REPORT_FOLDERS:
            found += [f"{entry.name}/{x.name}" for x in entry.iterdir()
                      if not (x.is_file() and x.suffix in _REPORT_FOLDERS[entry.name])]
            continue
        found.append(entry.name)
    return found


def check_report_folder(out_dir: str | Path) -> None:
    """Refuse (:class:`UsageError`) a report folder that holds anything a report does not
    write: the folder is what gets published, and whatever else is in it would go with the
    report. An earlier report's outputs are fine (they are replaced). Call before any work (a
    hub report is recorded before it is written)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the report")
    foreign = _foreign(out) if out.is_dir() else []
    if foreign:
        raise UsageError(f"--out {out} holds other files ({', '.join(sorted(foreign)[:5])}"
                         f"{', …' if len(foreign) > 5 else ''}): the folder is what gets "
                         "published — choose a new folder (or an earlier report's, which is "
                         "replaced)")


def _clear_earlier_report(out: Path) -> None:
    """Remove an earlier report's outputs from ``out`` (a new report of other indicators left
    the old charts and tables beside it, and the folder published a mix of two reports)."""
    for sub, suffixes in _REPORT_FOLDERS.items():
        if (out / sub).is_dir():
            for old in (out / sub).iterdir():
                if old.is_file() and old.suffix in suffixes:
                    old.unlink()
    for name in _REPORT_FILES:
        (out / name).unlink(missing_ok=True)


def write_report(report: Report, out_dir: str | Path) -> dict[str, Path]:
    """Write every output of ``report`` into ``out_dir`` (created), replacing an earlier
    report's there (see :func:`check_report_folder`); returns the main paths."""
    out = Path(out_dir)
    check_report_folder(out)
    _clear_earlier_report(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    charts_dir = out / "charts"
    sections = []
    for ind in report.indicators:
        _write_csv(ind, out / "tables" / f"{ind.id}.csv")
        svg = render_chart(ind, charts_dir, report.kind)
        sections.append({
            "ind": ind, "svg": Markup(svg) if svg else None,
            "rows": display_rows(ind, report.settings.threshold),
            "share_label": "change" if ind.id.startswith("change") else "share",
            "filters": json.dumps(ind.filters, ensure_ascii=False),
        })
    record = report_record(report)
    (out / "report.json").write_text(json.dumps(record, indent=2, ensure_ascii=False,
                                                default=str), "utf-8")
    report.settings.save(out / "settings.json")
    html = _template().render(report=report, sections=sections, prov=report.provenance,
                              settings=report.settings, headlines=headline_lines(report))
    (out / "report.html").write_text(html, "utf-8")
    log.info("report written to %s", out)
    return {"html": out / "report.html", "json": out / "report.json", "tables": out / "tables",
            "charts": charts_dir}


def headline_lines(report: Report) -> list[str]:
    """Plain-language headline sentences from the published (unsuppressed) values."""
    lines: list[str] = []
    for ind in report.indicators:
        for name, h in ind.headline.items():
            if not (isinstance(h, dict) and "value" in h):
                continue
            fmt = "+.1%" if "change" in name else ".1%"
            extra = []
            if abs(h["high"] - h["low"]) >= 0.0005:
                extra.append(f"bounds {h['low']:{fmt}} to {h['high']:{fmt}}")
            if h.get("countries") is not None:
                extra.append(f"{h['countries']} countries")
            tail = f" ({'; '.join(extra)})" if extra else ""
            lines.append(f"{ind.title} — {name.replace('_', ' ')}: {h['value']:{fmt}}{tail}")
    return lines
