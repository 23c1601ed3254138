"""Recruitment-fraud classifier for job offers: calibrated probability and the reasons for it.

Contract
--------
* :func:`load_emscad` reads the EMSCAD sample (the two balanced files described in
  ``../shared/data/ads/emscad_variants/SOURCE.md``) in place: texts and 0/1 labels;
  :func:`load_fj_small` reads ``fj_small`` as extra training ads, without any ad that a sample
  ad near-duplicates.
* :func:`near_duplicate_groups` groups texts with the project's own template clustering
  (:func:`safelight.detect.templates.cluster_ads`), so that cross-validation can keep
  near-duplicate ads on one side of every split.
* :func:`train` fits a :class:`FraudModel`: three linear views — an L2 logistic regression on
  TF-IDF (sub-linear tf) of words and word pairs, an NB-SVM-style logistic regression on word
  presence scaled by the naive-Bayes log-count ratio (Wang & Manning, ACL 2012), and an L2
  logistic regression on the job fields read back from the text's tail
  (:mod:`safelight.detect.fraud_fields`) — each ad weighted 1/(its near-duplicate group's
  size) (:func:`group_weights`) so repeated templates do not outvote independent ads, stacked
  by a logistic calibrator (Platt scaling with one weight per view) fitted on *out-of-fold*
  scores of a grouped inner cross-validation, so the output is a calibrated probability; and
  a decision threshold for a stated real fraud rate chosen on the same out-of-fold scores.
  Every text, in training and scoring, is first put in the sample's form
  (:func:`~safelight.detect.fraud_text.normalise_ad_text`). Everything stays linear in the
  features, so each word's and field's contribution to the log-odds is exact. The model is
  plain JSON (vocabularies, idf, coefficients, calibration) — no pickle, nothing downloaded
  at run time. Its vocabulary is every word and word pair found in at least two training ads,
  names and numbers included: train it only on ads that may be published (the public EMSCAD
  sample); a model trained on a hub's case or hotline ads would carry their contact points.
* :meth:`FraudModel.predict_proba` gives calibrated probabilities at the training sample's
  fraud rate or, with ``prevalence``, re-based to another rate (Bayes' rule on the odds);
  :meth:`FraudModel.reasons` names the words and job fields that raised and lowered an ad's
  score (calibrator weight × coefficient × feature value); :meth:`FraudModel.top_terms` lists
  its strongest cues.
* :func:`evaluate` runs near-duplicate-grouped k-fold cross-validation of this model (and of
  named variants) and of the TF-IDF + linear SVM baseline on the same folds, and reports F1 of
  the fraudulent class on the sample and re-weighted to the real fraud rate, each with a 95%
  group-bootstrap interval (:func:`f1_interval`), and calibration error.

A probability here is a lead for a human, never a verdict on an employer or an ad.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from safelight import __version__
from safelight.detect.fraud_fields import describe_field_token, field_tokens
from safelight.detect.fraud_text import emscad_record_text, normalise_ad_text
from safelight.errors import InputFileError, SafelightError

__all__ = ["EMSCAD_FILES", "FJ_SMALL_FILE", "REAL_FRAUD_RATE", "FraudModel", "FraudModelError",
           "default_emscad_folder", "evaluate", "f1_interval", "group_weights", "load_emscad",
           "load_fj_small", "near_duplicate_groups", "reweighted_f1", "train"]

log = logging.getLogger("safelight.detect.fraud")

#: Share of fraudulent ads in the full EMSCAD (866 of 17,880; Vidros et al. 2017).
REAL_FRAUD_RATE = 0.0484
EMSCAD_FILES = ("emscad_balanced_train_eric-miao.csv", "emscad_balanced_test_eric-miao.csv")
FJ_SMALL_FILE = "fj_small_r-dube.csv"


def default_emscad_folder() -> Path:
    """``$SAFELIGHT_SHARED_DATA/ads/emscad_variants`` (default ``../shared/data`` of the checkout)."""
    shared = os.environ.get("SAFELIGHT_SHARED_DATA")
    root = Path(shared) if shared else Path(__file__).resolve().parents[4] / "shared" / "data"
    return root / "ads" / "emscad_variants"


class FraudModelError(SafelightError):
    """A fraud model file is missing, unreadable or of another format version."""

    exit_code = 4


def load_emscad(folder: str | Path | None = None) -> tuple[list[str], np.ndarray]:
    """(texts, labels) of the balanced EMSCAD files in ``folder`` (read in place)."""
    base = Path(folder) if folder else default_emscad_folder()
    texts: list[str] = []
    labels: list[int] = []
    for name in EMSCAD_FILES:
        path = base / name
        if not path.is_file():
            raise InputFileError(path, "EMSCAD sample file not found",
                                 "pass --data with the folder that holds "
                                 f"{', '.join(EMSCAD_FILES)} (see its SOURCE.md)")
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"text", "fraudulent"} <= set(reader.fieldnames):
                raise InputFileError(path, f"expected columns text,fraudulent, found "
                                     f"{reader.fieldnames}", "use the EMSCAD balanced files")
            for row in reader:
                texts.append(row["text"] or "")
                labels.append(int(row["fraudulent"]))
    return texts, np.asarray(labels, dtype=np.int64)


def load_fj_small(sample_texts: Sequence[str], folder: str | Path | None = None,
                  threshold: float = 0.3) -> tuple[list[str], np.ndarray]:
    """Extra training ads: ``fj_small_r-dube.csv`` (a random 2% of the full EMSCAD, all 18
    columns) turned into the sample's text form (:func:`emscad_record_text`), keeping only
    the ads that no ad of ``sample_texts`` near-duplicates (template clustering of the union
    at ``threshold``; a whole group goes if any member is a sample ad), so an evaluation on
    the sample never sees its own ads, or near-copies of them, in training."""
    base = Path(folder) if folder else default_emscad_folder()
    path = base / FJ_SMALL_FILE
    if not path.is_file():
        raise InputFileError(path, "fj_small file not found",
                             "pass --data with the folder that holds it (see its SOURCE.md)"
                             " or leave out the extra training ads")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and "fraudulent" not in rows[0]:
        raise InputFileError(path, "no fraudulent column", "use r-dube's fj_small.csv")
    extra = [emscad_record_text(r) for r in rows]
    labels = np.asarray([int(r["fraudulent"]) for r in rows], dtype=np.int64)
    sample = [normalise_ad_text(t) for t in sample_texts]
    groups = near_duplicate_groups(sample + extra, threshold)
    taken = set(groups[:len(sample)].tolist())
    keep = [i for i in range(len(extra)) if groups[len(sample) + i] not in taken]
    log.info("fj_small: %d of %d ads kept as extra training ads", len(keep), len(extra))
    return [extra[i] for i in keep], labels[keep]


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.3) -> np.ndarray:
    """Group id of every text: ads linked by template clustering at ``threshold`` share one.

    Pairwise links only (no profile refinement): a group is a chain of ads each at least
    ``threshold`` similar to the next, the definition the grouped-CV protocol states."""
    from safelight.detect.templates import ClusterSettings, cluster_ads

    return cluster_ads(texts, ClusterSettings(threshold=threshold, refine_rounds=0)).labels


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def reweighted_f1(y: np.ndarray, pred: np.ndarray, prevalence: float = REAL_FRAUD_RATE) -> float:
    """F1 of the positive class if positives made up ``prevalence`` of the population.

    Recall is measured on the positives, the false-positive rate on the negatives (a random
    sample of all negatives in EMSCAD), and precision is recomputed at the given rate.
    """
    r = float(pred[y == 1].mean()) if (y == 1).any() else 0.0
    f = float(pred[y == 0].mean()) if (y == 0).any() else 0.0
    if r == 0:
        return 0.0
    p = prevalence * r / (prevalence * r + (1 - prevalence) * f)
    return 2 * p * r / (p + r)


@dataclass
class FraudModel:
    """A trained classifier (see the module docstring); :meth:`save`/:meth:`load` as JSON."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray          # logistic regression on tf-idf
    intercept: float
    nb_coef: np.ndarray       # NB-SVM view: coefficient × log-count ratio, on word presence
    nb_intercept: float
    platt_a: float            # calibrator weight of the tf-idf view
    platt_a2: float           # calibrator weight of the NB-SVM view
    platt_b: float
    train_prevalence: float
    prevalence: float
    threshold: float
    info: dict[str, object]
    field_vocabulary: dict[str, int] = field(default_factory=dict)   # tail-field tokens
    field_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    field_intercept: float = 0.0
    platt_a3: float = 0.0     # calibrator weight of the tail-field view (0 = no such view)

    FORMAT = "safelight-fraud-model/3"

    # -- features -------------------------------------------------------------------------
    def _vectorizer(self):  # noqa: ANN202 - sklearn object
        """The TF-IDF vectoriser, built once per model (building it validates the whole
        vocabulary: about 50 ms, which per-ad :meth:`reasons` must not pay each time)."""
        if getattr(self, "_vec", None) is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            v = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                vocabulary=self.vocabulary)
            v.fit([""])  # sets up the analyser; idf is replaced below
            v.idf_ = self.idf
            self._vec = v
        return self._vec

    def transform(self, texts: Sequence[str]):  # noqa: ANN201 - scipy sparse matrix
        """TF-IDF matrix of ``texts`` (normalised as the sample was) in the model's vocabulary."""
        return self._vectorizer().transform([normalise_ad_text(t) for t in texts])

    def field_matrix(self, texts: Sequence[str]):  # noqa: ANN201 - scipy sparse matrix
        """0/1 matrix of the tail-field tokens (:func:`field_tokens`) in the model's vocabulary."""
        return _field_matrix([normalise_ad_text(t) for t in texts], self.field_vocabulary)

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """Raw linear scores of the three views, shape ``(n, 3)`` (before calibration)."""
        texts = [normalise_ad_text(t) for t in texts]
        x = self._vectorizer().transform(texts).tocsr()
        b = x.copy()
        b.data[:] = 1.0
        f = _field_matrix(texts, self.field_vocabulary)
        fs = (np.asarray(f @ self.field_coef).ravel() + self.field_intercept
              if self.field_vocabulary else np.zeros(len(texts)))
        return np.column_stack([np.asarray(x @ self.coef).ravel() + self.intercept,
                                np.asarray(b @ self.nb_coef).ravel() + self.nb_intercept, fs])

    def predict_proba(self, texts: Sequence[str], prevalence: float | None = None) -> np.ndarray:
        """Calibrated probability of fraud; at ``prevalence`` (default: the training sample's)."""
        d = self.decision(texts)
        logit = (self.platt_a * d[:, 0] + self.platt_a2 * d[:, 1] + self.platt_a3 * d[:, 2]
                 + self.platt_b)
        if prevalence is not None:
            logit = logit + _logit(prevalence) - _logit(self.train_prevalence)
        return _sigmoid(logit)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """1 where the probability at the model's ``prevalence`` reaches its ``threshold``."""
        return (self.predict_proba(texts, self.prevalence) >= self.threshold).astype(np.int64)

    def reasons(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """Up to ``k`` words/word pairs/job fields that raised the score most and ``k`` that
        lowered it.

        Each is ``(description, contribution)`` with contribution = the feature's exact share
        of the calibrated log-odds (calibrator weight × coefficient × feature value), largest
        first (positive = towards fraud). Job fields read from the ad's tail
        (:func:`~safelight.detect.fraud_fields.parse_tail`) read like “industry ‘oil energy’”
        or “no required education stated”.
        """
        x = self.transform([text]).tocsr()
        contrib = list(self.platt_a * self.coef[x.indices] * x.data
                       + self.platt_a2 * self.nb_coef[x.indices])
        terms = self._terms()
        names = [f"“{terms[j]}”" for j in x.indices]
        if self.field_vocabulary and self.platt_a3:
            f = self.field_matrix([text]).tocsr()
            fterms = self._field_terms()
            contrib += list(self.platt_a3 * self.field_coef[f.indices])
            names += [describe_field_token(fterms[j]) for j in f.indices]
        c = np.asarray(contrib, dtype=float)
        order = np.argsort(-c, kind="stable")
        up = [(f"{names[j]} raises the score", float(c[j])) for j in order[:k] if c[j] > 0]
        down = [(f"{names[j]} lowers the score", float(c[j]))
                for j in order[::-1][:k] if c[j] < 0]
        return up + down

    def top_terms(self, k: int = 15) -> dict[str, list[tuple[str, float]]]:
        """The ``k`` words/word pairs/job fields whose presence raises the calibrated log-odds
        most, and the ``k`` that lower it most (NB-SVM weight plus the tf-idf weight at value
        1; a field token's calibrated weight)."""
        weight = list(self.platt_a * self.coef + self.platt_a2 * self.nb_coef)
        terms = list(self._terms())
        if self.field_vocabulary and self.platt_a3:
            weight += list(self.platt_a3 * self.field_coef)
            terms += [describe_field_token(t) for t in self._field_terms()]
        w = np.asarray(weight)
        order = np.argsort(w, kind="stable")
        return {"raise": [(terms[j], float(w[j])) for j in order[::-1][:k]],
                "lower": [(terms[j], float(w[j])) for j in order[:k]]}

    def _terms(self) -> list[str]:
        if not hasattr(self, "_term_list"):
            self._term_list = _inverse(self.vocabulary)
        return self._term_list

    def _field_terms(self) -> list[str]:
        if not hasattr(self, "_field_term_list"):
            self._field_term_list = _inverse(self.field_vocabulary)
        return self._field_term_list

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model as JSON (a few MB) to ``path``."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": self.FORMAT, "software": f"safelight {__version__}",
                "vocabulary": self._terms(), "idf": [round(float(v), 6) for v in self.idf],
                "coef": [round(float(v), 6) for v in self.coef],
                "nb_coef": [round(float(v), 6) for v in self.nb_coef],
                "intercept": self.intercept, "nb_intercept": self.nb_intercept,
                "field_vocabulary": self._field_terms(),
                "field_coef": [round(float(v), 6) for v in self.field_coef],
                "field_intercept": self.field_intercept,
                "platt_a": self.platt_a, "platt_a2": self.platt_a2, "platt_a3": self.platt_a3,
                "platt_b": self.platt_b,
                "train_prevalence": self.train_prevalence, "prevalence": self.prevalence,
                "threshold": self.threshold, "info": self.info}
        out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path) -> FraudModel:
        """Read a model written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise FraudModelError(f"{path}: cannot read the fraud model ({exc}) — train one "
                                  "with `safelight detect train-fraud --out FILE`") from exc
        if not isinstance(data, dict) or data.get("format") != cls.FORMAT:
            raise FraudModelError(f"{path}: not a {cls.FORMAT} file — retrain it with "
                                  "`safelight detect train-fraud`")
        vocab = {t: i for i, t in enumerate(data["vocabulary"])}
        return cls(vocab, np.asarray(data["idf"]), np.asarray(data["coef"]),
                   float(data["intercept"]), np.asarray(data["nb_coef"]),
                   float(data["nb_intercept"]), float(data["platt_a"]),
                   float(data["platt_a2"]), float(data["platt_b"]),
                   float(data["train_prevalence"]), float(data["prevalence"]),
                   float(data["threshold"]), dict(data.get("info") or {}),
                   {t: i for i, t in enumerate(data["field_vocabulary"])},
                   np.asarray(data["field_coef"], dtype=float),
                   float(data["field_intercept"]), float(data["platt_a3"]))


def _inverse(vocabulary: dict[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for t, i in vocabulary.items():
        terms[i] = t
    return terms


def _field_matrix(texts: Sequence[str], vocabulary: dict[str, int]):  # noqa: ANN202
    """0/1 CSR matrix of the tail-field tokens of normalised ``texts`` (unknown ones dropped)."""
    import scipy.sparse as sp

    rows, cols = [], []
    for i, t in enumerate(texts):
        for tok in set(field_tokens(t)):
            j = vocabulary.get(tok)
            if j is not None:
                rows.append(i)
                cols.append(j)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                         shape=(len(texts), len(vocabulary)))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def group_weights(groups: np.ndarray | None, n: int, alpha: float = 1.0) -> np.ndarray:
    """Training weight of each ad: ``1 / size**alpha`` of its near-duplicate group, mean 1.

    With ``alpha = 1`` a group of 40 copies of one template weighs as much as one lone ad,
    so the model learns what fraudulent ads share rather than one operator's wording."""
    if groups is None or alpha == 0:
        return np.ones(n)
    _, inv, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    w = counts[inv].astype(float) ** -alpha
    return w * (n / w.sum())


