"""``safelight release ...`` — the click group of the release stage (thin over its API).

Register it in ``safelight.cli`` with ``main.add_command(release)``.

Differentially private commands (``dp-aggregates``, ``dp-synthetic``, ``synthetic --epsilon``)
take ``--hub HUB`` to charge the release to the hub's ledger: the budget is checked before the
data is measured and the release is recorded (with ε, δ, parameters and the output's sha256)
after it is written; a release over budget is refused before anything is measured.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from safelight.cli_support import FiniteFloat, guarded, shows_progress, work_complete
from safelight.errors import UsageError
from safelight.interrupts import deferred_interrupts
from safelight.release.settings import (
    WRITTEN_FILES,
    ReleaseSettings,
    folders_to_make,
    out_folder,
    partial_path,
    remove_made_folders,
)

log = logging.getLogger("safelight.release")


_run = guarded


def _prepare_out(out: Path, force: bool, inputs: tuple[Path | None, ...]) -> Path:
    """Create ``out`` and return it as the folder it names (:func:`out_folder`: the release
    writes there) — a path that cannot be made a folder is a usage error, before any work;
    a folder holding an earlier release is refused, or with ``force``
    emptied of that release's files (only the names safelight writes, so that a release of
    another method does not leave the old release file beside the new one).

    With ``force``, an input (TABLE, a --domain file; ``None`` = not given) inside ``out`` is
    refused before anything is removed: the release would clear or overwrite its own input
    (``release aggregates DIR/microdata.csv --out DIR --force``)."""
    out = out_folder(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    if force:
        folder = out.resolve()
        for inp in (p for p in inputs if p is not None):
            if inp.absolute().parent.resolve().is_relative_to(folder) or \
                    inp.resolve().is_relative_to(folder):
                raise UsageError(f"{inp} is an input inside --out {out}, which --force would "
                                 "clear; choose another --out (or move the input out of it)")
    clash = [n for n in WRITTEN_FILES if (out / n).exists()]
    if clash and not force:
        raise UsageError(f"{out} already holds {', '.join(clash)}; choose another --out or "
                         "add --force to replace them")
    made = folders_to_make(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file on the way (--out precious.csv/rel), no permission, ...
        remove_made_folders(made)  # the parents made before the failure
        raise UsageError(f"--out {out} cannot be created ({exc.strerror or exc}); give a "
                         "folder that can be") from None
    _leftovers(out)
    ctx = click.get_current_context(silent=True)
    if ctx is None:  # outside a click command: the earlier files go at once
        for n in clash:
            (out / n).unlink()
        return out
    aside: list[Path] = []  # the hidden folder holding the earlier release, once made

    def settle() -> None:
        """When the command ends: a release that did not complete (an error, Ctrl-C, SIGTERM,
        a refused ledger record) leaves none of its files — a half-written folder could be
        published — and the earlier release, if one was set aside, is put back; a folder this
        run created (with the parents it created) and left empty is removed. Ctrl-C and
        SIGTERM are held off until it is done, and then dropped: the command is ending (a
        second Ctrl-C exited 1)."""
        with deferred_interrupts(deliver=False):
            if not ctx.meta.get(_FINISHED):
                for n in WRITTEN_FILES:  # what the failed run wrote (the earlier files are aside)
                    (out / n).unlink(missing_ok=True)
                    partial_path(out / n).unlink(missing_ok=True)
                if aside:
                    try:
                        for moved in list(aside[0].iterdir()):
                            moved.rename(out / moved.name)
                    except OSError as exc:
                        click.echo(f"the earlier release could not be put back ({exc}); its "
                                   f"files are in {aside[0]}", err=True)
                        return
                    click.echo(f"the earlier release in {out} was kept", err=True)
            if aside:
                shutil.rmtree(aside[0], ignore_errors=True)
            remove_made_folders(made)

    # registered before anything moves: a stop while the earlier files are set aside puts
    # them back too
    ctx.call_on_close(settle)
    if clash:
        with deferred_interrupts():
            aside.append(Path(tempfile.mkdtemp(prefix=".replaced-", dir=out)))
            for n in clash:
                (out / n).rename(aside[0] / n)
    return out


def _leftovers(out: Path) -> None:
    """What a release killed outright (SIGKILL, power loss: no clean-up ran) left in ``out``:
    its hidden partial release files, never complete, are removed; an earlier release it had
    set aside (``--force``) is the user's, so the console says where it is."""
    for n in WRITTEN_FILES:
        partial_path(out / n).unlink(missing_ok=True)
    for aside in sorted(out.glob(".replaced-*")):
        if aside.is_dir() and any(aside.iterdir()):
            click.echo(f"note: {aside} holds an earlier release that a stopped --force run set "
                       "aside; move its files back if you want them", err=True)


#: ``ctx.meta`` flag :func:`_completes` sets: the command ended without an error — its release
#: written, and recorded in a ledger where one was asked for
_FINISHED = "safelight.release.finished"
#: ``ctx.meta`` flag :func:`_finish` sets when a warning says not to publish the release
_UNSAFE = "safelight.release.do_not_publish"
#: exit code of a release command whose release was written but must not be published (its
#: warnings say why): a script that publishes on success must not publish it (k-release trial,
#: 2026-12-01: such releases ended with 0)
EXIT_DO_NOT_PUBLISH = 9


