"""Registers that share no one: links made between two generated registers with nobody in
common (every link false), in clear and privacy-preserving, beside the same problem with half
its people in common (true / false links), and each fit's margins as
:func:`safelight.link.model.implausible_fields` judges them (``log2 m_exact / m_different`` and
the weight margin, per field, before any fallback).

    PYTHONPATH=src python bench/linkage/no_overlap.py [--sizes 1500 3000 10000] [--seeds 5 1 2]
        [--modes clear pprl] [--common]

docs/linkage.md, "Registers that share no one".
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np

import safelight.link.model as model_mod
from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.identity.encode import encode_table, load_key, new_key
from safelight.link.encoded import from_parts
from safelight.link.pipeline import LinkSettings, link_records
from safelight.link.pprl import PPRLSettings, link_encoded

FITS: list[dict[str, tuple[float, float]]] = []
_judge = model_mod.implausible_fields


def _recording(m, u, fields, levels):  # noqa: ANN001, ANN202 - same signature as the judged one
    """Record each judged field's (m margin, weight margin) in bits, then judge as usual."""
    row = {}
    for j, name in enumerate(fields):
        if name not in model_mod.PLAUSIBLE_FIELDS or m[j] is None:
            continue
        last = len(fields[name])
        if not (np.any(levels[:, j] == 1) and np.any(levels[:, j] == last)):
            continue
        mm, uu = np.maximum(m[j], 1e-300), np.maximum(u[j], 1e-300)
        row[name] = (round(float(np.log2(mm[1] / mm[last])), 2),
                     round(float(np.log2(mm[1] / uu[1]) - np.log2(mm[last] / uu[last])), 2))
    FITS.append(row)
    return _judge(m, u, fields, levels)


def _clear(p) -> tuple[int, int]:  # noqa: ANN001
    table, person = p.combined()
    res = link_records(table, LinkSettings(two_source=True, workers=1))  # the fit in-process
    c, linked = res.comparisons, res.linked
    return int(linked.sum()), int((linked & (person[c.a] == person[c.b])).sum())


def _pprl(p) -> tuple[int, int]:  # noqa: ANN001
    with tempfile.TemporaryDirectory(prefix="safelight-no-overlap-") as tmp:
        new_key(Path(tmp) / "key")
        key = load_key(Path(tmp) / "key")
    parts = [encode_table(t, key, contributor=name) for name, t in (("left", p.left),
                                                                   ("right", p.right))]
    er = from_parts([(pkg.manifest, pkg.table) for pkg in parts], ["left", "right"])
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    c = res.comparisons
    linked = res.labels[c.a] == res.labels[c.b]
    person = np.concatenate([p.left_person, p.right_person])
    return int(linked.sum()), int((linked & (person[c.a] == person[c.b])).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1500, 3000, 10000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 1, 2])
    ap.add_argument("--modes", nargs="+", choices=("clear", "pprl"), default=["clear", "pprl"])
    ap.add_argument("--common", action="store_true",
                    help="also the same problems with half their people in common")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    model_mod.implausible_fields = _recording
    runners = {"clear": _clear, "pprl": _pprl}
    for overlap in ([0.0, None] if args.common else [0.0]):
        for n in args.sizes:
            for seed in args.seeds:
                kw = {} if overlap is None else {"overlap": overlap}
                p = generate_linkage_pairs(n, n, seed=seed, **kw)
                for mode in args.modes:
                    FITS.clear()
                    links, true = runners[mode](p)
                    print(f"{mode:5s} {n:>6,} x {n:<6,} seed {seed}  "
                          f"{'nobody in common' if overlap == 0.0 else 'half in common':16s} "
                          f"links {links:>6,}  true {true:>6,}  false {links - true:>5,}  "
                          f"fits (m margin, weight margin): {FITS}", flush=True)


if __name__ == "__main__":
    main()
