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
    f1_interval,
    group_weights,
    load_emscad,
    load_fj_small,
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


def test_top_terms_are_the_class_cues(model: FraudModel) -> None:
    top = model.top_terms(5)
    fraud_words = " ".join(_FRAUD)
    legit_words = " ".join(_LEGIT)
    assert all(w > 0 for _, w in top["raise"]) and all(w < 0 for _, w in top["lower"])
    assert sum(t in fraud_words for t, _ in top["raise"]) >= 4
    assert sum(t in legit_words for t, _ in top["lower"]) >= 4


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


def test_group_weights_give_each_group_one_ad_of_weight() -> None:
    g = np.array([7, 7, 7, 7, 3, 5])
    w = group_weights(g, len(g))
    assert w.mean() == pytest.approx(1.0)
    assert w[0] * 4 == pytest.approx(w[4]) and w[4] == pytest.approx(w[5])
    assert np.allclose(group_weights(g, len(g), alpha=0.0), 1.0)
    assert np.allclose(group_weights(None, 3), 1.0)


def test_repeated_template_does_not_outvote_many_independent_ads() -> None:
    # "zeta" sits in one legitimate template copied 40 times (one near-duplicate group) and in
    # 12 independent fraudulent ads: unweighted, the copies make it a legitimate cue; with
    # group weights the 12 independent ads win.
    texts, y = _corpus(200, seed=11)
    copies = ["zeta software engineer health insurance company team"] * 40
    frauds = [t + " zeta" for t, lab in zip(texts, y, strict=True) if lab == 1][:12]
    all_texts = texts + copies + frauds
    all_y = np.concatenate([y, np.zeros(40, dtype=int), np.ones(12, dtype=int)])
    groups = np.concatenate([np.arange(200), np.full(40, 200), np.arange(201, 213)])

    def zeta(model: FraudModel) -> float:
        j = model.vocabulary["zeta"]
        return model.platt_a * model.coef[j] + model.platt_a2 * model.nb_coef[j]

    assert zeta(train(all_texts, all_y, groups, group_alpha=0.0)) < 0
    assert zeta(train(all_texts, all_y, groups, group_alpha=1.0)) > 0


