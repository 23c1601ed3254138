"""Template clustering on InfoShield's public toy data (read in place from ../shared/data)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from safelight.detect.metrics import pairwise_scores
from safelight.detect.pipeline import read_ads
from safelight.detect.templates import cluster_ads, summarise_clusters


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["synthetic_from_pkl.csv", "sample_input_labeled.csv"])
def test_infoshield_toys(shared_data: Path, name: str) -> None:
    path = shared_data / "ads" / "infoshield" / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    truth = [r["label"] if r["label"] != "-1" else f"unique{i}" for i, r in enumerate(rows)]
    res = cluster_ads([r["text"] for r in rows])
    scores = pairwise_scores(res.labels, truth)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    ads, quarantine, rows_read = read_ads(path)
    assert rows_read == len(ads) == len(rows) and not quarantine
    summaries = summarise_clusters(ads.text, res.labels)
    assert all(s.slots or s.fixed_share == 1.0 for s in summaries)
