"""Structured job-ad fields recovered from the tail of a flattened EMSCAD text.

Contract
--------
The balanced EMSCAD files hold one pre-processed ``text`` per ad: company profile, description,
requirements, benefits, title, location, employment type, required experience, required
education, industry and function, concatenated in that order, lower-cased, with punctuation
and English stop words removed. The last six fields come from small closed vocabularies
(Workable's employment types, experience levels and education levels, LinkedIn's industries
and job functions) and the location is ``country state city`` with ISO 3166-1 alpha-2 country
codes, so they can be read back from the right-hand end of the text.

:func:`parse_tail` returns those fields (:class:`TailFields`; an empty string where the field
is absent — its absence is itself informative) by greedy longest matching from the right.
:func:`field_tokens` turns them into categorical tokens (``"industry=oil energy"``,
``"function=none"``, ``"country=us"``, ``"state=us tx"``) that a linear model can weigh;
:func:`describe_field_token` says what one means in words for a reviewer. Parsing is pure Python, deterministic and never raises on odd input: an
ad whose tail matches nothing simply has every field absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

__all__ = ["FIELD_NAMES", "TailFields", "describe_field_token", "field_tokens", "normalise_value",
           "parse_tail"]

#: The English stop words the EMSCAD publisher removed that occur in the field vocabularies.
_STOP = frozenset({"and", "or", "of", "the", "not", "other", "some", "s", "a", "in", "for",
                   "to", "on", "at", "by", "with"})

_EMPLOYMENT = ("Full-time", "Part-time", "Contract", "Temporary")
_EXPERIENCE = ("Internship", "Entry level", "Associate", "Mid-Senior level", "Director",
               "Executive", "Not Applicable")
_EDUCATION = ("Bachelor's Degree", "Master's Degree", "High School or equivalent", "Unspecified",
              "Some College Coursework Completed", "Vocational", "Certification",
              "Associate Degree", "Professional", "Doctorate", "Some High School Coursework",
              "Vocational - HS Diploma", "Vocational - Degree")
_FUNCTION = ("Accounting/Auditing", "Administrative", "Advertising", "Art/Creative",
             "Business Analyst", "Business Development", "Consulting", "Customer Service",
             "Data Analyst", "Design", "Distribution", "Education", "Engineering", "Finance",
             "Financial Analyst", "General Business", "Health Care Provider", "Human Resources",
             "Information Technology", "Legal", "Management", "Manufacturing", "Marketing",
             "Product Management", "Production", "Project Management", "Public Relations",
             "Purchasing", "Quality Assurance", "Research", "Sales", "Science", "Strategy/Planning",
             "Supply Chain", "Training", "Writing/Editing")
_INDUSTRY = (
    "Accounting", "Airlines/Aviation", "Alternative Dispute Resolution", "Alternative Medicine",
    "Animation", "Apparel & Fashion", "Architecture & Planning", "Arts and Crafts", "Automotive",
    "Aviation & Aerospace", "Banking", "Biotechnology", "Broadcast Media", "Building Materials",
    "Business Supplies and Equipment", "Capital Markets", "Chemicals",
    "Civic & Social Organization", "Civil Engineering", "Commercial Real Estate",
    "Computer & Network Security", "Computer Games", "Computer Hardware", "Computer Networking",
    "Computer Software", "Construction", "Consumer Electronics", "Consumer Goods",
    "Consumer Services", "Cosmetics", "Dairy", "Defense & Space", "Design",
    "Education Management", "E-Learning", "Electrical/Electronic Manufacturing", "Entertainment",
    "Environmental Services", "Events Services", "Executive Office", "Facilities Services",
    "Farming", "Financial Services", "Fine Art", "Fishery", "Food & Beverages",
    "Food Production", "Fund-Raising", "Furniture", "Gambling & Casinos",
    "Glass, Ceramics & Concrete", "Government Administration", "Government Relations",
    "Graphic Design", "Health, Wellness and Fitness", "Higher Education",
    "Hospital & Health Care", "Hospitality", "Human Resources", "Import and Export",
    "Individual & Family Services", "Industrial Automation", "Information Services",
    "Information Technology and Services", "Insurance", "International Affairs",
    "International Trade and Development", "Internet", "Investment Banking",
    "Investment Management", "Judiciary", "Law Enforcement", "Law Practice", "Legal Services",
    "Legislative Office", "Leisure, Travel & Tourism", "Libraries",
    "Logistics and Supply Chain", "Luxury Goods & Jewelry", "Machinery",
    "Management Consulting", "Maritime", "Market Research", "Marketing and Advertising",
    "Mechanical or Industrial Engineering", "Media Production", "Medical Devices",
    "Medical Practice", "Mental Health Care", "Military", "Mining & Metals",
    "Motion Pictures and Film", "Museums and Institutions", "Music", "Nanotechnology",
    "Newspapers", "Nonprofit Organization Management", "Oil & Energy", "Online Media",
    "Outsourcing/Offshoring", "Package/Freight Delivery", "Packaging and Containers",
    "Paper & Forest Products", "Performing Arts", "Pharmaceuticals", "Philanthropy",
    "Photography", "Plastics", "Political Organization", "Primary/Secondary Education",
    "Printing", "Professional Training & Coaching", "Program Development", "Public Policy",
    "Public Relations and Communications", "Public Safety", "Publishing",
    "Railroad Manufacture", "Ranching", "Real Estate", "Recreational Facilities and Services",
    "Religious Institutions", "Renewables & Environment", "Research", "Restaurants", "Retail",
    "Security and Investigations", "Semiconductors", "Shipbuilding", "Sporting Goods", "Sports",
    "Staffing and Recruiting", "Supermarkets", "Telecommunications", "Textiles", "Think Tanks",
    "Tobacco", "Translation and Localization", "Transportation/Trucking/Railroad", "Utilities",
    "Venture Capital & Private Equity", "Veterinary", "Warehousing", "Wholesale",
    "Wine and Spirits", "Wireless", "Writing and Editing")

#: Field names, right to left as :func:`parse_tail` reads them, then location and title.
FIELD_NAMES = ("function", "industry", "education", "experience", "employment", "country",
               "state", "city", "title")
_TITLE_WORDS = 4          # words before the location read as the job title
_LOCATION_WINDOW = 6      # the country code must sit among the last words before the fields


def normalise_value(value: str) -> tuple[str, ...]:
    """A vocabulary value as it appears in the pre-processed text (lower-cased, punctuation
    turned into spaces, apostrophes and stop words dropped): ``"Oil & Energy"`` → ``("oil",
    "energy")``, ``"Bachelor's Degree"`` → ``("bachelor", "degree")``."""
    s = value.lower().replace("'s", "").replace("'", "")
    s = "".join(ch if ch.isalnum() else " " for ch in s)
    return tuple(w for w in s.split() if w not in _STOP)


@cache
def _phrases() -> dict[str, dict[tuple[str, ...], str]]:
    """Per field, normalised phrase → display value (phrases that vanish entirely dropped)."""
    out: dict[str, dict[tuple[str, ...], str]] = {}
    for name, values in (("function", _FUNCTION), ("industry", _INDUSTRY),
                         ("education", _EDUCATION), ("experience", _EXPERIENCE),
                         ("employment", _EMPLOYMENT)):
        out[name] = {p: " ".join(p) for v in values if (p := normalise_value(v))}
    return out


@cache
def _countries() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_2.lower() for c in pycountry.countries)


@dataclass(frozen=True)
class TailFields:
    """The fields read from an ad's tail; ``""`` = absent."""

    function: str = ""
    industry: str = ""
    education: str = ""
    experience: str = ""
    employment: str = ""
    country: str = ""
    state: str = ""
    city: str = ""
    title: str = ""
    #: how many words from the end the fields and location cover (the rest is the body)
    tail_words: int = 0


