"""``safelight release ...`` — the click group of the release stage (thin over its API).

Register it in ``safelight.cli`` with ``main.add_command(release)``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from safelight.cli_support import guarded
from safelight.errors import UsageError

log = logging.getLogger("safelight.release")


_run = guarded


def _prepare_out(out: Path, force: bool, names: list[str]) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    clash = [n for n in names if (out / n).exists()]
    if clash and not force:
        raise UsageError(f"{out} already holds {', '.join(clash)}; choose another --out or "
                         "add --force to replace them")
    out.mkdir(parents=True, exist_ok=True)


def _columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


@click.group("release", context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
def release() -> None:
    """Release safe statistics and data: k-aggregates and k-synthetic microdata.

    TABLE is a CSV (UTF-8, header row) or Parquet file of categorical columns; an empty
    field means missing. Missing is never part of a combination. Each command writes the
    release, settings.json (parameters, input sha256, software version) and evaluation.json /
    evaluation.html (utility and leakage against TABLE — keep those with the operator).
    """


_table = click.argument("table", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_out = click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
                    help="Folder for the release (created if needed).")
_k = click.option("--k", "k", default=11, show_default=True, type=click.IntRange(min=2),
                  help="No released combination describes 1..k-1 people.")
_cols = click.option("--columns", default=None,
                     help="Comma-separated columns to release (default: all).")
_force = click.option("--force", is_flag=True, help="Replace files already in --out.")


@release.command()
@_table
@_k
@click.option("--length", default=3, show_default=True, type=click.IntRange(min=1),
              help="Longest combination released (all 1..LENGTH-way counts).")
@_out
@click.option("--rounding", type=click.Choice(["none", "down", "nearest"]), default="none",
              show_default=True, help="Round released counts to multiples of --rounding-base.")
@click.option("--rounding-base", type=click.IntRange(min=1), default=None,
              help="Base of the rounding (default: k).")
@click.option("--no-audit", is_flag=True,
              help="Skip the exact linear differencing audit (greedy protection only).")
@_cols
@_force
@_run
def aggregates(table: Path, k: int, length: int, out: Path, rounding: str,
               rounding_base: int | None, no_audit: bool, columns: str | None,
               force: bool) -> None:
    """All 1..LENGTH-way combination counts of TABLE with small-cell suppression.

    Cells under k are suppressed; complementary cells are withheld so that no suppressed
    count can be recomputed from the released counts and the total. Writes aggregates.csv
    (one row per combination: every column, empty = not part of it; length; count).
    """
    from safelight.release.aggregates import release_aggregates, write_aggregates
    from safelight.release.evaluate import evaluate, write_evaluation
    from safelight.release.settings import ReleaseSettings, file_source
    from safelight.release.table import read_table

    _prepare_out(out, force, ["aggregates.csv", "settings.json", "evaluation.json"])
    t0 = time.perf_counter()
    data = read_table(table, _columns(columns))
    rel = release_aggregates(data, k, length, rounding=rounding, rounding_base=rounding_base,
                             audit=not no_audit)
    write_aggregates(rel, out / "aggregates.csv")
    sup = rel.suppression
    settings = ReleaseSettings("aggregates", k, length, file_source(table), {
        "columns": list(data.columns), "rows": data.n_rows, "missing": "not a value",
        "rounding": rounding, "rounding_base": rel.rounding_base, "audit": not no_audit,
        **rel.summary(),
        "audit_unaudited_cells": sup.audit_unaudited_cells if sup else None,
        "seconds": round(time.perf_counter() - t0, 3)})
    settings.save(out / "settings.json")
    ev = evaluate(data, rel.counts, k, length)
    write_evaluation(ev, out, f"k-aggregates (k = {k}, length {length})", settings.to_dict())
    if sup is not None and sup.audit_unaudited_cells:
        click.echo(f"warning: {sup.audit_unaudited_cells} withheld cells could not be audited "
                   "against the exact linear attack (greedy protection only)", err=True)
    errs = " / ".join(f"{e:.3f}" for e in ev.errors())
    click.echo(f"released {rel.counts.n_combinations()} combinations of {data.n_rows} rows "
               f"({rel.primary} suppressed under k, {rel.secondary} withheld as complements); "
               f"mean relative error by length {errs}; {ev.lost_share():.1%} of common "
               f"combinations withheld; leaked {ev.total('leaked')} -> {out}")


@release.command()
@_table
@_k
@click.option("--length", default=4, show_default=True, type=click.IntRange(min=1),
              help="Reporting length: every combination of up to LENGTH values in the "
                   "synthetic rows occurs at least k times in TABLE.")
@click.option("--epsilon", type=float, default=None,
              help="Differentially private synthesis (not available yet).")
@click.option("--delta", type=float, default=None, help="With --epsilon (not available yet).")
@_out
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--iterations", default=8, show_default=True, type=click.IntRange(min=0),
              help="Calibration passes.")
@_cols
@_force
@_run
def synthetic(table: Path, k: int, length: int, epsilon: float | None, delta: float | None,
              out: Path, seed: int, iterations: int, columns: str | None, force: bool) -> None:
    """k-synthetic microdata: as many rows as TABLE, none of them a real record.

    Every combination of up to LENGTH values that occurs in synthetic.csv occurs at least k
    times in TABLE; the synthesiser only sees those counts. Writes synthetic.csv.
    """
    from safelight.release.evaluate import counts_of_rows, evaluate, write_evaluation
    from safelight.release.settings import ReleaseSettings, file_source
    from safelight.release.synthetic import KSynthesizer
    from safelight.release.table import read_table, write_csv

    if epsilon is not None or delta is not None:
        raise UsageError("differentially private synthesis (--epsilon/--delta) is not "
                         "available yet; use --k for k-synthetic data")
    _prepare_out(out, force, ["synthetic.csv", "settings.json", "evaluation.json"])
    t0 = time.perf_counter()
    data = read_table(table, _columns(columns))
    syn, report = KSynthesizer(k, length, iterations=iterations, seed=seed).fit_sample(data)
    write_csv(syn, out / "synthetic.csv")
    settings = ReleaseSettings("synthetic", k, length, file_source(table), {
        "columns": list(data.columns), "rows": data.n_rows, "missing": "not a value",
        "seed": seed, "iterations": report.iterations, "column_order": report.column_order,
        "reportable_combinations": report.reportable_combinations,
        "seeded_rows": report.seeded_rows,
        "calibration_error": [round(e, 4) for e in report.calibration_error],
        "seconds": round(time.perf_counter() - t0, 3)})
    settings.save(out / "settings.json")
    ev_len = max(length, 3)
    ev = evaluate(data, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
    write_evaluation(ev, out, f"k-synthetic data (k = {k}, length {length})", settings.to_dict())
    errs = " / ".join(f"{e:.3f}" for e in ev.errors())
    click.echo(f"synthesised {syn.n_rows} rows; mean relative error by length {errs}; "
               f"{ev.lost_share():.1%} of common combinations lost; fabricated "
               f"{ev.total('fabricated')}; leaked {ev.total('leaked')} -> {out}")


__all__ = ["release"]
