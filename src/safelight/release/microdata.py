"""k-anonymous microdata: generalisation hierarchies from the standard plus local suppression.

Contract: :func:`anonymize` returns one row per input row, **in a random order** (a fresh
permutation from the operating system's entropy, never seeded by default: rows kept in the
input's order could be read back against their neighbours — a hub lists its cases by
contributor and record id, which carries the year, and on the trial's hub 6,324 of 6,341
blanked years were recovered that way), in which the quasi-identifier values are generalised
(a whole column to one level of its hierarchy) and, where that is not enough, blanked cell by
cell (local suppression), so that **every equivalence class** — rows with the same
quasi-identifier values, a blank counting as a value — **has at least k rows** or is the
class of fully blanked rows (which states nothing). As blanking only removes values, every
combination of quasi-identifier values that the release shows is shown by >= k rows; at level
0 (no generalisation) the same holds for its count in the sensitive data.

Hierarchies (:func:`hierarchy_for`) come from the case standard:

* ages: exact age -> the standard's age band -> minor/adult (a band column starts at the band);
* countries: ISO code -> UN M49 sub-region -> M49 region (``safelight.standard.geography``;
  CTDC's unknown-country tokens stay as they are);
* labour sectors: sector -> ISIC Rev.4 section (the standard's ``labour_sector`` code list);
* years: year -> five-year period;
* every column finally -> blank (the column is dropped).

The generalisation levels are chosen greedily to minimise the information loss — the mean,
over quasi-identifier cells, of ``level / (levels - 1)`` for a generalised cell and 1 for a
blanked one (the "loss metric" of Iyengar 2002) — local suppression included: from all level 0,
raise the one column whose next level lowers the loss most, until none does (the search
estimates the suppression with a quick per-cell blanking). At the chosen levels the rows of
classes under k are then *locally recoded* (:mod:`safelight.release.recoding`): each is
blanked to the sub-pattern of its values that keeps the most of the common 1..3-way
combinations (those shared by >= k people), so the counts an analyst tabulates from the
release stay close to the truth. The search works on distinct rows with weights, so its cost
depends on the number of distinct rows, not rows.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from safelight.release.errors import ReleaseUsageError, check_rows_for_k
from safelight.release.recoding import pattern_ids, recode
from safelight.release.table import CategoricalTable
from safelight.standard.codelists import codelist
from safelight.standard.crosswalk import load_crosswalk, normalise_key
from safelight.standard.identifiers import header_tokens

if TYPE_CHECKING:
    from safelight.release.evaluate import Evaluation

log = logging.getLogger("safelight.release.microdata")

SUPPRESSED = ""


@dataclass(frozen=True)
class Hierarchy:
    """Levels of one column: ``maps[l]`` sends each value of the column to its label at level
    ``l`` (level 0 is the value itself, the last level is blank)."""

    column: str
    names: tuple[str, ...]
    maps: tuple[dict[str, str], ...]

    @property
    def height(self) -> int:
        return len(self.maps) - 1


#: a whole number as a table writes it, also after a float round trip ("34", "34.0", " 2012.0")
_WHOLE = re.compile(r"\s*(\d+)(?:\.0+)?\s*")


def _whole(value: str, pattern: str) -> int | None:
    """The whole number ``value`` writes, if its digits match ``pattern``; else None."""
    m = _WHOLE.fullmatch(value)
    return int(m.group(1)) if m and re.fullmatch(pattern, m.group(1)) else None


def _age_band(value: str) -> str | None:
    cw = load_crosswalk("ctdc-legacy").lookup("age_band")
    band = cw.get(normalise_key(value))
    if band:
        return str(band)
    age = _whole(value, r"\d{1,3}")
    return None if age is None else codelist("age_band").band_of(age)


def _minor_adult(band: str) -> str:
    code = codelist("age_band").codes.get(band)
    hi = None if code is None else code.attributes.get("max")
    return "minor" if hi is not None and hi <= 17 else "adult"


def _country(value: str) -> tuple[str, str] | None:
    from safelight.standard.geography import country, resolve_country

    if len(value) not in (2, 3) or value.lower().startswith("unknown"):
        return None
    a3 = resolve_country(value)
    if a3 is None:
        return None
    c = country(a3)
    sub = c.m49_subregion or c.m49_region
    return (sub or value, c.m49_region or sub or value)


def _isic(value: str) -> str | None:
    code = load_crosswalk("ctdc-legacy").lookup("labour_sectors").get(normalise_key(value))
    if not code:
        return None
    entry = codelist("labour_sector").codes.get(str(code))
    sec = None if entry is None else entry.attributes.get("isic")
    return f"ISIC {sec}" if sec else "no ISIC section"


#: words of a header that name an age (age, victim_age, victimAge, ageAtExploitation, вік,
#: alter_bei_ausbeutung, edad; not agency)
_AGE_WORDS = frozenset({"age", "ages", "alter", "âge", "edad", "idade"})
#: beginnings of inflected age words (віку, віком, возраста, wieku, vârsta)
_AGE_STEMS = ("вік", "возраст", "wiek", "vârst", "varst")


def _is_age_column(column: str) -> bool:
    words = header_tokens(column)
    return bool(_AGE_WORDS & set(words)) or any(w.startswith(_AGE_STEMS) for w in words)


def hierarchy_for(column: str, values: tuple[str, ...]) -> Hierarchy:
    """The standard's hierarchy for ``column`` (recognised by its values), see the module
    docstring; a column the standard has no hierarchy for goes straight to blank."""
    blank = {v: SUPPRESSED for v in values}
    ident = {v: v for v in values}
    exact = any(_whole(v, r"\d{1,3}") is not None for v in values)
    # small numbers are ages only in a column named so: months_trafficked and household_size
    # are no ages (band values such as "18-20" or "48+" say so by themselves)
    if values and all(_age_band(v) for v in values) and (not exact or _is_age_column(column)):
        bands = {v: str(_age_band(v)) for v in values}
        mid = {v: _minor_adult(bands[v]) for v in values}
        if exact:
            return Hierarchy(column, ("age", "band", "minor/adult", "blank"),
                             (ident, bands, mid, blank))
        return Hierarchy(column, ("band", "minor/adult", "blank"), (ident, mid, blank))
    geo = {v: _country(v) for v in values}
    if values and re.search(r"citizen|countr|nationalit", column, re.I) and any(geo.values()):
        sub = {v: (g[0] if g else v) for v, g in geo.items()}
        reg = {v: (g[1] if g else v) for v, g in geo.items()}
        return Hierarchy(column, ("country", "sub-region", "region", "blank"),
                         (ident, sub, reg, blank))
    years = {v: _whole(v, r"(19|20)\d\d") for v in values}
    if values and all(y is not None for y in years.values()):
        per = {v: f"{y // 5 * 5}-{y // 5 * 5 + 4}" for v, y in years.items()}
        return Hierarchy(column, ("year", "5 years", "blank"), (ident, per, blank))
    sectors = {v: _isic(v) for v in values}
    if values and sum(s is not None for s in sectors.values()) >= max(1, len(values) // 2):
        sec = {v: (s or v) for v, s in sectors.items()}
        return Hierarchy(column, ("sector", "ISIC section", "blank"), (ident, sec, blank))
    return Hierarchy(column, ("value", "blank"), (ident, blank))


@dataclass
class Anonymized:
    """A k-anonymous release and what it cost."""

    table: CategoricalTable
    k: int
    quasi_identifiers: list[str]
    levels: dict[str, str]
    information_loss: float
    suppressed_cells: int
    suppressed_records: int
    search: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"levels": self.levels, "information_loss": round(self.information_loss, 4),
                "suppressed_cells": self.suppressed_cells,
                "suppressed_records": self.suppressed_records,
                "suppressed_records_share": round(
                    self.suppressed_records / max(self.table.n_rows, 1), 4)}


def _row_keys(codes: np.ndarray, radix: np.ndarray) -> np.ndarray:
    return pattern_ids([codes[:, j] for j in range(codes.shape[1])], radix)


def local_suppression(codes: np.ndarray, weight: np.ndarray, radix: np.ndarray,
                      k: int, length: int = 3, recoding: bool = True) -> np.ndarray:
    """Blank cells of distinct rows ``codes`` (with ``weight`` people each) until every class
    has >= k people or is fully blank.

    First (with ``recoding``) the local recoding of :mod:`safelight.release.recoding`: each
    row of a small class is blanked to the pattern that keeps most of the common
    1..``length``-way combinations. Then a pass that checks and repairs: each row of a class
    still under k (none after the recoding, unless it was over its budget) loses the value
    whose removal puts it in the largest class (the rarest value on ties), repeated. Last,
    values are put back where that keeps every class >= k."""
    original = codes
    recoded = recode(codes, weight, radix, k, length) if recoding else None
    codes = original.copy() if recoded is None else recoded
    for _ in range(codes.shape[1] + 1):
        keys = _row_keys(codes, radix)
        _, inv = np.unique(keys, return_inverse=True)
        size = np.bincount(inv, weights=weight)[inv]
        bad = (size < k) & np.any(codes != 0, axis=1)
        if not bad.any():
            break
        # blank the value whose removal puts the row in the largest class (ties: rarest)
        score = np.full(codes.shape, -np.inf)
        for j in range(codes.shape[1]):
            f = np.bincount(codes[:, j], weights=weight, minlength=int(radix[j]))
            alt = codes.copy()
            alt[:, j] = 0
            _, ainv = np.unique(_row_keys(alt, radix), return_inverse=True)
            asize = np.bincount(ainv, weights=weight)[ainv]
            score[:, j] = np.where(codes[:, j] != 0,
                                   asize - f[codes[:, j]] / (f.sum() + 1.0), -np.inf)
        col = np.argmax(score, axis=1)
        rows = np.flatnonzero(bad)
        codes[rows, col[rows]] = 0
    return _restore(codes, original, weight, radix, k)


def _restore(codes: np.ndarray, original: np.ndarray, weight: np.ndarray, radix: np.ndarray,
             k: int) -> np.ndarray:
    """Put blanked values back where the classes stay >= k: per column, rows of one class that
    share the blanked value move together when they are >= k people and leave >= k (or none)
    behind."""
    codes = codes.copy()
    for j in range(codes.shape[1]):
        cand = np.flatnonzero((codes[:, j] == 0) & (original[:, j] != 0))
        if len(cand) == 0:
            continue
        keys = _row_keys(codes, radix)
        uniq, inv = np.unique(keys, return_inverse=True)
        size = np.bincount(inv, weights=weight)
        groups: dict[tuple[int, int], list[int]] = {}
        for r in cand.tolist():
            groups.setdefault((int(inv[r]), int(original[r, j])), []).append(r)
        by_class: dict[int, list[tuple[float, list[int], int]]] = {}
        for (c, v), rows in groups.items():
            by_class.setdefault(c, []).append((float(weight[rows].sum()), rows, v))
        for c, gs in by_class.items():
            left = float(size[c])
            for w, rows, v in sorted(gs, key=lambda g: -g[0]):
                if w >= k and (left - w >= k or left - w == 0):
                    codes[rows, j] = v
                    left -= w
    return codes


def _generalise(table: CategoricalTable, qi: list[int], hier: list[Hierarchy],
                levels: list[int]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Distinct-row codes of ``table``'s QI columns at ``levels`` and their value lists."""
    codes = np.zeros((table.n_rows, len(qi)), np.int32)
    values = []
    for i, (j, h, lv) in enumerate(zip(qi, hier, levels, strict=True)):
        labels = [h.maps[lv][v] for v in table.values[j]]
        vals = tuple(sorted({x for x in labels if x}))
        index = {v: c + 1 for c, v in enumerate(vals)}
        lookup = np.array([0] + [index.get(x, 0) for x in labels], np.int32)
        codes[:, i] = lookup[table.codes[:, j]]
        values.append(vals)
    return codes, values