def _fit_linear(texts: Sequence[str], y: np.ndarray, c: float, c_nb: float = 1.0,
                weight: np.ndarray | None = None) -> tuple[object, object, np.ndarray, float]:
    """(vectorizer, tf-idf logistic regression, NB-SVM coefficients, NB-SVM intercept)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x = vec.fit_transform(texts).tocsr()
    lr = LogisticRegression(C=c, max_iter=3000)
    lr.fit(x, y, sample_weight=w)
    b = x.copy()
    b.data[:] = 1.0
    # weighted presence counts per class (+1 smoothing), then the NB log-count ratio
    pos = np.asarray(b[y == 1].T @ w[y == 1]).ravel() + 1.0
    neg = np.asarray(b[y == 0].T @ w[y == 0]).ravel() + 1.0
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
    nb = LogisticRegression(C=c_nb, max_iter=3000)
    nb.fit(b.multiply(ratio).tocsr(), y, sample_weight=w)
    return vec, lr, nb.coef_.ravel() * ratio, float(nb.intercept_[0])


def _fit_fields(texts: Sequence[str], y: np.ndarray, weight: np.ndarray, c: float = 1.0
                ) -> tuple[dict[str, int], np.ndarray, float]:
    """(token vocabulary, coefficients, intercept) of the L2 logistic regression on the
    tail-field tokens held by at least two ads."""
    from collections import Counter

    from sklearn.linear_model import LogisticRegression

    df = Counter(tok for t in texts for tok in set(field_tokens(t)))
    vocab = {tok: i for i, tok in enumerate(sorted(k for k, n in df.items() if n >= 2))}
    lr = LogisticRegression(C=c, max_iter=3000)
    lr.fit(_field_matrix(texts, vocab), y, sample_weight=weight)
    return vocab, lr.coef_.ravel().astype(float), float(lr.intercept_[0])


@dataclass
class _Views:
    """The fitted views of one training set (see :func:`_fit_views`)."""

    words: tuple[object, object, np.ndarray, float]
    fields: tuple[dict[str, int], np.ndarray, float] | None

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3): tf-idf view, NB-SVM view, field view (0 without it)."""
        vec, lr, nb_coef, nb_b = self.words
        x = vec.transform(texts).tocsr()
        b = x.copy()
        b.data[:] = 1.0
        f = np.zeros(len(texts))
        if self.fields is not None:
            vocab, coef, intercept = self.fields
            f = np.asarray(_field_matrix(texts, vocab) @ coef).ravel() + intercept
        return np.column_stack([lr.decision_function(x), np.asarray(b @ nb_coef).ravel() + nb_b,
                                f])


