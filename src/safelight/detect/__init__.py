"""Detect: advertisement and job-offer analytics, producing *leads for a human*, never verdicts.

Contract
--------
* **In**: ads or job offers (an id and a free text, optionally site, city, posted_at and region)
  read from CSV/JSONL/JSON/Parquet/XLSX through :mod:`safelight.ingest.readers`
  (:mod:`safelight.detect.pipeline`);
  a row without id or text is quarantined with its reason, never dropped silently
  (``rows read = accepted + quarantined``).
* **Out**:

  - contact points per ad (:mod:`safelight.detect.contacts`): phones normalised to E.164
    (including obfuscated forms), e-mails, messaging handles and URLs, each keyed
    ``kind:value``;
  - template clusters (:mod:`safelight.detect.templates`, grown by cluster profiles in
    :mod:`safelight.detect.profiles`, set kernels in :mod:`safelight.detect.setops`):
    near-duplicate and templated ads, each cluster with its shared template, variable slots and
    counts of ads, sites, cities, time span;
  - contact networks (:mod:`safelight.detect.networks`): ads linked through shared contact points,
    with hub contact points (shared by very many ads) down-weighted or excluded, and a summary;
  - indicators (:mod:`safelight.detect.indicators`, data in ``indicators.yaml``): multilingual
    trafficking and recruitment-fraud indicator hits per ad, each explained (term, span,
    indicator, source), and a combined score in which a single indicator never flags an ad;
  - a recruitment-fraud probability per job offer (:mod:`safelight.detect.fraud`), calibrated,
    with the words behind it, from a model trained on EMSCAD with grouped cross-validation;
  - leads (:mod:`safelight.detect.leads`): ranked clusters/networks, every score with its reasons,
    optionally stored in the hub for review (:mod:`safelight.detect.hub`, audited).

* **Guarantees**: nothing here labels a person or an ad as trafficking; every score is explained;
  ad text is untrusted and is escaped in every HTML output; the generators in
  :mod:`safelight.detect.testdata` and :mod:`safelight.detect.corpus` are seeded and
  deterministic, so evaluation figures are reproducible.
"""

from __future__ import annotations

from safelight.detect.contacts import ContactPoint, extract_contacts
from safelight.detect.networks import contact_networks, summarise_networks
from safelight.detect.templates import ClusterSettings, cluster_ads, summarise_clusters

__all__ = ["ClusterSettings", "ContactPoint", "cluster_ads", "contact_networks",
           "extract_contacts", "summarise_clusters", "summarise_networks"]
