"""Public domains: the category lists a differentially private release may use.

Contract: a differentially private release never reads its category lists from the sensitive
table (a value that occurs once would otherwise be published by its mere presence — the
pitfall of tools that take the domain from the data). Every column gets a *public* list of
values, from the case standard or from a file the operator writes:

* :func:`standard_domain` knows CTDC's columns (the legacy Global Dataset names, as in
  ``bench_ctdc7.csv`` / ``bench_ctdc10.csv``): value lists from the standard's ``ctdc-legacy``
  crosswalk (raw spellings), countries from :mod:`safelight.standard.geography` (every ISO 3166
  alpha-2 code plus CTDC's unknown-country tokens), years from a declared range, yes/no flags;
* :meth:`Domain.from_json` reads ``{"column": ["value", ...], ...}``.

:func:`restrict` recodes a table onto a domain: values outside it become *missing* (counted, so
the operator can see it; the count is never part of a release).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from safelight.release.combos import CombinationCounts, Subset, decode_keys, multipliers
from safelight.release.errors import ReleaseError
from safelight.release.table import CategoricalTable
from safelight.standard.crosswalk import normalise_key

log = logging.getLogger("safelight.release.domain")

#: First and last year a registration year may take in the built-in domain (public).
YEARS = (2000, 2030)
_YES_NO = ("yes", "no")
#: CTDC's unknown-country tokens as they appear in the benchmark tables (``"0"`` is written
#: ``"unknown0"`` there, see ``../shared/data/ctdc/SOURCE.md``).
_UNKNOWN_COUNTRY = ("unknown0", "ZZ", "00")

# column name (case-folded) -> (crosswalk field, spelling filter) | special kind
_CTDC_COLUMNS: dict[str, tuple[str, str | None]] = {
    "datasource": ("data_source_type", None),
    "gender": ("gender", None),
    "agebroad": ("age_band", r"^\d+(--\d+|\+)$"),
    "agecategories": ("age_band", r"^Age "),
    "majoritystatus": ("majority_status", None),
    "majoritystatusatexploit": ("majority_status_at_exploitation", None),
    "exploittype": ("types_of_exploitation", None),
    "labor_type": ("labour_sectors", None),
    "recruitercategory": ("recruiter_relationship", None),
    "recruiterrelationship": ("recruiter_relationship", None),
}
_COUNTRY_COLUMNS = {"citizenship", "countryofexploitation"}
_YEAR_COLUMNS = {"yearofregistration"}
_FLAG_PREFIX = ("is", "typeoflabour", "typeofsex", "meansofcontrol", "recruiterrelation")
#: trafficking_cleaned.csv's ControlCategory: the analyst's five published groups of CTDC's
#: means-of-control flags (gh-mrmoore/Human-Trafficking-Analysis); a schema fact, not data.
_CONTROL_GROUPS = ("Financial", "Physical", "Survival", "Threats", "Other")


@dataclass(frozen=True)
class Domain:
    """Per column, the public list of values (order kept; duplicates dropped)."""

    values: dict[str, tuple[str, ...]]
    source: str

    def for_columns(self, columns: tuple[str, ...] | list[str]) -> Domain:
        missing = [c for c in columns if c not in self.values]
        if missing:
            raise ReleaseError(
                f"no public domain for column(s) {', '.join(missing)} ({self.source}); write a "
                "domain file {\"column\": [\"value\", ...]} and pass it with --domain")
        return Domain({c: self.values[c] for c in columns}, self.source)

    def to_dict(self) -> dict[str, list[str]]:
        return {c: list(v) for c, v in self.values.items()}

    @classmethod
    def from_json(cls, path: str | Path) -> Domain:
        p = Path(path)
        try:
            doc = json.loads(p.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ReleaseError(f"{p}: cannot read the domain file ({exc}); give a JSON object "
                               "{\"column\": [\"value\", ...]}") from None
        if not isinstance(doc, dict) or not all(isinstance(v, list) for v in doc.values()):
            raise ReleaseError(f"{p}: a domain file is a JSON object of lists of values")
        return cls({str(c): _dedupe(str(x) for x in v if str(x) != "")
                    for c, v in doc.items()}, f"file {p}")


def _dedupe(values) -> tuple[str, ...]:
    """Distinct values, first spelling of each (matching ignores case and blanks)."""
    seen: dict[str, str] = {}
    for v in values:
        seen.setdefault(normalise_key(v), v)
    return tuple(seen.values())


@cache
def _crosswalk_keys() -> dict[str, tuple[str, ...]]:
    """Raw spellings of the ``ctdc-legacy`` crosswalk (the loader keeps only folded keys)."""
    text = resources.files("safelight.standard").joinpath(
        "crosswalks/ctdc-legacy.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    return {f: tuple(str(k) for k in m if str(k) != "-99")
            for f, m in (doc.get("values") or {}).items()}


@cache
def _country_codes() -> tuple[str, ...]:
    from safelight.standard.geography import countries

    return tuple(c.alpha2 for c in countries()) + _UNKNOWN_COUNTRY


def standard_domain(columns: tuple[str, ...] | list[str]) -> Domain:
    """The built-in public domain of CTDC's columns (see the module docstring).

    :raises ReleaseError: a column the standard does not know (write a domain file).
    """
    keys = _crosswalk_keys()
    out: dict[str, tuple[str, ...]] = {}
    unknown = []
    for c in columns:
        low = c.casefold()
        if low in _COUNTRY_COLUMNS:
            out[c] = _country_codes()
        elif low in _YEAR_COLUMNS:
            out[c] = tuple(str(y) for y in range(YEARS[0], YEARS[1] + 1))
        elif low == "controlcategory":
            out[c] = _CONTROL_GROUPS
        elif low in _CTDC_COLUMNS:
            fld, pattern = _CTDC_COLUMNS[low]
            vals = keys.get(fld, ())
            if pattern:
                vals = tuple(v for v in vals if re.search(pattern, v))
            out[c] = _dedupe(vals)
        elif low.startswith(_FLAG_PREFIX):
            out[c] = _YES_NO
        else:
            unknown.append(c)
    if unknown:
        raise ReleaseError(
            f"the standard has no public value list for column(s) {', '.join(unknown)}; write "
            "a domain file {\"column\": [\"value\", ...]} (from your code book, never from the "
            "data) and pass it with --domain")
    return Domain(out, "safelight.standard (ctdc-legacy crosswalk, ISO 3166, years "
                  f"{YEARS[0]}-{YEARS[1]})")


def restrict(table: CategoricalTable, domain: Domain) -> tuple[CategoricalTable, int]:
    """Recode ``table`` so that its value lists are exactly the domain's (sorted); values
    outside the domain become missing (matching ignores case and blanks; the domain's spelling
    is kept, so a release never shows the data's spelling of a value). Returns the table and the number of values dropped."""
    domain = domain.for_columns(table.columns)
    values: list[tuple[str, ...]] = []
    codes = np.zeros_like(table.codes)
    dropped = 0
    for j, c in enumerate(table.columns):
        vals = tuple(sorted(domain.values[c]))
        index = {normalise_key(v): i + 1 for i, v in enumerate(vals)}
        lookup = np.array([0] + [index.get(normalise_key(v), 0) for v in table.values[j]],
                          np.int32)
        col = lookup[table.codes[:, j]]
        dropped += int(np.sum((col == 0) & (table.codes[:, j] != 0)))
        codes[:, j] = col
        values.append(vals)
    if dropped:
        log.warning("%d values lie outside the public domain and were treated as missing",
                    dropped)
    return CategoricalTable(table.columns, tuple(values), codes), dropped


def translate(counts: CombinationCounts, src: CategoricalTable,
              dst: CategoricalTable) -> CombinationCounts:
    """Re-key combination counts from ``src``'s value lists to ``dst``'s (same columns;
    values match ignoring case and blanks); combinations with a value ``dst`` does not know are dropped (they cannot be true ones)."""
    maps = []
    for j in range(src.n_columns):
        index = {normalise_key(v): i + 1 for i, v in enumerate(dst.values[j])}
        maps.append(np.array([0] + [index.get(normalise_key(v), -1) for v in src.values[j]],
                             np.int64))
    tables: dict[Subset, tuple[np.ndarray, np.ndarray]] = {}
    for s, (keys, cnt) in counts.tables.items():
        codes = decode_keys(keys, src.radix, s).astype(np.int64)
        for i, j in enumerate(s):
            codes[:, i] = maps[j][codes[:, i]]
        ok = np.all(codes > 0, axis=1)
        k2 = codes[ok] @ multipliers(dst.radix, s)
        order = np.argsort(k2)
        tables[s] = (k2[order], cnt[ok][order])
    return CombinationCounts(dst.radix, counts.max_length, tables)


__all__ = ["YEARS", "Domain", "restrict", "standard_domain", "translate"]
