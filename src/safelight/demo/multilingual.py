"""A multilingual name-pair set: the same persons written in other scripts and spellings.

Contract
--------
:func:`load_name_pairs` reads a CSV of hand-written records (``pair, side, script, system,
given_name, family_name, birth_date, sex, nationality``; ``birth_date`` is ``YYYY-MM-DD`` or a
year) into :class:`NamePairs`: an Arrow table in the hub's identity columns and, per row, its
``pair`` (rows of one pair are one person; a pair with a single row is a *distractor*, a
different person with a similar name) and the scripts. :func:`embed` appends the set to a
generated two-source problem (:mod:`safelight.demo.linkage_pairs`), so a linker sees the hard
pairs inside a realistic population and its model is fitted as usual.
:func:`pair_recall` scores a clustering on the set's true pairs (by pair kind, e.g.
``cyrillic-latin``) and counts false links that touch the set; :func:`string_similarity_found`
is the plain string-similarity baseline (Jaro–Winkler on the case- and accent-folded full
name, no transliteration).
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from safelight.demo.linkage_pairs import COLUMNS, PairsProblem
from safelight.errors import SafelightError

__all__ = ["NamePairs", "embed", "load_name_pairs", "pair_recall", "string_similarity_found"]

_FIELDS = ("pair", "side", "script", "system", "given_name", "family_name", "birth_date", "sex",
           "nationality")  # fmt: skip


@dataclass
class NamePairs:
    """The set: ``table`` (identity columns) with ``pair``, ``side`` and ``script`` per row."""

    table: pa.Table
    pair: np.ndarray
    side: np.ndarray
    script: np.ndarray

    def year_only(self) -> NamePairs:
        """The same set with birth month and day removed (names must carry the match)."""
        t = self.table
        for c in ("birth_month", "birth_day"):
            t = t.set_column(t.schema.get_field_index(c), c, pa.nulls(t.num_rows, pa.int16()))
        return NamePairs(t, self.pair, self.side, self.script)

    def true_pairs(self) -> list[tuple[int, int, str]]:
        """``(left row, right row, kind)`` of every pair with a left and a right row; kind is
        the two scripts (``cyrillic-latin``, ``latin-latin``, ...), sorted."""
        out = []
        for p in dict.fromkeys(self.pair.tolist()):
            rows = np.flatnonzero(self.pair == p)
            left = [r for r in rows if self.side[r] == "left"]
            right = [r for r in rows if self.side[r] == "right"]
            if left and right:
                kind = "-".join(sorted((self.script[left[0]], self.script[right[0]]),
                                       key=lambda s: (s == "latin", s)))
                out.append((int(left[0]), int(right[0]), kind))
        return out


def load_name_pairs(path: Path) -> NamePairs:
    """Read the CSV at ``path`` (see the module docstring)."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise SafelightError(f"{path}: missing columns {sorted(missing)}; the header must be "
                                 f"{','.join(_FIELDS)}")
        rows = list(reader)
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for i, r in enumerate(rows, start=2):
        if r["side"] not in ("left", "right"):
            raise SafelightError(f"{path}, line {i}: side must be left or right, not "
                                 f"{r['side']!r}")
        parts = [int(x) for x in r["birth_date"].split("-")] if r["birth_date"] else []
        parts += [None] * (3 - len(parts))
        values = {"contributor": f"source-{'ab'[r['side'] == 'right']}",
                  "record_id": f"M{i - 1:04d}", "given_name": r["given_name"] or None,
                  "family_name": r["family_name"] or None, "birth_year": parts[0],
                  "birth_month": parts[1], "birth_day": parts[2], "sex": r["sex"] or None,
                  "nationality": r["nationality"] or None}
        for c in COLUMNS:
            cols[c].append(values.get(c))
    table = pa.table({c: pa.array(v, pa.int16() if c.startswith("birth_") else pa.string())
                      for c, v in cols.items()})
    return NamePairs(table, np.array([r["pair"] for r in rows]),
                     np.array([r["side"] for r in rows]), np.array([r["script"] for r in rows]))


def embed(pairs: NamePairs, background: PairsProblem) -> tuple[pa.Table, np.ndarray, int]:
    """``(table, person, offset)``: the background's records, then the set's; ``person`` is a
    string id per row (the set's ids start with ``m:``); the set's rows start at ``offset``."""
    table, pid = background.combined()
    person = np.concatenate([pid.astype(str), np.char.add("m:", pairs.pair.astype(str))])
    return pa.concat_tables([table, pairs.table]), person, table.num_rows


def pair_recall(labels: np.ndarray, pairs: NamePairs, offset: int = 0) -> dict[str, Any]:
    """Recall on the set's true pairs (overall and by kind) and the number of false links
    touching the set: set rows sharing a cluster with a row of another person."""
    labels = np.asarray(labels)
    found: dict[str, list[bool]] = {}
    for a, b, kind in pairs.true_pairs():
        found.setdefault(kind, []).append(bool(labels[offset + a] == labels[offset + b]))
    everything = [x for v in found.values() for x in v]
    mine = labels[offset: offset + len(pairs.pair)]
    false_links = 0
    for i, lab in enumerate(mine):
        same = np.flatnonzero(labels == lab)
        others = [j for j in same if not (offset <= j < offset + len(pairs.pair)
                                          and pairs.pair[j - offset] == pairs.pair[i])]
        false_links += len(others)
    return {"recall": float(np.mean(everything)) if everything else 1.0,
            "true_pairs": len(everything),
            "by_kind": {k: {"recall": float(np.mean(v)), "pairs": len(v)}
                        for k, v in sorted(found.items())},
            "false_links": false_links}


def _plain(text: str | None) -> str:
    s = unicodedata.normalize("NFKD", text or "").casefold()
    return "".join(c for c in s if not unicodedata.combining(c))


def string_similarity_found(pairs: NamePairs, threshold: float = 0.88) -> np.ndarray:
    """Per true pair (order of :meth:`NamePairs.true_pairs`): is the Jaro–Winkler similarity of
    the folded ``given family`` strings (either name order) at least ``threshold``?"""
    from rapidfuzz.distance import JaroWinkler

    g = pairs.table.column("given_name").to_pylist()
    f = pairs.table.column("family_name").to_pylist()
    out = []
    for a, b, _kind in pairs.true_pairs():
        x = f"{_plain(g[a])} {_plain(f[a])}"
        y1, y2 = f"{_plain(g[b])} {_plain(f[b])}", f"{_plain(f[b])} {_plain(g[b])}"
        out.append(max(JaroWinkler.similarity(x, y1), JaroWinkler.similarity(x, y2))
                   >= threshold)
    return np.array(out, dtype=bool)
