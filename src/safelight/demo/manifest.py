"""The scenario manifest (``scenario.json``): what was generated and how it came out.

Contract
--------
:func:`build_manifest` returns a JSON-ready dict: generator name and software version, seed,
requested and written row counts, persons (all, registered more than once, in households),
each contributor's export and profile as paths relative to ``out_dir`` with format and row count,
the deliberately bad rows, the measured distributions (rounded to 4 places) and the published
targets they aim at. It holds no clock time, so the same scenario gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import safelight
from safelight.demo.contributors import SPEC_BY_NAME
from safelight.demo.population import Person, Registration, age_at

if TYPE_CHECKING:
    from safelight.demo.generator import ContributorExport

__all__ = ["build_manifest"]


def build_manifest(
    persons: list[Person],
    n_households: int,
    seed: int,
    n_records: int,
    contributors: list[ContributorExport],
    out_dir: Path,
    bad_rows: list[dict[str, Any]],
    regs: list[Registration],
    n_rows: int,
) -> dict[str, Any]:
    """The manifest of a scenario (see the module docstring)."""
    counts: dict[str, int] = {}
    for reg in regs:
        counts[reg.person.pid] = counts.get(reg.person.pid, 0) + 1
    multi = sum(1 for c in counts.values() if c >= 2)
    n = len(regs)
    female_rec = sum(1 for r in regs if r.person.sex == "female") / n
    female_per = sum(1 for p in persons if p.sex == "female") / len(persons)
    ages = [age_at(r.person.birth, r.day) for r in regs]
    by_year: dict[str, int] = {}
    for r in sorted(regs, key=lambda x: x.day):
        by_year[str(r.day.year)] = by_year.get(str(r.day.year), 0) + 1
    forms: dict[str, int] = {}
    for r in regs:
        for f in r.person.forms:
            forms[f] = forms.get(f, 0) + 1
    consent: dict[str, int] = {}
    for r in regs:
        consent[r.consent] = consent.get(r.consent, 0) + 1
    return {
        "generator": "safelight.demo",
        "software_version": safelight.__version__,
        "seed": seed,
        "n_records_requested": n_records,
        "n_records": n_rows,
        "n_persons": len(persons),
        "n_persons_registered_more_than_once": multi,
        "share_persons_registered_more_than_once": round(multi / len(persons), 4),
        "n_households": n_households,
        "n_household_members": sum(1 for p in persons if p.household),
        "truth": "truth.csv",
        "contributors": [
            {
                "name": c.name,
                "country": c.country,
                "agency_kind": c.agency_kind,
                "export": c.export_path.relative_to(out_dir).as_posix(),
                "profile": c.profile_path.relative_to(out_dir).as_posix(),
                "format": SPEC_BY_NAME[c.name].fmt,
                "n_records": c.n_records,
            }
            for c in contributors
        ],
        "bad_rows": bad_rows,
        "bad_rows_note": "row = 1-based data row, header not counted; source_row = the row "
        "as safelight ingest reports it (the line of a CSV/TSV or the sheet row of an XLSX, "
        "header = 1; the line of a JSON Lines file; the 1-based record of a Parquet file). "
        "duplicate_record_id lists the second occurrence.",
        "distributions": {
            "female_share_of_records": round(female_rec, 4),
            "female_share_of_persons": round(female_per, 4),
            "child_share_of_records": round(sum(1 for a in ages if a < 18) / n, 4),
            "aged_18_29_share_of_records": round(sum(1 for a in ages if 18 <= a <= 29) / n, 4),
            "records_by_year": by_year,
            "form_share_of_records": {k: round(v / n, 4) for k, v in sorted(forms.items())},
            "consent_share_of_records": {k: round(v / n, 4) for k, v in sorted(consent.items())},
        },
        "targets": {
            "female_share": "≈0.74 (CTDC data story [23])",
            "aged_18_29_share": "≈0.43 (CTDC [23])",
            "child_share": "≈0.24 (CTDC [23])",
            "forced_criminal_activity_share": "≈0.10 in 2020 (GLOTIP 2022 [42])",
            "change_2019_2020": "−11% (GLOTIP 2022 [42])",
        },
    }
