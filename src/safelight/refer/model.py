"""Shared shapes and vocabularies of the refer stage.

Needs, eligibility codes and languages are closed vocabularies so that a directory and a person
can be compared exactly; :class:`Person` is what a caseworker asks about, :class:`Match` is one
ranked answer with the reasons for its rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: What a survivor may need; the code is the HSDS taxonomy_term code of taxonomy ``safelight-need``.
NEEDS: tuple[str, ...] = (
    "shelter", "medical", "mental_health", "legal_aid", "interpretation", "education",
    "vocational_training", "job_placement", "financial_aid", "child_care", "return_support",
    "peer_support",
)
NEED_LABELS: dict[str, str] = {
    "shelter": "Shelter", "medical": "Medical care", "mental_health": "Mental health support",
    "legal_aid": "Legal aid", "interpretation": "Interpretation", "education": "Education",
    "vocational_training": "Vocational training", "job_placement": "Job placement",
    "financial_aid": "Financial aid", "child_care": "Child care",
    "return_support": "Repatriation / return support", "peer_support": "Peer support group",
}
GENDERS: tuple[str, ...] = ("female", "male", "other")
#: Residence situations a service may restrict to (``safelight-eligibility`` term ``legal_status``).
LEGAL_STATUSES: tuple[str, ...] = (
    "citizen", "resident", "refugee", "asylum_seeker", "temporary_protection",
    "victim_permit", "undocumented",
)
CHILDREN = ("accepted", "not_accepted")
#: Referral reasons of HTCDS 2.0 (cas_ referral details).
REFERRAL_REASONS: tuple[str, ...] = ("AdditionalServicesRequired", "MigrationOrChangeOfLocation", "Other")

NEED_TAXONOMY = "safelight-need"
ELIGIBILITY_TAXONOMY = "safelight-eligibility"
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Place:
    """A named place with a position (city centre, approximate)."""

    name: str
    country: str  # ISO 3166-1 alpha-3
    latitude: float
    longitude: float
    region: str | None = None


@dataclass(frozen=True)
class Person:
    """Who needs help, as much as the caseworker knows (``None``: not known, not a filter)."""

    needs: tuple[str, ...]               # in order of priority
    languages: tuple[str, ...] = ()      # ISO 639-1 codes, the first is preferred
    latitude: float | None = None
    longitude: float | None = None
    gender: str | None = None
    age: int | None = None
    nationality: str | None = None       # ISO 3166-1 alpha-3
    legal_status: str | None = None
    with_children: bool = False
    max_km: float = 150.0


@dataclass(frozen=True)
class Match:
    """One service offered for a person: its rank, score and the reasons behind them."""

    rank: int
    service_id: str
    name: str
    organization_id: str
    score: float
    distance_km: float | None
    needs_met: tuple[str, ...]
    reasons: tuple[str, ...]  # each a safelight.messages.Message: English, and translatable
    confidential: bool
    place: str | None = None
    country: str | None = None

    def as_dict(self) -> dict:
        return {"rank": self.rank, "service_id": self.service_id, "name": self.name,
                "organization_id": self.organization_id, "score": round(self.score, 4),
                "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
                "needs_met": list(self.needs_met), "reasons": list(self.reasons),
                "confidential": self.confidential, "place": self.place, "country": self.country}


@dataclass
class ImportReport:
    """Counts of an import; ``read == accepted + quarantined`` per entity and in total."""

    import_id: int
    file_format: str
    read: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    sealed_locations: int = 0

    @property
    def rows_read(self) -> int:
        return sum(self.read.values())

    @property
    def rows_accepted(self) -> int:
        return sum(self.accepted.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def as_dict(self) -> dict:
        return {"import_id": self.import_id, "format": self.file_format, "read": self.read,
                "accepted": self.accepted, "quarantined": self.quarantined,
                "rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                "rows_quarantined": self.rows_quarantined, "sealed_locations": self.sealed_locations}
