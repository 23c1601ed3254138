"""Places with a position, and distances between positions.

Contract: :func:`load_places` reads the shipped gazetteer (``data/places.csv``: city centres of
the demo directory's countries, approximate); :func:`find_place` resolves ``"Lviv"``,
``"Lviv, UKR"``, ``"Львів"`` or ``"49.84,24.03"`` to a :class:`Place` or raises
:class:`UsageError` naming close candidates; :func:`haversine_km` is vectorised over NumPy arrays.
A name in Cyrillic is read in Ukraine's national romanisation (the gazetteer's spelling of
Ukrainian places: Київ is Kyiv, Запоріжжя Zaporizhzhia); other names are compared as typed.
"""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from importlib import resources

import numpy as np

from safelight.errors import UsageError
from safelight.identity.transliterate import transliterate
from safelight.messages import Message
from safelight.refer.model import Place
from safelight.standard import geography

EARTH_RADIUS_KM = 6371.0088
_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


@cache
def load_places() -> tuple[Place, ...]:
    text = resources.files("safelight.refer").joinpath("data/places.csv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return tuple(Place(r["name"], r["country"], float(r["latitude"]), float(r["longitude"]), r["region"] or None)
                 for r in csv.DictReader(io.StringIO("\n".join(lines))))


def places_in(country: str) -> list[Place]:
    return [p for p in load_places() if p.country == country]


def _fold(s: str) -> str:
    """The comparison key of a place name: romanised as Ukraine's passports do (Latin passes
    unchanged), then normalised like a country name."""
    return geography.normalise_name(transliterate(s, "uk_national", lang="uk"))


def find_place(text: str) -> Place:
    """Resolve a place name (optionally ``, COUNTRY``) or ``lat,lon``."""
    m = _COORDS.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise UsageError(Message("--near {text}: latitude must be within ±90 and longitude "
                                     "within ±180", text=text))
        return Place(text.strip(), "", lat, lon)
    name, _, country = text.partition(",")
    iso = geography.resolve_country(country.strip()) if country.strip() else None
    if country.strip() and iso is None:
        raise UsageError(Message("--near {text}: {country} is not a country I know", text=text,
                                 country=repr(country.strip())))
    key = _fold(name)
    hits = [p for p in load_places() if _fold(p.name) == key and (iso is None or p.country == iso)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise UsageError(Message("--near {text}: several places have this name ({places}); add "
                                 "the country", text=text,
                                 places=", ".join(p.name + ", " + p.country for p in hits)))
    close = [p for p in load_places() if key[:3] and _fold(p.name).startswith(key[:3])]
    if close:
        raise UsageError(Message("--near {text}: no such place in the gazetteer; did you mean "
                                 "{places}?", text=text,
                                 places=", ".join(p.name + ", " + p.country for p in close[:5])))
    raise UsageError(Message("--near {text}: no such place in the gazetteer; give coordinates "
                             "as LAT,LON instead", text=text))


def haversine_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km from one point to many (NaN where a position is missing)."""
    p1, l1 = np.radians(lat1), np.radians(lon1)
    p2, l2 = np.radians(lat2), np.radians(lon2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
