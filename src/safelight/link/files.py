"""Linkage of files in clear, outside a hub: ``safelight link pairs`` and ``link dedupe``.

Contract: :func:`read_mapped` reads a contributor's file through its ``MAP.yaml``
(:mod:`safelight.identity.mapping`) into the identity table :func:`~safelight.link.link_records`
takes, keeping only records whose consent allows linkage (a map without ``consent:`` means
none does: their consent is ``statistics_only`` unless the map says ``consent: {all: full}``) and
refusing a file whose record ids are missing or repeated — every output row must name
one record. :func:`link_two_files` links two such tables as two registers (pairs only across
them, one-to-one); :func:`dedupe_file` clusters one file's records into persons.
:func:`write_pairs`, :func:`write_clusters` and :func:`write_review` write the outputs, and
:func:`run_record` the run's settings, model and counts (``OUT.json`` beside the output) — no
identity value is written anywhere, only record ids, probabilities and comparison levels.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from safelight.errors import UsageError
from safelight.identity.mapping import IdentityFile, check_record_ids, load_map, read_identities
from safelight.link.pipeline import LinkResult, LinkSettings, link_records

__all__ = ["MappedFile", "dedupe_file", "link_two_files", "read_mapped", "run_record",
           "write_clusters", "write_pairs", "write_review"]


@dataclass
class MappedFile:
    """One file read through its map: the identity table (consenting records only) and counts."""

    path: Path
    table: pa.Table
    read: IdentityFile
    without_consent: int

    def describe(self) -> dict[str, Any]:
        """Counts for the run record and the command's summary line."""
        return {"file": str(self.path), "rows_read": self.read.rows_read,
                "records": self.table.num_rows, "without_consent": self.without_consent,
                "unreadable_rows": len(self.read.unreadable_rows),
                "unreadable_row_numbers": sorted(self.read.unreadable_rows)[:100],
                "unparsed_birth_dates": self.read.unparsed_dates}


def read_mapped(path: Path, map_path: Path, contributor: str) -> MappedFile:
    """Read ``path`` through ``map_path`` and label its records ``contributor``."""
    data = read_identities(path, load_map(map_path))
    check_record_ids(path, data.table, data.row_numbers)
    table = data.table
    without = 0
    if "consent_linkage" in table.column_names:
        keep = table.column("consent_linkage")
        without = table.num_rows - int(pc.sum(keep).as_py() or 0)
        table = table.filter(keep).drop_columns(["consent_linkage"])
    table = table.append_column("contributor", pa.array([contributor] * table.num_rows,
                                                        pa.string()))
    return MappedFile(Path(path), table, data, without)


def link_two_files(left: MappedFile, right: MappedFile, settings: LinkSettings) -> LinkResult:
    """Two registers, each free of duplicates: cross pairs only, one-to-one links."""
    for f in (left, right):
        if f.table.num_rows == 0:
            raise UsageError(f"{f.path}: no record to link (read {f.read.rows_read:,} rows, "
                             f"{f.without_consent:,} without consent to linkage) — check the "
                             "map's consent:")
    table = pa.concat_tables([left.table, right.table], promote_options="default")
    return link_records(table, replace(settings, two_source=True))


def dedupe_file(source: MappedFile, settings: LinkSettings) -> LinkResult:
    """Cluster the records of one file into persons."""
    if source.table.num_rows < 2:
        raise UsageError(f"{source.path}: {source.table.num_rows} record(s) to deduplicate "
                         f"(read {source.read.rows_read:,} rows, {source.without_consent:,} "
                         "without consent to linkage; check the map's consent:) — it takes two "
                         "to find a duplicate")
    return link_records(source.table, replace(settings, two_source=False))


def _oriented(res: LinkResult, ks: np.ndarray) -> list[tuple[str, str]]:
    """Record ids of candidate pairs ``ks``, the first file's record first."""
    c, rec = res.comparisons, res.records
    first = rec.contributor[0] if len(rec.contributor) else None
    out = []
    for k in ks.tolist():
        a, b = int(c.a[k]), int(c.b[k])
        if rec.contributor[a] != first:
            a, b = b, a
        out.append((rec.record_id[a], rec.record_id[b]))
    return out


