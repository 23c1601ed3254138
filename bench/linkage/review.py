"""What reviewing the queue is worth: link a demo hub, let an oracle decide every queued pair
from the generator's truth, link again, and report pairwise F1 before and after.

    PYTHONPATH=src python bench/linkage/review.py [--seed 7] [--records 3000] [--decide-share 1]
    PYTHONPATH=src python bench/linkage/review.py --pprl 10000 [--seed 7] [--decide-share 0.5]

The second run must obey every decision (safelight.link.decisions) and queue none of the
decided pairs again; F1 after reviewing is the ceiling a careful reviewer reaches on this queue.
A third run also learns the model's m from the decided pairs (``learn_from_reviews``); with
``--decide-share`` below 1 the rest of the queue is held out to judge what that learning is
worth on pairs nobody decided. ``--pprl N``: the same on a hub of two encoded packages of the
generated N × N two-source problem (``safelight.demo.linkage_pairs``, encoded under a fresh
key that is thrown away), linked privacy-preserving.
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


def _pprl_hub(out: Path, n: int, seed: int) -> dict:
    """A hub at ``out/hub.duckdb`` holding the two packages of the generated N × N problem;
    returns the truth, (contributor, record id) -> person."""
    from pprl_scale import encode, problem

    from safelight.link.hub_pprl import receive_package
    from safelight.store import open_hub

    left, right, pid, _ = problem(n, seed, None)
    paths, _ = encode(left, right, out / "packages")
    with open_hub(out / "hub.duckdb", create=True) as hub:
        for p in paths:
            receive_package(hub, p, new_contributor=True)
    ids = left.column("record_id").to_pylist() + right.column("record_id").to_pylist()
    sides = ["left"] * left.num_rows + ["right"] * right.num_rows
    return {(c, str(r)): int(p) for c, r, p in zip(sides, ids, pid.tolist(), strict=True)}


def main() -> None:
    from safelight.demo import read_truth
    from safelight.demo.run import run_demo
    from safelight.link import LinkSettings, link_hub
    from safelight.link.hub_pprl import link_hub_encoded
    from safelight.link.pprl import PPRLSettings
    from safelight.store import open_hub

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--decide-share", type=float, default=1.0,
                    help="share of the queue the oracle decides (the rest is held out)")
    ap.add_argument("--pprl", type=int, metavar="N",
                    help="an N x N generated two-source problem, linked privacy-preserving")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="safelight-review-"))
    if args.pprl:
        truth = _pprl_hub(out, args.pprl, args.seed)

        def run(hub, learn: bool = False):  # noqa: ANN001, ANN202
            return link_hub_encoded(hub, PPRLSettings(learn_from_reviews=learn))
    else:
        run_demo(out, seed=args.seed, n_records=args.records)
        truth = read_truth(out / "scenario" / "truth.csv")

        def run(hub, learn: bool = False):  # noqa: ANN001, ANN202
            return link_hub(hub, LinkSettings(learn_from_reviews=learn))
    rng = np.random.default_rng(args.seed)
    with open_hub(out / "hub.duckdb") as hub:
        first = run(hub)
        before = _persons(hub)
        queue = hub.con.execute(
            """SELECT left_contributor, left_record_id, right_contributor, right_record_id
               FROM link_review WHERE run_id = ?""", [first.run_id]).fetchall()
        decide = rng.random(len(queue)) < args.decide_share
        for (lc, lr, rc, rr), d in zip(queue, decide, strict=True):
            if not d:
                continue
            same = truth[(lc, lr)] == truth[(rc, rr)]
            hub.con.execute(
                """UPDATE link_review SET decision = ?, decided_by = 'oracle', decided_at = now()
                   WHERE run_id = ? AND left_contributor = ? AND left_record_id = ?
                   AND right_contributor = ? AND right_record_id = ?""",
                ["match" if same else "non_match", first.run_id, lc, lr, rc, rr])
        applied = run(hub)
        applied_persons = _persons(hub)
        refined = run(hub, learn=True)
        refined_persons = _persons(hub)
    held = [q for q, d in zip(queue, decide, strict=True) if not d]

    def held_right(persons: dict) -> str:
        ok = sum((persons[(lc, lr)] == persons[(rc, rr)]) == (truth[(lc, lr)] == truth[(rc, rr)])
                 for lc, lr, rc, rr in held)
        return f"{ok}/{len(held)} held-out queue pairs right" if held else "none held out"

    reviewed = sum(x.get("reviewed_pairs", 0) for x in refined.result.em.sessions)
    training = sum(x["pairs"] for x in refined.result.em.sessions)
    print(f"{first.records:,} records; {int(decide.sum())} of {len(queue)} queued pairs decided; "
          f"pairwise F1 {_f1(before, truth):.4f} before -> {_f1(applied_persons, truth):.4f} "
          f"with the decisions applied ({held_right(applied_persons)}; next run queued "
          f"{applied.review_pairs}) -> {_f1(refined_persons, truth):.4f} with m also learnt "
          f"from {reviewed} decided pairs beside {training:,} training pairs "
          f"({held_right(refined_persons)}; queued {refined.review_pairs}); "
          f"applied {refined.decisions}")


if __name__ == "__main__":
    main()
