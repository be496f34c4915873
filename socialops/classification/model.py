"""The statistical part: linear models for department, urgency and sentiment over two views
of the normalised text (:mod:`socialops.classification.normalise`).

- word 1-2-grams with a vocabulary (readable, so they explain decisions);
- hashed character 3-4-grams within words (robust to typos, inflection and other languages;
  hashed because scikit-learn's vocabulary counting is a Python loop: hashing is ~40% faster);

Static embeddings (WordLlama's 256-d token vectors, shipped in its wheel) were measured as a
third view and not adopted: see the README's Classification section.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

from socialops.classification.data import Example
from socialops.classification.normalise import VERSION as NORMALISER
from socialops.classification.normalise import looks_like_html, normalise

MODELS = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS / "default.joblib"
PARAMS: dict[str, Any] = {
    "word_ngrams": (1, 2),
    "char_ngrams": (3, 5),
    "char_features": 2**18,
    "C": 1.0,
    # Chosen by the cross-writer check (README), with the urgent-focused blind writer tc in the
    # data: at 0.97 out-of-fold the least-recalled unseen writer (tc) got 0.941, at 0.98 every
    # writer >= 0.961 (pooled 0.986, precision 0.64); 0.985 took ta's precision below 0.5.
    "urgent_recall_target": 0.98,
    # Marketing (praise, campaigns) and none (chit-chat, spam) are never urgent by definition
    # (GUIDE.md; not one training line is): the urgent model's flag is dropped when these two
    # departments take this share of the department probabilities (urgent rules still fire).
    # Chosen by the cross-writer check: at 0.98, 0.5-0.7 all raised the blind writers'
    # precision (ta 0.50 -> 0.55, tb 0.53 -> 0.56, pooled 0.64 -> 0.67); 0.6 kept every
    # writer's recall highest (>= 0.970).
    "urgent_gate": 0.6,
}
# The departments whose mentions are never urgent (see "urgent_gate").
NEVER_URGENT = ("marketing", "none")


def _matrix(
    features: FeatureUnion, texts: Sequence[str], *, fit: bool = False
) -> sparse.csr_matrix:
    """The word block, then the character block, of the normalised texts."""
    normalised = [normalise(t) for t in texts]
    grams = features.fit_transform(normalised) if fit else features.transform(normalised)
    return sparse.csr_matrix(grams)


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(ngram_range=PARAMS["word_ngrams"], sublinear_tf=True, min_df=1),
            ),
            (
                "char",
                make_pipeline(
                    HashingVectorizer(
                        analyzer="char_wb",
                        ngram_range=PARAMS["char_ngrams"],
                        n_features=PARAMS["char_features"],
                        alternate_sign=False,
                        norm=None,
                    ),
                    TfidfTransformer(sublinear_tf=True),
                ),
            ),
        ]
    )


def _linear() -> LinearSVC:
    # Measured by 5-fold CV on the train split: a linear SVM beats logistic regression on these
    # features (macro-F1 0.825 vs 0.809) and trains 15x faster; calibrating it with
    # CalibratedClassifierCV cost 0.01 of F1, so confidence comes from a fitted softmax instead.
    return LinearSVC(C=PARAMS["C"], class_weight="balanced", random_state=0)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_temperature(scores: np.ndarray, truth: np.ndarray, labels: list[str]) -> float:
    """The softmax temperature that makes out-of-fold scores honest probabilities (min NLL)."""
    index = np.asarray([labels.index(t) for t in truth])
    best, best_loss = 1.0, float("inf")
    for temperature in np.linspace(0.25, 12, 48):
        p = softmax(scores, float(temperature))[np.arange(len(index)), index]
        loss = float(-np.log(np.clip(p, 1e-12, 1)).mean())
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


@dataclass
class Prediction:
    """The model's view of one text."""

    department_probabilities: dict[str, float]
    urgent_score: float  # the urgent model's decision score; compare with urgent_threshold
    sentiment: str
    top_words: list[tuple[str, float]]  # strongest word features for the top department
    # P(marketing) + P(none): at or above the model's urgent_gate its urgent score is not
    # enough to flag the mention (those departments are never urgent)
    never_urgent_share: float = 0.0


