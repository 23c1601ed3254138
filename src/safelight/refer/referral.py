"""Referrals of a case to a service, which require the person's recorded consent.

Contract
--------
:func:`record_consent` stores that the person of a case (contributor, record_id) agreed to be
referred — to any service (scope ``referral``) or to one (``referral:<service_id>``) — with the
date, the caseworker who recorded it and a note. :func:`create_referral` writes an HTCDS outgoing
referral (organisation, date, reason, caseworker, details) and refuses with :class:`ConsentError`
when the case is unknown, when its data consent is ``withdrawn`` (or recorded in
``consent_withdrawals``), or when no unwithdrawn referral consent covers the service; a second
referral of the case to the same service on the same day is refused as a form sent twice. Every
consent, withdrawal and referral is an audit-log entry; referrals show in the ``case_referrals`` view.
The refusals a caseworker meets are :class:`~safelight.messages.Message` (translatable).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from safelight.errors import RefusedError, UsageError
from safelight.messages import Message
from safelight.refer.model import NEEDS, REFERRAL_REASONS
from safelight.store.hub import Hub, now_utc


class ConsentError(RefusedError):
    """A referral was asked for without the person's recorded, unwithdrawn consent."""


def _case_consent(hub: Hub, contributor: str, record_id: str) -> str | None:
    row = hub.con.execute("SELECT consent FROM cases WHERE contributor = ? AND record_id = ?",
                          [contributor, record_id]).fetchone()
    if row is None:
        raise UsageError(Message("case {case} is not in the hub — check the contributor and record "
                                 "id (`safelight status` lists contributors)",
                                 case=f"{contributor}/{record_id}"))
    withdrawn = hub.con.execute("SELECT count(*) FROM consent_withdrawals WHERE contributor = ? AND record_id = ?",
                                [contributor, record_id]).fetchone()[0]
    return "withdrawn" if withdrawn else row[0]


def record_consent(hub: Hub, contributor: str, record_id: str, *, caseworker: str,
                   given_on: dt.date | None = None, service_id: str | None = None,
                   note: str | None = None) -> int:
    """Record the person's consent to be referred; returns its consent id."""
    if not caseworker.strip():
        raise UsageError("say which caseworker records the consent")
    if _case_consent(hub, contributor, record_id) == "withdrawn":
        raise ConsentError(Message("case {case}: the person withdrew consent; a referral consent "
                                   "cannot be recorded on a withdrawn case",
                                   case=f"{contributor}/{record_id}"))
    if service_id is not None and not hub.con.execute(
            "SELECT count(*) FROM refer_services WHERE service_id = ?", [service_id]).fetchone()[0]:
        raise UsageError(Message("service {service} is not in the directory", service=service_id))
    scope = "referral" if service_id is None else f"referral:{service_id}"
    with hub.transaction() as con:
        cid = con.execute("SELECT nextval('refer_consent_ids')").fetchone()[0]
        con.execute("INSERT INTO refer_consents VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [cid, contributor, record_id, given_on or dt.date.today(), caseworker, now_utc(), scope, note])
        hub.audit(caseworker, "refer_consent", f"case:{contributor}/{record_id}", {"consent_id": cid, "scope": scope})
    return int(cid)


def withdraw_consent(hub: Hub, consent_id: int, *, actor: str) -> None:
    """Withdraw a referral consent (later referrals under it are refused)."""
    with hub.transaction() as con:
        n = con.execute("UPDATE refer_consents SET withdrawn_at = ? WHERE consent_id = ? AND withdrawn_at IS NULL",
                        [now_utc(), consent_id]).fetchone()[0]
        if not n:
            raise UsageError(f"referral consent {consent_id} does not exist or is already withdrawn")
        hub.audit(actor, "refer_consent_withdrawn", f"consent:{consent_id}")


def create_referral(hub: Hub, contributor: str, record_id: str, service_id: str, *, caseworker: str,
                    reason: str = "AdditionalServicesRequired", needs: list[str] | None = None,
                    details: str | None = None, referral_date: dt.date | None = None) -> dict[str, Any]:
    """Refer the case to a service (see the module contract); returns the referral row."""
    if reason not in REFERRAL_REASONS:
        raise UsageError(f"reason {reason!r}: use one of {', '.join(REFERRAL_REASONS)} (HTCDS)")
    bad = [x for x in needs or () if x not in NEEDS]
    if bad:
        raise UsageError(f"unknown need(s) {', '.join(bad)}; needs are {', '.join(NEEDS)}")
    svc = hub.con.execute("""SELECT s.organization_id, coalesce(o.name, s.organization_id), s.needs
                             FROM refer_services s LEFT JOIN refer_organizations o USING (organization_id)
                             WHERE s.service_id = ?""", [service_id]).fetchone()
    if svc is None:
        raise UsageError(Message("service {service} is not in the directory — find one with "
                                 "`safelight refer match`", service=service_id))
    if _case_consent(hub, contributor, record_id) == "withdrawn":
        raise ConsentError(Message("case {case}: the person withdrew consent; no referral is possible",
                                   case=f"{contributor}/{record_id}"))
    consent = hub.con.execute("""SELECT consent_id FROM refer_consents
                                 WHERE contributor = ? AND record_id = ? AND withdrawn_at IS NULL
                                   AND scope IN ('referral', 'referral:' || ?)
                                 ORDER BY consent_id DESC LIMIT 1""", [contributor, record_id, service_id]).fetchone()
    if consent is None:
        raise ConsentError(Message("case {case}: no recorded consent to be referred — ask the "
                                   "person, then record it with `safelight refer consent` before "
                                   "referring", case=f"{contributor}/{record_id}"))
    when = referral_date or dt.date.today()
    with hub.transaction() as con:
        # a form sent twice (a double click, the back button) recorded the referral twice
        twin = con.execute("""SELECT referral_id FROM refer_referrals WHERE contributor = ?
                              AND record_id = ? AND service_id = ? AND referral_date = ?""",
                           [contributor, record_id, service_id, when]).fetchone()
        if twin is not None:
            raise UsageError(Message("case {case} was already referred to service {service} on "
                                     "{date} (referral #{referral}); nothing recorded",
                                     case=f"{contributor}/{record_id}", service=service_id,
                                     date=when.isoformat(), referral=twin[0]))
        rid = con.execute("SELECT nextval('refer_referral_ids')").fetchone()[0]
        entry = hub.audit(caseworker, "refer_referral", f"case:{contributor}/{record_id}",
                          {"referral_id": rid, "service_id": service_id, "reason": reason, "consent_id": consent[0]})
        con.execute("INSERT INTO refer_referrals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [rid, contributor, record_id, service_id, svc[0], svc[1], when, reason,
                     list(needs or svc[2] or []), details, caseworker, consent[0], now_utc(), entry.seq])
    return referrals_of_case(hub, contributor, record_id)[-1]


def referrals_of_case(hub: Hub, contributor: str, record_id: str) -> list[dict[str, Any]]:
    """The case's referrals (from the ``case_referrals`` view), oldest first."""
    cur = hub.con.execute("SELECT * FROM case_referrals WHERE contributor = ? AND record_id = ? ORDER BY referral_id",
                          [contributor, record_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
