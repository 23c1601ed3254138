"""Seeded generator of the demo's multi-agency scenario and of large benchmark exports.

Contract
--------
:func:`generate_scenario` writes, under ``out_dir``, one directory per contributor holding its
export (in the contributor's own file format, language and code system) and its mapping profile
(``<export>.profile.yaml``, in the format of ``docs/profiles.md``); ``truth.csv`` (one line per
exported row: ``contributor,record_id,person_id``) and ``scenario.json`` (seed, counts, software
version, the deliberately bad rows, measured distributions). The same ``seed`` and ``n_records``
give byte-identical files on any machine with the same library versions; every path written
into the files is relative to ``out_dir``. :func:`write_large_export` streams one hotline export of
any size (vectorised with NumPy, flat memory). This module holds the public API
(:func:`generate_scenario`, :func:`write_large_export`, :class:`Scenario`,
:class:`ContributorExport`) and the orchestration; the parts live in

* :mod:`safelight.demo.population` — distributions (with their published sources) and persons;
* :mod:`safelight.demo.contributors` — the six contributors, their mixes, routes and policies;
* :mod:`safelight.demo.registrations` — who registers whom, households;
* :mod:`safelight.demo.corruption` — what a contributor writes down, misspellings, bad rows;
* :mod:`safelight.demo.export_rows` — one row per registration in each contributor's terms;
* :mod:`safelight.demo.vocabulary` — those terms (``demo/data/vocabulary_*.yaml``);
* :mod:`safelight.demo.exports` and :mod:`safelight.demo.mapping_profiles` — the files;
* :mod:`safelight.demo.countries` — countries, phone numbers, document numbers;
* :mod:`safelight.demo.manifest` — ``scenario.json``.

Random streams: persons and registrations come from ``random.Random("safelight-demo:<seed>")``;
each contributor's rows from ``random.Random("safelight-demo:<seed>:<contributor>")``, in the
order of :data:`~safelight.demo.contributors.SPECS`. Changing the order of draws anywhere changes
the output.

Scenario
--------
Six contributors register (potential) victims between 2017 and 2023: a Ukrainian hotline
(``ua-hotline``), a Polish NGO (``pl-ngo``), a German police unit (``de-police``), an Italian labour
inspectorate (``it-labour``), a Nigerian NGO (``ng-ngo``) and a Romanian NGO (``ro-ngo``). About 15%
of persons are registered more than once — along realistic routes (Ukrainian women: hotline →
Polish NGO → German police; Nigerian women: Nigerian NGO → Italian inspectorate; Romanian men:
Romanian NGO → Italian inspectorate → German police; Iraqi, Syrian and Vietnamese persons: Polish
NGO → German police) and a few twice by the same agency. Households (siblings, twins, a parent
and a child sharing family name, address and phone) are different persons and must not be linked.
The distributions and their sources are listed in :mod:`safelight.demo.population`, the
corruption model in :mod:`safelight.demo.corruption`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safelight.demo.contributors import SPECS
from safelight.demo.corruption import (
    Observer,
    fold_to_encoding,
    inject_bad_rows,
    strip_diacritics,
    typo,
)
from safelight.demo.countries import format_phone, load_countries, romanian_cnp
from safelight.demo.export_rows import RowRenderer, row_id
from safelight.demo.exports import write_export
from safelight.demo.manifest import build_manifest
from safelight.demo.mapping_profiles import build_profile, write_profile
from safelight.demo.names import NamePools, feminine_family, patronymic
from safelight.demo.population import (
    AGE_GENERAL,
    CONSENT,
    FORMS,
    MEANS,
    RECRUITER_OTHER,
    RECRUITER_SEXUAL,
    SECTORS_GENERAL,
    WAR_BOOST,
    YEAR_WEIGHTS,
    Registration,
)
from safelight.demo.registrations import Registrar
from safelight.demo.vocabulary import UA, terms

__all__ = ["ContributorExport", "Scenario", "generate_scenario", "read_truth", "write_large_export"]

# Helpers that were importable from this module before it was split; kept for callers.
_REEXPORTED = (fold_to_encoding, format_phone, romanian_cnp, strip_diacritics, typo)

log = logging.getLogger("safelight.demo")


# --------------------------------------------------------------------------------------------
# Public types


@dataclass(frozen=True)
class ContributorExport:
    """One contributor's export: who it is, where its file and profile are, how many rows."""

    name: str
    country: str  # ISO 3166-1 alpha-3
    agency_kind: str  # hotline, ngo, police, labour_inspectorate
    export_path: Path
    profile_path: Path
    n_records: int

    @property
    def path(self) -> Path:
        """The export file (alias of ``export_path``)."""
        return self.export_path

    @property
    def kind(self) -> str:
        """Alias of ``agency_kind``."""
        return self.agency_kind