@dataclass
class TrainedModel:
    features: FeatureUnion
    department: LinearSVC
    urgent: LinearSVC
    sentiment: LinearSVC
    urgent_threshold: float  # on the urgent model's decision score
    temperature: float  # softmax temperature for department confidence
    version: str
    meta: dict[str, Any] = field(default_factory=dict)
    urgent_gate: float = 1.01  # models trained before the gate: never gated

    def __post_init__(self) -> None:
        # Stored sparse (small on disk), used dense: a sparse-by-dense product is faster
        # than sparse-by-sparse at prediction time (about 24 MB in memory).
        for linear in (self.department, self.urgent, self.sentiment):
            if hasattr(linear.coef_, "toarray"):
                linear.densify()
        words = self.features.transformer_list[0][1]
        self._word_names = np.asarray(words.get_feature_names_out())
        self._n_words = len(self._word_names)
        coef = self.department.coef_
        coef = coef.toarray() if hasattr(coef, "toarray") else coef
        self._word_coef = np.asarray(coef[:, : self._n_words])
        labels = [str(label) for label in self.department.classes_]
        self._never_urgent = [labels.index(d) for d in NEVER_URGENT if d in labels]

    def model_urgent(self, prediction: Prediction) -> bool:
        """The urgent model's own flag: the score reaches the threshold, and the mention does
        not read as a department that is never urgent (rules are the classifier's business)."""
        return (
            prediction.urgent_score >= self.urgent_threshold
            and prediction.never_urgent_share < self.urgent_gate
        )

    def predict(self, texts: Sequence[str], *, explain: int = 3) -> list[Prediction]:
        matrix = _matrix(self.features, texts)
        departments = softmax(self.department.decision_function(matrix), self.temperature)
        urgent_scores = self.urgent.decision_function(matrix)
        sentiment = self.sentiment.predict(matrix)
        labels = [str(label) for label in self.department.classes_]  # not numpy.str_
        top = departments.argmax(axis=1)
        never_urgent = departments[:, self._never_urgent].sum(axis=1)
        # Each word's contribution to the chosen department, for every text at once.
        contrib = matrix[:, : self._n_words].tocsr()
        if explain:  # value x weight for the chosen department, over the nonzeros only
            rows = np.repeat(np.arange(contrib.shape[0]), np.diff(contrib.indptr))
            contrib.data = contrib.data * self._word_coef[top[rows], contrib.indices]
        out = []
        for i in range(matrix.shape[0]):
            top_words: list[tuple[str, float]] = []
            if explain:
                start, end = contrib.indptr[i], contrib.indptr[i + 1]
                values = contrib.data[start:end]
                for j in np.argsort(-values)[:explain]:
                    if values[j] <= 0:
                        break
                    name = self._word_names[contrib.indices[start + j]]
                    top_words.append((str(name), round(float(values[j]), 3)))
            out.append(
                Prediction(
                    department_probabilities=dict(
                        zip(labels, departments[i].tolist(), strict=True)
                    ),
                    urgent_score=float(urgent_scores[i]),
                    sentiment=str(sentiment[i]),
                    top_words=top_words,
                    never_urgent_share=float(never_urgent[i]),
                )
            )
        return out


def _urgent_threshold(
    scores: np.ndarray, truth: np.ndarray, caught_by_rules: np.ndarray, target: float
) -> float:
    """The score threshold with the best precision whose recall, together with the urgent
    rules, meets the target on out-of-fold scores."""
    best, best_precision = float(scores.min()) - 1e-6, -1.0
    for threshold in np.unique(scores):
        flagged = caught_by_rules | (scores >= threshold)
        recall = (flagged & truth).sum() / max(truth.sum(), 1)
        if recall < target:
            continue
        precision = (flagged & truth).sum() / max(flagged.sum(), 1)
        if precision > best_precision:
            best, best_precision = float(threshold) - 1e-9, float(precision)
    return best


