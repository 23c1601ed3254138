"""Errors raised by :mod:`safelight.release` (all subclass :class:`SafelightError`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safelight.errors import SafelightError, UsageError

if TYPE_CHECKING:
    from safelight.release.table import CategoricalTable


class ReleaseError(SafelightError):
    """A release cannot be made as asked (bad parameters, unsafe request, table too large)."""

    exit_code = 1


class NothingReleasedError(ReleaseError):
    """A differentially private release with a k floor found nothing over the floor: the
    noise (or the table's size) leaves no combination to show. Raised after the measurement,
    so the ledger charges it (exit code 1)."""


def nothing_released(epsilon: float, noisy_total: float) -> NothingReleasedError:
    """The error of a floored DP release that found nothing over the floor, saying what
    would change that — and that a retry is charged again (the ledger charges failures)."""
    return NothingReleasedError(
        f"at epsilon {epsilon:g} nothing clears the k floor (noisy row count "
        f"{noisy_total:,.0f}): the table is too small for this epsilon and k. A retry with a "
        "ledger (--hub, or from a hub) is charged again; only a larger epsilon, a lower --k, "
        "fewer or coarser columns, or a table of many more people can release something")


class ReleaseUsageError(UsageError):
    """A release parameter is out of range (e.g. ``k < 2`` or ``length < 1``)."""


class PlanningError(ReleaseUsageError):
    """A differentially private release cannot be planned (ε or δ out of range, or too small
    to measure anything). Raised only before the sensitive rows are measured — the plan reads
    nothing but the public domain — so no noise was drawn and the ledger charges nothing."""


def check_rows_for_k(table: CategoricalTable, k: int, *, per_row: bool = True) -> None:
    """Refuse a release of a table with fewer than ``k`` rows: one that publishes one row per
    person (``per_row``: k-synthetic data, k-anonymous microdata, exactly ``n_rows`` rows),
    whose row count itself would describe fewer than k people, or k-aggregates, every count
    of which (the total too) would be withheld, leaving an empty file.

    :raises ReleaseUsageError: ``table.n_rows < k`` (exit code 2).
    """
    if table.n_rows < k:
        why = ("a release of one row per person would publish how many people it holds (fewer "
               "than k)" if per_row else "every count, the total too, describes fewer than k "
               "people")
        raise ReleaseUsageError(f"the table has fewer rows than k = {k}: {why}; nothing "
                                "released")


__all__ = ["NothingReleasedError", "PlanningError", "ReleaseError", "ReleaseUsageError",
           "check_rows_for_k"]
