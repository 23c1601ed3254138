"""refer — connect survivors to help: a service directory with confidential locations, need
matching for caseworkers, referrals that require consent, and a safe public help finder.

Contract
--------
* In: Open Referral HSDS 3.0 directories (JSON or tabular CSV), validated row by row; every
  object is accepted or quarantined with its reasons (counts add up). See :mod:`.directory`.
* Confidentiality: a service's real location (address, coordinates) is sealed with AES-256-GCM
  under the operator's key (:mod:`.vault`) and opened only for a caseworker granted ``may_reveal``,
  with an audit entry. Public outputs (export, help finder, its JSON, the API router) are built
  from an allow-list of fields and never contain a sealed location (:mod:`.hsds`, :mod:`.finder`).
* Matching (:mod:`.match`): ranked services for a person's needs, languages, place and
  eligibility, each with the reasons for its rank; no sealed location is read.
* Referrals (:mod:`.referral`): HTCDS outgoing-referral fields, refused without a recorded,
  unwithdrawn referral consent of the case; audited; visible in the hub's ``case_referrals`` view.
* Tables: migration 6 of :mod:`safelight.store.migrations` (``refer_*``).
"""