def train(
    examples: Sequence[Example],
    *,
    data_fingerprint: str,
    urgent_rule: Callable[[str], bool] | None = None,
    prepare: Callable[[str], str] = str,
    weights: Sequence[float] | None = None,
) -> TrainedModel:
    """Fit the three models on the examples (deterministic for the same data).

    ``urgent_rule`` is the organisation's urgent rule matcher: the urgent threshold is chosen
    for the rules and the model together, as they will run. ``prepare`` turns platform markup
    into text, as the classifier's does (the CLI passes ``connectors.html_text.html_to_text``).
    ``weights`` weigh examples (a person's correction counts more than a written example).
    """
    started = time.perf_counter()
    texts = [prepare(e.text) if looks_like_html(e.text) else e.text for e in examples]
    features = _features()
    matrix = _matrix(features, texts, fit=True)
    departments = np.asarray([e.department for e in examples])
    urgent = np.asarray([e.urgent for e in examples])
    sentiment = np.asarray([e.sentiment for e in examples])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    fit = {"sample_weight": np.asarray(weights, dtype=float)} if weights is not None else {}
    department = _linear().fit(matrix, departments, **fit)
    labels = list(department.classes_)
    out_of_fold = cross_val_predict(
        _linear(), matrix, departments, cv=folds, method="decision_function", params=fit
    )
    temperature = _fit_temperature(out_of_fold, departments, labels)
    urgent_oof = cross_val_predict(
        _linear(), matrix, urgent, cv=folds, method="decision_function", params=fit
    )
    caught = np.asarray([bool(urgent_rule and urgent_rule(t)) for t in texts])
    # The threshold is chosen as the model will run: gated mentions cannot be flagged by score.
    never_urgent = [labels.index(d) for d in NEVER_URGENT if d in labels]
    gated = softmax(out_of_fold, temperature)[:, never_urgent].sum(axis=1) >= PARAMS["urgent_gate"]
    scores = np.where(gated, urgent_oof.min() - 1e3, urgent_oof)
    threshold = _urgent_threshold(scores, urgent, caught, PARAMS["urgent_recall_target"])
    urgent_model = _linear().fit(matrix, urgent, **fit)
    sentiment_model = _linear().fit(matrix, sentiment, **fit)
    for model in (department, urgent_model, sentiment_model):
        model.sparsify()  # hashed columns never seen in training have zero weight: keep it small
    digest = hashlib.sha256(
        json.dumps(
            [data_fingerprint, PARAMS, sklearn.__version__, threshold, NORMALISER],
            default=str,
        ).encode()
    ).hexdigest()[:12]
    return TrainedModel(
        features=features,
        department=department,
        urgent=urgent_model,
        sentiment=sentiment_model,
        urgent_threshold=threshold,
        temperature=temperature,
        urgent_gate=PARAMS["urgent_gate"],
        version=f"tfidf-svm-{digest}",
        meta={
            "data_sha256": data_fingerprint,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "examples": len(examples),
            "params": PARAMS,
            "sklearn": sklearn.__version__,
            "train_seconds": round(time.perf_counter() - started, 2),
            "urgent_threshold": threshold,
            "urgent_threshold_with_rules": urgent_rule is not None,
            "urgent_gate": PARAMS["urgent_gate"],
            "temperature": temperature,
            "normaliser": NORMALISER,
        },
    )


def save(model: TrainedModel, path: Path = DEFAULT_MODEL) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {
            "features": model.features,
            "department": model.department,
            "urgent": model.urgent,
            "sentiment": model.sentiment,
            "urgent_threshold": model.urgent_threshold,
            "temperature": model.temperature,
            "urgent_gate": model.urgent_gate,
            "version": model.version,
            "meta": model.meta,
        },
        path,
        compress=3,
    )


@lru_cache(maxsize=4)
def load(path: Path = DEFAULT_MODEL) -> TrainedModel:
    """Load a trained model (cached per process). Raises FileNotFoundError with the fix."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no trained classifier; run `socialops classify-train` to build it"
        )
    return TrainedModel(**joblib.load(path))
