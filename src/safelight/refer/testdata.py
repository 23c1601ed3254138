"""A generated service directory for the demo, tests and benchmarks (HSDS 3.0 JSON).

Contract: :func:`generate_directory` returns ``{"organizations": [...], "services": [...]}`` with
``n`` HSDS service objects spread over the demo's service countries (see
``safelight.demo.countries``) in proportion to fixed weights: the main city of each country has
every kind of service, every other place the basics (emergency accommodation, a clinic,
counselling, legal aid), the rest is drawn at random. Services have realistic needs, languages,
eligibility, opening hours and capacities. Shelters are mostly confidential: their real location
(street address and coordinates, given in clear so an import seals it) sits next to a public front
door (an intake phone and a meeting point in the city). Every name, street and phone number is
invented. The same ``seed`` gives the same directory, byte for byte.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from safelight.demo.countries import format_phone, load_countries
from safelight.refer.model import DAYS, ELIGIBILITY_TAXONOMY, NEED_LABELS, NEED_TAXONOMY
from safelight.refer.places import places_in

#: Service countries of the demo and their share of the directory.
COUNTRY_WEIGHTS: dict[str, int] = {
    "UKR": 200, "POL": 150, "DEU": 180, "ITA": 150, "NGA": 100, "ROU": 120, "MDA": 80, "CZE": 60,
    "TUR": 90, "ESP": 130, "FRA": 130, "NLD": 80, "AUT": 60, "GBR": 150, "MAR": 60, "EGY": 60,
    "IRQ": 70, "LBN": 60,
}
#: Languages staff speak, by country (first: the national language; the rest drawn per service).
LANGUAGES: dict[str, tuple[str, ...]] = {
    "UKR": ("uk", "ru", "en"), "POL": ("pl", "uk", "ru", "en"), "DEU": ("de", "en", "uk", "ar", "ru", "ro", "tr"),
    "ITA": ("it", "en", "ro", "ar", "fr"), "NGA": ("en", "yo", "ha", "ig"), "ROU": ("ro", "en", "uk", "hu"),
    "MDA": ("ro", "ru", "uk"), "CZE": ("cs", "uk", "ru", "en"), "TUR": ("tr", "ar", "en", "ru"),
    "ESP": ("es", "en", "ro", "ar", "fr"), "FRA": ("fr", "en", "ar", "ro"), "NLD": ("nl", "en", "ar", "pl"),
    "AUT": ("de", "en", "ro", "uk"), "GBR": ("en", "ro", "pl", "vi", "ar"), "MAR": ("ar", "fr", "en"),
    "EGY": ("ar", "en"), "IRQ": ("ar", "ku", "en"), "LBN": ("ar", "fr", "en"),
}
CORE_KINDS = ("Emergency Accommodation", "Health Clinic", "Trauma Counselling", "Legal Aid Clinic")
ORIGIN_COUNTRIES = frozenset({"UKR", "MDA", "NGA", "ROU", "MAR", "EGY", "IRQ"})
_CC = {"CZE": "420", "TUR": "90", "ESP": "34", "FRA": "33", "NLD": "31", "AUT": "43", "GBR": "44", "LBN": "961"}
_STREETS = ("Oak", "Station", "Market", "River", "Garden", "Church", "Mill", "School", "Bridge",
            "Park", "Castle", "Meadow", "Harbour", "Union", "Liberty", "Linden", "Chestnut", "Willow")
_STREET_KIND = ("Street", "Road", "Lane", "Avenue", "Way")
# Confidential houses get streets of their own, so a test can search public output for any of them.
HOUSE_STREETS = ("Acacia", "Birch", "Cedar", "Hawthorn", "Juniper", "Laurel", "Magnolia", "Rowan", "Sycamore")
HOUSE_STREET_KIND = ("Close", "Gardens", "Terrace", "Mews")
_BRANDS = ("Safe Harbour", "New Dawn", "Open Door", "Bridge", "Compass", "Lighthouse", "Horizon",
           "Haven", "Keystone", "Beacon", "Pathways", "Hope", "Anchor", "Sunrise", "Solidarity",
           "Lantern", "Waypoint", "Harbourlight", "Kindred", "Northstar")
_MEETING = ("central railway station, information desk", "main post office, entrance hall",
            "city library, ground floor", "central bus station, ticket hall",
            "town hall, visitors' entrance", "university main gate")
_DOCS = ("citizen", "resident", "refugee", "asylum_seeker", "temporary_protection", "victim_permit")

# kind: (name, needs, weight, confidential share, audience)
_KINDS: tuple[tuple[str, tuple[str, ...], int, float, str], ...] = (
    ("Women's Shelter", ("shelter", "mental_health", "legal_aid"), 10, 0.9, "women"),
    ("Men's Shelter", ("shelter", "mental_health"), 4, 0.7, "men"),
    ("Children's Shelter", ("shelter", "child_care", "education"), 4, 0.9, "children"),
    ("Emergency Accommodation", ("shelter",), 5, 0.5, "adults"),
    ("Health Clinic", ("medical",), 9, 0.0, "all"),
    ("Trauma Counselling", ("mental_health",), 9, 0.0, "all"),
    ("Legal Aid Clinic", ("legal_aid",), 9, 0.0, "all"),
    ("Migrant Legal Advice", ("legal_aid", "interpretation"), 4, 0.0, "migrants"),
    ("Interpreting Service", ("interpretation",), 4, 0.0, "all"),
    ("Learning Centre", ("education",), 6, 0.0, "adults"),
    ("Skills and Training Centre", ("vocational_training", "education"), 6, 0.0, "young"),
    ("Employment Service", ("job_placement", "vocational_training"), 7, 0.0, "work"),
    ("Emergency Grants", ("financial_aid",), 5, 0.0, "all"),
    ("Family and Child Care", ("child_care",), 5, 0.0, "all"),
    ("Return and Reintegration", ("return_support", "financial_aid"), 4, 0.0, "return"),
    ("Survivor Peer Group", ("peer_support", "mental_health"), 5, 0.0, "women_or_all"),
    ("Support Centre for Ukrainians", ("legal_aid", "financial_aid", "interpretation"), 3, 0.0, "ukrainians"),
)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _phone(rng: random.Random, country: str, countries: dict) -> str:
    info = countries[country].phone if country in countries else None
    cc = info["cc"] if info else _CC.get(country, "000")
    size = info["nsn"] if info else 9
    nsn = str(rng.randrange(2, 10)) + "".join(str(rng.randrange(10)) for _ in range(size - 1))
    return format_phone(cc, nsn, "intl")


def _term(rng: random.Random, taxonomy: str, code: str, value: str | None = None) -> dict[str, Any]:
    term_id = f"{taxonomy}:{code}"
    attr = {"id": _uuid(rng), "taxonomy_term_id": term_id,
            "taxonomy_term": {"id": term_id, "code": code, "taxonomy": taxonomy,
                              "name": NEED_LABELS.get(code, code.replace("_", " ")),
                              "description": f"{taxonomy} term {code}"}}
    if value is not None:
        attr["value"] = value
    return attr


def _schedule(rng: random.Random, always: bool) -> list[dict[str, Any]]:
    if always:
        return [{"id": _uuid(rng), "freq": "WEEKLY", "byday": ",".join(DAYS), "opens_at": "00:00",
                 "closes_at": "23:59", "description": "Open day and night"}]
    start, end = rng.choice([("08:00", "16:00"), ("09:00", "17:00"), ("10:00", "18:00"), ("09:00", "13:00")])
    out = [{"id": _uuid(rng), "freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": start, "closes_at": end}]
    if rng.random() < 0.3:
        out.append({"id": _uuid(rng), "freq": "WEEKLY", "byday": "SA", "opens_at": "10:00", "closes_at": "14:00"})
    return out


def _eligibility(rng: random.Random, audience: str, country: str) -> tuple[list[dict], dict[str, Any], str]:
    attrs: list[dict] = []
    ages: dict[str, Any] = {}
    words = []
    if audience in ("women",) or (audience == "women_or_all" and rng.random() < 0.6):
        attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "gender", "female"))
        ages["minimum_age"] = 18
        words.append("women aged 18 and over")
    elif audience == "men":
        attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "gender", "male"))
        ages["minimum_age"] = 18
        words.append("men aged 18 and over")
    elif audience == "children":
        ages["minimum_age"], ages["maximum_age"] = 0, 17
        words.append("children and young people under 18")
    elif audience == "adults":
        ages["minimum_age"] = 18
        words.append("adults")
    elif audience == "young":
        ages["minimum_age"], ages["maximum_age"] = 16, rng.choice([25, 30, 35])
        words.append(f"people aged 16 to {ages['maximum_age']}")
    elif audience == "work":
        ages["minimum_age"] = 18
        for s in ("citizen", "resident", "refugee", "temporary_protection", "victim_permit"):
            attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "legal_status", s))
        words.append("adults allowed to work")
    elif audience == "migrants":
        for s in rng.sample(("refugee", "asylum_seeker", "temporary_protection", "victim_permit", "undocumented"), 3):
            attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "legal_status", s))
        words.append("migrants, refugees and asylum seekers")
    elif audience == "return":
        if country in ORIGIN_COUNTRIES:  # reintegration of the country's own returning nationals
            attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "nationality", country))
            words.append("nationals returning home")
        else:  # assisted voluntary return: open to every migrant who wants to go home
            words.append("migrants who want to return to their country")
    elif audience == "ukrainians":
        attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "nationality", "UKR"))
        words.append("people from Ukraine")
    else:
        words.append("anyone")
    return attrs, ages, "; ".join(words)


def generate_directory(n: int = 2000, seed: int = 20260601) -> dict[str, list[dict[str, Any]]]:
    """``n`` HSDS service objects and their organizations (see the module contract)."""
    rng = random.Random(seed)
    countries = load_countries()
    total = sum(COUNTRY_WEIGHTS.values())
    quota = {c: max(1, round(n * w / total)) for c, w in COUNTRY_WEIGHTS.items()}
    diff = n - sum(quota.values())
    quota["UKR"] += diff
    kinds, kind_w = list(_KINDS), [k[2] for k in _KINDS]
    orgs: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for country, q in quota.items():
        places = places_in(country)
        langs = LANGUAGES[country]
        org = None
        # the main city (first in the gazetteer) has one service of every kind, as real directories do;
        # the rest are spread over the country's places, the two largest weighing three times more
        plan = [(k, places[0]) for k in kinds] if q >= 2 * len(kinds) else []
        # every other place has the basics: a shelter, a clinic, counselling and legal aid
        core = [k for k in kinds if k[0] in CORE_KINDS]
        plan += [(k, pl) for pl in places[1:] for k in core][: max(0, q - len(plan))]
        weights = [3 if i < 2 else 1 for i in range(len(places))]
        plan += [(rng.choices(kinds, kind_w)[0], rng.choices(places, weights)[0]) for _ in range(q - len(plan))]
        for (kind, needs, _w, conf_share, audience), place in plan:
            if org is None or rng.random() < 0.35:
                org = {"id": _uuid(rng), "name": f"{rng.choice(_BRANDS)} {rng.choice(('Foundation', 'Association', 'Network', 'Trust', 'Centre', 'Alliance'))} {country}-{len(orgs) + 1}",
                       "description": "Non-governmental organisation supporting survivors of trafficking and exploitation (generated for the demo)."}
                orgs.append(org)
            sid = _uuid(rng)
            spoken = [langs[0]] + [x for x in langs[1:] if rng.random() < 0.45]
            attrs = [_term(rng, NEED_TAXONOMY, x) for x in needs]
            if "shelter" not in needs and rng.random() < 0.15:
                extra = rng.choice(("peer_support", "mental_health", "interpretation", "education"))
                if extra not in needs:
                    needs = (*needs, extra)
                    attrs.append(_term(rng, NEED_TAXONOMY, extra))
            e_attrs, ages, elig_text = _eligibility(rng, audience, country)
            attrs += e_attrs
            shelter = "shelter" in needs
            if shelter:
                kids = "accepted" if (audience == "children" or (audience == "women" and rng.random() < 0.6)) else "not_accepted"
                attrs.append(_term(rng, ELIGIBILITY_TAXONOMY, "children", kids))
            confidential = rng.random() < conf_share
            name = f"{rng.choice(_BRANDS)} {kind} {place.name}"
            svc: dict[str, Any] = {
                "id": sid, "organization_id": org["id"], "name": name, "status": "active",
                "description": f"{kind} run by {org['name']}.",
                "eligibility_description": elig_text,
                "interpretation_services": "Telephone interpreting on request" if rng.random() < 0.35 else None,
                "languages": [{"id": _uuid(rng), "code": x, "name": x} for x in spoken],
                "attributes": attrs,
                "schedules": _schedule(rng, shelter or kind == "Health Clinic" and rng.random() < 0.2),
                "phones": [{"id": _uuid(rng), "number": _phone(rng, country, countries),
                            "type": "voice", "description": "Intake line" if confidential else "Reception"}],
                "service_areas": [{"id": _uuid(rng), "name": place.region or place.name}],
                **ages,
            }
            if svc["interpretation_services"] is None:
                del svc["interpretation_services"]
            if shelter:
                mx = rng.randrange(6, 30)
                svc["service_capacities"] = [{"id": _uuid(rng), "available": rng.choice([0, 0, 1, 2, 3, 5, mx // 2]),
                                              "maximum": mx, "unit": {"id": "unit-beds", "name": "beds"},
                                              "updated": "2026-11-01T09:00:00Z", "description": "Beds"}]
            city = {"city": place.name, "region": place.region, "country": countries[country].alpha2}
            street = (f"{rng.randrange(1, 180)} {rng.choice(HOUSE_STREETS)} {rng.choice(HOUSE_STREET_KIND)}" if confidential
                      else f"{rng.randrange(1, 180)} {rng.choice(_STREETS)} {rng.choice(_STREET_KIND)}")
            lat = round(place.latitude + rng.uniform(-0.06, 0.06), 5)
            lon = round(place.longitude + rng.uniform(-0.06, 0.06), 5)
            if confidential:
                # the front door is at least ~1.5 km away from the real place
                dlat = rng.choice((-1, 1)) * rng.uniform(0.015, 0.03)
                door = {"id": _uuid(rng), "location_type": "physical", "safelight_front_door": True,
                        "name": f"Meeting point: {rng.choice(_MEETING)}", "latitude": round(lat + dlat, 4),
                        "longitude": round(place.longitude, 4), "addresses": [{"id": _uuid(rng), **city, "address_type": "physical"}],
                        "description": "Call the intake line first; staff meet you here."}
                real = {"id": _uuid(rng), "location_type": "physical", "safelight_confidential": True,
                        "name": f"{name} (house)", "latitude": lat, "longitude": lon,
                        "addresses": [{"id": _uuid(rng), "address_1": street, **city, "postal_code": f"{rng.randrange(10000, 99999)}",
                                       "address_type": "physical"}]}
                svc["service_at_locations"] = [{"id": _uuid(rng), "location": door}, {"id": _uuid(rng), "location": real}]
            else:
                loc = {"id": _uuid(rng), "location_type": "physical", "name": name, "latitude": lat, "longitude": lon,
                       "addresses": [{"id": _uuid(rng), "address_1": street, **city, "address_type": "physical"}]}
                svc["service_at_locations"] = [{"id": _uuid(rng), "location": loc}]
            services.append(svc)
    return {"organizations": orgs, "services": services}