def _fit_views(texts: Sequence[str], y: np.ndarray, weight: np.ndarray, c: float,
               fields: bool) -> _Views:
    return _Views(_fit_linear(texts, y, c, weight=weight),
                  _fit_fields(texts, y, weight) if fields else None)


def _best_threshold(prob: np.ndarray, y: np.ndarray, prevalence: float) -> float:
    grid = np.unique(np.round(prob, 4))
    best, best_t = -1.0, 0.5
    for t in grid:
        f = reweighted_f1(y, (prob >= t).astype(np.int64), prevalence)
        if f > best:
            best, best_t = f, float(t)
    return best_t


def train(texts: Sequence[str], y: np.ndarray, groups: np.ndarray | None = None, *,
          c: float = 3.0, prevalence: float = REAL_FRAUD_RATE, inner_folds: int = 3,
          seed: int = 0, group_alpha: float = 1.0, fields: bool = True,
          extra: tuple[Sequence[str], np.ndarray] | None = None) -> FraudModel:
    """Fit a :class:`FraudModel` (calibration and threshold from grouped inner CV).

    ``groups`` (near-duplicate group ids, e.g. from :func:`near_duplicate_groups`) keep the
    inner folds honest and down-weight repeated templates in the linear views
    (:func:`group_weights` with ``group_alpha``; 0 = every ad weighs 1). ``fields`` adds the
    tail-field view (:mod:`safelight.detect.fraud_fields`). ``extra`` = (texts, labels) of
    further training ads that no ad of ``texts`` near-duplicates (e.g. :func:`load_fj_small`):
    they join every fit of the views with weight 1 but never the calibration, so the
    probabilities stay those of ``texts``' fraud rate. The calibrator and the threshold are
    fitted unweighted, on the ads as they come; all texts are first normalised as the EMSCAD
    sample was (:func:`~safelight.detect.fraud_text.normalise_ad_text`). BLAS runs on one
    thread: on a problem this small its threads only spin (about 3× the CPU time, measured)."""
    import sklearn.linear_model  # noqa: F401 - load the BLAS/OpenMP libraries before limiting
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _train(texts, y, groups, c=c, prevalence=prevalence, inner_folds=inner_folds,
                      seed=seed, group_alpha=group_alpha, fields=fields, extra=extra)


