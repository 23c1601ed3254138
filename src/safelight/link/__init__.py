"""Record linkage in clear: find the same person across contributors' records.

Contract
--------
In: identity records (the hub's ``identities`` of cases with ``consent_linkage``, or any Arrow
table with the same columns). Out: a person (cluster) label per record, the candidate pairs
with match probabilities and per-field reasons, a review queue of uncertain pairs, and the
fitted model (JSON). Guarantees:

* only records whose consent allows linkage take part (:func:`link_hub` filters on it);
* every score is a Fellegi–Sunter sum of per-field match weights (``log2 m/u``, term-frequency
  adjusted for names) plus the prior — :meth:`LinkResult.reasons` lists them for any pair;
* m and u are learned without labels (u from random pairs, m by EM), so there is no training
  data and no per-dataset threshold (the default decision is match probability ≥ 0.5);
* comparison kernels are vectorised over whole pair arrays (NumPy, ``rapidfuzz.process.cpdist``)
  and blocking is SQL in DuckDB; nothing loops over pairs in Python;
* deterministic for a given seed.

Stages: :mod:`~safelight.link.prepare` (normalisation via :mod:`safelight.identity.normalise`),
:mod:`~safelight.link.blocking`, :mod:`~safelight.link.compare`, :mod:`~safelight.link.model`,
:mod:`~safelight.link.cluster`, :mod:`~safelight.link.pipeline`, :mod:`~safelight.link.hub`;
:mod:`~safelight.link.evaluate` scores a clustering against a ground truth.

Privacy-preserving linkage (no clear value at the hub): :mod:`~safelight.link.encoded` reads
contribution packages of :mod:`safelight.identity.encode` and compares Bloom filters
(noise-corrected Dice); :mod:`~safelight.link.pprl` blocks (keyed keys + LSH), scores with the
same :mod:`~safelight.link.model` and clusters; :mod:`~safelight.link.onetoone` is the
one-to-one assignment for two-source linkage; :mod:`~safelight.link.hub_pprl` stores packages
in a hub and links them to persons. :mod:`~safelight.link.decisions` makes every hub run obey
reviewers' decisions (decided matches together, decided non-matches apart, never re-queued);
:mod:`~safelight.link.files` links files in clear outside a hub (``link pairs``/``dedupe``).
"""

from safelight.link.evaluate import pairwise_scores
from safelight.link.hub import HubLinkResult, link_hub, load_identities
from safelight.link.pipeline import LinkResult, LinkSettings, link_records

__all__ = [
    "HubLinkResult",
    "LinkResult",
    "LinkSettings",
    "link_hub",
    "link_records",
    "load_identities",
    "pairwise_scores",
]
