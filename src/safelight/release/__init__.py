"""safelight.release — disclosure control and its evaluation (utility and leakage).

In: a table of categorical columns (CSV/Parquet, or rows from the hub whose consent allows
statistics; ``''`` = missing, never part of a combination). Out: a release folder with the
released file, ``settings.json`` (parameters, input sha256, software version) and
``evaluation.json`` / ``evaluation.html``.

Guarantees:

* **k-aggregates** (:func:`release_aggregates`): every released count of a combination of up to
  ``length`` values is ``>= k``; no count under ``k`` can be recomputed exactly from the released
  counts and the total, neither by chained differencing nor by linear algebra (complementary
  suppression, audited — see :mod:`safelight.release.suppression`).
* **k-synthetic microdata** (:class:`KSynthesizer`): every combination of up to ``length`` values
  that occurs in the synthetic rows occurs at least ``k`` times in the sensitive table; the rows
  are drawn from a model that sees only those counts (no record is copied).
* Every release is evaluated by :func:`evaluate` the same way: mean relative error of 1/2/3-way
  counts over combinations with ``>= k`` people, the share of those lost, fabricated
  combinations, and leakage (released combinations of 1..k-1 people, and records carrying one).

Not yet: k-anonymous microdata, differentially private releases, the release ledger.
"""

from safelight.release.aggregates import AggregateRelease, release_aggregates, write_aggregates
from safelight.release.errors import ReleaseError, ReleaseUsageError
from safelight.release.evaluate import Evaluation, counts_of_rows, evaluate, write_evaluation
from safelight.release.synthetic import KSynthesizer, synthesize
from safelight.release.table import CategoricalTable, read_table, write_csv

__all__ = [
    "AggregateRelease",
    "CategoricalTable",
    "Evaluation",
    "KSynthesizer",
    "ReleaseError",
    "ReleaseUsageError",
    "counts_of_rows",
    "evaluate",
    "read_table",
    "release_aggregates",
    "synthesize",
    "write_aggregates",
    "write_csv",
    "write_evaluation",
]
