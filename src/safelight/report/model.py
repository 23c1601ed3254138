"""Data shapes of the report stage: estimates with bounds, indicator tables, provenance, settings.

An :class:`Estimate` is a count or a share known only within bounds (the GLOTIP export publishes
small counts as ``"<5"``); exact numbers have ``low == mid == high``. An :class:`Indicator` is
one named, documented computation: its definition, denominator rule, filters, the SQL it ran and
a table of :class:`Cell` values. Every cell carries its disclosure status; a suppressed cell
keeps its value only in memory and is never written to an output (see ``render``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from safelight.errors import SafelightError

CensoredPolicy = Literal["mid", "low", "high"]
UnitPolicy = Literal["auto", "persons", "records"]
SETTINGS_VERSION = 1


class ReportError(SafelightError):
    """A report cannot be produced (no data of the expected kind, bad settings, bad input)."""

    exit_code = 1


@dataclass(frozen=True)
class Estimate:
    """A number known within ``[low, high]``; ``mid`` is the central value reported.

    For sums of GLOTIP counts, ``low``/``high`` add the censored cells' bounds (1 and 4 for
    ``"<5"``) and ``mid`` their midpoint (2.5). Exact numbers have all three equal.
    """

    low: float
    mid: float
    high: float

    @classmethod
    def exact(cls, value: float) -> Estimate:
        return cls(value, value, value)

    @property
    def is_exact(self) -> bool:
        return self.low == self.high

    def pick(self, policy: CensoredPolicy) -> float:
        """The value a headline uses under ``policy`` (``mid``, ``low`` or ``high``)."""
        return {"mid": self.mid, "low": self.low, "high": self.high}[policy]

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.low + other.low, self.mid + other.mid, self.high + other.high)

    def as_dict(self, digits: int | None = None) -> dict[str, float]:
        r = (lambda x: round(x, digits)) if digits is not None else (lambda x: x)
        return {"low": r(self.low), "mid": r(self.mid), "high": r(self.high)}


ZERO = Estimate(0.0, 0.0, 0.0)


def share(part: Estimate, whole: Estimate, rest: Estimate | None = None) -> Estimate | None:
    """Share of ``part`` in ``whole`` with bounds that hold whatever the censored values are.

    ``rest`` is ``whole - part`` as an estimate of its own (its bounds are independent of
    ``part``'s); when omitted it is derived. Lowest share: ``part.low / (part.low + rest.high)``;
    highest: ``part.high / (part.high + rest.low)``; central: ``part.mid / whole.mid``.
    ``None`` when the denominator is zero.
    """
    if rest is None:
        rest = Estimate(whole.low - part.low, whole.mid - part.mid, whole.high - part.high)
    if whole.mid <= 0:
        return None
    lo_den = part.low + rest.high
    hi_den = part.high + rest.low
    return Estimate(
        part.low / lo_den if lo_den > 0 else 0.0,
        part.mid / whole.mid,
        part.high / hi_den if hi_den > 0 else 1.0,
    )


def ratio_change(new: Estimate, old: Estimate) -> Estimate | None:
    """Relative change ``new / old - 1`` with bounds (lowest new over highest old, and back)."""
    if old.low <= 0:
        return None
    return Estimate(new.low / old.high - 1, new.mid / old.mid - 1, new.high / old.low - 1)


@dataclass
class Cell:
    """One published value: ``key`` (e.g. ``{"year": 2020, "group": "girls"}``), a count and/or a
    share, how many reporting units it covers, and its disclosure status (``None`` = published,
    ``"small"`` = below the threshold, ``"complementary"`` = hidden to protect a small cell,
    ``"derived"`` = computed from a suppressed count)."""

    key: dict[str, Any]
    count: Estimate | None = None
    share: Estimate | None = None
    units: int | None = None
    suppressed: str | None = None

    def key_tuple(self) -> tuple:
        return tuple(self.key.values())


@dataclass
class Line:
    """An additivity constraint among cells: the member cells sum to the total cell (keys are
    :meth:`Cell.key_tuple` values). Disclosure control uses lines to find cells a reader could
    recompute by subtraction."""

    total: tuple
    members: list[tuple]


@dataclass
class Indicator:
    """A named, documented computation and its table of cells."""

    id: str
    title: str
    definition: str
    denominator: str
    filters: dict[str, Any]
    query: str
    key_names: list[str]
    cells: list[Cell] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    unit: str = "persons"
    censoring: str = ""
    notes: list[str] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)
    chart: str | None = None

    def cell(self, **key: Any) -> Cell:
        """The cell with exactly this key (``KeyError`` if absent)."""
        want = tuple(key[k] for k in self.key_names)
        for c in self.cells:
            if c.key_tuple() == want:
                return c
        raise KeyError(f"{self.id}: no cell {key}")


@dataclass
class ReportSettings:
    """Settings of a report run; saved as versioned JSON next to every output.

    ``threshold``: counts below it (and above zero) are suppressed — 5 for GLOTIP-style
    aggregates (UNODC's own ``"<5"``), 11 for hub case data (CTDC's k). ``censored``: which bound
    of a censored GLOTIP count the headlines use (``mid`` = midpoint of 1..4, the default; bounds
    are always reported too). ``base_year``/``compare_year``: the year-over-year change.
    ``region_table``: a deployment's UNODC region CSV (``None`` = the shipped table).
    ``contribution_id``: which GLOTIP contribution of a hub to report (``None`` = the latest).
    ``unit``: what the hub report counts — ``auto`` (persons when the hub has a linkage run,
    else records), ``persons`` or ``records`` (see :mod:`safelight.report.units`).
    ``conflict_table``: a deployment's list of conflict-affected countries by year (``None`` =
    the shipped list, see :mod:`safelight.report.conflict`). ``memory_limit``: DuckDB's memory
    limit for the report's connection (a batch job: building the person table of a 1M-record
    hub spills to disk below about 2 GB, which made it 2.5× slower at the store's 512 MB).
    """

    threshold: int = 5
    censored: CensoredPolicy = "mid"
    base_year: int = 2019
    compare_year: int = 2020
    region_table: str | None = None
    contribution_id: int | None = None
    unit: UnitPolicy = "auto"
    conflict_table: str | None = None
    memory_limit: str = "2GB"

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ReportError(f"threshold must be at least 1 (got {self.threshold})")
        if self.censored not in ("mid", "low", "high"):
            raise ReportError(f"censored must be mid, low or high (got {self.censored!r})")
        if self.unit not in ("auto", "persons", "records"):
            raise ReportError(f"unit must be auto, persons or records (got {self.unit!r})")
        if self.compare_year <= self.base_year:
            raise ReportError("compare_year must be after base_year")

    def as_dict(self) -> dict[str, Any]:
        return {"settings_version": SETTINGS_VERSION, **dataclasses.asdict(self)}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2), "utf-8")

    @classmethod
    def load(cls, path: Path) -> ReportSettings:
        """Read settings saved by :meth:`save`; unknown versions are refused."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ReportError(f"{path}: cannot read report settings ({exc})") from exc
        if data.pop("settings_version", None) != SETTINGS_VERSION:
            raise ReportError(f"{path}: settings_version is not {SETTINGS_VERSION}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ReportError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class Report:
    """A computed report: provenance, settings, limitations and indicators."""

    kind: str
    title: str
    provenance: dict[str, Any]
    settings: ReportSettings
    limitations: list[str]
    indicators: list[Indicator]
    counting_unit: str

    def indicator(self, id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == id:
                return ind
        raise KeyError(id)