def _train(texts: Sequence[str], y: np.ndarray, groups: np.ndarray | None, *, c: float,
           prevalence: float, inner_folds: int, seed: int, group_alpha: float, fields: bool,
           extra: tuple[Sequence[str], np.ndarray] | None) -> FraudModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    texts = [normalise_ad_text(t) for t in texts]
    y = np.asarray(y, dtype=np.int64)
    if len(set(y.tolist())) < 2:
        raise SafelightError("training needs both fraudulent and legitimate ads")
    x_texts = [normalise_ad_text(t) for t in extra[0]] if extra else []
    x_y = np.asarray(extra[1], dtype=np.int64) if extra else np.zeros(0, dtype=np.int64)
    g = np.arange(len(y)) if groups is None else np.asarray(groups)

    def fit(idx: np.ndarray) -> _Views:
        w = np.concatenate([group_weights(g[idx], len(idx), group_alpha), np.ones(len(x_y))])
        return _fit_views([texts[i] for i in idx] + x_texts, np.concatenate([y[idx], x_y]),
                          w, c, fields)

    oof = np.zeros((len(y), 3))
    cv = StratifiedGroupKFold(inner_folds, shuffle=True, random_state=seed)
    for tr, te in cv.split(texts, y, g):
        oof[te] = fit(tr).scores([texts[i] for i in te])
    used = slice(None) if fields else slice(0, 2)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof[:, used], y)
    a, a2, a3 = (list(map(float, platt.coef_[0])) + [0.0])[:3]
    b = float(platt.intercept_[0])
    train_prev = float(y.mean())
    prob_real = _sigmoid(platt.decision_function(oof[:, used]) + _logit(prevalence)
                         - _logit(train_prev))
    threshold = _best_threshold(prob_real, y, prevalence)
    views = fit(np.arange(len(y)))
    vec, lr, nb_coef, nb_b = views.words
    fvocab, fcoef, fb = views.fields or ({}, np.zeros(0), 0.0)
    vocab = {t: int(i) for t, i in vec.vocabulary_.items()}
    info = {"trained_on": len(y), "fraudulent": int(y.sum()), "extra_training_ads": len(x_y),
            "c": c, "inner_folds": inner_folds, "features": len(vocab),
            "field_features": len(fvocab),
            "group_alpha": group_alpha if groups is not None else 0.0,
            "model": "words + word pairs (min_df 2): L2 logistic regression on sub-linear "
                     "tf-idf and NB-SVM logistic regression on presence × NB log-count "
                     "ratio" + ("; L2 logistic regression on the job fields read from the "
                                "text's tail" if fields else "") +
                     "; each ad weighted 1/(near-duplicate group size)**group_alpha, "
                     "stacked by Platt scaling on grouped out-of-fold scores"}
    return FraudModel(vocab, vec.idf_.astype(float), lr.coef_.ravel().astype(float),
                      float(lr.intercept_[0]), nb_coef.astype(float), nb_b, a, a2, b,
                      train_prev, prevalence, threshold, info, fvocab, fcoef, fb, a3)