def test_f1_interval_covers_the_estimate_and_narrows_with_data() -> None:
    rng = np.random.default_rng(0)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < 0.85, y, 1 - y)
        return y, pred

    y, pred = sample(400)
    groups = np.arange(400) // 2                       # pairs of ads
    lo, hi = f1_interval(y, pred, groups)
    tp = int(((pred == 1) & (y == 1)).sum())
    f1 = 2 * tp / (pred.sum() + y.sum())
    assert lo < f1 < hi and hi - lo < 0.15
    rlo, rhi = f1_interval(y, pred, groups, prevalence=0.0484)
    assert rlo < reweighted_f1(y, pred) < rhi
    y4, p4 = sample(4000)
    lo4, hi4 = f1_interval(y4, p4, np.arange(4000) // 2)
    assert hi4 - lo4 < (hi - lo) * 0.6
    # perfect predictions leave no doubt
    assert f1_interval(y, y, groups) == (1.0, 1.0)


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
    lo, hi = res["safelight"]["f1_reweighted_ci95"]
    assert lo <= res["safelight"]["f1_reweighted"] <= hi


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


def _with_tails(n: int = 240, seed: int = 3) -> tuple[list[str], np.ndarray]:
    """Ads whose class shows only in *where* a word sits: every body holds both "administrative"
    and "sales" (each 80% of the time) and random common words; the job function at the end of
    the tail is "administrative" for fraudulent ads and "sales" for legitimate ones (10% noise).
    A bag of words sees both words nearly everywhere; the tail-field view reads the field."""
    rng = random.Random(seed)
    texts, y = [], []
    for i in range(n):
        label = i % 2
        body = rng.sample(_COMMON, 6) + [w for w in ("administrative", "sales")
                                         if rng.random() < 0.8]
        rng.shuffle(body)
        function = "administrative" if (label == 1) != (rng.random() < 0.1) else "sales"
        texts.append(f"{' '.join(body)} clerk us tx houston full time oil energy {function}")
        y.append(label)
    return texts, np.asarray(y)


def test_tail_field_view_learns_what_words_cannot_and_names_it() -> None:
    texts, y = _with_tails()
    model = train(texts, y)
    words_only = train(texts, y, fields=False)
    assert words_only.platt_a3 == 0.0 and not words_only.field_vocabulary
    assert model.platt_a3 > 0 and "function=administrative" in model.field_vocabulary
    fresh, fy = _with_tails(200, seed=8)
    brier = np.mean((model.predict_proba(fresh) - fy) ** 2)
    assert brier < np.mean((words_only.predict_proba(fresh) - fy) ** 2)
    fraud_ad = fresh[int(np.argmax(fy))]
    reasons = model.reasons(fraud_ad, 3)
    assert reasons[0] == ("job function ‘administrative’ raises the score", reasons[0][1])
    assert reasons[0][1] > 0
    # the exact log-odds: the reasons' parts plus the intercepts give the calibrated logit
    x = model.transform([fraud_ad]).tocsr()
    f = model.field_matrix([fraud_ad]).tocsr()
    parts = (model.platt_a * (model.coef[x.indices] * x.data).sum()
             + model.platt_a2 * model.nb_coef[x.indices].sum()
             + model.platt_a3 * model.field_coef[f.indices].sum())
    logit = (parts + model.platt_a * model.intercept + model.platt_a2 * model.nb_intercept
             + model.platt_a3 * model.field_intercept + model.platt_b)
    assert model.predict_proba([fraud_ad])[0] == pytest.approx(1 / (1 + np.exp(-logit)))


def test_field_view_survives_save_and_load(tmp_path: Path) -> None:
    texts, y = _with_tails(120, seed=2)
    model = train(texts, y)
    again = FraudModel.load(model.save(tmp_path / "m.json"))
    assert again.field_vocabulary == model.field_vocabulary
    assert np.allclose(again.predict_proba(texts), model.predict_proba(texts), atol=1e-4)
    before, after = model.reasons(texts[1], 3), again.reasons(texts[1], 3)
    assert [d for d, _ in after] == [d for d, _ in before]
    assert np.allclose([v for _, v in after], [v for _, v in before], atol=1e-4)
    old = tmp_path / "old.json"
    old.write_text('{"format": "safelight-fraud-model/2"}', "utf-8")
    with pytest.raises(FraudModelError, match="retrain"):
        FraudModel.load(old)


def test_raw_ads_are_scored_in_the_samples_form(model: FraudModel) -> None:
    # punctuation, capitals and stop words do not change the score of the same words
    raw = "DATA ENTRY -- work from HOME, and earn weekly!!! <b>No experience</b>"
    clean = "data entry work home earn weekly experience"
    assert model.predict_proba([raw])[0] == pytest.approx(model.predict_proba([clean])[0])


def test_extra_training_ads_fit_the_views_but_not_the_calibration() -> None:
    texts, y = _corpus(160, seed=12)
    extra = [f"omega {t}" for t, lab in zip(*_corpus(60, seed=13), strict=True) if lab == 0]
    with_extra = train(texts, y, extra=(extra, np.zeros(len(extra), dtype=int)))
    plain = train(texts, y)
    assert "omega" in with_extra.vocabulary and "omega" not in plain.vocabulary
    assert with_extra.coef[with_extra.vocabulary["omega"]] < 0
    assert with_extra.train_prevalence == pytest.approx(plain.train_prevalence)
    assert with_extra.info["extra_training_ads"] == len(extra)


def test_fj_small_extra_ads_exclude_near_duplicates_of_the_sample(tmp_path: Path) -> None:
    texts, _ = _corpus(40, seed=14)
    fields = ["title", "company_profile", "description", "location", "fraudulent"]
    rows = [{"title": "", "company_profile": "", "description": texts[0], "location": "",
             "fraudulent": "0"},                                   # a copy of a sample ad
            {"title": "Night Porter", "company_profile": "Harbour hotel group.",
             "description": "Night porter wanted for reception duties, luggage and security "
                            "rounds in a busy seaside hotel.", "location": "GB, , Brighton",
             "fraudulent": "0"}]
    with open(tmp_path / "fj_small_r-dube.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    extra, labels = load_fj_small(texts, tmp_path)
    assert len(extra) == 1 and labels.tolist() == [0]
    assert "night porter" in extra[0] and extra[0].endswith("gb brighton")
    with pytest.raises(InputFileError, match="fj_small"):
        load_fj_small(texts, tmp_path / "absent")


def test_evaluate_runs_variants_on_the_same_folds() -> None:
    texts, y = _with_tails(150, seed=21)
    groups = np.arange(len(y))
    res = evaluate(texts, y, groups, folds=3, variants={"words only": {"fields": False}})
    assert set(res) == {"safelight", "words only", "tfidf_linear_svm"}
    assert res["safelight"]["fields"] and not res["words only"]["fields"]
    # a variant is the same computation as a run of its own on the same seed (same folds)
    alone = evaluate(texts, y, groups, folds=3, fields=False)["safelight"]
    assert alone["f1"] == res["words only"]["f1"] and alone["brier"] == res["words only"]["brier"]
    assert res["tfidf_linear_svm"]["f1"] == evaluate(texts, y, groups, folds=3)[
        "tfidf_linear_svm"]["f1"]


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
    # measured 2026-11-30 (bench/detect/fraud.py, seeds 0-2; seed 0: 0.872 / 0.764 against the
    # baseline's 0.862 / 0.548): see docs/detect.md. On the
    # sample the two are within each other's intervals; at the real rate safelight's
    # calibrated threshold is far ahead of the baseline's decision rule.
    assert ours["f1"] >= 0.85 and ours["f1"] >= base["f1"] - 0.01
    assert ours["f1_reweighted"] >= max(0.70, base["f1_reweighted"] + 0.1)
    lo, hi = ours["f1_reweighted_ci95"]
    assert lo < ours["f1_reweighted"] < hi and hi - lo < 0.25
    assert ours["ece"] < 0.1
