"""Conflict-affected countries by year: a versioned, cited, replaceable list, and the indicator
"victims originating from conflict-affected countries and their origin regions".

The list is a CSV (shipped: ``report/data/conflict_countries.csv``; a deployment passes its own
with ``--conflict-list`` / ``ReportSettings.conflict_table``). Leading ``#`` lines are comments;
one of them must read ``# list_version: <version>``, and one may read
``# complete_years: 2019-2023, 2025`` (years and ranges) to declare for which years the rows are
the *whole* list. Columns: ``iso3`` (ISO 3166-1 alpha-3), ``year`` (the calendar year the entry
applies to), ``list`` (which classification), ``category``, ``source_url``, ``retrieved`` (date
the source was read) and ``note``. Every row must cite its
source, and a country appears at most once a year. A year with no row has **no list**:
indicators skip it and say so — they never carry a list over to another year. A year with rows
that is not declared complete has a **partial** list: it is computed, and every output says that
its counts are lower bounds. A year declared complete must have rows.

:func:`load_conflict_list` validates the file (errors name the file, row and column) and returns a
:class:`ConflictList` with a fingerprint to record next to every output. :func:`conflict_cells`
turns per-(year, origin region) counts into disclosure-ready cells and lines; the GLOTIP and hub
indicators (``glotip.conflict_origin``, ``hub.conflict_origin``) compute the counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from safelight.errors import InputFileError
from safelight.report.model import Cell, Estimate, Indicator, Line, share
from safelight.standard.geography import country

SHIPPED = "safelight:report/data/conflict_countries.csv"
COLUMNS = ("iso3", "year", "list", "category", "source_url", "retrieved", "note")
NO_REGION = "(no UNODC region)"


@dataclass(frozen=True)
class ConflictList:
    """Conflict-affected countries per calendar year, with the citations behind them."""

    by_year: MappingProxyType  # year -> frozenset of alpha-3 codes
    citations: MappingProxyType  # year -> tuple of {list, source_url, retrieved}
    version: str
    source: str
    fingerprint: str
    complete_years: frozenset[int] = frozenset()  # years whose rows are the whole list

    def years(self) -> list[int]:
        return sorted(self.by_year)

    def partial_years(self) -> list[int]:
        """Years with a list that is not declared complete: their counts are lower bounds."""
        return sorted(set(self.by_year) - self.complete_years)

    def table(self) -> pa.Table:
        """``(iso3, year)`` rows, for joining in SQL."""
        pairs = [(c, y) for y, cs in sorted(self.by_year.items()) for c in sorted(cs)]
        return pa.table({"iso3": pa.array([p[0] for p in pairs], pa.string()),
                         "year": pa.array([p[1] for p in pairs], pa.int32())})

    def provenance(self) -> dict[str, Any]:
        return {"source": self.source, "list_version": self.version,
                "fingerprint": self.fingerprint,
                "complete_years": sorted(self.complete_years),
                "years": {str(y): {"countries": sorted(self.by_year[y]),
                                   "complete": y in self.complete_years,
                                   "citations": list(self.citations[y])}
                          for y in self.years()}}


def _years_spec(spec: str, source: str) -> frozenset[int]:
    """``"2019-2021, 2024"`` -> {2019, 2020, 2021, 2024}."""
    years: set[int] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        first, dash, last = part.partition("-")
        try:
            lo, hi = int(first), int(last) if dash else int(first)
        except ValueError:
            raise InputFileError(source, f"complete_years: {part!r} is not a year or a range",
                                 "write e.g. '# complete_years: 2019-2023, 2025'") from None
        if hi < lo:
            raise InputFileError(source, f"complete_years: range {part!r} runs backwards",
                                 "write the earlier year first")
        years.update(range(lo, hi + 1))
    return frozenset(years)


def _parse(text: str, source: str) -> ConflictList:
    lines = text.splitlines()
    version = None
    complete = ""
    body_start = 0
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = i
            break
        key, _, value = line.lstrip("#").partition(":")
        if key.strip() == "list_version" and value.strip():
            version = value.strip()
        elif key.strip() == "complete_years":
            complete = value
    else:
        body_start = len(lines)
    if version is None:
        raise InputFileError(source, "no '# list_version: ...' comment line",
                             "start the file with '# list_version: <date>.<n>'")
    reader = csv.DictReader(io.StringIO("\n".join(lines[body_start:])))
    missing = set(COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise InputFileError(source, f"missing column(s) {', '.join(sorted(missing))}",
                             f"the header must be {','.join(COLUMNS)}")
    complete_years = _years_spec(complete, source)
    by_year: dict[int, set[str]] = {}
    first_row: dict[tuple[str, int], int] = {}
    cites: dict[int, dict[tuple, dict[str, str]]] = {}
    for n, r in enumerate(reader, start=body_start + 2):
        iso3 = (r["iso3"] or "").strip().upper()
        try:
            country(iso3)
        except KeyError:
            raise InputFileError(source, f"row {n}, column iso3: {r['iso3']!r} is not a known "
                                 "alpha-3 code", "use ISO 3166-1 alpha-3 codes") from None
        try:
            year = int((r["year"] or "").strip())
        except ValueError:
            raise InputFileError(source, f"row {n}, column year: {r['year']!r} is not a year",
                                 "give the calendar year the entry applies to") from None
        for col in ("list", "source_url", "retrieved"):
            if not (r[col] or "").strip():
                raise InputFileError(source, f"row {n}, column {col}: empty",
                                     "every entry must cite its list, source URL and the date "
                                     "it was read")
        if (iso3, year) in first_row:
            raise InputFileError(source, f"row {n}: {iso3} in {year} is already listed in row "
                                 f"{first_row[iso3, year]}", "keep one row per country and year "
                                 "(name further sources in its note)")
        first_row[iso3, year] = n
        by_year.setdefault(year, set()).add(iso3)
        cite = {"list": r["list"].strip(), "source_url": r["source_url"].strip(),
                "retrieved": r["retrieved"].strip()}
        cites.setdefault(year, {})[tuple(cite.values())] = cite
    unlisted = sorted(complete_years - set(by_year))
    if unlisted:
        raise InputFileError(source, "complete_years names year(s) without any row: "
                             f"{', '.join(map(str, unlisted))}",
                             "add the year's rows or drop it from '# complete_years:'")
    return ConflictList(
        by_year=MappingProxyType({y: frozenset(c) for y, c in by_year.items()}),
        citations=MappingProxyType({y: tuple(c.values()) for y, c in cites.items()}),
        version=version, source=source,
        fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        complete_years=complete_years)


def load_conflict_list(path: str | Path | None = None) -> ConflictList:
    """The shipped list (``path=None``) or a deployment's own; see the module docstring.

    Raises :class:`safelight.errors.InputFileError` when the file cannot be read or is invalid.
    """
    if path is None:
        text = resources.files("safelight.report").joinpath(
            "data/conflict_countries.csv").read_text("utf-8")
        return _parse(text, SHIPPED)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(p, f"cannot read the conflict list ({exc})", "check the path") from exc
    return _parse(text, str(p))


def conflict_cells(ind: Indicator, counts: dict[int, dict[str, tuple[Estimate, int | None]]],
                   known: dict[int, tuple[Estimate, int | None]], conflict: ConflictList) -> None:
    """Fill ``ind`` (keys ``year``, ``origin_region``) from ``counts[year][region] = (count,
    units)`` and the year's victims of known origin ``known[year] = (count, units)``: one cell
    per region (share of the year's conflict-origin victims), a ``total`` cell (share of victims
    of known origin; its units are those of the denominator) and the additivity line. Years of
    the data without a list, and years whose list is partial, are named in a note."""
    zero = Estimate.exact(0)
    for year in sorted(known):
        if year not in conflict.by_year:
            continue
        regions = counts.get(year, {})
        total = sum((v[0] for v in regions.values()), zero)
        for region, (est, n) in sorted(regions.items()):
            ind.cells.append(Cell({"year": year, "origin_region": region}, est,
                                  share(est, total), n))
        base, base_units = known[year]
        # conflict-origin victims are a subset of the known-origin cells: share() derives the
        # bounds of the rest by subtracting bound from bound, which holds for disjoint sums
        ind.cells.append(Cell({"year": year, "origin_region": "total"}, total,
                              share(total, base), base_units))
        ind.lines.append(Line((year, "total"), [(year, r) for r in regions]))
    no_list = sorted(set(known) - set(conflict.by_year))
    partial = [y for y in conflict.partial_years() if y in known]
    ind.notes.append(f"Conflict list {conflict.source} (version {conflict.version}, "
                     f"fingerprint {conflict.fingerprint}) covers the years "
                     f"{', '.join(map(str, conflict.years())) or 'none'}; years of the data "
                     f"without a list, not computed: {', '.join(map(str, no_list)) or 'none'}; "
                     "years computed with a partial list (counts and shares are lower bounds): "
                     f"{', '.join(map(str, partial)) or 'none'}.")