def _ece(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges) - 1, 0, bins - 1)
    err = 0.0
    for k in range(bins):
        m = which == k
        if m.any():
            err += m.mean() * abs(prob[m].mean() - y[m].mean())
    return float(err)


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def f1_interval(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, *,
                prevalence: float | None = None, reps: int = 2000, seed: int = 0
                ) -> tuple[float, float]:
    """95% interval of F1 (re-weighted to ``prevalence`` if given) by a group bootstrap.

    Near-duplicate groups are resampled with replacement (ads in one group are not
    independent evidence), the predictions held fixed; the interval is the 2.5th and 97.5th
    percentile of the ``reps`` replicate F1s. It measures the sampling error of the evaluation
    sample (for the re-weighted F1 mostly the few false positives among 1,000 legitimate ads),
    not the variation from retraining."""
    y = np.asarray(y, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(inv.max()) + 1
    # per group: true positives, positives, false positives, negatives, predicted positives
    stats = np.column_stack([np.bincount(inv, w, n_groups) for w in (
        (pred == 1) & (y == 1), y == 1, (pred == 1) & (y == 0), y == 0, pred == 1)])
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=reps)
    tp, pos, fp, neg, _ = (draws @ stats).T
    recall = tp / np.maximum(pos, 1)
    if prevalence is None:
        f1 = 2 * tp / np.maximum(tp + pos + fp, 1)
    else:
        fpr = fp / np.maximum(neg, 1)
        denom = prevalence * recall + (1 - prevalence) * fpr
        prec = np.where(denom > 0, prevalence * recall / np.where(denom > 0, denom, 1), 0.0)
        f1 = np.where(prec + recall > 0, 2 * prec * recall / np.where(prec + recall > 0,
                                                                     prec + recall, 1), 0.0)
    lo, hi = np.percentile(f1, [2.5, 97.5])
    return float(lo), float(hi)