def left_first_order(comparisons: Any, ks: np.ndarray, contributor: Any, first: Any,
                     key: np.ndarray | None = None) -> np.ndarray:
    """Candidate pairs ``ks`` of ``comparisons`` (``a``, ``b``: record indices) ordered by
    their record of the ``first`` contributor (the left file or package), then by the other:
    by ``key`` per record (default: the record's index, the order the file was read in — a
    package's records come shuffled, so `link pprl` gives its record ids; a trial found its
    pairs in no order)."""
    a, b = comparisons.a[ks], comparisons.b[ks]
    swap = np.array([contributor[i] != first for i in a.tolist()], bool)
    left, right = np.where(swap, b, a), np.where(swap, a, b)
    if key is not None:
        left, right = key[left], key[right]
    return ks[np.lexsort((right, left))]


def write_pairs(res: LinkResult, out: Path) -> int:
    """``left_id,right_id,match_probability`` of the linked pairs (left = the first file), in
    the first file's record order (then the second's)."""
    rec = res.records
    linked = left_first_order(res.comparisons, np.flatnonzero(res.linked), rec.contributor,
                           rec.contributor[0] if len(rec.contributor) else None)
    rows = [(a, b, f"{res.probabilities[k]:.6f}")
            for (a, b), k in zip(_oriented(res, linked), linked.tolist(), strict=True)]
    _write(out, ["left_id", "right_id", "match_probability"], rows)
    return len(rows)


def write_clusters(res: LinkResult, out: Path) -> int:
    """``record_id,cluster_id`` for every record; the number of clusters."""
    _write(out, ["record_id", "cluster_id"],
           zip(res.records.record_id.tolist(), res.labels.tolist(), strict=True))
    return int(res.labels.max()) + 1 if len(res.labels) else 0


def write_review(res: LinkResult, out: Path) -> int:
    """The uncertain pairs (probability in ``[review_low, review_high)``, the band raised to
    the threshold when that is higher, so that no pair under it falls between the two files)
    and the confident ones that one-to-one or clustering left unlinked, with their per-field
    levels and weights, most uncertain first: ``left_id,right_id,match_probability,linked,
    reasons`` (left = the first file's record; ``linked``: the output puts the two in one
    person — one cluster, for a deduplication, which may hold a pair under the threshold
    through its other records; reasons as JSON: levels and weights only, never the values
    compared)."""
    s, p = res.settings, res.probabilities
    high = max(s.review_high, s.threshold)
    ks = np.flatnonzero(((p >= s.review_low) & (p < high)) | ((p >= high) & ~res.linked))
    ks = ks[np.argsort(np.abs(p[ks] - 0.5), kind="stable")]
    reasons = res.reasons(ks)
    linked = res.linked
    rows = [(a, b, f"{p[k]:.6f}", bool(linked[k]), json.dumps(r, ensure_ascii=False))
            for (a, b), k, r in zip(_oriented(res, ks), ks.tolist(), reasons, strict=True)]
    _write(out, ["left_id", "right_id", "match_probability", "linked", "reasons"], rows)
    return len(rows)


def run_record(res: LinkResult, inputs: list[MappedFile], out: Path) -> Path:
    """Write ``OUT.json``: software version, settings, inputs' counts, fitted model, timings."""
    import safelight

    side = out.with_suffix(out.suffix + ".json")
    side.write_text(json.dumps({
        "safelight_version": safelight.__version__, "settings": res.settings.to_dict(),
        "inputs": [f.describe() for f in inputs], "model": res.em.model.to_dict(),
        "candidate_pairs": int(len(res.comparisons.a)), "linked_pairs": int(res.linked.sum()),
        "timings_s": {k: round(v, 3) for k, v in res.timings.items()},
    }, indent=2, default=float), "utf-8")
    return side


def _write(out: Path, header: list[str], rows: Any) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(out)
