"""What reviewing the queue is worth: link a demo hub, let an oracle decide every queued pair
from the generator's truth, link again, and report pairwise F1 before and after.

    PYTHONPATH=src python bench/linkage/review.py [--seed 7] [--records 3000]

The second run must obey every decision (safelight.link.decisions) and queue none of the
decided pairs again; F1 after reviewing is the ceiling a careful reviewer reaches on this queue.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def _persons(hub) -> dict[tuple[str, str], str]:  # noqa: ANN001
    return {(c, r): p for c, r, p in hub.con.execute(
        "SELECT contributor, record_id, person_id FROM persons").fetchall()}


def _f1(persons: dict, truth: dict) -> float:
    from safelight.link import pairwise_scores

    keys = sorted(persons)
    _, pred = np.unique([persons[k] for k in keys], return_inverse=True)
    _, true = np.unique([truth[k] for k in keys], return_inverse=True)
    return float(pairwise_scores(pred, true)["f1"])


def main() -> None:
    from safelight.demo import read_truth
    from safelight.demo.run import run_demo
    from safelight.link import link_hub
    from safelight.store import open_hub

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--records", type=int, default=3000)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="safelight-review-"))
    run_demo(out, seed=args.seed, n_records=args.records)
    truth = read_truth(out / "scenario" / "truth.csv")
    with open_hub(out / "hub.duckdb") as hub:
        first = link_hub(hub)
        before = _persons(hub)
        queue = hub.con.execute(
            """SELECT left_contributor, left_record_id, right_contributor, right_record_id
               FROM link_review WHERE run_id = ?""", [first.run_id]).fetchall()
        for lc, lr, rc, rr in queue:
            same = truth[(lc, lr)] == truth[(rc, rr)]
            hub.con.execute(
                """UPDATE link_review SET decision = ?, decided_by = 'oracle', decided_at = now()
                   WHERE run_id = ? AND left_contributor = ? AND left_record_id = ?
                   AND right_contributor = ? AND right_record_id = ?""",
                ["match" if same else "non_match", first.run_id, lc, lr, rc, rr])
        second = link_hub(hub)
        after = _persons(hub)
    print(f"{first.records:,} records; {len(queue)} pairs reviewed; pairwise F1 "
          f"{_f1(before, truth):.4f} -> {_f1(after, truth):.4f}; next run queued "
          f"{second.review_pairs}; applied {second.decisions}")


if __name__ == "__main__":
    main()
