"""Evaluation of a release against the sensitive table: utility and leakage, side by side.

Used by every release method and by ``bench/release``. For each combination length
``1..max_length`` (combinations never contain a missing value):

* ``mean_relative_error`` — mean of ``|released - true| / true`` over the *common* combinations,
  those with a true count ``>= k`` (a combination the release does not show counts as 0, error 1);
* ``lost`` — share of common combinations the release does not show (suppressed or not generated);
* ``fabricated`` — released combinations that do not occur in the sensitive data at all;
* ``leaked`` — released combinations whose true count is between 1 and ``k - 1``.

A differentially private release is evaluated against the table *restricted to its public
domain* (what it measured): ``values_outside_domain`` says, per column, how many values that
restriction made missing — true values the evaluation does not see.

Over all lengths: ``leaked_records`` — sensitive records that carry a leaked combination (people
a release exposes), ``leaked_release_rows`` — rows of released microdata that carry one.

Contract: the evaluation only reads; it never changes the release. Its figures describe the
*sensitive* data and must stay with the operator unless the operator decides otherwise.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safelight.release.combos import CombinationCounts, Subset, rows_containing, subsets
from safelight.release.settings import DO_NOT_PUBLISH
from safelight.release.table import CategoricalTable


@dataclass
class LengthReport:
    """Figures for combinations of one length."""

    length: int
    common: int = 0
    mean_relative_error: float = 0.0
    lost: int = 0
    lost_share: float = 0.0
    released: int = 0
    fabricated: int = 0
    fabricated_share: float = 0.0
    leaked: int = 0
    leaked_share: float = 0.0


@dataclass
class Evaluation:
    """The evaluation of one release (see the module docstring)."""

    k: int
    max_length: int
    sensitive_rows: int
    released_rows: int | None
    by_length: list[LengthReport] = field(default_factory=list)
    leaked_records: int = 0
    leaked_records_share: float = 0.0
    leaked_release_rows: int | None = None
    leaked_release_rows_share: float | None = None
    values_outside_domain: dict[str, int] = field(default_factory=dict)

    def errors(self) -> list[float]:
        return [r.mean_relative_error for r in self.by_length]

    def total(self, name: str) -> int:
        return int(sum(getattr(r, name) for r in self.by_length))

    def lost_share(self) -> float:
        common = self.total("common")
        return self.total("lost") / common if common else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lost_share"] = self.lost_share()
        d["fabricated"] = self.total("fabricated")
        d["leaked"] = self.total("leaked")
        d["released_combinations"] = self.total("released")
        return d


#: share of released combinations absent from the data over which a DP release is said to be
#: mostly noise (:func:`dp_release_warnings`)
FABRICATED_WARN = 0.5


def k_leak_warning(ev: Evaluation, cause: str, fix: str) -> tuple[str, ...]:
    """The warning for PUBLISH.txt and the console of a k-method release (aggregates,
    k-synthetic, microdata) whose evaluation found released combinations that describe 1..k-1
    people — ``cause`` says why the method let them through, ``fix`` what to release instead;
    ``()`` when it found none."""
    leaked = ev.total("leaked")
    if not leaked:
        return ()
    rows = (f", carried by {ev.leaked_release_rows} released rows" if ev.leaked_release_rows
            else "")
    return (f"the evaluation found {leaked} released combinations of up to {ev.max_length} "
            f"values that describe fewer than k = {ev.k} people{rows}: {cause}. "
            f"{DO_NOT_PUBLISH} this file; {fix}.",)


def dp_release_warnings(ev: Evaluation, k_floor: int | None) -> tuple[str, ...]:
    """The warnings for PUBLISH.txt and the console of a differentially private release whose
    evaluation found released combinations that describe 1..k-1 people (the (ε, δ) guarantee
    covers them, but a k floor holds for the noisy estimates, not the true counts — a reader
    of "every count is >= k" must not take it for CTDC's rule), or mostly combinations that do
    not occur in the data (the noise dominates: a column of many values, or one mostly
    missing); ``()`` when neither."""
    out = []
    leaked = ev.total("leaked")
    if leaked:
        floor = (f"Every released count is >= k = {k_floor}, but that floor holds for the "
                 "noisy estimates, not the true counts; " if k_floor else "")
        out.append(f"the evaluation found {leaked} released combinations that describe fewer "
                   f"than k = {ev.k} people in the data ({ev.leaked_records} records hold one). "
                   f"{floor}{'t' if floor else 'T'}he (epsilon, delta) guarantee is what "
                   "protects them. Where a published combination must describe k or more "
                   "people, publish k-aggregates or k-synthetic data instead.")
    released = ev.total("released")
    fabricated = ev.total("fabricated")
    if released and fabricated / released > FABRICATED_WARN:
        out.append(f"{fabricated} of the {released} released combinations "
                   f"({fabricated / released:.0%}) do not occur in the data: the noise "
                   "dominates this release (a column of many values, or one mostly missing?). "
                   "Release fewer columns, coarser values or at a larger epsilon.")
    return tuple(out)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, np.int64), np.empty(0, np.int64)


def evaluate(sensitive: CategoricalTable, released: CombinationCounts, k: int,
             max_length: int = 3, released_rows: CategoricalTable | None = None,
             true_counts: CombinationCounts | None = None) -> Evaluation:
    """Compare released combination counts with the sensitive table.

    :param released: the counts the release shows (for microdata: the counts of its rows).
    :param released_rows: released microdata, to count rows that carry a leaked combination.
    :param true_counts: precomputed counts of ``sensitive`` (lengths ``>= max_length``).
    """
    radix = sensitive.radix
    truth = true_counts or CombinationCounts.of(sensitive, max_length)
    ev = Evaluation(k, max_length, sensitive.n_rows,
                    None if released_rows is None else released_rows.n_rows)
    reports = {n: LengthReport(n) for n in range(1, max_length + 1)}
    err_sum = dict.fromkeys(reports, 0.0)
    exposed = np.zeros(sensitive.n_rows, dtype=bool)
    exposed_rel = None if released_rows is None else np.zeros(released_rows.n_rows, dtype=bool)
    for s in subsets(sensitive.n_columns, max_length):
        rep = reports[len(s)]
        t_keys, t_counts = truth.tables[s]
        r_keys, r_counts = released.tables.get(s, _empty())
        keep = r_counts > 0
        r_keys, r_counts = r_keys[keep], r_counts[keep]
        common = t_counts >= k
        rel_for_true = released.lookup(s, t_keys[common])
        tc = t_counts[common]
        rep.common += int(common.sum())
        err_sum[len(s)] += float(np.sum(np.abs(rel_for_true - tc) / tc))
        rep.lost += int(np.sum(rel_for_true == 0))
        true_for_rel = truth.lookup(s, r_keys)
        rep.released += len(r_keys)
        rep.fabricated += int(np.sum(true_for_rel == 0))
        leaked_mask = (true_for_rel > 0) & (true_for_rel < k)
        rep.leaked += int(leaked_mask.sum())
        if leaked_mask.any():
            leaked_keys = r_keys[leaked_mask]
            exposed |= rows_containing(sensitive.codes, radix, s, leaked_keys)
            if exposed_rel is not None and released_rows is not None:
                exposed_rel |= rows_containing(released_rows.codes, radix, s, leaked_keys)
    for n, rep in reports.items():
        rep.mean_relative_error = err_sum[n] / rep.common if rep.common else 0.0
        rep.lost_share = rep.lost / rep.common if rep.common else 0.0
        rep.fabricated_share = rep.fabricated / rep.released if rep.released else 0.0
        rep.leaked_share = rep.leaked / rep.released if rep.released else 0.0
        ev.by_length.append(rep)
    ev.leaked_records = int(exposed.sum())
    ev.leaked_records_share = ev.leaked_records / max(sensitive.n_rows, 1)
    if exposed_rel is not None:
        ev.leaked_release_rows = int(exposed_rel.sum())
        ev.leaked_release_rows_share = ev.leaked_release_rows / max(len(exposed_rel), 1)
    return ev


def rows_evaluation_length(length: int, n_columns: int) -> int:
    """The longest combination a release of *rows* is evaluated on: its reporting length, at
    least 3 (the issue's 1-, 2- and 3-way figures), at most the number of columns (a length
    over them would report an error of 0 over no combination)."""
    return min(max(length, 3), n_columns)


def counts_of_rows(rows: CategoricalTable, max_length: int) -> CombinationCounts:
    """Released counts of microdata: the combination counts of its rows."""
    return CombinationCounts.of(rows, max_length)


def write_evaluation(ev: Evaluation, out_dir: Path, title: str,
                     settings: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``evaluation.json`` and ``evaluation.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = ev.to_dict()
    js = out_dir / "evaluation.json"
    js.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    rows = "".join(
        f"<tr><td>{r.length}</td><td>{r.common}</td><td>{r.mean_relative_error:.4f}</td>"
        f"<td>{r.lost} ({r.lost_share:.1%})</td><td>{r.released}</td>"
        f"<td>{r.fabricated} ({r.fabricated_share:.1%})</td>"
        f"<td>{r.leaked} ({r.leaked_share:.1%})</td></tr>" for r in ev.by_length)
    leak_rows = ("" if ev.leaked_release_rows is None else
                 f"<li>released rows carrying a leaked combination: {ev.leaked_release_rows} "
                 f"({(ev.leaked_release_rows_share or 0):.2%})</li>")
    outside = ("" if not ev.values_outside_domain else
               "<li>values outside the public domain, treated as missing (not evaluated): "
               + html.escape(", ".join(f"{c} {n}" for c, n in ev.values_outside_domain.items()))
               + "</li>")
    shown = (settings or {}).get("params", {}).get("small_cells_shown_nonempty") or 0
    if shown:  # k-aggregates' intervals: not released, yet shown to hold someone (a trial
        # read "leaked 0" as "nothing about small combinations can be learnt")
        outside += (f"<li>combinations of 1 to k&minus;1 people not released but shown to exist "
                    f"(a released count whose other parts are all unreleased implies at least "
                    f"one person in them; never narrowed to fewer than (k&minus;1)/2 + 1 "
                    f"values): {shown}. &ldquo;Leaked&rdquo; counts released combinations "
                    f"only.</li>")
    settings_html = ("" if settings is None else "<h2>Settings</h2><pre>"
                     + html.escape(json.dumps(settings, indent=2)) + "</pre>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:.3rem .6rem;text-align:right}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>Evaluation against the sensitive table ({ev.sensitive_rows} rows, k = {ev.k}). Error and loss
are over combinations with at least k people; leakage counts released combinations that describe
1 to k&minus;1 people. This page describes the sensitive data: keep it with the operator.</p>
<table><tr><th>length</th><th>common (&ge; k)</th><th>mean relative error</th><th>lost</th>
<th>released</th><th>fabricated</th><th>leaked (&lt; k)</th></tr>{rows}</table>
<ul><li>released rows: {ev.released_rows if ev.released_rows is not None else "—"}</li>
<li>sensitive records carrying a leaked combination: {ev.leaked_records}
({ev.leaked_records_share:.2%})</li>{leak_rows}{outside}</ul>
{settings_html}
</body></html>
"""
    ht = out_dir / "evaluation.html"
    ht.write_text(page, "utf-8")
    return js, ht


__all__ = ["FABRICATED_WARN", "Evaluation", "LengthReport", "counts_of_rows",
           "dp_release_warnings", "evaluate", "rows_evaluation_length", "write_evaluation",
           "Subset"]
