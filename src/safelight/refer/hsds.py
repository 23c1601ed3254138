"""Open Referral HSDS 3.0 service objects: validation, flattening, and the public projection.

Contract
--------
Input is one HSDS 3.0 *service* object as the HSDS API compiles it (organization, phones,
schedules, service_areas, languages, attributes, service_capacities and service_at_locations with
nested locations, addresses, phones). :func:`check_service` returns either a
:class:`ServiceRecord` or the list of reasons the object is quarantined — never both, never
neither. Needs and structured eligibility are HSDS ``attributes`` whose ``taxonomy_term`` belongs
to the ``safelight-need`` / ``safelight-eligibility`` taxonomies; ages use ``minimum_age`` /
``maximum_age``. The confidentiality extension (``safelight_confidential``,
``safelight_front_door``, ``safelight_sealed`` on a location) is described in docs/refer.md.

:func:`public_service` builds the public document from an allow-list of fields: a location marked
confidential never enters it, whatever else the object carries.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safelight.ingest.convert import Reason
from safelight.refer.model import (
    CHILDREN,
    DAYS,
    ELIGIBILITY_TAXONOMY,
    GENDERS,
    LEGAL_STATUSES,
    NEED_TAXONOMY,
    NEEDS,
)
from safelight.standard import geography

STATUSES = ("active", "inactive", "defunct", "temporarily closed")
LOCATION_TYPES = ("physical", "postal", "virtual")
_LANG = re.compile(r"^[a-z]{2,3}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d)?(Z|[+-]\d\d:?\d\d)?$")

_SERVICE_PUBLIC = ("id", "organization_id", "name", "alternate_name", "description", "url", "email",
                   "status", "interpretation_services", "application_process", "fees_description",
                   "eligibility_description", "minimum_age", "maximum_age", "assured_date", "alert")
_PHONE_PUBLIC = ("id", "number", "extension", "type", "description")
_LANGUAGE_PUBLIC = ("id", "name", "code", "note")
_SCHEDULE_PUBLIC = ("id", "freq", "byday", "opens_at", "closes_at", "description", "valid_from",
                    "valid_to", "timezone", "notes")
_AREA_PUBLIC = ("id", "name", "description")
_ATTRIBUTE_PUBLIC = ("id", "taxonomy_term_id", "value", "label")
_TERM_PUBLIC = ("id", "code", "name", "description", "taxonomy")
_CAPACITY_PUBLIC = ("id", "available", "maximum", "description", "updated")
_LOCATION_PUBLIC = ("id", "location_type", "url", "name", "alternate_name", "description",
                    "transportation", "latitude", "longitude", "safelight_front_door")
_ADDRESS_PUBLIC = ("id", "attention", "address_1", "address_2", "city", "region", "state_province",
                   "postal_code", "country", "address_type")
#: Fields of a confidential location that are sealed (everything that says where it is).
SEALED_FIELDS = ("name", "alternate_name", "description", "transportation", "latitude", "longitude",
                 "addresses", "phones", "url")


@dataclass
class ServiceRecord:
    """A valid service, flattened for matching, with its public document and sealed parts."""

    service_id: str
    organization_id: str
    name: str
    status: str
    country: str | None
    region: str | None
    place: str | None
    latitude: float | None
    longitude: float | None
    needs: list[str]
    languages: list[str]
    interpretation: bool
    min_age: int | None
    max_age: int | None
    genders: list[str] | None
    nationalities: list[str] | None
    legal_statuses: list[str] | None
    children: str | None
    capacity_available: int | None
    capacity_maximum: int | None
    hours: list[list[int]] | None
    confidential: bool
    public_doc: dict[str, Any]
    #: (location_id, plaintext location) to seal, or (location_id, already sealed blob)
    to_seal: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sealed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    organization: dict[str, Any] | None = None


def _pick(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: obj[k] for k in keys if k in obj and obj[k] is not None}


def _list(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    v = obj.get(key)
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() in ("true", "1", "yes"))


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError(v)
    return float(v)


def _minutes(t: str) -> int:
    m = _TIME.match(t.strip())
    if not m:
        raise ValueError(t)
    return int(m.group(1)) * 60 + int(m.group(2))


_NOT_CONFIDENTIAL = (False, 0, "false", "0", "no", "")


def is_confidential(location: dict[str, Any]) -> bool:
    """A location is confidential when it is sealed, or carries ``safelight_confidential`` with
    any value but an explicit no (false, 0, "false", "0", "no", empty): unclear flags fail closed."""
    if "safelight_sealed" in location:
        return True
    if "safelight_confidential" not in location:
        return False
    flag = location["safelight_confidential"]
    if isinstance(flag, str):
        flag = flag.strip().lower()
    return flag is not None and flag not in _NOT_CONFIDENTIAL


def holds_confidential(obj: Any) -> bool:
    """Whether ``obj`` (parsed JSON) holds a confidential location anywhere."""
    if isinstance(obj, dict):
        return is_confidential(obj) or any(holds_confidential(v) for v in obj.values())
    if isinstance(obj, list):
        return any(holds_confidential(v) for v in obj)
    return False


def redact_confidential(obj: Any) -> Any:
    """A copy of ``obj`` (parsed JSON) in which every confidential location is reduced to its id
    and the flag — what a quarantine may keep of an object it could not accept."""
    if isinstance(obj, dict):
        if is_confidential(obj):
            return {"id": obj.get("id"), "safelight_confidential": True}
        return {k: redact_confidential(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_confidential(v) for v in obj]
    return obj


def _terms(service: dict[str, Any], taxonomy: str) -> list[tuple[str, str | None, dict]]:
    out = []
    for a in _list(service, "attributes"):
        term = a.get("taxonomy_term") if isinstance(a.get("taxonomy_term"), dict) else {}
        tax = term.get("taxonomy") or term.get("taxonomy_id") or a.get("taxonomy")
        if tax == taxonomy:
            out.append((str(term.get("code") or "").strip(), a.get("value"), a))
    return out


def _public_location(loc: dict[str, Any]) -> dict[str, Any]:
    out = _pick(loc, _LOCATION_PUBLIC)
    out["addresses"] = [_pick(a, _ADDRESS_PUBLIC) for a in _list(loc, "addresses")]
    out["phones"] = [_pick(p, _PHONE_PUBLIC) for p in _list(loc, "phones")]
    out["languages"] = [_pick(x, _LANGUAGE_PUBLIC) for x in _list(loc, "languages")]
    return out


def public_service(service: dict[str, Any], organization: dict[str, Any] | None = None) -> dict[str, Any]:
    """The HSDS service object with public fields only and no confidential location."""
    doc = _pick(service, _SERVICE_PUBLIC)
    org = organization or (service.get("organization") if isinstance(service.get("organization"), dict) else None)
    if org:
        doc["organization"] = _pick(org, ("id", "name", "alternate_name", "description", "email", "website"))
    doc["phones"] = [_pick(p, _PHONE_PUBLIC) for p in _list(service, "phones")]
    doc["schedules"] = [_pick(s, _SCHEDULE_PUBLIC) for s in _list(service, "schedules")]
    doc["service_areas"] = [_pick(s, _AREA_PUBLIC) for s in _list(service, "service_areas")]
    doc["languages"] = [_pick(x, _LANGUAGE_PUBLIC) for x in _list(service, "languages")]
    doc["service_capacities"] = [_pick(c, _CAPACITY_PUBLIC) for c in _list(service, "service_capacities")]
    attrs = []
    for a in _list(service, "attributes"):
        pa = _pick(a, _ATTRIBUTE_PUBLIC)
        if isinstance(a.get("taxonomy_term"), dict):
            pa["taxonomy_term"] = _pick(a["taxonomy_term"], _TERM_PUBLIC)
        attrs.append(pa)
    doc["attributes"] = attrs
    sals = []
    for sal in _list(service, "service_at_locations"):
        loc = sal.get("location") if isinstance(sal.get("location"), dict) else None
        if loc is None or is_confidential(loc):
            continue
        psal = _pick(sal, ("id", "description"))
        psal["location"] = _public_location(loc)
        psal["schedules"] = [_pick(s, _SCHEDULE_PUBLIC) for s in _list(sal, "schedules")]
        sals.append(psal)
    doc["service_at_locations"] = sals
    return doc


def sealed_blob(key_id: str, nonce: bytes, ciphertext: bytes) -> dict[str, str]:
    """The ``safelight_sealed`` object of an exported confidential location."""
    return {"alg": "AES-256-GCM", "key_id": key_id, "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode()}


def sealed_parts(blob: Any) -> tuple[str, bytes, bytes]:
    if not isinstance(blob, dict) or blob.get("alg", "AES-256-GCM") != "AES-256-GCM":
        raise ValueError("safelight_sealed must be {alg: AES-256-GCM, key_id, nonce, ciphertext}")
    return (str(blob["key_id"]), base64.b64decode(blob["nonce"], validate=True),
            base64.b64decode(blob["ciphertext"], validate=True))


def _hours(schedules: list[dict[str, Any]], bad) -> list[list[int]] | None:
    hours: list[list[int]] = []
    seen = False
    for s in schedules:
        if not (s.get("byday") or s.get("opens_at") or s.get("closes_at")):
            continue
        seen = True
        freq = (s.get("freq") or "WEEKLY").upper()
        if freq not in ("WEEKLY", "MONTHLY"):
            bad("schedules.freq", "enum", freq, "freq must be WEEKLY or MONTHLY (RFC 5545)")
            continue
        days = [d.strip().upper()[-2:] for d in str(s.get("byday") or ",".join(DAYS)).split(",") if d.strip()]
        if any(d not in DAYS for d in days):
            bad("schedules.byday", "enum", s.get("byday"), "byday must list MO,TU,WE,TH,FR,SA,SU")
            continue
        try:
            opens = _minutes(str(s.get("opens_at") or "00:00"))
            closes = _minutes(str(s.get("closes_at") or "23:59"))
        except ValueError as exc:
            bad("schedules.opens_at", "time", str(exc), "opens_at/closes_at must be HH:MM")
            continue
        if closes <= opens:  # runs past midnight: open to the end of the day (and from its start)
            closes_next = closes
            closes = 24 * 60
        else:
            closes_next = 0
        for d in days:
            i = DAYS.index(d)
            hours.append([i, opens, closes])
            if closes_next:
                hours.append([(i + 1) % 7, 0, closes_next])
    return sorted(hours) if seen else None


def check_service(service: Any, organizations: Mapping[str, dict[str, Any]]) -> tuple[ServiceRecord | None, list[Reason]]:
    """Validate one HSDS service object; a record, or the reasons it is quarantined."""
    reasons: list[Reason] = []

    def bad(column: str, rule: str, value: Any, message: str) -> None:
        reasons.append(Reason(column, rule, None if value is None else str(value)[:200], message))

    if not isinstance(service, dict):
        bad("service", "type", type(service).__name__, "each service must be a JSON object")
        return None, reasons
    sid = str(service.get("id") or "").strip()
    if not sid:
        bad("id", "required", None, "a service needs an id (HSDS: unique identifier, e.g. a UUID)")
    name = str(service.get("name") or "").strip()
    if not name:
        bad("name", "required", None, "a service needs a name")
    status = str(service.get("status") or "").strip()
    if status not in STATUSES:
        bad("status", "enum", status, f"status must be one of {', '.join(STATUSES)}")
    org = service.get("organization") if isinstance(service.get("organization"), dict) else None
    oid = str(service.get("organization_id") or (org or {}).get("id") or "").strip()
    if not oid:
        bad("organization_id", "required", None, "give organization_id or a nested organization")
    elif org is None and oid not in organizations:
        bad("organization_id", "reference", oid, "no organization with this id in the file or the hub")
    if org is not None and not (org.get("name") and org.get("description") is not None):
        bad("organization", "required", org.get("id"), "an organization needs id, name and description")

    needs = []
    for code, _value, _a in _terms(service, NEED_TAXONOMY):
        if code not in NEEDS:
            bad("attributes.safelight-need", "code", code, f"need codes are {', '.join(NEEDS)}")
        elif code not in needs:
            needs.append(code)
    if not needs:
        bad("attributes.safelight-need", "required", None,
            "a service must state at least one need it meets (attribute of taxonomy safelight-need)")

    genders: list[str] = []
    nationalities: list[str] = []
    statuses: list[str] = []
    children = None
    for code, value, _a in _terms(service, ELIGIBILITY_TAXONOMY):
        v = str(value or "").strip()
        if code == "gender":
            if v not in GENDERS:
                bad("attributes.gender", "code", v, f"gender values are {', '.join(GENDERS)}")
            genders.append(v)
        elif code == "nationality":
            iso = geography.resolve_country(v) if v else None
            if iso is None:
                bad("attributes.nationality", "country", v, "nationality must be a country (ISO 3166 code or name)")
            else:
                nationalities.append(iso)
        elif code == "legal_status":
            if v not in LEGAL_STATUSES:
                bad("attributes.legal_status", "code", v, f"legal_status values are {', '.join(LEGAL_STATUSES)}")
            statuses.append(v)
        elif code == "children":
            if v not in CHILDREN:
                bad("attributes.children", "code", v, "children is accepted or not_accepted")
            children = v
        else:
            bad("attributes.safelight-eligibility", "code", code,
                "eligibility terms are gender, nationality, legal_status, children")

    ages = []
    for key in ("minimum_age", "maximum_age"):
        try:
            a = _num(service.get(key))
        except (TypeError, ValueError):
            bad(key, "number", service.get(key), f"{key} must be a number of years")
            a = None
        if a is not None and not 0 <= a <= 120:
            bad(key, "range", a, f"{key} must be between 0 and 120")
        ages.append(None if a is None else int(a))
    if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
        bad("minimum_age", "order", f"{ages[0]}>{ages[1]}", "minimum_age is above maximum_age")

    languages = []
    for lang in _list(service, "languages"):
        code = str(lang.get("code") or "").strip().lower()
        if not _LANG.match(code):
            bad("languages.code", "iso639", lang.get("code"), "language code must be ISO 639 (e.g. uk, ar, ro)")
        elif code not in languages:
            languages.append(code)

    cap_av = cap_max = None
    caps = _list(service, "service_capacities")
    if caps:
        try:
            av, mx = _num(caps[0].get("available")), _num(caps[0].get("maximum"))
            if (av is not None and av < 0) or (mx is not None and mx < 0):
                raise ValueError(f"{av}/{mx}")
            cap_av = None if av is None else int(av)
            cap_max = None if mx is None else int(mx)
        except (TypeError, ValueError):
            bad("service_capacities.available", "number", caps[0].get("available"),
                "capacity available/maximum must be numbers ≥ 0")

    schedules = list(_list(service, "schedules"))
    country = region = place = None
    lat = lon = None
    to_seal: list[tuple[str, dict[str, Any]]] = []
    sealed: list[tuple[str, dict[str, Any]]] = []
    confidential = False
    front_door = False
    public_locs: list[tuple[bool, dict[str, Any]]] = []
    for sal in _list(service, "service_at_locations"):
        loc = sal.get("location") if isinstance(sal.get("location"), dict) else None
        if loc is None:
            bad("service_at_locations.location", "required", sal.get("id"), "a service_at_location needs its location")
            continue
        lid = str(loc.get("id") or "").strip()
        if not lid:
            bad("location.id", "required", None, "a location needs an id")
            continue
        if loc.get("location_type") not in LOCATION_TYPES:
            bad("location.location_type", "enum", loc.get("location_type"),
                f"location_type must be one of {', '.join(LOCATION_TYPES)}")
        if is_confidential(loc):
            confidential = True
            if "safelight_sealed" in loc:
                try:
                    sealed_parts(loc["safelight_sealed"])
                    sealed.append((lid, loc["safelight_sealed"]))
                except (KeyError, ValueError, TypeError) as exc:
                    bad("location.safelight_sealed", "sealed", lid, f"malformed sealed location ({exc})")
            else:
                to_seal.append((lid, {k: loc[k] for k in SEALED_FIELDS if k in loc} | {"id": lid}))
            continue
        schedules += _list(sal, "schedules")
        for key, lo, hi in (("latitude", -90, 90), ("longitude", -180, 180)):
            try:
                v = _num(loc.get(key))
            except (TypeError, ValueError):
                bad(f"location.{key}", "number", loc.get(key), f"{key} must be decimal degrees (WGS84)")
                continue
            if v is not None and not lo <= v <= hi:
                bad(f"location.{key}", "range", v, f"{key} must be between {lo} and {hi}")
        is_door = _truthy(loc.get("safelight_front_door"))
        front_door = front_door or is_door
        public_locs.append((is_door, loc))
    public_locs.sort(key=lambda x: not x[0])
    for _door, loc in public_locs:
        try:
            la, lo_ = _num(loc.get("latitude")), _num(loc.get("longitude"))
        except (TypeError, ValueError):
            la = lo_ = None
        addr = (_list(loc, "addresses") or [{}])[0]
        if country is None and addr.get("country"):
            country = geography.resolve_country(str(addr["country"]))
            if country is None:
                bad("address.country", "country", addr.get("country"), "address country must be an ISO 3166 code")
        region = region or addr.get("region") or addr.get("state_province")
        place = place or addr.get("city")
        if lat is None and la is not None and lo_ is not None:
            lat, lon = la, lo_
    areas = _list(service, "service_areas")
    if region is None and areas:
        region = areas[0].get("name")
    if confidential:
        has_phone = any(p.get("number") for p in _list(service, "phones"))
        if not (has_phone or front_door or areas):
            bad("safelight_confidential", "front_door", sid,
                "a confidential service needs a public front door: an intake phone, a front-door "
                "location (safelight_front_door) or a service area")
    hours = _hours(schedules, bad)

    if reasons:
        return None, reasons
    public = public_service(service, org or organizations.get(oid))
    # No sealed value may surface in the public document (e.g. an address pasted in a description).
    public_text = json.dumps(public, ensure_ascii=False).casefold() if to_seal else ""
    for lid, plain in to_seal:
        for group in _secret_strings(plain):
            if all(v.casefold() in public_text for v in group):
                bad("safelight_confidential", "leak", lid,
                    "a confidential location's address or coordinates also appear in public fields "
                    "(description, phones, ...); remove them there")
                return None, reasons
    return ServiceRecord(
        service_id=sid, organization_id=oid, name=name, status=status, country=country,
        region=region, place=place, latitude=lat, longitude=lon, needs=needs, languages=languages,
        interpretation=bool(service.get("interpretation_services")) or "interpretation" in needs,
        min_age=ages[0], max_age=ages[1], genders=genders or None,
        nationalities=nationalities or None, legal_statuses=statuses or None, children=children,
        capacity_available=cap_av, capacity_maximum=cap_max, hours=hours,
        confidential=confidential, public_doc=public, to_seal=to_seal, sealed=sealed,
        organization=copy.deepcopy(org) if org else None,
    ), []


def _secret_strings(location: dict[str, Any]) -> list[tuple[str, ...]]:
    """What of a confidential location must never be public: each address line, and the pair of
    its coordinates written to 3 decimals (~100 m). A group leaks when all its strings appear."""
    out: list[tuple[str, ...]] = []
    for a in _list(location, "addresses"):
        for k in ("address_1", "address_2"):
            if a.get(k) and len(str(a[k]).strip()) >= 6:
                out.append((str(a[k]).strip(),))
    if location.get("latitude") not in (None, "") and location.get("longitude") not in (None, ""):
        out.append((f"{float(location['latitude']):.3f}", f"{float(location['longitude']):.3f}"))
    return out


def check_organization(org: Any) -> list[Reason]:
    """Reasons an HSDS organization object is quarantined (empty: valid)."""
    if not isinstance(org, dict):
        return [Reason("organization", "type", type(org).__name__, "each organization must be a JSON object")]
    out = []
    for k in ("id", "name"):
        if not str(org.get(k) or "").strip():
            out.append(Reason(k, "required", None, f"an organization needs {k}"))
    if org.get("description") is None:
        out.append(Reason("description", "required", None, "an organization needs a description (HSDS 3.0)"))
    return out