def _match_end(words: Sequence[str], end: int, phrases: dict[tuple[str, ...], str]) -> int:
    """Length of the longest phrase ending at ``words[end - 1]`` (0 if none)."""
    for k in range(min(5, end), 0, -1):
        if tuple(words[end - k:end]) in phrases:
            return k
    return 0


_FIELD_ORDER = ("function", "industry", "education", "experience", "employment")


def _best_fields(words: Sequence[str], end: int, field: int) -> tuple[int, dict[str, str]]:
    """(words consumed, fields) of the parse of ``words[:end]`` from field ``field`` on that
    consumes the most words; each field is optional and ties keep a field matched."""
    if field == len(_FIELD_ORDER):
        return 0, {}
    name = _FIELD_ORDER[field]
    phrases = _phrases()[name]
    best = _best_fields(words, end, field + 1)
    k = _match_end(words, end, phrases)
    if k:
        used, found = _best_fields(words, end - k, field + 1)
        if used + k >= best[0]:
            best = (used + k, {**found, name: phrases[tuple(words[end - k:end])]})
    return best


def parse_tail(text: str) -> TailFields:
    """Read the structured fields from the end of ``text`` (see the module docstring).

    The five closed-vocabulary fields are matched right to left, each optional, keeping the
    reading that explains the most words; then the location's country code is looked for
    among the last words before them (``us`` first, the commonest and never a state code,
    else the right-most code), followed by an optional state code of up to three letters."""
    words = (text or "").split()
    used, found = _best_fields(words, len(words), 0)
    end = len(words) - used
    countries = _countries()
    window = range(end - 1, max(end - _LOCATION_WINDOW, 0) - 1, -1)
    loc = next((i for i in window if words[i] == "us"), -1)
    if loc < 0:
        loc = next((i for i in window if words[i] in countries), -1)
    if loc >= 0:
        found["country"] = words[loc]
        rest = words[loc + 1:end]
        if len(rest) > 1 and len(rest[0]) <= 3 and rest[0].isalpha():
            found["state"] = f"{words[loc]} {rest[0]}"
            rest = rest[1:]
        if rest:
            found["city"] = " ".join(rest)
        found["title"] = " ".join(words[max(loc - _TITLE_WORDS, 0):loc])
        end = loc
    return TailFields(**found, tail_words=len(words) - end)


