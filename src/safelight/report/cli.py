"""``safelight report ...`` — the report stage's command group (registered by ``safelight.cli``).

``report glotip FILE_OR_HUB --out DIR`` reports the UNODC GLOTIP export (or a hub holding it);
``report hub HUB --out DIR`` reports the hub's victims — persons after linkage, or records
(labelled so) when the hub has no linkage run (``--unit``), and refuses to write a report that
could be differenced against the last one published (:mod:`safelight.report.successive`;
``--force`` overrides). Both write ``report.html``, ``report.json``, ``tables/*.csv``,
``charts/*.svg|png`` and ``settings.json`` into ``DIR``.
Errors print one line and exit with the error's code (see ``safelight.errors``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from safelight.cli_support import guarded, shows_progress
from safelight.report.model import ReportSettings

_run = guarded


def _settings(settings_file: Path | None, default_threshold: int, **given: Any) -> ReportSettings:
    base = ReportSettings.load(settings_file) if settings_file else ReportSettings(
        threshold=default_threshold)
    values = {**base.as_dict(), **{k: v for k, v in given.items() if v is not None}}
    values.pop("settings_version")
    return ReportSettings(**values)


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--out", "out_dir", required=True,
                     type=click.Path(file_okay=False, path_type=Path),
                     help="Folder for report.html, report.json, tables/, charts/."),
        click.option("--threshold", type=click.IntRange(min=2),
                     help="Suppress counts below this (default 5 for glotip, 11 for hub)."),
        click.option("--regions", "region_table", type=click.Path(exists=True, dir_okay=False),
                     help="A deployment's UNODC region table (CSV alpha3,unodc_region)."),
        click.option("--conflict-list", "conflict_table",
                     type=click.Path(exists=True, dir_okay=False),
                     help="A deployment's conflict-affected countries by year (CSV; default: "
                          "the shipped, cited list)."),
        click.option("--settings", "settings_file",
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Settings JSON written by an earlier run; options override it."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@click.group("report")
def report() -> None:
    """Indicators, charts and an offline HTML report, every number disclosure-controlled."""


def _audit_forced(hub: Path, out_dir: Path, shape: dict[str, Any], generated_at: str,
                  differing: int) -> None:
    """Record a forced hub report in the hub's audit log — where it goes, its shape, when it
    was generated and how many counts differ by less than the threshold from reports published
    before (a number, never a count) — before anything is written: an override that cannot be
    audited is not made."""
    from safelight.store import open_hub

    with open_hub(hub) as h, h.transaction():
        h.audit("cli", "report.forced", str(out_dir.resolve()),
                {"shape": shape, "generated_at": generated_at,
                 "counts_under_threshold": differing})


@report.command("glotip")
@click.argument("source", metavar="FILE_OR_HUB", type=click.Path(exists=True, dir_okay=False,
                                                                 path_type=Path))
@_common
@click.option("--censored", type=click.Choice(["mid", "low", "high"]),
              help="Which bound of '<5' the headlines use (default mid; bounds always shown).")
@click.option("--base-year", type=int, help="First year of the change (default 2019).")
@click.option("--compare-year", type=int, help="Second year of the change (default 2020).")
@click.option("--contribution", "contribution_id", type=int,
              help="With a hub: the GLOTIP contribution id (default: the latest).")
@_run
@shows_progress
def glotip_cmd(source: Path, out_dir: Path, threshold: int | None, region_table: str | None,
               settings_file: Path | None, conflict_table: str | None, censored: str | None,
               base_year: int | None, compare_year: int | None,
               contribution_id: int | None) -> None:
    """Report UNODC GLOTIP country data: FILE (data_glotip.xlsx) or a HUB that holds it."""
    from safelight.report.glotip import glotip_report
    from safelight.report.render import check_report_folder, write_report
    from safelight.report.sources import glotip_source

    t0 = time.perf_counter()
    check_report_folder(out_dir)
    settings = _settings(settings_file, 5, threshold=threshold, region_table=region_table,
                         conflict_table=conflict_table, censored=censored,
                         base_year=base_year, compare_year=compare_year,
                         contribution_id=contribution_id)
    with glotip_source(source, settings) as src:
        rep = glotip_report(src, settings)
    paths = write_report(rep, out_dir)
    click.echo(f"GLOTIP report written to {paths['html']} ({time.perf_counter() - t0:.1f} s)")


@report.command("hub")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
@click.option("--unit", type=click.Choice(["auto", "persons", "records"]),
              help="Count persons (after linkage) or records; auto (default) counts persons "
                   "when the hub has a linkage run.")
@click.option("--force", is_flag=True,
              help="Write the report even where counts differ by fewer than the threshold from "
                   "the last report of these settings (only once you have decided that report "
                   "was never published); it becomes the one the next report is checked "
                   "against. Recorded in the hub's audit log (the hub must not be open in "
                   "another process, such as `safelight serve`).")
@_run
@shows_progress
def hub_cmd(hub: Path, out_dir: Path, threshold: int | None, region_table: str | None,
            settings_file: Path | None, conflict_table: str | None, unit: str | None,
            force: bool) -> None:
    """Report a hub's victims: persons after linkage, or records when no linkage run exists.

    Refused (nothing written) when a count behind the report differs by 1 to threshold - 1
    from the last report of the same settings or the web dashboard's published figures."""
    from safelight.report.hub import hub_report
    from safelight.report.render import check_report_folder, write_report
    from safelight.report.sources import hub_source
    from safelight.report.successive import (
        DifferencedError,
        gated_counts,
        publishing,
        record_report,
        refuse_differences,
        report_shape,
    )

    t0 = time.perf_counter()
    if hub.resolve().parent.is_relative_to(out_dir.resolve()):
        raise click.UsageError(
            "--out holds the hub: the report's folder is what gets published, and the hub and "
            "the counts kept beside it (true counts, suppressed cells included) must not go "
            "with it — choose a folder outside the hub's")
    check_report_folder(out_dir)
    settings = _settings(settings_file, 11, threshold=threshold, region_table=region_table,
                         conflict_table=conflict_table, unit=unit)
    with hub_source(hub, settings) as src:
        rep = hub_report(src, settings)
    counts, shape = gated_counts(rep.indicators, rep.limitations), report_shape(rep)
    with publishing(hub):  # no other report or dashboard checks and records meanwhile
        try:
            refuse_differences(hub, counts, shape)
            differing = 0
        except DifferencedError as refused:
            if not force:
                raise
            differing = refused.differing
        if force:
            _audit_forced(hub, out_dir, shape, rep.provenance["generated_at"], differing)
        # recorded before the report is written: a failed write errs towards a refusal next time
        record_report(hub, counts, shape, rep.provenance["generated_at"], forced=force)
    paths = write_report(rep, out_dir)
    click.echo(f"hub report written to {paths['html']} ({time.perf_counter() - t0:.1f} s); "
               f"it counts {rep.counting_unit}; the next report of these settings is checked "
               "against it")
