"""bench/linkage/scale_diagnose.py: its counts add up, its oracles score the run's own links
as the run does, and neither its output nor its JSON holds a name or a number in clear."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from leak_search import clear_values, leaked, npz_text

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "linkage" / "scale_diagnose.py"


def test_ceiling_report(tmp_path, monkeypatch, capsys):
    from safelight.demo.linkage_pairs import generate_linkage_pairs
    from safelight.link import pairwise_scores

    problem = generate_linkage_pairs(800, 800, seed=1)
    table, pid = problem.combined()
    pq.write_table(table, tmp_path / "records_800_seed1.parquet")
    np.save(tmp_path / "truth_800_seed1.npy", pid)
    (tmp_path / "problem_800_seed1.json").write_text(
        json.dumps({"true_pairs": problem.true_pairs}), "utf-8")
    spec = importlib.util.spec_from_file_location("scale_diagnose", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out, saved = tmp_path / "report.json", tmp_path / "pairs.npz"
    monkeypatch.setattr(sys, "argv", ["scale_diagnose.py", "--size", "800", "--cache",
                                      str(tmp_path), "--no-supervised", "--json", str(out),
                                      "--save", str(saved)])
    bench.main()
    printed = capsys.readouterr().out
    report = json.loads(out.read_text("utf-8"))
    with np.load(saved) as z:
        linked, true = z["linked"], z["true"]
        a, b = z["a"], z["b"]
    # the run's pair scores are the clusters' pairwise scores (two-source: a cluster is a pair)
    labels = np.arange(len(pid))
    labels[b[linked]] = labels[a[linked]]
    expect = pairwise_scores(labels, pid)
    assert abs(report["run"]["f1"] - expect["f1"]) < 1e-4
    br = report["breakdown"]
    assert br["fn_in_candidates"] == int((true & ~linked).sum())
    assert br["fn_in_candidates"] + br["true_not_in_candidates"] + int((true & linked).sum()) \
        == problem.true_pairs
    assert br["fn_low_weight"] + br["fn_weight_ok_but_rivals_lowered_p"] + \
        br["fn_above_threshold_lost_in_one_to_one"] == br["fn_in_candidates"]
    # the oracle threshold can only do as well as the run's own threshold or better
    assert report["oracle"]["probability"]["at_best"]["f1"] >= report["run"]["f1"]
    assert set(report["oracle_model"]) >= {"true_prior", "true_m", "true_m_and_prior"}
    # no identifier in clear, as written or normalised: names, phones, documents, addresses,
    # birth dates — in what it prints, its JSON and the saved arrays
    found = leaked(clear_values(table), printed, out.read_text("utf-8"), npz_text(saved))
    assert not found, found[:5]
