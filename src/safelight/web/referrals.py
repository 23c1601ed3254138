"""The service directory and referrals for caseworkers, for the pages and the API.

Contract
--------
* :func:`match_services` ranks the directory's services for one person (the stage API
  :meth:`safelight.refer.match.DirectoryIndex.match`) and adds each service's *public* contact —
  the phones and front door of its public HSDS document. It never reads a sealed location: the
  index places a confidential service at its front door, and the public document holds no real
  address (``safelight.refer.hsds.public_service``). The person's details are not stored; the
  audit chain records that a search was made, its needs and the number of results.
* :func:`record_consent` and :func:`refer_case` call :mod:`safelight.refer.referral`, which refuses
  a referral without the person's recorded, unwithdrawn consent. A caseworker (a contributor-bound
  role) acts for its own contributor's cases only; an admin names the contributor.
* :func:`list_referrals` shows the referrals of the cases the user may see.

The index is built once per directory version (the newest import id and the service count) and
kept on the :class:`~safelight.web.state.HubState`; building it for 100,000 services takes
seconds, a query milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from safelight.errors import SafelightError, UsageError
from safelight.messages import Message, message_of
from safelight.refer import referral
from safelight.refer.match import DirectoryIndex
from safelight.refer.model import (
    GENDERS,
    LEGAL_STATUSES,
    NEED_LABELS,
    NEEDS,
    REFERRAL_REASONS,
    Person,
)
from safelight.refer.places import find_place
from safelight.standard import geography
from safelight.web.auth import User
from safelight.web.roles import BOUND_ROLES
from safelight.web.services import clean_rows, contributor_scope
from safelight.web.state import HubState

MAX_RESULTS = 25


def _directory_version(state: HubState) -> tuple[int, int]:
    row = state.one("SELECT coalesce(max(import_id), 0) AS imp, "
                    "(SELECT count(*) FROM refer_services) AS n FROM refer_imports")
    return (int(row["imp"]), int(row["n"])) if row else (0, 0)


def directory_index(state: HubState) -> DirectoryIndex:
    """The match index of the hub's directory, rebuilt only when the directory changed."""
    version = _directory_version(state)
    cached = state.cache.get("refer_index")
    if cached is not None and cached[0] == version:
        return cached[1]
    with state.reading_hub() as hub:
        index = DirectoryIndex.from_hub(hub)
    state.cache["refer_index"] = (version, index)
    return index


