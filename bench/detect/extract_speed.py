"""Per-ad extraction CPU: contacts and indicators, the working tree against a reference commit.

Each measurement runs in a fresh process (a background worker sees each ad once, with its
caches growing as it goes): it reads ads ``--start .. --start + --n`` of a cached corpus (see
``bench/detect/run.py``), runs

* **contacts** — ``extract_contacts(text, region)`` of every ad, every contact point's
  (kind, value, raw, channel): what the pipeline's contact step and hub detection read;
* **indicators** — ``IndicatorTable.pack_texts`` over the ads (the pipeline's indicator
  step): scores, flags and every hit (term, span);

and reports the CPU seconds of each per 10,000 ads and a digest of its outputs. The reference
is the same two modules as of ``--ref`` (a git commit), loaded from ``git show`` into modules
of their own, so both versions run on one checkout. Runs alternate (reference, tree,
reference, ...) ``--rounds`` times; the report gives medians, the ratio, and whether every
output of the tree equals the reference's (the benchmark fails when one differs). The labelled
obfuscated set (``contact_cases(--cases, seed 8)``) is compared and scored the same way.

    PYTHONPATH=src nice -n 5 python bench/detect/extract_speed.py --ref 5c986a2 \
        --corpus /tmp/safelight_detect_corpora/corpus_100000_hard_2021.parquet \
        --start 40000 --n 20000 --rounds 3

The machine is shared: CPU seconds are inflated by the load; the same-run ratio is the figure.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("contacts", "indicators")


def _load_ref(ref: str, name: str) -> ModuleType:
    """Module ``safelight.detect.<name>`` as of commit ``ref``, as ``_ref_<name>``."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:src/safelight/detect/{name}.py"],
                         check=True, capture_output=True, text=True).stdout
    mod_name = f"_ref_{name}"
    spec = importlib.util.spec_from_loader(mod_name, loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = str(ROOT / "src/safelight/detect" / f"{name}.py")  # finds indicators.yaml
    sys.modules[mod_name] = mod  # dataclasses look their module up
    exec(compile(src, f"{ref}:{name}.py", "exec"), mod.__dict__)  # noqa: S102
    return mod


def _modules(ref: str | None) -> tuple[ModuleType, ModuleType]:
    if ref is None:
        from safelight.detect import contacts, indicators
        return contacts, indicators
    return _load_ref(ref, "contacts"), _load_ref(ref, "indicators")


def _read(corpus: str, start: int, n: int) -> tuple[list[str], list[str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(corpus, columns=["text", "region"]).slice(start, n)
    return table.column("text").to_pylist(), table.column("region").to_pylist()


def _digest(obj: object) -> str:
    return hashlib.sha256(pickle.dumps(obj, protocol=5)).hexdigest()[:16]


def child(ref: str | None, what: str, corpus: str, start: int, n: int, cases: int,
          warm: int = 0) -> dict:
    """One measurement in this (fresh) process, after a warm-up over the ``warm`` ads before
    ``start`` (a worker's caches in the middle of a large run)."""
    contacts, indicators = _modules(ref)
    if warm and what != "cases":
        texts, regions = _read(corpus, max(0, start - warm), min(warm, start))
        if what == "contacts":
            for x, r in zip(texts, regions, strict=True):
                contacts.extract_contacts(x, r)
        else:
            indicators.IndicatorTable.pack_texts(texts, indicators.load_lexicon())
    if what == "cases":
        from safelight.detect.testdata import contact_cases, evaluate

        got = contact_cases(cases, seed=8)
        texts = [c.text for c in got]
        regions = [c.region for c in got]
    else:
        texts, regions = _read(corpus, start, n)
    out: dict[str, object] = {"n": len(texts)}
    if what in ("contacts", "cases"):
        t = time.process_time()
        res = [[(c.kind, c.value, c.raw, c.channel) for c in contacts.extract_contacts(x, r)]
               for x, r in zip(texts, regions, strict=True)]
        out["cpu_s"] = time.process_time() - t
        out["digest"] = _digest(res)
        out["n_contacts"] = sum(map(len, res))
        if what == "cases":
            score = evaluate(got, contacts.extract_contacts)
            out["precision"], out["recall"] = score["precision"], score["recall"]
    else:
        lex = indicators.load_lexicon()
        t = time.process_time()
        arrays = indicators.IndicatorTable.pack_texts(texts, lex)
        out["cpu_s"] = time.process_time() - t
        out["digest"] = _digest([a.tobytes() for a in arrays])
        out["n_hits"] = int(arrays[3].size)
    return out


def _spawn(ref: str | None, what: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", what, "--corpus", args.corpus,
           "--start", str(args.start), "--n", str(args.n), "--cases", str(args.cases),
           "--warm", str(args.warm)]
    if ref is not None:
        cmd += ["--ref", ref]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default=None, help="git commit of the reference code")
    ap.add_argument("--corpus", default="/tmp/safelight_detect_corpora/"
                    "corpus_100000_hard_2021.parquet")
    ap.add_argument("--start", type=int, default=40_000)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--cases", type=int, default=5_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm", type=int, default=0,
                    help="ads before --start processed first, unmeasured (warm caches)")
    ap.add_argument("--what", nargs="+", default=["contacts", "indicators", "cases"],
                    choices=["contacts", "indicators", "cases"])
    ap.add_argument("--child", choices=["contacts", "indicators", "cases"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.ref, args.child, args.corpus, args.start, args.n,
                               args.cases, args.warm)))
        return
    if args.ref is None:
        ap.error("--ref COMMIT is needed (the code to compare against)")
    report: dict[str, object] = {"command": " ".join(sys.argv), "corpus": args.corpus,
                                 "start": args.start, "n": args.n, "warm": args.warm,
                                 "ref": args.ref}
    same = True
    for what in args.what:
        runs: dict[str, list[dict]] = {"ref": [], "tree": []}
        for _ in range(args.rounds if what != "cases" else 1):
            runs["ref"].append(_spawn(args.ref, what, args))
            runs["tree"].append(_spawn(None, what, args))
        n = runs["tree"][0]["n"]
        med = {k: statistics.median(r["cpu_s"] for r in v) for k, v in runs.items()}
        digests = {r["digest"] for v in runs.values() for r in v}
        row = {"ads": n,
               "ref_cpu_s_per_10k": round(med["ref"] * 10_000 / n, 2),
               "tree_cpu_s_per_10k": round(med["tree"] * 10_000 / n, 2),
               "ratio": round(med["ref"] / med["tree"], 2) if med["tree"] else None,
               "identical": len(digests) == 1,
               "runs_cpu_s": {k: [round(r["cpu_s"], 2) for r in v] for k, v in runs.items()}}
        for key in ("n_contacts", "n_hits", "precision", "recall"):
            if key in runs["tree"][0]:
                row[key] = {k: v[0][key] for k, v in runs.items()}
        same &= row["identical"]
        report[what] = row
        print(what, json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    if not same:
        sys.exit("outputs differ from the reference")


if __name__ == "__main__":
    main()
