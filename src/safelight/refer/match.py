"""Need matching for caseworkers: rank the directory's services for one person, with reasons.

Contract
--------
:class:`DirectoryIndex` holds the active services as NumPy columns (need, language, gender and
legal-status bit masks; ages; public positions; capacity; a weekly opening bitmap by hour).
:meth:`DirectoryIndex.match` applies the hard conditions (meets at least one need; eligible by
gender, age, nationality, legal status and children; not full; within ``max_km``, widened to
twice and then four times ``max_km`` when nothing is that near, with a reason saying so), then scores
every survivor in one vectorised pass and explains the top ``limit`` results. Services that meet
the person's primary (first) need always rank above those that do not; the score orders within. A person's unknown
attribute never excludes a service; it adds a "check" reason instead. Each reason is a
:class:`~safelight.messages.Message` (the English sentence, translatable by the web pages). Positions are the public
ones (a confidential service is placed at its front door), so matching never reads a sealed location.

Score (0..1) = 0.45 need coverage (primary need weighs 3, each further need 1)
             + 0.25 language (preferred 1, another of the person's 0.8, interpretation 0.5)
             + 0.20 proximity (exp(-km/40); no position 0.2)
             + 0.05 open at the given time (unknown 0.5) + 0.05 free capacity (unknown 0.5)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from safelight.errors import UsageError
from safelight.messages import Message
from safelight.refer.model import GENDERS, LEGAL_STATUSES, NEED_LABELS, NEEDS, Match, Person
from safelight.refer.places import haversine_km
from safelight.store.hub import Hub

_COLUMNS = ("service_id", "organization_id", "name", "country", "place", "latitude", "longitude",
            "needs", "languages", "interpretation", "min_age", "max_age", "genders", "nationalities",
            "legal_statuses", "children", "capacity_available", "capacity_maximum", "hours", "confidential")
W_NEED, W_LANG, W_DIST, W_OPEN, W_CAP = 0.45, 0.25, 0.20, 0.05, 0.05
DISTANCE_SCALE_KM = 40.0


def _mask(values: Iterable[str] | None, vocab: dict[str, int]) -> int:
    m = 0
    for v in values or ():
        if v in vocab:
            m |= 1 << vocab[v]
    return m


def _hour_bitmap(hours: Any) -> tuple[int, int, int, bool]:
    """Three 56-bit words of a 168-hour week (bit = open during that hour), and 'known'."""
    if hours is None:
        return 0, 0, 0, False
    if isinstance(hours, str):
        hours = json.loads(hours)
    bits = 0
    for day, opens, closes in hours:
        for h in range(opens // 60, (closes + 59) // 60):
            if h < 24:
                bits |= 1 << (day * 24 + h)
    word = (1 << 56) - 1
    return bits & word, (bits >> 56) & word, (bits >> 112) & word, True


@dataclass(frozen=True)
class _Vocab:
    needs: dict[str, int]
    genders: dict[str, int]
    statuses: dict[str, int]
    languages: dict[str, int]


class DirectoryIndex:
    """Active services as columns, ready for :meth:`match`. Build with :meth:`from_hub` or :meth:`from_rows`."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        n = len(rows)
        langs = sorted({lang for r in rows for lang in (r["languages"] or ())})
        self.vocab = _Vocab({k: i for i, k in enumerate(NEEDS)}, {k: i for i, k in enumerate(GENDERS)},
                            {k: i for i, k in enumerate(LEGAL_STATUSES)},
                            {k: i for i, k in enumerate(langs[:63])})
        self.n = n
        self.ids = [r["service_id"] for r in rows]
        self.names = [r["name"] for r in rows]
        self.orgs = [r["organization_id"] for r in rows]
        self.countries = [r["country"] for r in rows]
        self.places = [r["place"] for r in rows]
        self.languages = [tuple(r["languages"] or ()) for r in rows]
        self.nationalities = [frozenset(r["nationalities"]) if r["nationalities"] else None for r in rows]
        f = np.float64
        self.lat = np.array([np.nan if r["latitude"] is None else r["latitude"] for r in rows], dtype=f)
        self.lon = np.array([np.nan if r["longitude"] is None else r["longitude"] for r in rows], dtype=f)
        self.need_mask = np.array([_mask(r["needs"], self.vocab.needs) for r in rows], dtype=np.uint32)
        self.lang_mask = np.array([_mask(r["languages"], self.vocab.languages) | (
            (1 << 63) if any(x not in self.vocab.languages for x in r["languages"] or ()) else 0)
            for r in rows], dtype=np.uint64)
        self.interp = np.array([bool(r["interpretation"]) for r in rows], dtype=bool)
        self.min_age = np.array([np.nan if r["min_age"] is None else r["min_age"] for r in rows], dtype=f)
        self.max_age = np.array([np.nan if r["max_age"] is None else r["max_age"] for r in rows], dtype=f)
        self.gender_mask = np.array([_mask(r["genders"], self.vocab.genders) for r in rows], dtype=np.uint8)
        self.status_mask = np.array([_mask(r["legal_statuses"], self.vocab.statuses) for r in rows], dtype=np.uint8)
        self.nat_restricted = np.array([x is not None for x in self.nationalities], dtype=bool)
        self.children = np.array([{"accepted": 1, "not_accepted": 0}.get(r["children"], -1) for r in rows], dtype=np.int8)
        self.cap_av = np.array([np.nan if r["capacity_available"] is None else r["capacity_available"] for r in rows], dtype=f)
        self.cap_max = np.array([np.nan if r["capacity_maximum"] is None else r["capacity_maximum"] for r in rows], dtype=f)
        bm = [_hour_bitmap(r["hours"]) for r in rows]
        self.hours_words = np.array([b[:3] for b in bm], dtype=np.uint64).reshape(n, 3)
        self.hours_known = np.array([b[3] for b in bm], dtype=bool)
        self.confidential = np.array([bool(r["confidential"]) for r in rows], dtype=bool)

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> DirectoryIndex:
        return cls(list(rows))

    @classmethod
    def from_hub(cls, hub: Hub) -> DirectoryIndex:
        cur = hub.con.execute(f"SELECT {', '.join(_COLUMNS)} FROM refer_services WHERE status = 'active' "
                              "ORDER BY service_id")
        names = [d[0] for d in cur.description]
        return cls([dict(zip(names, row, strict=True)) for row in cur.fetchall()])

    # ------------------------------------------------------------------ matching

    def _check(self, person: Person) -> None:
        if not person.needs:
            raise UsageError("say what the person needs (--needs), e.g. shelter,legal_aid")
        bad = [x for x in person.needs if x not in NEEDS]
        if bad:
            raise UsageError(f"unknown need(s) {', '.join(bad)}; needs are {', '.join(NEEDS)}")
        if person.gender is not None and person.gender not in GENDERS:
            raise UsageError(f"gender {person.gender!r}: use {', '.join(GENDERS)}")
        if person.legal_status is not None and person.legal_status not in LEGAL_STATUSES:
            raise UsageError(f"legal status {person.legal_status!r}: use {', '.join(LEGAL_STATUSES)}")
        if (person.latitude is None) != (person.longitude is None):
            raise UsageError("give both latitude and longitude of the person's place, or neither")

    def match(self, person: Person, *, limit: int = 10, at: dt.datetime | None = None) -> list[Match]:
        """Ranked services for ``person`` (best first), each with the reasons for its rank."""
        self._check(person)
        if self.n == 0:
            return []
        v = self.vocab
        need_bits = [1 << v.needs[x] for x in person.needs]
        wanted = np.uint32(sum(set(need_bits)))
        ok = (self.need_mask & wanted) != 0
        if person.gender is not None:
            ok &= (self.gender_mask == 0) | ((self.gender_mask & np.uint8(1 << v.genders[person.gender])) != 0)
        if person.age is not None:
            ok &= ~(self.min_age > person.age) & ~(self.max_age < person.age)
        if person.legal_status is not None:
            ok &= (self.status_mask == 0) | ((self.status_mask & np.uint8(1 << v.statuses[person.legal_status])) != 0)
        shelter_bit = np.uint32(1 << v.needs["shelter"])
        if person.with_children:
            ok &= ~(((self.need_mask & shelter_bit) != 0) & (self.children == 0))
        ok &= ~(self.cap_av <= 0)
        if person.nationality is not None:
            for i in np.flatnonzero(ok & self.nat_restricted):
                if person.nationality not in self.nationalities[i]:
                    ok[i] = False
        idx = np.flatnonzero(ok)
        dist = None
        radius = person.max_km
        if person.latitude is not None and idx.size:
            # a cheap box of 4 x max_km first, great-circle distances only for what is inside it
            far = 4 * person.max_km
            dlon = far / (111.32 * max(math.cos(math.radians(person.latitude)), 0.01))
            la, lo = self.lat[idx], self.lon[idx]
            box = ~(np.abs(la - person.latitude) > far / 110.5) & ~(np.abs((lo - person.longitude + 180) % 360 - 180) > dlon)
            idx = idx[box]
            d = haversine_km(person.latitude, person.longitude, self.lat[idx], self.lon[idx])
            # nothing within max_km: widen twice (x2, x4) and say so, rather than answer nothing
            for radius in (person.max_km, 2 * person.max_km, far):
                if np.any(~(d > radius)):
                    break
            keep = ~(d > radius)
            idx = idx[keep]
            dist = np.full(self.n, np.nan)
            dist[idx] = d[keep]
        if idx.size == 0:
            return []
        # need coverage: primary need 3, others 1
        weights = np.zeros(idx.size)
        total = 0.0
        for j, bit in enumerate(need_bits):
            w = 3.0 if j == 0 else 1.0
            total += w
            weights += w * ((self.need_mask[idx] & np.uint32(bit)) != 0)
        s_need = weights / total
        # language
        if person.languages:
            lm = self.lang_mask[idx]
            pref = np.uint64(_mask(person.languages[:1], v.languages))
            anyl = np.uint64(_mask(person.languages, v.languages))
            s_lang = np.where((lm & pref) != 0, 1.0, np.where((lm & anyl) != 0, 0.8,
                                                              np.where(self.interp[idx], 0.5, 0.0)))
        else:
            s_lang = np.full(idx.size, 0.5)
        # proximity
        if dist is not None:
            d = dist[idx]
            s_dist = np.where(np.isnan(d), 0.2, np.exp(-np.nan_to_num(d) / DISTANCE_SCALE_KM))
        else:
            s_dist = np.full(idx.size, 0.5)
        # open at time
        if at is not None:
            h = at.weekday() * 24 + at.hour
            word, bit = divmod(h, 56)
            open_now = (self.hours_words[idx, word] >> np.uint64(bit)) & np.uint64(1)
            s_open = np.where(self.hours_known[idx], open_now.astype(float), 0.5)
        else:
            s_open = np.full(idx.size, 0.5)
        cap = self.cap_av[idx]
        s_cap = np.where(np.isnan(cap), 0.5, 1.0)
        score = W_NEED * s_need + W_LANG * s_lang + W_DIST * s_dist + W_OPEN * s_open + W_CAP * s_cap
        # services meeting the primary need always rank above those that do not
        key = score + ((self.need_mask[idx] & np.uint32(need_bits[0])) != 0)
        k = min(limit, idx.size)
        top = np.argpartition(-key, k - 1)[:k] if k < idx.size else np.arange(idx.size)
        top = top[np.lexsort((np.array([self.ids[idx[t]] for t in top]), -key[top]))]
        out = []
        for rank, t in enumerate(top, start=1):
            i = int(idx[t])
            m = self._explain(rank, i, float(score[t]), person, None if dist is None else float(dist[i]),
                              at, float(s_lang[t]))
            if radius > person.max_km:
                m = replace(m, reasons=(*m.reasons, Message(
                    "nothing suitable within {km} km; search widened to {radius} km",
                    km=f"{person.max_km:.0f}", radius=f"{radius:.0f}")))
            out.append(m)
        return out

    def _explain(self, rank: int, i: int, score: float, person: Person, km: float | None,
                 at: dt.datetime | None, s_lang: float) -> Match:
        met = tuple(x for x in person.needs if self.need_mask[i] & (1 << self.vocab.needs[x]))
        reasons = []
        primary = person.needs[0]
        if primary in met:
            reasons.append(Message("meets the primary need: {need}", terms={"need": [NEED_LABELS[primary]]}))
        else:
            reasons.append(Message("does not offer the primary need ({need})",
                                   terms={"need": [NEED_LABELS[primary]]}))
        others = [NEED_LABELS[x] for x in met if x != primary]
        if others:
            reasons.append(Message("also meets: {needs}", terms={"needs": others}))
        missing = [NEED_LABELS[x] for x in person.needs if x not in met and x != primary]
        if missing:
            reasons.append(Message("not offered here: {needs}", terms={"needs": missing}))
        if person.languages:
            spoken = [x for x in person.languages if x in self.languages[i]]
            if s_lang == 1.0:
                reasons.append(Message("staff speak {language} (preferred language)",
                                       language=person.languages[0]))
            elif spoken:
                reasons.append(Message("staff speak {languages}", languages=", ".join(spoken)))
            elif s_lang == 0.5:
                reasons.append(Message("interpretation available"))
            else:
                reasons.append(Message("no shared language and no interpretation stated"))
        if km is not None and not np.isnan(km):
            reasons.append(Message("{km} km away (front door of a confidential service)"
                                   if self.confidential[i] else "{km} km away", km=f"{km:.0f}"))
        elif person.latitude is not None:
            reasons.append(Message("no public position (reach by phone)"))
        if at is not None:
            if not self.hours_known[i]:
                reasons.append(Message("opening hours not stated"))
            else:
                h = at.weekday() * 24 + at.hour
                is_open = (int(self.hours_words[i, h // 56]) >> (h % 56)) & 1
                reasons.append(Message("open at the requested time" if is_open
                                       else "closed at the requested time"))
        if not np.isnan(self.cap_av[i]):
            reasons.append(Message("{n} place(s) free", n=int(self.cap_av[i])))
        checks = []  # the search form's labels of what the person did not say
        if person.gender is None and self.gender_mask[i]:
            checks.append("Gender")
        if person.age is None and not (np.isnan(self.min_age[i]) and np.isnan(self.max_age[i])):
            checks.append("Age")
        if person.nationality is None and self.nat_restricted[i]:
            checks.append("Nationality")
        if person.legal_status is None and self.status_mask[i]:
            checks.append("Legal status")
        if checks:
            reasons.append(Message("check eligibility: {attributes} restricted", terms={"attributes": checks}))
        elif self.gender_mask[i] or self.status_mask[i] or self.nat_restricted[i] or not np.isnan(self.min_age[i]):
            reasons.append(Message("eligible (restrictions checked)"))
        return Match(rank, self.ids[i], self.names[i], self.orgs[i], score, km if km is None or not np.isnan(km) else None,
                     met, tuple(reasons), bool(self.confidential[i]), self.places[i], self.countries[i])
