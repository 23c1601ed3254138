"""Default m and u probabilities, for fields whose m the input is too small to estimate, and
for inputs with too few record pairs to measure u on.

Contract: :func:`default_m` returns, per field of ``fields``, the probability of each
comparison level among true matches (index 0, "missing", unused), used when no training
session of :func:`safelight.link.model.estimate_model` reaches ``MIN_EM_PAIRS`` pairs (a
register of a few hundred people), for a name or the birth date that no session could fit,
and in place of a fitted model that is no record-linkage model
(:func:`safelight.link.model.implausible_fields`: two registers that share no one).

Where they come from: ``default_m.json`` (beside this module) holds the m that EM learns on the
project's generated two-source problem of 100,000 × 100,000 records with long-tailed family
names (:func:`safelight.demo.linkage_pairs.generate_linkage_pairs`, seed 1: typos,
transliterations, nicknames, swapped names, placeholder and partial dates, missing values,
moves, households) — the clear comparison levels (``m``) and, for the PPRL hub, the encoded
ones (``encoded.m``: the same problem encoded under a fresh key and linked by
:func:`safelight.link.pprl.link_encoded`); ``bench/linkage/default_m.py`` regenerates it. A
field set takes its own kind's tables — the kind whose tables match more of its fields'
levels (the encoded address has the clear address's level names, but its levels are cut on
Dice, not Jaro–Winkler) — and the other kind's for a field its own lacks. A field that the
generated problem does not hold (``region``) has no table. Real registers are corrupted
in other proportions, so each field's table is hedged towards uniform
(:data:`UNIFORM_SHARE` of the mass spread evenly over its levels): no level is ruled out by
a rate learned elsewhere. Fields without a stored table (or whose levels no longer match it)
keep the caller's fallback, and ``contributor`` always does: whether a register holds
duplicates says nothing transferable, so its weight stays neutral (m = u).

The birth date's m depends on how many of the input's dates are full: with ``date_shares``
(:func:`full_date_shares`) it is mixed from the generated problem's true pairs by kind of
dates (``birth_date_by_dates``: both full, both partial, one of each — counted on the
generator's truth) in the input's proportions; registers where most dates are a year alone
got median recall 0.46–0.56 with the generated problem's mix (docs/linkage.md, "Small
registers").

:func:`default_u` gives the u the same problem scores with (``u`` and ``encoded.u`` in
``default_m.json``). :func:`safelight.link.model.estimate_u` mixes it into the u it measures
on an input's random pairs when those are few: in a register of a handful of people, random
pairs are mostly the duplicates themselves, and a shared phone came out commoner among
"non-matches" than among matches (a trial's 3 × 3 files: −1.7 bits for the same phone).

Measured (generated two-source problems of N × N records, half of the persons in both, seeds
1–5, medians of precision / recall; before: sessions under the minimum skipped, prior 1e-6):
N = 20 0.00 / 0.00 → 1.00 / 1.00, N = 50 1.00 / 0.08 → 1.00 / 0.92, N = 100 1.00 / 0.16 →
1.00 / 0.98; N >= 200 unchanged (docs/linkage.md, "Small registers").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

#: Share of each field's default m spread evenly over its levels (see the module docstring).
UNIFORM_SHARE = 0.02
#: Fields whose m (and u) is never taken from the defaults (the caller's fallback is kept).
NEUTRAL_FIELDS = ("contributor",)
#: Least u of a level in :func:`default_u` (a level the generated problem's random pairs
#: never showed is not impossible by chance)
U_FLOOR = 1e-6

_PATH = Path(__file__).with_name("default_m.json")


@cache
def _doc() -> dict[str, Any]:
    return json.loads(_PATH.read_text(encoding="utf-8"))


def _stored() -> dict[str, dict[str, float]]:
    """The clear comparison levels' tables."""
    return _doc()["m"]


def _stored_encoded() -> dict[str, dict[str, float]]:
    """The encoded (PPRL) comparison levels' tables."""
    return _doc()["encoded"]["m"]


def _by_dates(kind: str) -> dict[str, dict[str, float]]:
    """The birth date's level shares among the generated problem's true pairs by
    :data:`DATE_KINDS` (``kind``: ``clear`` or ``encoded``); empty if none are stored."""
    section = _doc() if kind == "clear" else _doc()["encoded"]
    return section.get("birth_date_by_dates", {})


#: The kinds of true pairs by their dates, for :func:`default_m`'s ``date_shares``:
#: both full (year, month and day; not 1 January), both partial, one of each.
DATE_KINDS = ("both_full", "both_partial", "one_each")