@dataclass(frozen=True)
class Scenario:
    """What :func:`generate_scenario` wrote."""

    out_dir: Path
    seed: int
    contributors: list[ContributorExport]
    truth_path: Path
    manifest_path: Path
    n_records: int
    n_persons: int


# --------------------------------------------------------------------------------------------
# The public entry points


def generate_scenario(out_dir: Path, *, seed: int = 2023, n_records: int = 20_000) -> Scenario:
    """Generate the demo scenario under ``out_dir`` and return what was written.

    Writes ``<out_dir>/<contributor>/<export>`` and ``<export>.profile.yaml`` for each of the six
    contributors, ``<out_dir>/truth.csv`` and ``<out_dir>/scenario.json``. About ``n_records``
    rows are written in total (plus the duplicated-id bad rows, ~0.1%). Deterministic: the same
    ``seed`` and ``n_records`` give byte-identical files. Raises ValueError when ``n_records`` is
    below 200 (too few rows for every route and bad-row kind).
    """
    if n_records < 200:
        raise ValueError(f"n_records must be at least 200, got {n_records}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    b = Registrar(seed, n_records)
    b.build()
    r = RowRenderer(b.countries)
    observer = Observer(b.factory, b.rng)
    contributors: list[ContributorExport] = []
    truth_rows: list[tuple[str, str, str]] = []
    bad_rows: list[dict[str, Any]] = []
    stats_regs: list[Registration] = []
    for spec in SPECS:
        rng = random.Random(f"safelight-demo:{seed}:{spec.name}")
        regs = sorted(b.regs[spec.name], key=lambda x: (x.day, x.person.pid))
        for i, reg in enumerate(regs, start=1):
            reg.record_id = spec.id_format(i, reg.day, rng)
        render = getattr(r, spec.name.split("-")[0])
        rows = [render(rng, reg, observer.observe(rng, reg, spec)) for reg in regs]
        owners = [reg.person.pid for reg in regs]
        rows, owners, bad = inject_bad_rows(rng, spec, rows, owners, regs)
        bad_rows.extend(bad)
        stats_regs.extend(regs)
        cdir = out_dir / spec.name
        cdir.mkdir(exist_ok=True)
        export = cdir / spec.export_name
        profile_path = cdir / (spec.export_name + ".profile.yaml")
        write_export(spec, export, rows)
        write_profile(profile_path, build_profile(spec, b.countries))
        ids = [(row_id(spec, row)) for row in rows]
        truth_rows.extend((spec.name, rid, pid) for rid, pid in zip(ids, owners, strict=True))
        contributors.append(
            ContributorExport(spec.name, spec.country, spec.kind, export, profile_path, len(rows))
        )
        log.info("demo: %s wrote %d rows to %s", spec.name, len(rows), export)
    truth_path = out_dir / "truth.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("contributor", "record_id", "person_id"))
    w.writerows(truth_rows)
    truth_path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    manifest_path = out_dir / "scenario.json"
    manifest = build_manifest(
        b.persons,
        b.n_households,
        seed,
        n_records,
        contributors,
        out_dir,
        bad_rows,
        stats_regs,
        len(truth_rows),
    )
    manifest_path.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n"
    )
    log.info(
        "demo: %d rows, %d persons in %.1f s",
        len(truth_rows),
        len(b.persons),
        time.perf_counter() - started,
    )
    return Scenario(
        out_dir, seed, contributors, truth_path, manifest_path, len(truth_rows), len(b.persons)
    )


# --------------------------------------------------------------------------------------------
# Large single-contributor export for benchmarks


