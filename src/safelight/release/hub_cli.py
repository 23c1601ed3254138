"""``safelight release hub HUB --method ... --out DIR`` — a release straight from a hub's
consenting cases, through the same methods and the same ledger (:mod:`safelight.release.hub`).

Registered on the ``release`` group by :mod:`safelight.release.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from safelight.cli_support import FiniteFloat, guarded, shows_progress, work_complete
from safelight.release.cli import EXIT_DO_NOT_PUBLISH, _columns, _summary, release
from safelight.release.hub import DEFAULT_COLUMNS, METHODS
from safelight.release.settings import DO_NOT_PUBLISH


@release.command("hub")
@click.argument("hub_path", metavar="HUB", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path))
@click.option("--method", required=True, type=click.Choice(METHODS),
              help="Release method, as the file commands of the same name.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New (or empty) folder for the release.")
@click.option("--columns", default=None,
              help=f"Comma-separated case columns (default: {','.join(DEFAULT_COLUMNS)}).")
@click.option("--k", "k", default=11, show_default=True, type=click.IntRange(min=2),
              help="No released combination describes 1..k-1 people. DP: the k floor — no "
                   "released noisy count is under k (a combination may still hold fewer "
                   "people in truth; the evaluation's 'leaked').")
@click.option("--length", default=None, type=click.IntRange(1, 4),
              help="Reporting length (default: the method's).")
@click.option("--epsilon", default=None, type=FiniteFloat(min=0, min_open=True),
              help="dp-aggregates / dp-synthetic: privacy loss epsilon of this release.")
@click.option("--delta", default=1e-6, show_default=True,
              type=FiniteFloat(0, 1, min_open=True, max_open=True),
              help="dp-aggregates / dp-synthetic: privacy loss delta.")
@click.option("--no-floor", is_flag=True, help="DP: release small counts too (no k floor).")
@click.option("--allow-out-of-domain", is_flag=True,
              help="DP: release although more than half of a column's values lie outside the "
                   "public domain (e.g. future years; treated as missing; refused otherwise).")
@click.option("--quasi-identifiers", "qis", default=None,
              help="microdata: comma-separated quasi-identifier columns (default: all).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the samplers.")
@click.option("--actor", default="cli", show_default=True,
              help="Who makes the release (recorded in the ledger and the audit log).")
@click.option("--after-withdrawal", is_flag=True,
              help="k methods: release although case records left since the dataset's newest "
              "k-method release (refused otherwise: the difference of the two releases could "
              "show what the persons who left were). Only when the earlier releases were never "
              "published. DP releases need no override (their epsilon bounds it: twice it, for a "
              "person who left, while the ledger charges it once).")
@click.option("--accept-falls", is_flag=True,
              help="aggregates: release although a combination an earlier release showed now has "
              "fewer than k people after records changed a value (its absence shows the fall; "
              "refused otherwise). Recorded with the release.")
@guarded
@shows_progress
def hub(hub_path: Path, method: str, out: Path, columns: str | None, k: int,
        length: int | None, epsilon: float | None, delta: float, no_floor: bool,
        allow_out_of_domain: bool, qis: str | None, seed: int, actor: str,
        after_withdrawal: bool, accept_falls: bool) -> None:
    """Release HUB's cases whose consent allows statistics, and record it in HUB's ledger.

    Same methods as the file commands (aggregates, synthetic, microdata, dp-aggregates,
    dp-synthetic). Every release of HUB's cases is charged to one ledger dataset,
    hub:cases, which the web's releases share: one privacy budget, one record of what was
    released for the withdrawal and successive-release checks. A DP release is checked
    against its budget before anything is measured (set it with `safelight release budget
    HUB hub:cases --epsilon E --delta D`; `safelight release budget HUB hub:cases` shows it).
    """
    from safelight.release.hub import release_hub
    from safelight.release.successive import DifferencingError
    from safelight.store import open_hub

    with open_hub(hub_path) as h:
        try:
            rel = release_hub(h, method, out, columns=_columns(columns), k=k, length=length,
                              epsilon=epsilon, delta=delta, quasi_identifiers=_columns(qis),
                              seed=seed, floor=not no_floor, actor=actor,
                              after_withdrawal=after_withdrawal, accept_falls=accept_falls,
                              allow_out_of_domain=allow_out_of_domain,
                              on_recorded=lambda rid, warnings: work_complete(
                                  f"release #{rid} is recorded in the ledger of {hub_path} "
                                  f"and written to {out}", _exit_code(warnings)))
        except DifferencingError as exc:  # the operator's view: which combinations, how many
            _show_combinations(exc)
            raise
    click.echo(f"release #{rel.release_id} ({method}, {rel.settings.params['rows']} consenting "
               f"cases): {_summary(rel.evaluation)} -> {rel.file}")
    if _exit_code(rel.warnings):
        sys.exit(_exit_code(rel.warnings))


def _exit_code(warnings: tuple[str, ...]) -> int:
    """:data:`EXIT_DO_NOT_PUBLISH` when a warning says not to publish the release, as the file
    commands exit (a script that publishes on success must not publish it: a trial's hub
    microdata with 7,396 combinations under k exited 0), else 0."""
    return EXIT_DO_NOT_PUBLISH if any(DO_NOT_PUBLISH in w for w in warnings) else 0


def _show_combinations(exc: Any, shown: int = 10) -> None:
    """Name, on stderr, the combinations a differencing refusal concerns and the exact change
    of each where the ledger knows it (the hub's operator holds the data: aggregate facts)."""
    rows = list(zip(exc.combinations, exc.newcomers or [None] * len(exc.combinations),
                    strict=False))
    if not rows:
        return
    click.echo(f"the combinations concerned ({len(rows)}; the first {min(shown, len(rows))}):",
               err=True)
    for combo, change in rows[:shown]:
        what = ", ".join(f"{c}={v}" for c, v in combo) or "(all records)"
        delta = "" if change is None else f": {change:+d}"
        click.echo(f"  {what}{delta}", err=True)


__all__ = ["hub"]