def full_date_shares(full: np.ndarray, dated: np.ndarray, side: np.ndarray | None = None
                     ) -> tuple[float, float] | None:
    """The share of full birth dates (``full``) among the dated records (``dated``) of each of
    two sides (``side`` codes 0 and 1; ``None``: one pool, the same share twice) — what
    :func:`default_m` mixes the birth date's default m by. ``None`` without dated records
    (on a side)."""
    sides = (np.ones(len(full), dtype=bool),) * 2 if side is None else (side == 0, side == 1)
    shares = []
    for mask in sides:
        n = int((dated & mask).sum())
        if n == 0:
            return None
        shares.append(float((full & dated & mask).sum()) / n)
    return shares[0], shares[1]


def _tables(fields: dict[str, tuple[str, ...]], clear: dict[str, dict[str, float]],
            encoded: dict[str, dict[str, float]]):  # noqa: ANN202 - private generator
    """``(name, levels, kind, table)`` for each field of ``fields`` with a stored table whose
    levels are exactly its own: of the kind (``clear`` or ``encoded``) whose tables match more
    of ``fields``, else of the other."""

    def matching(tables: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return {name: t for name, t in tables.items()
                if name in fields and tuple(t) == tuple(fields[name])}

    clear, encoded = matching(clear), matching(encoded)
    kinds = [("encoded", encoded), ("clear", clear)]
    if len(encoded) <= len(clear):
        kinds.reverse()
    for name, levels in fields.items():
        kind, table = next(((k, t[name]) for k, t in kinds if name in t), (None, None))
        if table is not None:
            yield name, levels, kind, table


def default_u(fields: dict[str, tuple[str, ...]]) -> dict[str, np.ndarray]:
    """Per field with a stored u table whose levels are exactly ``fields[name]`` (chosen as
    :func:`default_m` chooses), the u the generated problem scores with: random pairs across
    its two sources, the places' among compatriots (array of ``len(levels) + 1``, index 0 for
    "missing" = 0, summing to 1; no level below :data:`U_FLOOR`). Not hedged towards uniform:
    that would make a chance agreement on a name or a phone common. ``contributor`` has none
    (:data:`NEUTRAL_FIELDS`)."""
    doc = _doc()
    out: dict[str, np.ndarray] = {}
    for name, levels, _, table in _tables(fields, doc.get("u", {}),
                                          doc["encoded"].get("u", {})):
        if name in NEUTRAL_FIELDS:
            continue
        u = np.array([0.0, *(max(float(table[lv]), U_FLOOR) for lv in levels)])
        u[1:] /= u[1:].sum()
        out[name] = u
    return out


def default_m(fields: dict[str, tuple[str, ...]],
              date_shares: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Per field with a stored table whose levels are exactly ``fields[name]`` — of the kind
    (clear or encoded) whose tables match more of ``fields``, else of the other — the hedged
    default m (array of ``len(levels) + 1``, index 0 for "missing" = 0, summing to 1).

    With ``date_shares`` (each side's share of full dates among its dated records,
    :func:`full_date_shares`) the birth date's m is mixed from the generated problem's true
    pairs by kind of dates (:data:`DATE_KINDS`, stored as ``birth_date_by_dates``) in the
    proportions of the input: where most dates are a year alone, two records of one person
    mostly agree on a partial date, and the generated problem's mix (about one dated record
    in ten partial) weighed that agreement as rare."""

    out: dict[str, np.ndarray] = {}
    for name, levels, kind, table in _tables(fields, _stored(), _stored_encoded()):
        if name in NEUTRAL_FIELDS:
            continue
        m = np.array([0.0, *(float(table[lv]) for lv in levels)])
        by = _by_dates(kind) if name == "birth_date" and date_shares else {}
        if by and all(tuple(by.get(t, ())) == tuple(levels) for t in DATE_KINDS):
            fl, fr = date_shares  # type: ignore[misc]
            share = {"both_full": fl * fr, "both_partial": (1 - fl) * (1 - fr),
                     "one_each": fl * (1 - fr) + (1 - fl) * fr}
            m[1:] = sum(share[t] * np.array([float(by[t][lv]) for lv in levels])
                        for t in DATE_KINDS)
        m[1:] /= m[1:].sum()
        m[1:] = (1.0 - UNIFORM_SHARE) * m[1:] + UNIFORM_SHARE / len(levels)
        out[name] = m
    return out


__all__ = ["DATE_KINDS", "NEUTRAL_FIELDS", "UNIFORM_SHARE", "U_FLOOR", "default_m", "default_u",
           "full_date_shares"]