def write_large_export(
    path: Path, n_rows: int, *, seed: int = 1, chunk_rows: int = 100_000
) -> None:
    """Write a ``ua-hotline``-format CSV of ``n_rows`` rows and its profile ``<path>.profile.yaml``.

    Rows are sampled with NumPy in chunks of ``chunk_rows`` and streamed to disk, so memory stays
    flat whatever ``n_rows`` is. Values follow the hotline's vocabulary and the scenario's
    distributions; there is no ground truth and no deliberately bad row. Deterministic for a given
    ``seed``, ``n_rows`` and ``chunk_rows``.
    """
    import numpy as np

    if n_rows < 0 or chunk_rows < 1:
        raise ValueError("n_rows must be >= 0 and chunk_rows >= 1")
    path = Path(path)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    pools = NamePools()
    countries = load_countries()

    def arr(values: Sequence[str]) -> np.ndarray:
        a = np.empty(len(values), dtype=object)
        a[:] = list(values)
        return a

    def probs(weights: Sequence[float]) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        return w / w.sum()

    given = {
        s: (arr(pools.given["uk", s].names), probs(pools.given["uk", s].weights))
        for s in ("female", "male")
    }
    fam_list = pools.family["uk"]
    fam_m = arr(fam_list.names)
    fam_f = arr([feminine_family(n, "uk") for n in fam_list.names])
    fam_p = probs(fam_list.weights)
    fathers = pools.given["uk", "male"]
    patr = {s: arr([patronymic(f, s, "uk") for f in fathers.names]) for s in ("female", "male")}
    father_p = probs(fathers.weights)
    localities = arr(pools.localities["uk"])
    streets = arr([f"вул. {s}" for s in pools.streets["uk"]])
    # dates: one table of formatted days from 1940-01-01 to 2023-12-31
    epoch = np.datetime64("1940-01-01")
    days = np.arange(epoch, np.datetime64("2024-01-01"))
    ymd = days.astype("datetime64[D]").astype(object)
    day_str = arr([d.strftime("%d.%m.%Y") for d in ymd])
    years_arr = np.array([d.year for d in ymd])
    md_arr = np.array([d.month * 100 + d.day for d in ymd])
    year_str = arr([str(y) for y in range(1940, 2024)])
    reg_years = np.array(list(YEAR_WEIGHTS))
    reg_year_p = probs([w * WAR_BOOST.get(y, 1.0) for y, w in YEAR_WEIGHTS.items()])
    year_start = {
        y: int((np.datetime64(f"{y}-01-01") - epoch).astype(int)) for y in range(1940, 2025)
    }
    band_lo = np.array([b[0] for b in AGE_GENERAL])
    band_hi = np.array([b[1] for b in AGE_GENERAL])
    band_p = probs([b[2] for b in AGE_GENERAL])
    cit_terms = arr(["Україна", "UA", "Молдова", "MD", "Білорусь", "BY", "Росія", "RU"])
    cit_p = probs([0.56, 0.38, 0.012, 0.008, 0.012, 0.008, 0.012, 0.008])
    form_keys = list(SPECS[0].forms)
    form_terms = arr([terms(FORMS[k], UA.forms, ", ") for k in form_keys])
    form_p = probs(list(SPECS[0].forms.values()))
    labour_forms = np.array(["forced_labour" in FORMS[k] for k in form_keys])
    sexual_forms = np.array(["sexual_exploitation" in FORMS[k] for k in form_keys])
    sector_terms = arr([UA.sectors[k] for k in SECTORS_GENERAL])
    sector_p = probs(list(SECTORS_GENERAL.values()))
    cex_codes = list(SPECS[0].cex or {})
    cex_terms = arr([countries[c].names["uk"] for c in cex_codes] + [""])
    cex_p = probs([*(SPECS[0].cex or {}).values(), 0.1])
    flag_p = np.array([MEANS[c] for c in UA.flags.values()])  # (n_flags, 2)
    rec_sex = (
        arr([UA.recruiter[k] for k in RECRUITER_SEXUAL]),
        probs(list(RECRUITER_SEXUAL.values())),
    )
    rec_oth = (
        arr([UA.recruiter[k] for k in RECRUITER_OTHER]),
        probs(list(RECRUITER_OTHER.values())),
    )
    status_terms = arr(list(UA.status.values()))
    status_p = probs(list(SPECS[0].status.values()))
    consent_terms = arr([UA.consent[k] for k in CONSENT])
    consent_p = probs(list(CONSENT.values()))
    ops = np.array([int(x) for x in countries["UKR"].phone["mobile"]])  # type: ignore[index]
    yes_no = arr(["ні", "так"])
    empty = np.full(1, "", dtype=object)

    with path.open("wb") as f:
        f.write(b"\xef\xbb\xbf")
        f.write((";".join(RowRenderer.UA_COLUMNS) + "\r\n").encode("utf-8"))
        written = 0
        while written < n_rows:
            n = min(chunk_rows, n_rows - written)
            female = rng.random(n) < SPECS[0].female
            gi_f = rng.choice(len(given["female"][0]), n, p=given["female"][1])
            gi_m = rng.choice(len(given["male"][0]), n, p=given["male"][1])
            g = np.where(female, given["female"][0][gi_f], given["male"][0][gi_m])
            fi = rng.choice(len(fam_m), n, p=fam_p)
            fam = np.where(female, fam_f[fi], fam_m[fi])
            pi = rng.choice(len(fathers), n, p=father_p)
            pat = np.where(female, patr["female"][pi], patr["male"][pi])
            pat = np.where(rng.random(n) < 0.8, pat, empty[0])
            ry = rng.choice(reg_years, n, p=reg_year_p)
            ry_start = np.array([year_start[int(y)] for y in ry])
            ry_len = np.array([year_start[int(y) + 1] - year_start[int(y)] for y in ry])
            reg_off = ry_start + (rng.random(n) * ry_len).astype(int)
            band = rng.choice(len(band_p), n, p=band_p)
            age_drawn = rng.integers(band_lo[band], band_hi[band] + 1)
            birth_off = reg_off - (age_drawn * 365.25).astype(int) - rng.integers(1, 365, n)
            birth_off = np.clip(birth_off, 0, len(day_str) - 1)
            age = (
                years_arr[reg_off]
                - years_arr[birth_off]
                - (md_arr[reg_off] < md_arr[birth_off]).astype(int)
            )
            birth_s = day_str[birth_off]
            r = rng.random(n)
            birth_s = np.where(r < 0.10, empty[0], birth_s)
            birth_s = np.where(
                (r >= 0.10) & (r < 0.18), year_str[years_arr[birth_off] - 1940], birth_s
            )
            age_s = np.where(rng.random(n) < 0.85, age.astype(str).astype(object), empty[0])
            gender = np.where(female, "жін.", "чол.").astype(object)
            cit = cit_terms[rng.choice(len(cit_terms), n, p=cit_p)]
            op = ops[rng.integers(0, len(ops), n)]
            num = rng.integers(0, 10_000_000, n)
            has_phone = rng.random(n) < 0.85
            phone = np.array(
                [
                    f"0{o} {x // 10000:03d} {x // 100 % 100:02d} {x % 100:02d}" if h else ""
                    for o, x, h in zip(op.tolist(), num.tolist(), has_phone.tolist(), strict=True)
                ],
                dtype=object,
            )
            loc = np.where(
                rng.random(n) < 0.7, localities[rng.integers(0, len(localities), n)], empty[0]
            )
            st_n = rng.integers(1, 120, n)
            st = np.where(
                rng.random(n) < 0.35,
                streets[rng.integers(0, len(streets), n)] + ", " + st_n.astype(str).astype(object),
                empty[0],
            )
            fk = rng.choice(len(form_keys), n, p=form_p)
            forms = form_terms[fk]
            sectors = np.where(
                labour_forms[fk],
                sector_terms[rng.choice(len(sector_terms), n, p=sector_p)],
                empty[0],
            )
            cex = cex_terms[rng.choice(len(cex_terms), n, p=cex_p)]
            sexual = sexual_forms[fk]
            flag_cols = []
            for j in range(len(flag_p)):
                pj = np.where(sexual, flag_p[j, 0], flag_p[j, 1])
                flag_cols.append(yes_no[(rng.random(n) < pj).astype(int)])
            rec = np.where(
                sexual,
                rec_sex[0][rng.choice(len(rec_sex[0]), n, p=rec_sex[1])],
                rec_oth[0][rng.choice(len(rec_oth[0]), n, p=rec_oth[1])],
            )
            status = status_terms[rng.choice(len(status_terms), n, p=status_p)]
            consent = consent_terms[rng.choice(len(consent_terms), n, p=consent_p)]
            seq = np.arange(written + 1, written + n + 1)
            rid = [f"ГЛ-{y}-{s:07d}" for y, s in zip(ry.tolist(), seq.tolist(), strict=True)]
            cols = [
                rid,
                day_str[reg_off],
                fam,
                g,
                pat,
                birth_s,
                age_s,
                gender,
                cit,
                phone,
                loc,
                st,
                forms,
                sectors,
                cex,
                *flag_cols,
                rec,
                status,
                consent,
                np.full(n, "", dtype=object),
            ]
            lines = "\r\n".join(";".join(row) for row in zip(*cols, strict=True))
            f.write((lines + "\r\n").encode("utf-8"))
            written += n
    profile = build_profile(SPECS[0], countries)
    profile["description"] = (
        f"Large synthetic export in the ua-hotline format ({n_rows} rows, "
        f"seed {seed}) for benchmarks. Demo data."
    )
    write_profile(Path(str(path) + ".profile.yaml"), profile)
    log.info("demo: wrote %d rows to %s in %.1f s", n_rows, path, time.perf_counter() - started)


def read_truth(path: Path) -> dict[tuple[str, str], str]:
    """A scenario's ``truth.csv``: the true person id of every (contributor, record id)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["contributor"], r["record_id"]): r["person_id"] for r in csv.DictReader(fh)}
