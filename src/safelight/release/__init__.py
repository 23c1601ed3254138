"""safelight.release — disclosure control and its evaluation (utility and leakage).

In: a table of categorical columns (CSV/Parquet, or rows from the hub whose consent allows
statistics; ``''`` = missing, never part of a combination). Out: a release folder with the
released file, ``settings.json`` (parameters, input sha256, software version) and
``evaluation.json`` / ``evaluation.html``.

Guarantees:

* **k-aggregates** (:func:`release_aggregates`, default ``method="intervals"``): every released
  count of a combination of up to ``length`` values is ``>= k`` and published as an interval
  containing it; every combination with ``>= k`` people is released (except as a last resort on
  tiny tables); no unreleased small cell is narrowed by chained interval differencing to fewer
  than ``(k - 1) // 2 + 1`` values; with the ledger (``earlier=``), differences against earlier
  releases of the dataset show no small group of added records (:mod:`safelight.release.intervals`,
  :mod:`safelight.release.successive`). ``method="suppress"`` keeps exact counts: none under
  ``k`` can be recomputed exactly, by chained differencing or linear algebra
  (:mod:`safelight.release.suppression`).
* **k-synthetic microdata** (:class:`KSynthesizer`): every combination of up to ``length`` values
  that occurs in the synthetic rows occurs at least ``k`` times in the sensitive table; the rows
  are drawn from a model that sees only those counts (no record is copied).
* **k-anonymous microdata** (:func:`anonymize`): every class of rows with equal
  quasi-identifier values has ``>= k`` rows (or is fully blank), by the standard's
  generalisation hierarchies (levels chosen to minimise information loss) and local recoding
  that keeps the common short combinations (:mod:`safelight.release.recoding`).
* **Differentially private aggregates and synthetic data** (:func:`release_dp_aggregates`,
  :func:`synthesize_dp`): (ε, δ)-DP under add/remove one person, noise from OpenDP's vetted
  samplers (:mod:`safelight.release.dp`), category lists from a public domain
  (:mod:`safelight.release.domain`), noisy row count; optionally with a k floor (no released
  count, and no combination in synthetic rows, with a noisy estimate under ``k``).
* **The ledger** (:class:`~safelight.release.ledger.Ledger`): DP releases are checked against a
  dataset's budget before measuring and recorded with their (ε, δ).
* Every release is evaluated by :func:`evaluate` the same way: mean relative error of 1/2/3-way
  counts over combinations with ``>= k`` people, the share of those lost, fabricated
  combinations, and leakage (released combinations of 1..k-1 people, and records carrying one).

* **Releases from a hub** (:func:`~safelight.release.hub.release_hub`): only cases whose
  consent allows statistics, only categorical case fields, the same methods, recorded in the
  hub's ledger (dataset ``hub:cases``, shared with the web); DP releases from a hub protect one
  *case record* (a person with several records: group privacy).
"""

from safelight.release.aggregates import AggregateRelease, release_aggregates, write_aggregates
from safelight.release.domain import Domain, restrict, standard_domain
from safelight.release.dp_aggregates import release_dp_aggregates
from safelight.release.dp_synthetic import synthesize_dp
from safelight.release.errors import ReleaseError, ReleaseUsageError
from safelight.release.evaluate import Evaluation, counts_of_rows, evaluate, write_evaluation
from safelight.release.microdata import anonymize
from safelight.release.synthetic import KSynthesizer, synthesize
from safelight.release.table import CategoricalTable, read_table, write_csv

__all__ = [
    "AggregateRelease",
    "CategoricalTable",
    "Domain",
    "Evaluation",
    "KSynthesizer",
    "ReleaseError",
    "ReleaseUsageError",
    "anonymize",
    "counts_of_rows",
    "evaluate",
    "read_table",
    "release_aggregates",
    "release_dp_aggregates",
    "restrict",
    "standard_domain",
    "synthesize",
    "synthesize_dp",
    "write_aggregates",
    "write_csv",
    "write_evaluation",
]