def field_tokens(text: str) -> list[str]:
    """Categorical tokens of the ad's tail fields, ``"name=value"`` or ``"name=none"``.

    The title becomes one token per word (``"title:clerk"``); the city is left out (it is in
    the words already and too sparse to generalise)."""
    f = parse_tail(text)
    toks = [f"{name}={getattr(f, name) or 'none'}"
            for name in ("function", "industry", "education", "experience", "employment",
                         "country", "state")]
    toks.extend(f"title:{w}" for w in f.title.split())
    missing = sum(not getattr(f, n) for n in ("function", "industry", "education",
                                              "experience", "employment"))
    toks.append(f"fields_missing={missing}")
    return toks


_LABELS = {"function": "job function", "industry": "industry", "education": "required education",
           "experience": "required experience", "employment": "employment type",
           "country": "country", "state": "state"}


def describe_field_token(token: str) -> str:
    """A field token of :func:`field_tokens` in words: ``"industry=oil energy"`` → ``industry
    ‘oil energy’``, ``"education=none"`` → ``no required education stated``."""
    if token.startswith("title:"):
        return f"job-title word ‘{token[6:]}’"
    name, _, value = token.partition("=")
    if name == "fields_missing":
        return f"{value} of 5 job fields (type, experience, education, industry, function) absent"
    label = _LABELS.get(name, name)
    return f"no {label} stated" if value == "none" else f"{label} ‘{value}’"