def anonymize(table: CategoricalTable, k: int = 11,
              quasi_identifiers: list[str] | None = None, *,
              shuffle_seed: int | None = None) -> Anonymized:
    """k-anonymous version of ``table`` (see the module docstring), rows in a random order.

    :param quasi_identifiers: the columns an attacker may know (default: all). Other columns
        are released unchanged and are not protected.
    :raises ReleaseUsageError: ``k < 2``, an unknown quasi-identifier, or fewer than ``k``
        rows (:func:`~safelight.release.errors.check_rows_for_k`).
    :param shuffle_seed: seeds the row permutation — for tests only: anyone who knows the seed
        and the row count can undo the permutation, so a release leaves it ``None``.
    """
    if k < 2:
        raise ReleaseUsageError(f"--k must be at least 2 (got {k})")
    check_rows_for_k(table, k)
    names = list(quasi_identifiers or table.columns)
    unknown = [c for c in names if c not in table.columns]
    if unknown:
        raise ReleaseUsageError(f"--quasi-identifiers: no column(s) {', '.join(unknown)}; "
                                f"columns are {', '.join(table.columns)}")
    qi = [table.columns.index(c) for c in names]
    hier = [hierarchy_for(table.columns[j], table.values[j]) for j in qi]
    # distinct rows with weights: the search never looks at more than that
    distinct, inv, weight = np.unique(table.codes[:, qi], axis=0, return_inverse=True,
                                      return_counts=True)
    inv = inv.ravel()
    small = table.with_codes(np.zeros((len(distinct), table.n_columns), np.int32))
    small.codes[:, qi] = distinct
    present = float(np.sum((distinct != 0) * weight[:, None]))

    def run(levels: list[int], recoding: bool = False
            ) -> tuple[float, np.ndarray, list[tuple[str, ...]]]:
        codes, values = _generalise(small, qi, hier, levels)
        radix = np.array([len(v) + 1 for v in values], np.int64)
        out = local_suppression(codes, weight.astype(float), radix, k, recoding=recoding)
        had = distinct != 0
        gen_loss = np.array([lv / h.height for lv, h in zip(levels, hier, strict=True)])
        cell_loss = np.where(out != 0, gen_loss[None, :], 1.0) * had
        return float(np.sum(cell_loss * weight[:, None]) / max(present, 1.0)), out, values

    levels = [0] * len(qi)
    best, codes, values = run(levels)
    search = [{"levels": list(levels), "loss": round(best, 4)}]
    # climb one level at a time toward the least loss, over plateaus too (exact ages all
    # blanked, bands all blanked, minor/adult all kept: stopping at the first step that did not
    # gain blanked all 24 rows of such a table), and keep the best levels seen
    step = list(levels)
    while True:
        trials = []
        for i, h in enumerate(hier):
            if step[i] < h.height - 1:  # the last level (blank) is local suppression's job
                cand = step.copy()
                cand[i] += 1
                trials.append((run(cand), cand))
        if not trials:
            break
        (loss, c2, v2), step = min(trials, key=lambda t: t[0][0])
        search.append({"levels": list(step), "loss": round(loss, 4)})
        if loss < best - 1e-9:
            best, codes, values, levels = loss, c2, v2, step
        elif loss > best + 1e-9:
            break  # worse than the best: more generalisation will not win it back
    # the search ranks levels with the quick blanking; the release recodes at the chosen ones
    best, codes, values = run(levels, recoding=True)
    search.append({"levels": list(levels), "loss": round(best, 4), "recoded": True})
    # back to one row per input row: QI columns generalised + suppressed, others unchanged
    out_codes = table.codes.copy()
    out_values = list(table.values)
    for i, j in enumerate(qi):
        out_codes[:, j] = codes[inv, i]
        out_values[j] = values[i]
    had = table.codes[:, qi] != 0
    sup_cells = int(np.sum(had & (out_codes[:, qi] == 0)))
    sup_records = int(np.sum(np.all(out_codes[:, qi] == 0, axis=1) & had.any(axis=1)))
    # the input's order would let neighbouring rows tell the blanked values (module docstring)
    order = np.random.default_rng(shuffle_seed).permutation(table.n_rows)
    rel = CategoricalTable(table.columns, tuple(out_values), out_codes[order])
    lv_names = {table.columns[j]: h.names[lv] for j, h, lv in zip(qi, hier, levels, strict=True)}
    log.info("k-anonymity (k=%d): levels %s, information loss %.3f, %d cells blanked",
             k, lv_names, best, sup_cells)
    return Anonymized(rel, k, names, lv_names, best, sup_cells, sup_records, search)


