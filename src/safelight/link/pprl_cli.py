"""``safelight link pprl PACKAGE...``: link contribution packages (no key, no clear value).

Two packages: two-source linkage with the one-to-one assignment; ``--out`` gets
``left_id,right_id,match_probability`` (left = the first package). One package or more than two
(or ``--dedupe``): clustering; ``--out`` gets ``contributor,record_id,cluster_id``. The run's
settings, fitted model and the software version are written next to it (``OUT.json``).
"""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path

import click
import numpy as np

from safelight.cli_support import (
    Probability,
    csv_outputs,
    force_option,
    guarded,
    new_outputs,
    shows_progress,
)

__all__ = ["pprl"]


@click.command("pprl")
@click.argument("packages", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="PAIRS.csv (two packages) or CLUSTERS.csv (--dedupe / other counts).")
@click.option("--dedupe", is_flag=True, help="Cluster all records even for two packages.")
@click.option("--threshold", type=Probability(), default=0.5, show_default=True,
              help="Match probability from which two records are linked (0 to 1).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random samples the model is estimated on and of the LSH "
                   "bands: the same seed and packages, the same links.")
@force_option
@guarded
@shows_progress
def pprl(packages: tuple[Path, ...], out: Path, dedupe: bool, threshold: float, seed: int,
         force: bool) -> None:
    """Link encoded contribution PACKAGES (privacy-preserving)."""
    import safelight
    from safelight.errors import UsageError
    from safelight.link.encoded import contributor_name, from_parts, read_package
    from safelight.link.files import left_first_order
    from safelight.link.pprl import PPRLSettings, link_encoded, warn_if_nothing_linked

    new_outputs(packages, (out,), force=force, companions=(".json",))
    csv_outputs(out)
    two = len(packages) == 2 and not dedupe
    seen = collections.Counter(p.resolve() for p in packages)
    again = next((p for p in packages if seen[p.resolve()] > 1), None)
    if again is not None:
        raise UsageError(f"{again} is given twice; link two contributors' packages (or "
                         "find one package's duplicates with `safelight link pprl PACKAGE "
                         "--dedupe`)")
    parts = [read_package(p, lazy=True) for p in packages]
    names = [contributor_name(man, i) for i, (man, _) in enumerate(parts)]

    if two and names[0] == names[1]:
        ids = [set(src.read(columns=["record_id"]).column(0).to_pylist()) for _, src in parts]
        if ids[0] & ids[1]:
            raise UsageError(f"both packages are from contributor {names[0]!r} and hold the "
                             f"same {len(ids[0] & ids[1]):,} record id(s) — one file encoded "
                             "twice? Link a package with another contributor's, or find one "
                             "package's duplicates with `safelight link pprl PACKAGE --dedupe`")
        raise UsageError(f"both packages are from contributor {names[0]!r}; two packages link "
                         "across contributors only, so nothing could link: re-encode one with "
                         "--contributor NAME, or cluster all their records with `safelight link "
                         "pprl A.enc B.enc --dedupe`")
    er = from_parts(parts, [str(p) for p in packages])
    if len(set(names)) < len(names):  # one contributor's packages: each record once
        keys = collections.Counter(zip(er.contributor.tolist(), er.record_id.tolist(),
                                       strict=True))
        twice = next(((c, r) for (c, r), n in keys.items() if n > 1), None)
        if twice is not None:
            its = [str(p) for p, n in zip(packages, names, strict=True) if n == twice[0]]
            raise UsageError(f"packages {', '.join(its)} of contributor {twice[0]!r} hold "
                             f"{sum(n > 1 for n in keys.values()):,} record id(s) both — a "
                             "record would sit in two clusters: give each record once (the "
                             "contributor's newest package)")
    if len(set(names)) == len(names):  # each package's records are told apart by its name
        held = collections.Counter(er.contributor.tolist())
        empty = [str(p) for p, name in zip(packages, names, strict=True) if not held[name]]
        if empty and (two or len(er) < 2):
            raise UsageError(f"{', '.join(empty)}: no record with consent to linkage — "
                             "nothing of it can be linked")
    if len(er) < 2:
        raise UsageError(f"{len(er)} record(s) with consent to linkage in all the packages; "
                         "linkage needs at least two")
    settings = PPRLSettings(threshold=threshold, seed=seed, cross_only=two, one_to_one=two)
    res = link_encoded(er, settings)
    warn_if_nothing_linked(er, res.labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        if two:
            c = res.comparisons
            first = names[0]  # the left package's records
            linked = left_first_order(c, np.flatnonzero(res.labels[c.a] == res.labels[c.b]),
                                      er.contributor, first,
                                      np.asarray(er.record_id, dtype=str))
            w.writerow(["left_id", "right_id", "match_probability"])
            for k in linked.tolist():
                left, right = int(c.a[k]), int(c.b[k])
                if er.contributor[left] != first:
                    left, right = right, left
                w.writerow([er.record_id[left], er.record_id[right],
                            f"{res.probabilities[k]:.6f}"])
            written = len(linked)
        else:
            w.writerow(["contributor", "record_id", "cluster_id"])
            for cont, rid, lab in zip(er.contributor.tolist(), er.record_id.tolist(),
                                      res.labels.tolist(), strict=True):
                w.writerow([cont, rid, lab])
            written = len(er)
    side = out.with_suffix(out.suffix + ".json")
    side.write_text(json.dumps({
        "safelight_version": safelight.__version__, "settings": settings.to_dict(),
        "key_fingerprint": er.key_fingerprint, "encoding": er.settings.to_dict(),
        "packages": [str(p) for p in packages], "model": res.em.model.to_dict(),
        "em_sessions": res.em.sessions, "candidate_pairs": int(len(res.comparisons.a)),
    }, indent=2, default=float), "utf-8")
    click.echo(f"linked {len(er):,} encoded records: {len(res.comparisons.a):,} candidate pairs, "
               f"{int(res.labels.max()) + 1:,} persons; wrote {written:,} rows to {out}")
