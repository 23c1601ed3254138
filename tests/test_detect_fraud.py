"""Recruitment-fraud classifier: calibration, reasons, persistence, grouped evaluation."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from safelight.detect.cli import detect
from safelight.detect.fraud import (
    FraudModel,
    FraudModelError,
    evaluate,
    load_emscad,
    near_duplicate_groups,
    reweighted_f1,
    train,
)
from safelight.errors import InputFileError

_FRAUD = ["data entry", "work from home", "earn weekly", "no experience", "paid training",
          "payroll clerk", "customer service representative", "oil gas", "apply now"]
_LEGIT = ["software engineer", "team collaborative", "health insurance", "degree required",
          "product roadmap", "agile scrum", "design system", "marketing analytics",
          "career growth"]
_COMMON = ["company", "position", "candidate", "skills", "office", "team", "role", "benefits",
           "schedule", "opportunity", "responsibilities", "full time"]


def _corpus(n: int = 240, seed: int = 3) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)
    texts, y = [], []
    for i in range(n):
        label = i % 2
        pool = _FRAUD if label else _LEGIT
        other = _LEGIT if label else _FRAUD
        words = rng.sample(pool, 3) + rng.sample(_COMMON, 6)
        if rng.random() < 0.2:            # noisy: a cue of the other class
            words.append(rng.choice(other))
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(label)
    return texts, np.asarray(y)


@pytest.fixture(scope="module")
def model() -> FraudModel:
    texts, y = _corpus()
    return train(texts, y)


def test_probabilities_separate_and_are_calibrated(model: FraudModel) -> None:
    texts, y = _corpus(200, seed=9)
    p = model.predict_proba(texts)
    assert p[y == 1].mean() > 0.7 > 0.3 > p[y == 0].mean()
    assert np.mean((p - y) ** 2) < 0.15                       # Brier score on fresh data
    # at the real fraud rate the same ad is much less likely to be fraudulent
    low = model.predict_proba(texts, prevalence=0.0484)
    assert np.all(low <= p + 1e-12) and low[y == 1].mean() < p[y == 1].mean()


def test_reasons_name_the_words_behind_the_score(model: FraudModel) -> None:
    text = "data entry work from home earn weekly company"
    reasons = model.reasons(text, 3)
    ups = [d for d, v in reasons if v > 0]
    assert ups and all("raises" in d for d in ups)
    assert any(w in " ".join(ups) for w in ("data", "entry", "home", "earn", "weekly"))
    assert sum(v for _, v in reasons) > 0
    legit = model.reasons("software engineer health insurance company", 3)
    assert any(v < 0 and "lowers" in d for d, v in legit)


def test_save_load_round_trip(model: FraudModel, tmp_path: Path) -> None:
    texts, _ = _corpus(30, seed=5)
    path = model.save(tmp_path / "m.json")
    again = FraudModel.load(path)
    assert np.allclose(again.predict_proba(texts), model.predict_proba(texts), atol=1e-4)
    assert again.threshold == model.threshold and again.info["features"] > 0
    (tmp_path / "bad.json").write_text('{"format": "other"}', "utf-8")
    with pytest.raises(FraudModelError, match="train-fraud"):
        FraudModel.load(tmp_path / "bad.json")


def test_reweighted_f1_formula() -> None:
    y = np.array([1] * 100 + [0] * 100)
    pred = np.array([1] * 90 + [0] * 10 + [1] * 5 + [0] * 95)
    # recall 0.9, FPR 0.05 -> precision at 4.84% = .0484*.9 / (.0484*.9 + .9516*.05)
    p = 0.0484 * 0.9 / (0.0484 * 0.9 + 0.9516 * 0.05)
    assert reweighted_f1(y, pred) == pytest.approx(2 * p * 0.9 / (p + 0.9))
    assert reweighted_f1(y, np.zeros(200, dtype=int)) == 0.0


def test_grouped_cv_keeps_duplicates_together() -> None:
    texts, y = _corpus(120, seed=4)
    texts = texts + texts[:40]                  # exact duplicates of 40 ads
    y = np.concatenate([y, y[:40]])
    groups = near_duplicate_groups(texts, 0.3)
    assert all(groups[i] == groups[120 + i] for i in range(40))
    res = evaluate(texts, y, groups, folds=3)
    assert set(res) == {"safelight", "tfidf_linear_svm"}
    assert 0.7 < res["safelight"]["f1"] <= 1.0
    assert 0 <= res["safelight"]["ece"] < 0.3


def test_missing_data_folder_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="--data"):
        load_emscad(tmp_path)


def test_detect_ads_with_fraud_model(model: FraudModel, tmp_path: Path) -> None:
    texts, _ = _corpus(30, seed=6)
    src = tmp_path / "jobs.csv"
    src.write_text("id,text\n" + "".join(f"j{i},{t}\n" for i, t in enumerate(texts)), "utf-8")
    path = model.save(tmp_path / "m.json")
    out = tmp_path / "out"
    res = CliRunner().invoke(detect, ["ads", str(src), "--out", str(out), "--fraud-model",
                                      str(path)])
    assert res.exit_code == 0, res.output
    with open(out / "ad_scores.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    probs = [float(r["fraud_probability"]) for r in rows]
    assert len(probs) == 30 and all(0 <= p <= 1 for p in probs)
    assert all(r["fraud_reasons"] for r in rows if float(r["fraud_probability"]) >= 0.5)


@pytest.mark.realdata
@pytest.mark.slow
def test_emscad_grouped_cv(shared_data: Path) -> None:
    folder = shared_data / "ads" / "emscad_variants"
    if not folder.exists():
        pytest.skip(f"{folder} is absent")
    texts, y = load_emscad(folder)
    groups = near_duplicate_groups(texts, 0.3)
    res = evaluate(texts, y, groups)
    ours, base = res["safelight"], res["tfidf_linear_svm"]
    # measured 2026-11-29 (bench/detect/fraud.py): see docs/detect.md
    assert ours["f1"] >= 0.85 and ours["f1"] >= base["f1"] + 0.02
    assert ours["f1_reweighted"] >= max(0.65, base["f1_reweighted"])
    assert ours["ece"] < 0.1