def microdata_leak_warning(ev: Evaluation, unprotected: list[str] | tuple[str, ...] = ()
                           ) -> tuple[str, ...]:
    """The warnings for PUBLISH.txt and the console of a microdata release: the evaluation
    found leaked combinations (possible when ``--quasi-identifiers`` leaves columns out: they
    are released unchanged), and — whatever it found, since it looks at combinations of up to
    3 values only — the ``unprotected`` columns, released as they are, whose values beside a
    quasi-identifier class may describe fewer than k people; ``()`` when neither."""
    from safelight.release.evaluate import k_leak_warning

    out = k_leak_warning(ev, "the quasi-identifiers do not cover every column an attacker "
                             "may know", "release again with those columns in "
                             "--quasi-identifiers (or without the option: all columns)")
    if unprotected and not out:
        out = (f"column(s) {', '.join(unprotected)} are not quasi-identifiers: they are "
               "released as they are, and a row's values in them beside its quasi-identifiers "
               "may describe fewer than k people (k-anonymity protects the quasi-identifiers' "
               "classes only; the evaluation checks combinations of up to 3 values). Publish "
               "only if no one can know those columns of a person; else release without "
               "--quasi-identifiers (all columns).",)
    return out


def evaluation_view(release: CategoricalTable, sensitive: CategoricalTable) -> CategoricalTable:
    """The release in ``sensitive``'s value lists: generalised labels (which are no value of
    the sensitive table) become missing, so the evaluation compares like with like."""
    from safelight.release.domain import Domain, restrict

    dom = Domain({c: sensitive.values[j] for j, c in enumerate(sensitive.columns)}, "sensitive")
    view, _ = restrict(release, dom)
    return view


__all__ = ["Anonymized", "Hierarchy", "anonymize", "evaluation_view", "hierarchy_for",
           "local_suppression", "microdata_leak_warning"]
