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

:func:`restrict` recodes a table onto a domain: values outside it become *missing* (counted per
column, so the operator can see it; the counts are never part of a release). The standard's
domain also reads CTDC's code-book spellings (:data:`FLAG_SPELLINGS`, ``-99`` = missing, a
citizenship of ``0`` = unknown). :func:`public_table` is the DP commands' form of it: it warns
with the count per column and **refuses** a column that would lose more than
:data:`MAX_OUT_OF_DOMAIN` of its values (a release of such a column would publish counts made
up by the noise alone, and its evaluation, against the restricted table, would not show it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from safelight.errors import InputFileError
from safelight.release.combos import CombinationCounts, Subset, decode_keys, multipliers
from safelight.release.errors import ReleaseUsageError
from safelight.release.table import CategoricalTable
from safelight.standard.crosswalk import normalise_key

log = logging.getLogger("safelight.release.domain")

#: First year a registration year may take in the built-in domains (public); the last is the
#: current year (:func:`years`).
FIRST_YEAR = 2000
_YES_NO = ("yes", "no")
#: CTDC's code-book spellings of yes/no flags ("1"/"0"; "1.0"/"0.0" after a pandas round trip;
#: true/false in re-exports), ``ctdc-legacy`` crosswalk notes; "-99" is CTDC's missing code.
FLAG_SPELLINGS = {"1": "yes", "1.0": "yes", "true": "yes", "0": "no", "0.0": "no",
                  "false": "no", "-99": ""}
#: Raw spellings of CTDC country columns: "0" is the data dictionary's "00 Unknown Country"
#: after a numeric round trip (written "unknown0" in the benchmark tables), "-99" is missing.
_COUNTRY_SPELLINGS = {"0": "unknown0", "-99": ""}
#: A column losing more than this share of its non-missing values to the public domain is
#: refused by :func:`public_table` (the trial's raw CTDC flags lost all of them).
MAX_OUT_OF_DOMAIN = 0.5
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
_FLAG_PREFIX = ("typeoflabour", "typeofsex", "meansofcontrol", "recruiterrelation")
#: CTDC's yes/no flags: isForcedLabour, isAbduction, is_sexual_exploit ("island" is none);
#: the CTDC dictionary's flag names are known in any case (isforcedlabour, ISABDUCTION)
_IS_FLAG = re.compile(r"^is[A-Z]")
_CTDC_FLAGS = frozenset({
    "isforcedlabour", "issexualexploit", "isotherexploit", "issexandlabour",
    "isforcedmarriage", "isforcedmilitary", "isorganremoval", "isslaveryandpractices",
    "isabduction"})
#: trafficking_cleaned.csv's ControlCategory: the analyst's five published groups of CTDC's
#: means-of-control flags (gh-mrmoore/Human-Trafficking-Analysis); a schema fact, not data.
_CONTROL_GROUPS = ("Financial", "Physical", "Survival", "Threats", "Other")


@dataclass(frozen=True)
class Domain:
    """Per column, the public list of values (order kept; duplicates dropped), and public
    other spellings of them (``aliases``: column -> {folded spelling: value, or "" for a
    missing code})."""

    values: dict[str, tuple[str, ...]]
    source: str
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_columns(self, columns: tuple[str, ...] | list[str]) -> Domain:
        """:raises ReleaseUsageError: a column without a public list (exit code 2)."""
        missing = [c for c in columns if c not in self.values]
        if missing:
            raise ReleaseUsageError(
                f"no public domain for column(s) {', '.join(missing)} ({self.source}); write a "
                "domain file {\"column\": [\"value\", ...]} and pass it with --domain")
        return Domain({c: self.values[c] for c in columns}, self.source,
                      {c: self.aliases[c] for c in columns if c in self.aliases})

    def to_dict(self) -> dict[str, list[str]]:
        return {c: list(v) for c, v in self.values.items()}

    @classmethod
    def from_json(cls, path: str | Path) -> Domain:
        """The domain a file ``{"column": ["value", ...]}`` gives.

        :raises InputFileError: the file cannot be read or is not such an object (exit 3)."""
        p = Path(path)
        try:
            doc = json.loads(p.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(p, f"cannot read the domain file ({exc})",
                                 "give a JSON object {\"column\": [\"value\", ...]}") from None
        if not isinstance(doc, dict) or not all(isinstance(v, list) for v in doc.values()):
            raise InputFileError(p, "a domain file is a JSON object of lists of values",
                                 "give {\"column\": [\"value\", ...]}")
        return cls({str(c): _dedupe(str(x) for x in v if str(x) != "")
                    for c, v in doc.items()}, f"file {p}")


def _dedupe(values) -> tuple[str, ...]:
    """Distinct values, first spelling of each (matching ignores case and blanks)."""
    seen: dict[str, str] = {}
    for v in values:
        seen.setdefault(normalise_key(v), v)
    return tuple(seen.values())


@cache
def _crosswalk_keys() -> dict[str, dict[str, str | None]]:
    """Raw spellings of the ``ctdc-legacy`` crosswalk and the standard code each reads as (the
    loader keeps only folded keys)."""
    text = resources.files("safelight.standard").joinpath(
        "crosswalks/ctdc-legacy.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    return {f: {str(k): (None if v is None else str(v)) for k, v in m.items() if str(k) != "-99"}
            for f, m in (doc.get("values") or {}).items()}


def _one_spelling_per_code(raws: dict[str, str | None]) -> tuple[tuple[str, ...], dict[str, str]]:
    """The domain's values of a crosswalk field — one spelling per standard code, the shortest
    (``Forced Labor``, ``Peddling``, ``Transgender``) — and the other spellings as its aliases
    (folded): a DP release listed both ``Forced Labor`` and ``Forced labour and/or services``
    and split one category's people between the two labels (a trial), and each spelling nobody
    holds came out as a fabricated value. Spellings of no code (``Unknown``, ``Not
    Specified``) stay values of their own: the tables hold them as categories."""
    groups: dict[str, list[str]] = {}
    values: list[str] = []
    for raw, code in raws.items():
        if code is None:
            values.append(raw)
        elif code not in groups:
            groups[code] = [raw]
            values.append(raw)  # its place; the shortest spelling replaces it below
        else:
            groups[code].append(raw)
    aliases: dict[str, str] = {}
    chosen: dict[str, str] = {}
    for spellings in groups.values():
        best = min(spellings, key=len)
        chosen[spellings[0]] = best
        aliases.update({normalise_key(o): best for o in spellings if o != best})
    return tuple(chosen.get(v, v) for v in values), aliases


def years() -> tuple[int, int]:
    """First and last registration year of the built-in domains: :data:`FIRST_YEAR` to the
    current year (public; a later year is a future date, which ingest quarantines)."""
    return FIRST_YEAR, dt.date.today().year


@cache
def _country_codes() -> tuple[str, ...]:
    from safelight.standard.geography import countries

    return tuple(c.alpha2 for c in countries()) + _UNKNOWN_COUNTRY


def _alpha3_spellings() -> dict[str, str]:
    """ISO 3166 alpha-3 codes as other spellings of the domain's alpha-2 ones: a table exported
    from a hub holds the case standard's alpha-3 codes (a trial's was refused as mostly out of
    the domain); the release shows the alpha-2 spelling."""
    from safelight.standard.crosswalk import normalise_key
    from safelight.standard.geography import countries

    return {normalise_key(c.alpha3): c.alpha2 for c in countries()}


def standard_domain(columns: tuple[str, ...] | list[str]) -> Domain:
    """The built-in public domain of CTDC's columns (see the module docstring).

    :raises ReleaseUsageError: a column the standard does not know (write a domain file).
    """
    keys = _crosswalk_keys()
    out: dict[str, tuple[str, ...]] = {}
    aliases: dict[str, dict[str, str]] = {}
    unknown = []
    first, last = years()
    for c in columns:
        low = c.casefold()
        aliases[c] = {"-99": ""}
        if low.replace("_", "") in _COUNTRY_COLUMNS:  # CTDC's or the case standard's name
            out[c] = _country_codes()
            aliases[c] = {**_alpha3_spellings(), **_COUNTRY_SPELLINGS}
        elif low.replace("_", "") in _YEAR_COLUMNS:
            out[c] = tuple(str(y) for y in range(first, last + 1))
        elif low == "controlcategory":
            out[c] = _CONTROL_GROUPS
        elif low in _CTDC_COLUMNS:
            fld, pattern = _CTDC_COLUMNS[low]
            raws = {v: code for v, code in keys.get(fld, {}).items()
                    if not pattern or re.search(pattern, v)}
            vals, synonyms = _one_spelling_per_code(raws)
            out[c] = _dedupe(vals)
            aliases[c].update(synonyms)
        elif low.startswith(_FLAG_PREFIX) or _IS_FLAG.match(c) or low in _CTDC_FLAGS \
                or low.startswith("is_"):
            out[c] = _YES_NO
            aliases[c] = dict(FLAG_SPELLINGS)
        else:
            unknown.append(c)
    if unknown:
        raise ReleaseUsageError(
            f"the standard has no public value list for column(s) {', '.join(unknown)}; write "
            "a domain file {\"column\": [\"value\", ...]} (from your code book, never from the "
            "data) and pass it with --domain")
    return Domain(out, "safelight.standard (ctdc-legacy crosswalk, ISO 3166, years "
                  f"{first}-{last})", aliases)


def file_or_standard_domain(columns: tuple[str, ...] | list[str],
                            path: str | Path | None) -> Domain:
    """The public domain of ``columns``: the domain file's list where it gives one, the
    standard's (:func:`standard_domain`) for the others — a file need not repeat the CTDC
    columns' lists to add one column.

    :raises ReleaseUsageError: a column neither gives a list for."""
    if path is None:
        return standard_domain(columns)
    own = Domain.from_json(path)
    rest = [c for c in columns if c not in own.values]
    if not rest:
        return own
    std = standard_domain(rest)
    return Domain({**std.values, **own.values}, f"{own.source}; {std.source} for "
                  f"{', '.join(rest)}", dict(std.aliases))


def restrict(table: CategoricalTable, domain: Domain) -> tuple[CategoricalTable, dict[str, int]]:
    """Recode ``table`` so that its value lists are exactly the domain's (sorted); values
    outside the domain become missing (matching ignores case and blanks, and reads the
    domain's aliases; the domain's spelling is kept, so a release never shows the data's
    spelling of a value). Returns the table and, per column that lost any, the number of
    values dropped (an alias of missing, such as CTDC's ``-99``, is missing, not dropped)."""
    domain = domain.for_columns(table.columns)
    values: list[tuple[str, ...]] = []
    codes = np.zeros_like(table.codes)
    dropped: dict[str, int] = {}
    for j, c in enumerate(table.columns):
        vals = tuple(sorted(domain.values[c]))
        index = {normalise_key(v): i + 1 for i, v in enumerate(vals)}
        alias = {k: index.get(normalise_key(v), 0) for k, v in domain.aliases.get(c, {}).items()}
        known = {**alias, **index}
        lookup = np.array([0] + [known.get(normalise_key(v), -1) for v in table.values[j]],
                          np.int32)
        col = lookup[table.codes[:, j]]
        lost = int(np.sum(col < 0))
        if lost:
            dropped[c] = lost
        codes[:, j] = np.maximum(col, 0)
        values.append(vals)
    return CategoricalTable(table.columns, tuple(values), codes), dropped


def public_table(table: CategoricalTable, domain: Domain, *,
                 allow_out_of_domain: bool = False) -> tuple[CategoricalTable, dict[str, int]]:
    """:func:`restrict` for a DP release: warns with the number of values dropped per column
    (names and counts only, no value) and refuses a column that loses more than
    :data:`MAX_OUT_OF_DOMAIN` of its non-missing values, unless ``allow_out_of_domain``.

    :raises ReleaseUsageError: such a column (exit code 2), named with what to do.
    """
    public, dropped = restrict(table, domain)
    if not dropped:
        return public, dropped
    present = {c: int(np.sum(table.codes[:, j] != 0)) for j, c in enumerate(table.columns)}
    log.warning("values outside the public domain were treated as missing: %s",
                ", ".join(f"{c} {n} of {present[c]}" for c, n in dropped.items()))
    bad = [c for c, n in dropped.items() if n > MAX_OUT_OF_DOMAIN * present[c]]
    if bad and not allow_out_of_domain:
        raise ReleaseUsageError(
            f"column(s) {', '.join(f'{c} ({dropped[c]} of {present[c]} values)' for c in bad)} "
            f"lie mostly outside the public domain ({domain.source}): the release would "
            "publish counts made of noise. Recode the values to the domain's spelling, or pass "
            "a --domain file from your code book; --allow-out-of-domain releases them as "
            "missing anyway")
    return public, dropped


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


__all__ = ["FIRST_YEAR", "FLAG_SPELLINGS", "MAX_OUT_OF_DOMAIN", "Domain",
           "file_or_standard_domain", "public_table", "restrict", "standard_domain",
           "translate", "years"]