def _words(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(x.strip().lower() for x in items if x and x.strip())


def person_from(query: dict[str, Any]) -> tuple[Person, str | None]:
    """A :class:`Person` from form or JSON fields, and the place name it was placed at.

    Fields: ``needs`` (in priority order), ``languages`` (ISO 639-1, preferred first), ``near`` (a
    gazetteer place), ``gender``, ``age``, ``nationality`` (any name or code of a country),
    ``legal_status``, ``with_children``, ``max_km``. Raises :class:`UsageError` naming the field.
    """
    needs = _words(query.get("needs"))
    if not needs:
        raise UsageError(Message("needs: choose at least one need"))
    bad = [n for n in needs if n not in NEEDS]
    if bad:
        raise UsageError(f"needs: unknown {', '.join(bad)}; needs are {', '.join(NEEDS)}")
    languages = _words(query.get("languages"))
    if any(len(x) != 2 or not x.isalpha() for x in languages):
        raise UsageError("languages: give two-letter codes (ISO 639-1), e.g. uk, ru, en")
    lat = lon = None
    place_name = None
    near = str(query.get("near") or "").strip()
    if near:
        try:
            place = find_place(near)
        except UsageError as exc:  # its message speaks of the CLI's --near option
            msg = message_of(exc)
            raise UsageError(msg.reworded(near_field) if isinstance(msg, Message)
                             else near_field(msg)) from None
        lat, lon, place_name = place.latitude, place.longitude, place.name
    gender = str(query.get("gender") or "").strip() or None
    if gender is not None and gender not in GENDERS:
        raise UsageError(f"gender: use one of {', '.join(GENDERS)}")
    legal = str(query.get("legal_status") or "").strip() or None
    if legal is not None and legal not in LEGAL_STATUSES:
        raise UsageError(f"legal status: use one of {', '.join(LEGAL_STATUSES)}")
    nationality = None
    if str(query.get("nationality") or "").strip():
        nationality = geography.resolve_country(str(query["nationality"]).strip())
        if nationality is None:
            raise UsageError(Message("nationality: {typed} is not a country I know",
                                     typed=repr(query["nationality"])))
    try:
        age = int(query["age"]) if str(query.get("age") or "").strip() else None
        max_km = float(query.get("max_km") or 150)
    except ValueError:
        raise UsageError("age and distance must be numbers") from None
    if age is not None and not 0 <= age <= 120:
        raise UsageError("age: between 0 and 120")
    if not 1 <= max_km <= 2000:
        raise UsageError("distance: between 1 and 2,000 km")
    children = query.get("with_children")
    with_children = children in (True, "1", "on", "true", "yes")
    return Person(needs=needs, languages=languages, latitude=lat, longitude=lon, gender=gender,
                  age=age, nationality=nationality, legal_status=legal, with_children=with_children,
                  max_km=max_km), place_name


def _public_contact(doc: Any) -> dict[str, Any]:
    """Phones and front door from a service's public HSDS document (nothing else)."""
    doc = json.loads(doc) if isinstance(doc, str) else (doc or {})
    phones = [{"number": p.get("number"), "description": p.get("description")}
              for p in doc.get("phones") or [] if isinstance(p, dict) and p.get("number")]
    doors = []
    for sal in doc.get("service_at_locations") or []:
        loc = (sal or {}).get("location") or {}
        addr = next(iter(loc.get("addresses") or []), {}) or {}
        doors.append({"name": loc.get("name"), "description": loc.get("description"),
                      "city": addr.get("city"), "address": addr.get("address_1")})
    return {"phones": phones, "locations": doors}


def match_services(state: HubState, user: User, query: dict[str, Any], *,
                   at: dt.datetime | None = None) -> dict[str, Any]:
    """Ranked services for the person described by ``query`` (see :func:`person_from`)."""
    person, place_name = person_from(query)
    limit = min(int(query.get("limit") or 10), MAX_RESULTS)
    results = directory_index(state).match(person, limit=limit, at=at)
    docs: dict[str, Any] = {}
    if results:
        ids = [m.service_id for m in results]
        for row in state.rows("SELECT service_id, public_doc FROM refer_services WHERE service_id IN "
                              f"({', '.join('?' * len(ids))})", ids):
            docs[row["service_id"]] = row["public_doc"]
    state.audit(user.username, "web.refer_match", None, {"needs": list(person.needs), "results": len(results)})
    return {"near": place_name, "needs": list(person.needs),
            "results": [m.as_dict() | {"needs_met_labels": [NEED_LABELS.get(n, n) for n in m.needs_met]}
                        | _public_contact(docs.get(m.service_id)) for m in results]}


def _contributor_for(state: HubState, user: User, contributor: str | None) -> str:
    """Whose case a consent or referral concerns: a caseworker's own contributor, always (asking
    for another one is refused and audited: :func:`~safelight.web.services.contributor_scope`)."""
    if user.role in BOUND_ROLES:
        return str(contributor_scope(state, user, contributor or None))
    if not contributor:
        raise UsageError("contributor: say whose case this is")
    return contributor


# The refer stage's messages point to its command-line tools; the web says what to do here.
_CLI_HINTS = (
    (" (`safelight status` lists contributors)", ""),
    ("find one with `safelight refer match`", "find one with a services search"),
    ("record it with `safelight refer consent` before referring",
     "record it (the box 'the person agreed to be referred') before referring"),
)


def near_field(text: str) -> str:
    """A place lookup's message (:func:`safelight.refer.places.find_place`, worded for the
    command line's ``--near``) as the search form's *near* field says it."""
    return "near: " + text.removeprefix("--near ")


def web_wording(text: str) -> str:
    """A refer stage's message as the web says it: without its command-line hints (a
    :class:`~safelight.messages.Message` stays one, its template re-worded)."""
    if isinstance(text, Message):
        return text.reworded(web_wording)
    for cli, web in _CLI_HINTS:
        text = text.replace(cli, web)
    return text


@contextmanager
def _web_messages() -> Iterator[None]:
    """Re-word the refer stage's errors raised inside for the web (:func:`web_wording`)."""
    try:
        yield
    except SafelightError as exc:
        exc.args = (web_wording(message_of(exc)),)
        raise


def record_consent(state: HubState, user: User, record_id: str, *, contributor: str | None = None,
                   service_id: str | None = None, note: str | None = None) -> int:
    """Record that the person of a case agreed to be referred (to any service, or to one)."""
    owner = _contributor_for(state, user, contributor)
    with _web_messages(), state.exclusive() as hub:
        return referral.record_consent(hub, owner, record_id.strip(), caseworker=user.username,
                                       service_id=service_id or None, note=note or None)


def refer_case(state: HubState, user: User, record_id: str, service_id: str, *,
               contributor: str | None = None, reason: str = "AdditionalServicesRequired",
               details: str | None = None, consent_now: bool = False,
               consent_note: str | None = None) -> dict[str, Any]:
    """Refer a case to a service; refused (:class:`~safelight.refer.referral.ConsentError`)
    without the person's recorded consent. ``consent_now``: the caseworker attests that the
    person agreed to this service now; the consent is recorded (in the caseworker's name) only
    once the request has passed every check that does not depend on it."""
    owner = _contributor_for(state, user, contributor)
    if reason not in REFERRAL_REASONS:
        raise UsageError(f"reason: use one of {', '.join(REFERRAL_REASONS)}")
    record_id, service_id = record_id.strip(), service_id.strip()
    if not record_id or not service_id:
        raise UsageError(Message("say which case (record id) and which service"))
    with _web_messages(), state.exclusive() as hub:
        if consent_now:
            referral.record_consent(hub, owner, record_id, caseworker=user.username,
                                    service_id=service_id, note=consent_note or None)
        row = referral.create_referral(hub, owner, record_id, service_id,
                                       caseworker=user.username, reason=reason, details=details or None)
    return clean_rows([row])[0]


def list_referrals(state: HubState, user: User, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest referrals of the cases this user may see (a caseworker: its contributor's);
    record-level, so audited (``web.read``)."""
    if user.role in BOUND_ROLES:
        rows = state.rows("SELECT * FROM case_referrals WHERE contributor = ? ORDER BY referral_id DESC LIMIT ?",
                          [user.contributor, limit])
    else:
        rows = state.rows("SELECT * FROM case_referrals ORDER BY referral_id DESC LIMIT ?", [limit])
    state.audit(user.username, "web.read", f"referrals:{user.contributor or 'all'}",
                {"rows": len(rows)})
    return clean_rows(rows)
