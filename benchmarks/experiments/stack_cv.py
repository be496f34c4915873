"""Experiment (issue 12): model variants on the same folds as ``decision_cv.py``, chosen by
5-fold CV of the train lines and the cross-writer check (never the held-out split or the
independent set). Prints only aggregated figures.

    .venv/bin/python benchmarks/experiments/stack_cv.py [--extra FILE ...] [--cache FILE]

Variants: the sentiment model's out-of-fold scores as three more department features (the
training part's from an inner 5-fold CV, so nothing leaks; the test part's from the full
sentiment model), separate word and character SVMs averaged, the SVM plus a word-only SVM,
and sample weights that give every writer the same total weight (or its square root).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.model_selection import StratifiedKFold, cross_val_predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decision_cv import LABELS, decide, hits_of, prepare, summary

from socialops.classification import training
from socialops.classification.crosscheck import writer_of
from socialops.classification.data import Example, load_examples, load_labelled

INNER = StratifiedKFold(5, shuffle=True, random_state=0)
SENTIMENT_WEIGHTS = (0.25, 0.5, 1.0)


def _fit(out: dict[str, Any], name: str, x: Any, xt: Any, y: np.ndarray, weights: Any = None):
    params = {"sample_weight": weights} if weights is not None else {}
    oof = cross_val_predict(
        training.linear_svm(), x, y, cv=INNER, method="decision_function", params=params
    )
    full = training.linear_svm().fit(x, y, **params)
    out[name] = {
        "oof": oof,
        "test": full.decision_function(xt),
        "temperature": training.fit_temperature(oof, y, LABELS),
    }


def fold_run(train: list[Example], test: list[Example]) -> dict[str, Any]:
    feats = training.feature_union()
    x = training.feature_matrix(feats, [prepare(e.text) for e in train], fit=True)
    xt = training.feature_matrix(feats, [prepare(e.text) for e in test])
    words = len(feats.transformer_list[0][1].vocabulary_)
    y = np.asarray([e.department for e in train])
    sentiment = np.asarray([e.sentiment for e in train])
    out: dict[str, Any] = {"truth": y}
    _fit(out, "svm", x, xt, y)
    s_oof = cross_val_predict(
        training.linear_svm(), x, sentiment, cv=INNER, method="decision_function"
    )
    s_test = training.linear_svm().fit(x, sentiment).decision_function(xt)
    for w in SENTIMENT_WEIGHTS:
        xs = sparse.hstack([x, sparse.csr_matrix(w * s_oof)]).tocsr()
        xts = sparse.hstack([xt, sparse.csr_matrix(w * s_test)]).tocsr()
        _fit(out, f"sentiment {w}", xs, xts, y)
    _fit(out, "word", x[:, :words], xt[:, :words], y)
    _fit(out, "char", x[:, words:], xt[:, words:], y)
    writers = np.asarray([writer_of(e) for e in train])
    counts = {w: int(np.sum(writers == w)) for w in set(writers)}
    balanced = np.asarray([len(train) / len(counts) / counts[w] for w in writers])
    _fit(out, "writer-balanced", x, xt, y, balanced)
    _fit(out, "writer-balanced sqrt", x, xt, y, np.sqrt(balanced))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra", type=Path, action="append", default=[])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cls12/stack.pkl"))
    args = parser.parse_args()
    train = [e for e in load_labelled() if e.split == "train"]
    extra = [e for path in args.extra for e in load_examples(path)]
    extra_writers = {writer_of(e) for e in extra}
    train = [e for e in train if writer_of(e) not in extra_writers]
    y = np.asarray([LABELS.index(e.department) for e in train])
    writers = np.asarray([writer_of(e) for e in train])
    if args.cache.exists():
        runs = pickle.loads(args.cache.read_bytes())
    else:
        runs = []
        folds = StratifiedKFold(5, shuffle=True, random_state=1).split(train, y)
        for k, (a, b) in enumerate(folds):
            r = fold_run([train[i] for i in a] + extra, [train[i] for i in b])
            runs.append(("cv", k, b, r))
            print("cv", k, flush=True)
        for w in sorted(set(writers)):
            a, b = np.where(writers != w)[0], np.where(writers == w)[0]
            r = fold_run([train[i] for i in a] + extra, [train[i] for i in b])
            runs.append(("writer", w, b, r))
            print("writer", w, flush=True)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_bytes(pickle.dumps(runs))
    hits = hits_of(train)

    def variant(name: str, kinds: dict[str, float]) -> None:
        cv_pred = np.full(len(train), -9)
        accuracy = {}
        for kind, key, b, r in runs:
            test = sum(w * r[k]["test"] for k, w in kinds.items())
            # A sum of models: its temperature from its own out-of-fold scores.
            temperature = (
                r[next(iter(kinds))]["temperature"]
                if len(kinds) == 1
                else training.fit_temperature(
                    sum(w * r[k]["oof"] for k, w in kinds.items()), r["truth"], LABELS
                )
            )
            pred = decide(test, temperature, [hits[i] for i in b], np.zeros(len(LABELS)), 0.45)
            if kind == "cv":
                cv_pred[b] = pred
            else:
                accuracy[key] = float(np.mean(pred == y[b]))
        row = summary(name, y, cv_pred, writers, accuracy)
        print(json.dumps(row), flush=True)

    variant("baseline", {"svm": 1.0})
    for w in SENTIMENT_WEIGHTS:
        variant(f"sentiment scores as department features x{w}", {f"sentiment {w}": 1.0})
    variant("word svm + char svm", {"word": 0.5, "char": 0.5})
    variant("svm + 0.5 word svm", {"svm": 1.0, "word": 0.5})
    variant("writer-balanced weights", {"writer-balanced": 1.0})
    variant("writer-balanced weights, square root", {"writer-balanced sqrt": 1.0})


if __name__ == "__main__":
    main()