def evaluate(texts: Sequence[str], y: np.ndarray, groups: np.ndarray, *, folds: int = 5,
             seed: int = 0, c: float = 3.0, prevalence: float = REAL_FRAUD_RATE,
             group_alpha: float = 1.0, fields: bool = True,
             extra: tuple[Sequence[str], np.ndarray] | None = None,
             variants: dict[str, dict[str, object]] | None = None
             ) -> dict[str, dict[str, object]]:
    """Grouped ``folds``-fold CV of this model and of TF-IDF + linear SVM on the same folds.

    Everything safelight fits — vocabulary, idf, the views, the calibrator and the threshold
    (from a grouped inner CV) — is fitted on the training folds only (plus ``extra`` training
    ads, never evaluated; see :func:`train`). ``variants`` (name → keyword arguments of
    :func:`train` that differ from this call's) evaluates further versions on the same folds,
    e.g. ``{"words only": {"fields": False}}``. Returns, per method, F1/precision/recall of
    the fraudulent class on the sample, F1 re-weighted to ``prevalence`` (for safelight at the
    threshold chosen inside the training folds; for the baseline at its own decision rule),
    95% group-bootstrap intervals of both F1s (:func:`f1_interval`), and for safelight the
    Brier score and expected calibration error of the probabilities on the sample.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.svm import LinearSVC

    texts = [t or "" for t in texts]
    y = np.asarray(y, dtype=np.int64)
    groups = np.asarray(groups)
    base_kw: dict[str, object] = {"c": c, "prevalence": prevalence, "seed": seed,
                                  "group_alpha": group_alpha, "fields": fields, "extra": extra}
    runs = {"safelight": base_kw} | {name: base_kw | dict(kw)
                                     for name, kw in (variants or {}).items()}
    prob = {name: np.zeros(len(y)) for name in runs}
    pred_real = {name: np.zeros(len(y), dtype=np.int64) for name in runs}
    base = np.zeros(len(y), dtype=np.int64)
    cv = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(cv.split(texts, y, groups)):
        tr_texts, te_texts = [texts[i] for i in tr], [texts[i] for i in te]
        for name, kw in runs.items():
            model = train(tr_texts, y[tr], groups[tr], **kw)
            prob[name][te] = model.predict_proba(te_texts)
            pred_real[name][te] = model.predict(te_texts)
        vec = TfidfVectorizer()
        svm = LinearSVC().fit(vec.fit_transform(tr_texts), y[tr])
        base[te] = svm.predict(vec.transform(te_texts))
        log.info("fold %d/%d done", k + 1, folds)

    def block(p: np.ndarray, p_real: np.ndarray) -> dict[str, object]:
        tp = int(((p == 1) & (y == 1)).sum())
        return {"f1": _f1(y, p), "precision": tp / max(int(p.sum()), 1),
                "recall": tp / max(int(y.sum()), 1), "fpr": float(p[y == 0].mean()),
                "f1_ci95": f1_interval(y, p, groups, seed=seed),
                "f1_reweighted": reweighted_f1(y, p_real, prevalence),
                "f1_reweighted_ci95": f1_interval(y, p_real, groups, prevalence=prevalence,
                                                  seed=seed),
                "recall_at_real_rate": float(p_real[y == 1].mean()),
                "fpr_at_real_rate": float(p_real[y == 0].mean()),
                "false_positives_at_real_rate": int(((p_real == 1) & (y == 0)).sum())}

    out: dict[str, dict[str, object]] = {}
    for name, kw in runs.items():
        ours = block((prob[name] >= 0.5).astype(np.int64), pred_real[name])
        ours["brier"] = float(np.mean((prob[name] - y) ** 2))
        ours["ece"] = _ece(prob[name], y)
        ours["group_alpha"] = kw["group_alpha"]
        ours["fields"] = kw["fields"]
        ours["extra_training_ads"] = len(kw["extra"][1]) if kw["extra"] else 0
        out[name] = ours
    out["tfidf_linear_svm"] = block(base, base)
    return out