def _completes(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a release command complete when it returns (see :func:`_prepare_out`)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta[_FINISHED] = True
            if ctx.meta.get(_UNSAFE):
                ctx.exit(EXIT_DO_NOT_PUBLISH)
        return result
    return wrapper


def _write_partial(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write the release file ``path`` by ``write(partial)`` into its hidden partial file
    (:func:`~safelight.release.settings.partial_path`) and return that;
    :func:`_record_and_publish` puts it in place. Called once the release's settings,
    PUBLISH.txt and evaluation are written, and the rename comes after its ledger record: a
    run killed at any point (even by SIGKILL, which no clean-up sees) never leaves a release
    file without them, a cut-short one, or one the ledger does not hold."""
    partial = partial_path(path)
    try:
        write(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial


def _record_and_publish(partial: Path, path: Path,
                        record: Callable[[], int | None] = lambda: None) -> int | None:
    """Record the release (``record``: its ledger entry, returning its id; nothing without a
    ledger) and rename its partial file (:func:`_write_partial`) into place, with Ctrl-C and
    SIGTERM held back: a stop between the two would leave a record whose file never appeared,
    or with ``--force`` put the earlier release back at the path just recorded. From here the
    command counts as complete (:func:`_completes`): a later stop leaves the release as it is
    and says so (:func:`~safelight.cli_support.work_complete`), exiting as the command would
    have."""
    with deferred_interrupts():
        rid = record()
        os.replace(partial, path)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta[_FINISHED] = True
            work_complete(f"{path} is written" + ("" if rid is None else
                                                  f" and recorded as ledger release #{rid}"),
                          EXIT_DO_NOT_PUBLISH if ctx.meta.get(_UNSAFE) else 0)
    return rid


def _fit_length(length: int, columns: int) -> int:
    """``length`` clamped to the number of columns, with a note when it is."""
    if length <= columns:
        return length
    click.echo(f"note: --length {length} is more than the {columns} columns; using {columns}",
               err=True)
    return columns


def _columns(value: str | None, option: str = "--columns") -> list[str] | None:
    """The comma-separated column names of an option, each once (``gender,gender`` was a
    traceback); None when the option is not given.

    :raises UsageError: the option is given but names no column (``--columns ""``)."""
    if value is None:
        return None
    names = list(dict.fromkeys(c.strip() for c in value.split(",") if c.strip()))
    if not names:
        raise UsageError(f"{option} {value!r} names no column; leave it out to use every "
                         "column, or list them comma-separated")
    return names


def _read(table: Path, columns: str | None, allow_distinct: bool):
    """TABLE read for a release (:func:`~safelight.release.table.read_table`) and the source
    its ``settings.json`` records: the file (:func:`~safelight.release.settings.file_source`),
    when some were left out, the rows without statistics consent, and whether nearly distinct
    columns were let through (``--allow-distinct-columns``: a risk taken, on the record)."""
    from safelight.release.settings import file_source
    from safelight.release.table import read_table

    report: dict[str, int] = {}
    data = read_table(table, _columns(columns), allow_distinct=allow_distinct, report=report)
    source = file_source(table)
    source["content_sha256"] = report["content_sha256"]
    if report.get("rows_without_statistics_consent"):
        source["rows_without_statistics_consent"] = report["rows_without_statistics_consent"]
    if allow_distinct:
        source["allow_distinct_columns"] = True
    return data, source


@click.group("release", context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
def release() -> None:
    """Release safe statistics and data: k-aggregates, k-synthetic and k-anonymous microdata,
    differentially private aggregates and synthetic data (with a k floor), with a ledger.

    TABLE is a CSV (UTF-8, header row) or Parquet file of categorical columns; an empty
    field means missing. Missing is never part of a combination. Each command writes the
    release, settings.json (parameters, input sha256, software version) and evaluation.json /
    evaluation.html (utility and leakage against TABLE — keep those with the operator).
    """


#: what every TABLE command's --help says of how TABLE is read
_TABLE_EPILOG = ("Consent: a consent or consent_statistics column (or Згода, Zgoda, "
                 "Einwilligung, … in other languages) is read with the standard's "
                 "consent words (full, statistics_only, none, withdrawn, their labels, yes/no); "
                 "rows that do not allow statistics, or are blank, are left out (a warning "
                 "counts them), another word refuses TABLE, and the column is never released. "
                 "Identifiers: a column named as a personal identifier (the standard's identity "
                 "fields — names, birth date, address, locality, postcode, phone, e-mail, "
                 "document — and common headers for them in several languages, any case) is "
                 "refused, and so is one whose values are nearly all distinct unless "
                 "--allow-distinct-columns; --columns leaves columns out before that check.")
_table = click.argument("table", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_out = click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
                    help="Folder for the release (created if needed).")
_k = click.option("--k", "k", default=11, show_default=True, type=click.IntRange(min=2),
                  help="No released combination describes 1..k-1 people.")
_K_FLOOR = ("The k floor: no released combination count (a noisy estimate) is under k; the "
            "total is the noisy row count, as measured. A released "
            "combination may still hold fewer than k people in truth (the evaluation's "
            "'leaked' counts them).")
_k_dp = click.option("--k", "k", default=11, show_default=True, type=click.IntRange(min=2),
                     help=_K_FLOOR)
_cols = click.option("--columns", default=None,
                     help="Comma-separated columns to release (default: all).")
_distinct = click.option("--allow-distinct-columns", "allow_distinct", is_flag=True,
                         help="Release a column whose values are nearly all distinct (refused "
                              "otherwise: an id, name, date or phone column).")
_force = click.option("--force", is_flag=True, help="Replace files an earlier release wrote in --out "
                      "(refused when TABLE lies in that folder).")
_epsilon = click.option("--epsilon", required=True, type=FiniteFloat(min=0, min_open=True),
                        help="Privacy loss epsilon of this release.")
_delta = click.option("--delta", default=1e-6, show_default=True,
                      type=FiniteFloat(0, 1, min_open=True, max_open=True),
                      help="Privacy loss delta (keep it well under 1/rows).")
_floor = click.option("--no-floor", is_flag=True,
                      help="Plain DP: release small counts too (no k floor).")
_domain = click.option("--domain", "domain_file", default=None,
                       type=click.Path(exists=True, dir_okay=False, path_type=Path),
                       help="JSON {column: [values]} of public value lists, for the columns "
                            "the standard has none for or to replace its list (the standard's "
                            "for the other CTDC columns).")
_ood = click.option("--allow-out-of-domain", is_flag=True,
                    help="Release although more than half of a column's values lie outside "
                         "the public domain (they are treated as missing; refused otherwise).")
_hub = click.option("--hub", "hub_path", default=None,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path),
                    help="Charge the release to this hub's ledger (budget checked first; "
                         "for synthetic, with --epsilon only).")
_dataset = click.option("--dataset", default=None,
                        help="Ledger name of the data (default: sha256 of TABLE).")


@release.command(epilog=_TABLE_EPILOG)
@_table
@_k
@click.option("--length", default=3, show_default=True, type=click.IntRange(min=1),
              help="Longest combination released (all 1..LENGTH-way counts).")
@_out
@click.option("--method", "method", type=click.Choice(["intervals", "suppress"]), default="intervals",
              show_default=True, help="intervals: every combination with >= k people, as an interval "
              "audited against interval differencing; suppress: exact counts with complementary "
              "suppression (see docs/release.md).")
@click.option("--rounding", type=click.Choice(["none", "down", "nearest"]), default="none",
              show_default=True, help="--method suppress: round released counts to multiples of "
              "--rounding-base.")
@click.option("--rounding-base", type=click.IntRange(min=1), default=None,
              help="Grid step: of the intervals (default ceil(k/2); --rounding does not "
              "apply to them), or of --rounding with --method suppress (default k).")
@click.option("--no-audit", is_flag=True,
              help="Skip the differencing audit (for comparisons only: small cells may be exposed).")
@_cols
@_distinct
@_force
@_run
@shows_progress
@_completes
def aggregates(table: Path, k: int, length: int, out: Path, method: str, rounding: str,
               rounding_base: int | None, no_audit: bool, columns: str | None,
               allow_distinct: bool, force: bool) -> None:
    """All 1..LENGTH-way combination counts of TABLE, with no combination under k shown.

    intervals (default): every combination with at least k people is published as an interval
    holding its count, widened until chained interval differencing pins no small cell.
    suppress: exact counts; complementary cells are withheld so that no suppressed count can be
    recomputed. Writes aggregates.csv (one row per combination: every column, empty = not part
    of it; length; count; with intervals also count_low and count_high). For successive releases
    of a growing table audited against each other, release from the hub
    (`safelight release hub`), whose ledger keeps the earlier intervals.
    """
    from safelight.release.aggregates import release_aggregates, write_aggregates
    from safelight.release.evaluate import DO_NOT_PUBLISH, evaluate, k_leak_warning
    from safelight.release.settings import ReleaseSettings

    out = _prepare_out(out, force, (table,))
    t0 = time.perf_counter()
    log.info("reading %s", table.name)
    data, source = _read(table, columns, allow_distinct)
    length = _fit_length(length, data.n_columns)
    if method == "intervals" and rounding != "none":
        raise click.UsageError("--rounding applies to --method suppress (intervals lie on a grid "
                               "of --rounding-base already)")
    if method == "suppress" and rounding == "none" and rounding_base is not None:
        raise click.UsageError("--rounding-base with --method suppress needs --rounding down or "
                               "nearest (the counts are exact otherwise)")
    rel = release_aggregates(data, k, length, method=method, rounding=rounding,
                             rounding_base=rounding_base, audit=not no_audit)
    sup = rel.suppression
    settings = ReleaseSettings("aggregates", k, length, source, {
        "columns": list(data.columns), "rows": data.n_rows, "missing": "not a value",
        "rounding": rounding, "rounding_base": rel.rounding_base, "audit": not no_audit,
        **rel.summary(),
        "audit_unaudited_cells": sup.audit_unaudited_cells if sup else None,
        "seconds": round(time.perf_counter() - t0, 3)})
    log.info("evaluating the release against the table")
    ev = evaluate(data, rel.counts, k, length)
    warnings = k_leak_warning(ev, "the counts were not audited", "release without --no-audit")
    if no_audit:
        warnings += ("the release was not audited against differencing (--no-audit): a small "
                     "combination may be shown to exist, or narrowed, by subtracting released "
                     f"intervals from a released total. {DO_NOT_PUBLISH} it; release without "
                     "--no-audit.",)
    _finish(out, settings, ev, f"k-aggregates (k = {k}, length {length})", warnings)
    written = _write_partial(out / "aggregates.csv", lambda p: write_aggregates(rel, p))
    _record_and_publish(written, out / "aggregates.csv")
    summary = rel.summary()
    if summary.get("small_cells_shown_nonempty") or summary.get("withheld_last_resort"):
        click.echo(f"note: {summary.get('small_cells_shown_nonempty') or 0} small combinations are "
                   "shown to exist by a released count whose other parts are all unreleased (none "
                   f"narrowed below {(k - 1) // 2 + 1} values); {summary.get('withheld_last_resort') or 0} "
                   "combinations withheld as a last resort", err=True)
    if sup is not None and sup.audit_unaudited_cells:
        click.echo(f"warning: {sup.audit_unaudited_cells} withheld cells could not be audited "
                   "against the exact linear attack (greedy protection only)", err=True)
    withheld = ("withheld as complements" if rel.intervals is None else
                "withheld (deferred for earlier releases, or as a last resort)")
    click.echo(f"released {rel.counts.n_combinations()} combinations of {data.n_rows} rows "
               f"({rel.primary} suppressed under k, {rel.secondary} {withheld}); "
               f"{_errors_text(ev)}; {ev.lost_share():.1%} of common "
               f"combinations withheld; leaked {ev.total('leaked')} -> {out}")


@release.command(epilog=_TABLE_EPILOG)
@_table
@click.option("--k", "k", default=11, show_default=True, type=click.IntRange(min=2),
              help="No released combination describes 1..k-1 people. With --epsilon: "
                   + _K_FLOOR)
@click.option("--length", default=None, type=click.IntRange(min=1),
              help="Reporting length: every combination of up to LENGTH values in the "
                   "synthetic rows occurs at least k times in TABLE (default 4; with "
                   "--epsilon as dp-synthetic's, default 3, at most 4).")
@click.option("--epsilon", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Differentially private synthesis at this epsilon: the same as "
                   "dp-synthetic, with its options below.")
@click.option("--delta", type=FiniteFloat(0, 1, min_open=True, max_open=True), default=None,
              help="With --epsilon (default 1e-6).")
@_out
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed.")
@click.option("--iterations", default=8, show_default=True, type=click.IntRange(min=0),
              help="Calibration passes.")
@click.option("--allow-out-of-domain", is_flag=True,
              help="With --epsilon: as dp-synthetic.")
@click.option("--no-floor", is_flag=True, help="With --epsilon: as dp-synthetic.")
@_domain
@_hub
@_dataset
@_cols
@_distinct
@_force
@_run
@shows_progress
@_completes
def synthetic(table: Path, k: int, length: int | None, epsilon: float | None,
              delta: float | None, out: Path, seed: int, iterations: int,
              allow_out_of_domain: bool, no_floor: bool, domain_file: Path | None,
              hub_path: Path | None, dataset: str | None, columns: str | None,
              allow_distinct: bool, force: bool) -> None:
    """k-synthetic microdata: as many rows as TABLE, drawn from its reportable combinations.

    Every combination of up to LENGTH values that occurs in synthetic.csv occurs at least k
    times in TABLE; the synthesiser only sees those counts. A synthetic row may equal a real
    record (a common one: most complete rows do) — never through a combination of up to
    LENGTH values held by fewer than k people. Writes synthetic.csv. With
    --epsilon: differentially private synthetic rows, exactly as `release dp-synthetic`.
    """
    from safelight.release.evaluate import (
        counts_of_rows,
        evaluate,
        k_leak_warning,
        rows_evaluation_length,
    )
    from safelight.release.settings import ReleaseSettings
    from safelight.release.synthetic import KSynthesizer
    from safelight.release.table import write_csv

    dp_only = {"--delta": delta is not None, "--allow-out-of-domain": allow_out_of_domain,
               "--no-floor": no_floor, "--domain": domain_file is not None,
               "--hub": hub_path is not None, "--dataset": dataset is not None}
    if epsilon is None and any(dp_only.values()):
        given = [o for o, on in dp_only.items() if on]
        raise UsageError(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} "
                         f"--epsilon ({'it is an option' if len(given) == 1 else 'they are options'} "
                         "of the differentially private synthesis)")
    if epsilon is not None:
        if length is not None and length > 4:
            raise UsageError(f"--length with --epsilon is at most 4 (got {length})")
        _dp_synthetic(table, epsilon, 1e-6 if delta is None else delta, k, no_floor, length,
                      out, seed, iterations, domain_file, hub_path, dataset, columns, force,
                      allow_out_of_domain, allow_distinct)
        return
    out = _prepare_out(out, force, (table,))
    t0 = time.perf_counter()
    data, source = _read(table, columns, allow_distinct)
    length = _fit_length(length or 4, data.n_columns)
    syn, report = KSynthesizer(k, length, iterations=iterations, seed=seed).fit_sample(data)
    settings = ReleaseSettings("synthetic", k, length, source, {
        "columns": list(data.columns), "rows": data.n_rows, "missing": "not a value",
        "seed": seed, "iterations": report.iterations, "column_order": report.column_order,
        "reportable_combinations": report.reportable_combinations,
        "seeded_rows": report.seeded_rows,
        "calibration_error": [round(e, 4) for e in report.calibration_error],
        "refine_swaps": report.refine_swaps,
        "refine_fit": list(report.refine_fit) if report.refine_fit else None,
        "seconds": round(time.perf_counter() - t0, 3)})
    ev_len = rows_evaluation_length(length, data.n_columns)
    ev = evaluate(data, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
    warnings = k_leak_warning(
        ev, f"the reporting length is {length}: only combinations of up to {length} values "
        "are held to k", "release with --length 3 or more")
    _finish(out, settings, ev, f"k-synthetic data (k = {k}, length {length})", warnings)
    written = _write_partial(out / "synthetic.csv", lambda p: write_csv(syn, p))
    _record_and_publish(written, out / "synthetic.csv")
    click.echo(f"synthesised {syn.n_rows} rows; {_errors_text(ev)}; "
               f"{ev.lost_share():.1%} of common combinations lost; fabricated "
               f"{ev.total('fabricated')}; leaked {ev.total('leaked')} -> {out}")




def _public(table: Path, columns: str | None, domain_file: Path | None,
            allow_out_of_domain: bool, allow_distinct: bool):
    """Read TABLE and restrict it to its public domain (refused when a column lies mostly
    outside it, :func:`~safelight.release.domain.public_table`)."""
    from safelight.release.domain import file_or_standard_domain, public_table

    data, source = _read(table, columns, allow_distinct)
    dom = file_or_standard_domain(data.columns, domain_file)
    public, dropped = public_table(data, dom, allow_out_of_domain=allow_out_of_domain)
    return public, dom.for_columns(data.columns), dropped, source


def _check_dataset(hub_path: Path | None, dataset: str | None) -> None:
    """``--dataset`` names a dataset in the ledger of ``--hub``: refused empty, or without
    ``--hub`` (it was ignored silently: a trial)."""
    if dataset is not None and not dataset.strip():
        raise UsageError("--dataset is empty; give the dataset's name in the hub's ledger, or "
                         "leave it out (the file's sha256 names it)")
    if dataset is not None and hub_path is None:
        raise UsageError(f"--dataset {dataset} names a dataset in a hub's ledger: give --hub "
                         "too, or leave --dataset out")


def _ledger_check(hub_path: Path | None, dataset: str | None, table: Path,
                  source: dict[str, Any], epsilon: float, delta: float):
    """Open ``hub_path``'s ledger and check the budget of the dataset this release of
    ``table`` (its ``source`` from :func:`_read`) is charged to: ``dataset``, or else the one
    a table of the same content was charged to before (its bytes may differ: line ends,
    quoting, row order — :func:`~safelight.release.table.content_fingerprint`), or else
    ``sha256:<sha256 of TABLE>``. A DP release of a table charged before under another name
    than ``dataset`` is refused (a second name would give it a second budget). Returns the ledger and the
    dataset name, or ``(None, None)`` without ``hub_path``."""
    _check_dataset(hub_path, dataset)
    if hub_path is None:
        log.warning("no --hub: this differentially private release is not charged to a ledger")
        return None, None
    from safelight.release.ledger import BudgetExceededError, Ledger
    from safelight.store import open_hub

    if dataset is not None and dataset.startswith("hub:"):
        # the hub's own cases: a file's release there would stand in the ledger as the newest
        # release of the cases, and the withdrawal and successive-release checks of `release
        # hub` would compare against the file's instead
        raise UsageError(f"--dataset {dataset}: names starting with hub: are the hub's own "
                         "datasets (`release hub` charges them); give the file's release "
                         "another name, or none (the file's sha256)")
    sha = source["sha256"]
    name = dataset or f"sha256:{sha}"
    hub = open_hub(hub_path)
    ledger = Ledger(hub)
    try:
        earlier = sorted(ledger.datasets_of_source(sha, source.get("content_sha256")))
        if dataset is None and len(earlier) == 1:
            name = earlier[0]  # the same table (perhaps re-saved): the same budget
            if name != f"sha256:{sha}":
                click.echo(f"note: {table} holds the same rows as a table released before as "
                           f"dataset {name}; this release is charged to it", err=True)
        other = [d for d in earlier if d != name]
        if other and (epsilon > 0 or delta > 0):  # a second name would be a second budget
            # (a release of no privacy cost — microdata — may name it as it likes)
            raise BudgetExceededError(
                f"{table} (or a table of the same rows) was released before under the dataset "
                f"name {other[0]}: its releases draw on that budget; release with --dataset "
                f"{other[0]}" + (" (or without --dataset)" if len(earlier) == 1 else ""))
        ledger.check(name, epsilon, delta)
    except BaseException:
        hub.close()
        raise
    return ledger, name


@contextmanager
def _charged_if_failed(ledger, name: str | None, method: str, epsilon: float, delta: float,
                       rows: int, **record: Any) -> Iterator[None]:
    """A DP release that fails once its data is read is still charged to the ledger
    (:func:`~safelight.release.ledger.charge_failed`): its noise may have been drawn.
    ``record``: ``source_sha256``, ``k`` and ``length``, recorded with the charge."""
    try:
        yield
    except BaseException as exc:
        if ledger is not None and name is not None:
            from safelight.release.ledger import charge_failed

            try:
                charge_failed(ledger, name, method, epsilon, delta, exc, rows_in=rows, **record)
            finally:
                ledger.hub.close()
        raise


def _ledger_record(ledger, name: str | None, settings: ReleaseSettings, output: Path,
                   epsilon: float = 0.0, delta: float = 0.0, *,
                   written: Path | None = None) -> int | None:
    """Record a release of the file ``output`` in ``ledger`` (None: no ledger, nothing done),
    hashing ``written`` (its partial file, not yet in place) or else ``output``."""
    if ledger is None or name is None:
        return None
    from safelight.release.settings import file_source

    try:
        return ledger.record(name, settings.method, settings.params, k=settings.k,
                             length=settings.length, epsilon=epsilon, delta=delta,
                             rows_in=settings.params.get("rows"),
                             output_sha256=file_source(written or output)["sha256"],
                             output_path=str(output),
                             source_sha256=settings.source.get("sha256"),
                             source_content_sha256=settings.source.get("content_sha256"))
    finally:
        ledger.hub.close()


def _finish(out: Path, settings: ReleaseSettings, ev, title: str,
            warnings: tuple[str, ...] = (), ledger: tuple[Path, str] | None = None) -> None:
    """Write the settings (PUBLISH.txt headed by ``warnings`` and followed by the note that a
    release from a file has no ledger: a trial subtracted two file releases of a table that
    gained three people and read their profile — or, with ``ledger`` (``--hub`` and the
    dataset), which ledger records it) and the evaluation, and say both on the console."""
    from safelight.release.evaluate import DO_NOT_PUBLISH, write_evaluation
    from safelight.release.settings import NO_LEDGER_NOTES

    dp = settings.method.startswith("dp-")
    if ledger is None:
        note = NO_LEDGER_NOTES["dp" if dp else "k"]
    else:  # the file release said "no ledger" although --hub recorded it (a trial)
        settings.params["ledger"] = {"hub": str(ledger[0]), "dataset": ledger[1]}
        note = (f"Recorded in the ledger of {ledger[0]} as dataset {ledger[1]}"
                + (": its privacy loss counts against the dataset's budget." if dp else
                   ". Only k-aggregates made from a hub (safelight release hub) are audited "
                   "against the dataset's earlier releases."))
    settings.save(out / "settings.json", warnings, notes=(note,))
    write_evaluation(ev, out, title, settings.to_dict())
    for w in warnings:
        click.secho(f"WARNING: {w}", fg="red", bold=True, err=True)
    click.echo(f"note: {note}", err=True)
    ctx = click.get_current_context(silent=True)
    if ctx is not None and any(DO_NOT_PUBLISH in w for w in warnings):
        ctx.meta[_UNSAFE] = True  # the command exits with EXIT_DO_NOT_PUBLISH once it is done


def _errors_text(ev) -> str:
    """The evaluation's mean relative errors by length — or, when no combination of the table
    holds k people, that they are not defined (each would be a mean over nothing: 0.000)."""
    if not ev.total("common"):
        return ("no combination of the table holds k or more people, so the error is not "
                "defined (a lower --k?)")
    return "mean relative error by length " + " / ".join(f"{e:.3f}" for e in ev.errors())


def _summary(ev) -> str:
    outside = sum(ev.values_outside_domain.values())
    return (f"{_errors_text(ev)}; {ev.lost_share():.1%} of common "
            f"combinations lost; fabricated {ev.total('fabricated')}; leaked "
            f"{ev.total('leaked')}"
            + (f" (against the table without the {outside} values outside the public domain)"
               if outside else ""))


@release.command("dp-aggregates", epilog=_TABLE_EPILOG)
@_table
@_epsilon
@_delta
@_k_dp
@_floor
@click.option("--length", default=3, show_default=True, type=click.IntRange(1, 4),
              help="Longest combination released (1- and 2-way marginals are measured, "
                   "longer combinations estimated from them).")
@click.option("--margin", default=0.0, show_default=True, type=FiniteFloat(min=0),
              help="Release a count only if it clears the floor by this many noise s.d.")
@_out
@_domain
@_ood
@_hub
@_dataset
@_cols
@_distinct
@_force
@_run
@shows_progress
@_completes
def dp_aggregates(table: Path, epsilon: float, delta: float, k: int, no_floor: bool, length: int,
                  margin: float, out: Path, domain_file: Path | None, allow_out_of_domain: bool,
                  hub_path: Path | None, dataset: str | None, columns: str | None,
                  allow_distinct: bool, force: bool) -> None:
    """(epsilon, delta)-differentially private counts of all 1..LENGTH-way combinations.

    Noise from OpenDP (discrete Gaussian marginals over the public domain + Gaussian-threshold
    histogram of whole rows). With the k floor (default) no released combination count is
    under k. Writes aggregates.csv; its total is a noisy row count, released as measured.
    """
    from safelight.release.aggregates import write_aggregates
    from safelight.release.dp import check_request, warn_large_delta
    from safelight.release.dp_aggregates import release_dp_aggregates
    from safelight.release.evaluate import dp_release_warnings, evaluate

    check_request(epsilon, delta)
    out = _prepare_out(out, force, (table, domain_file))
    t0 = time.perf_counter()
    data, dom, dropped, source = _public(table, columns, domain_file, allow_out_of_domain,
                                         allow_distinct)
    length = _fit_length(length, data.n_columns)
    warn_large_delta(delta, data.n_rows)
    ledger, name = _ledger_check(hub_path, dataset, table, source, epsilon, delta)
    floor = None if no_floor else k
    with _charged_if_failed(ledger, name, "dp-aggregates", epsilon, delta, data.n_rows,
                           source_sha256=source["sha256"],
                           source_content_sha256=source["content_sha256"], k=k, length=length):
        rel, meas = release_dp_aggregates(data, epsilon, delta, length, floor, z=margin)
        settings = ReleaseSettings("dp-aggregates", k, length, source, {
            "columns": list(data.columns), "rows": data.n_rows, "epsilon": meas.epsilon,
            "delta": meas.delta, "k_floor": floor, "margin_sd": margin,
            "domain": dom.source, "values_outside_domain": dropped, **meas.release_params(),
            "released_combinations": rel.counts.n_combinations(), "noisy_total": rel.total,
            "seconds": round(time.perf_counter() - t0, 3)})
        ev = evaluate(data, rel.counts, k, length)
        ev.values_outside_domain = dropped
        warnings = dp_release_warnings(ev, floor)
        _finish(out, settings, ev, f"DP aggregates (epsilon {epsilon:g}, delta {delta:g}, "
                f"{'no floor' if floor is None else f'k floor {k}'})", warnings,
                None if ledger is None else (hub_path, name))
        written = _write_partial(out / "aggregates.csv", lambda p: write_aggregates(rel, p))
    rid = _record_and_publish(written, out / "aggregates.csv", lambda: _ledger_record(
        ledger, name, settings, out / "aggregates.csv", meas.epsilon, meas.delta,
        written=written))
    click.echo(f"released {rel.counts.n_combinations()} combinations (epsilon "
               f"{meas.epsilon:.4g}, delta {meas.delta:.2g}); {_summary(ev)}"
               f"{'' if rid is None else f'; ledger release #{rid}'} -> {out}")


@release.command("dp-synthetic", epilog=_TABLE_EPILOG)
@_table
@_epsilon
@_delta
@_k_dp
@_floor
@click.option("--length", default=None, type=click.IntRange(1, 4),
              help="Longest combination constrained in the rows (default 3; 1- and 2-way "
                   "marginals are measured, longer combinations estimated from them).")
@_out
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seed of the sampler (the privacy noise is OpenDP's, never seeded).")
@click.option("--iterations", default=8, show_default=True, type=click.IntRange(min=0),
              help="Calibration passes of the constrained sampler that draws the rows (the "
                   "default model estimate with the k floor, and the IPF estimator).")
@_domain
@_ood
@_hub
@_dataset
@_cols
@_distinct
@_force
@_run
@shows_progress
@_completes
def dp_synthetic(table: Path, epsilon: float, delta: float, k: int, no_floor: bool,
                 length: int | None, out: Path, seed: int, iterations: int,
                 domain_file: Path | None, allow_out_of_domain: bool, hub_path: Path | None,
                 dataset: str | None, columns: str | None, allow_distinct: bool,
                 force: bool) -> None:
    """(epsilon, delta)-differentially private synthetic rows (a noisy number of them).

    Rows are drawn from OpenDP-noised counts only; with the k floor (default) every
    combination of up to LENGTH values in them is one whose estimated (noisy) count is k or
    more. That is a rule about the estimates, not the rows or the people: the rows may carry
    such a combination fewer than k times, a combination may describe fewer than k people in
    truth (the evaluation's "leaked"), and a whole row may equal a rare real record — the
    (epsilon, delta) guarantee is what protects them. Writes synthetic.csv.
    """
    _dp_synthetic(table, epsilon, delta, k, no_floor, length, out, seed, iterations,
                  domain_file, hub_path, dataset, columns, force, allow_out_of_domain,
                  allow_distinct)


def _dp_synthetic(table: Path, epsilon: float, delta: float, k: int, no_floor: bool,
                  length: int | None, out: Path, seed: int, iterations: int,
                  domain_file: Path | None, hub_path: Path | None, dataset: str | None,
                  columns: str | None, force: bool, allow_out_of_domain: bool,
                  allow_distinct: bool) -> None:
    from safelight.release.dp import check_request, warn_large_delta
    from safelight.release.dp_synthetic import synthesis_length, synthesize_dp
    from safelight.release.evaluate import (
        counts_of_rows,
        dp_release_warnings,
        evaluate,
        rows_evaluation_length,
    )
    from safelight.release.table import write_csv

    check_request(epsilon, delta)
    out = _prepare_out(out, force, (table, domain_file))
    t0 = time.perf_counter()
    data, dom, dropped, source = _public(table, columns, domain_file, allow_out_of_domain,
                                         allow_distinct)
    length = _fit_length(length or synthesis_length(epsilon), data.n_columns)
    warn_large_delta(delta, data.n_rows)
    ledger, name = _ledger_check(hub_path, dataset, table, source, epsilon, delta)
    floor = None if no_floor else k
    with _charged_if_failed(ledger, name, "dp-synthetic", epsilon, delta, data.n_rows,
                           source_sha256=source["sha256"],
                           source_content_sha256=source["content_sha256"], k=k, length=length):
        syn, report, meas = synthesize_dp(data, epsilon, delta, floor, length,
                                          iterations=iterations, seed=seed)
        settings = ReleaseSettings("dp-synthetic", k, length, source, {
            "columns": list(data.columns), "rows": data.n_rows, "synthetic_rows": syn.n_rows,
            "noisy_total": round(float(meas.total), 2), "epsilon": meas.epsilon,
            "delta": meas.delta, "k_floor": floor, "seed": seed,
            "domain": dom.source, "values_outside_domain": dropped, **meas.release_params(),
            "reportable_combinations": report.reportable_combinations,
            "seconds": round(time.perf_counter() - t0, 3)})
        ev_len = rows_evaluation_length(length, data.n_columns)
        ev = evaluate(data, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
        ev.values_outside_domain = dropped
        warnings = dp_release_warnings(ev, floor)
        _finish(out, settings, ev, f"DP synthetic data (epsilon {epsilon:g}, delta {delta:g}, "
                f"{'no floor' if floor is None else f'k floor {k}'})", warnings,
                None if ledger is None else (hub_path, name))
        written = _write_partial(out / "synthetic.csv", lambda p: write_csv(syn, p))
    rid = _record_and_publish(written, out / "synthetic.csv", lambda: _ledger_record(
        ledger, name, settings, out / "synthetic.csv", meas.epsilon, meas.delta,
        written=written))
    click.echo(f"synthesised {syn.n_rows} rows (epsilon {meas.epsilon:.4g}, delta "
               f"{meas.delta:.2g}); {_summary(ev)}"
               f"{'' if rid is None else f'; ledger release #{rid}'} -> {out}")


@release.command(epilog=_TABLE_EPILOG)
@_table
@_k
@click.option("--quasi-identifiers", "qis", default=None,
              help="Comma-separated quasi-identifier columns (default: all).")
@_out
@_hub
@_dataset
@_cols
@_distinct
@_force
@_run
@shows_progress
@_completes
def microdata(table: Path, k: int, qis: str | None, out: Path, hub_path: Path | None,
              dataset: str | None, columns: str | None, allow_distinct: bool,
              force: bool) -> None:
    """k-anonymous microdata: the standard's generalisation hierarchies + local suppression.

    Every class of rows with equal quasi-identifier values has at least k rows (or is fully
    blank). Levels are chosen to minimise information loss. Writes microdata.csv.
    """
    from safelight.release.evaluate import counts_of_rows, evaluate
    from safelight.release.microdata import anonymize, evaluation_view, microdata_leak_warning
    from safelight.release.table import write_csv

    out = _prepare_out(out, force, (table,))
    t0 = time.perf_counter()
    data, source = _read(table, columns, allow_distinct)
    ledger, name = (None, None)
    _check_dataset(hub_path, dataset)
    if hub_path is not None:
        ledger, name = _ledger_check(hub_path, dataset, table, source, 0.0, 0.0)
    an = anonymize(data, k, _columns(qis, "--quasi-identifiers"))
    settings = ReleaseSettings("microdata", k, len(an.quasi_identifiers), source, {
        "columns": list(data.columns), "rows": data.n_rows,
        "quasi_identifiers": an.quasi_identifiers, **an.summary(),
        "seconds": round(time.perf_counter() - t0, 3)})
    view = evaluation_view(an.table, data)
    ev = evaluate(data, counts_of_rows(view, 3), k, 3, released_rows=view)
    warning = microdata_leak_warning(
        ev, [c for c in data.columns if c not in an.quasi_identifiers])
    _finish(out, settings, ev, f"k-anonymous microdata (k = {k})", warning,
            None if ledger is None else (hub_path, name))
    written = _write_partial(out / "microdata.csv", lambda p: write_csv(an.table, p))
    rid = _record_and_publish(written, out / "microdata.csv", lambda: _ledger_record(
        ledger, name, settings, out / "microdata.csv", written=written))
    click.echo(f"released {an.table.n_rows} rows at levels {an.levels}; information loss "
               f"{an.information_loss:.3f}, {an.suppressed_cells} cells blanked; "
               f"{_summary(ev)}{'' if rid is None else f'; ledger release #{rid}'} -> {out}")


@release.command()
@click.argument("hub_path", metavar="HUB", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path))
@click.argument("dataset")
@click.option("--epsilon", default=None, type=FiniteFloat(min=0),
              help="Set the total epsilon budget (without it: only show the ledger).")
@click.option("--delta", default=None, type=FiniteFloat(0, 1, min_open=True, max_open=True),
              help="Total delta budget (default: keep the dataset's, or 1e-5 for a new one; "
                   "above 0: every DP release here spends some delta).")
@_run
def budget(hub_path: Path, dataset: str, epsilon: float | None, delta: float | None) -> None:
    """Show DATASET's privacy budget in HUB's ledger — budget, spent, left and its releases —
    or, with --epsilon, set it (total epsilon and delta for all its DP releases).

    DATASET is the name releases use (--dataset; by default sha256:<sha256 of the table>;
    hub:cases for `release hub` and the web). A budget below what is spent is set with a
    warning: it closes the dataset to DP releases.
    """
    from safelight.release.ledger import Ledger
    from safelight.store import open_hub

    if delta is not None and epsilon is None:
        raise UsageError("--delta needs --epsilon (set both, or neither to show the ledger)")
    if not dataset.strip():
        raise UsageError("DATASET is empty; give the name its releases use (hub:cases for the "
                         "hub's own cases)")
    hub = open_hub(hub_path)
    try:
        ledger = Ledger(hub)
        _known_dataset(ledger, dataset, setting=epsilon is not None)
        if epsilon is not None:
            ledger.set_budget(dataset, epsilon, delta)
        s = ledger.spent(dataset)
        rows = ledger.releases(dataset)
    finally:
        hub.close()
    if s.budget_epsilon is None or s.budget_delta is None:
        click.echo(f"{dataset}: no budget set (DP releases refused); spent epsilon "
                   f"{s.epsilon:g}, delta {s.delta:g} in {s.releases} releases")
    else:
        click.echo(f"{dataset}: budget epsilon {s.budget_epsilon:g}, delta {s.budget_delta:g}; "
                   f"spent epsilon {s.epsilon:g}, delta {s.delta:g} in {s.releases} releases; "
                   f"left epsilon {max(s.budget_epsilon - s.epsilon, 0):g}, delta "
                   f"{max(s.budget_delta - s.delta, 0):g}")
    if epsilon is None:
        for r in rows:
            params = r["params"]
            params = json.loads(params) if isinstance(params, str) else params
            params = params if isinstance(params, dict) else {}
            failed = "failed" in params
            inner = params.get("params") if isinstance(params.get("params"), dict) else params
            taken = [flag.replace("_", "-") for flag in ("after_withdrawal", "accept_falls")
                     if inner.get(flag)]
            shape = (f"k {r['k']}" if r["k"] is not None else "") + (
                f", length {r['reporting_length']}" if r["reporting_length"] else "")
            click.echo(f"  #{r['release_id']} {str(r['released_at'])[:19]} UTC {r['method']} "
                       f"by {r['actor']}: {shape + '; ' if shape else ''}epsilon "
                       f"{r['epsilon']:g}, delta {r['delta']:g}"
                       f"{' (failed, charged)' if failed else ''}"
                       f"{' (risk accepted: --' + ', --'.join(taken) + ')' if taken else ''}")


def _known_dataset(ledger: Any, dataset: str, *, setting: bool) -> None:
    """Refuse (exit 2) a dataset name that is most likely mistyped — a trial's ``release
    budget HUB hub:case`` showed "no budget set … 0 releases" and exited 0, and would have set
    a budget no release draws on: showing a dataset the ledger does not know, or setting one
    under the ``hub:`` names, of which the hub has one (``hub:cases``). A new dataset's budget
    is set with a note when its name resembles a known one."""
    import difflib

    from safelight.release.hub import DATASET

    known = ledger.datasets()
    if dataset in known or dataset == DATASET:
        return
    like = difflib.get_close_matches(dataset, [*known, DATASET], n=1, cutoff=0.6)
    meant = f" — did you mean {like[0]}?" if like else ""
    if dataset.startswith("hub:"):
        raise UsageError(f"{dataset}: the hub's own dataset is {DATASET} (names starting with "
                         f"hub: are the hub's){meant}")
    if not setting:
        listed = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8
                                         else "")
        raise UsageError(f"{ledger.hub.path}'s ledger has no dataset {dataset} (no budget, no "
                         f"release){meant}" + (f"; it has {listed}" if known else
                                               "; it holds no dataset yet"))
    if like:
        click.echo(f"note: {dataset} is a new dataset{meant}", err=True)


# ``release hub`` lives in its own module and registers itself on the group
from safelight.release import hub_cli as _hub_cli  # noqa: E402,F401

__all__ = ["release"]
