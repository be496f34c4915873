"""Experiment (issue 12): per-class decision biases, triage rules, ensembles and extra data,
chosen by 5-fold CV of the train lines and the cross-writer check (never the held-out split or
the independent set). Prints only aggregated figures.

    .venv/bin/python benchmarks/experiments/decision_cv.py [--extra data/labelled/extra_te.jsonl]
        [--kinds svm,sent] [--only-models] [--cache /tmp/cls12/runs.pkl]

Kinds fitted per fold: ``svm`` (the model), ``sgd``, ``bag``, ``cnb``, and ``sent`` (sentiment
and urgent scores, inner out-of-fold, as a learned department log-odds term or appended as
dense features), ``wb`` (writer-balanced sample weights), ``split`` (a word-only and a
char-only SVM), ``lr`` (logistic regression), ``c`` (other SVM C). Fit kinds in separate runs,
each with its own ``--cache``, and print them together with ``--cache a.pkl,b.pkl,...``
(the folds are the same, so their kinds are merged).

Each outer fold (5-fold CV, random_state=1 as the earlier experiments unless ``--seed`` says;
and one per writer) fits the features and the department models on its training part, keeps
the inner out-of-fold scores (5-fold, random_state=0, as ``training.train``), the softmax
temperature fitted on them and the test part's scores. The classifier's department decision
(rules, model arbitration, triage) is then simulated in numpy for every variant.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import ComplementNB

from cli.classify import html_to_text
from socialops.classification import model, training
from socialops.classification.crosscheck import writer_of
from socialops.classification.data import load_examples, load_labelled
from socialops.classification.normalise import looks_like_html
from socialops.classification.rules import RuleBook
from socialops.config import load_config

ORG = load_config(Path("config/northwind.yaml"))
RULES = RuleBook(ORG.classification)
LABELS = sorted(["customer_relations", "marketing", "public_relations", "hr", "legal", "none"])


def _sgd() -> SGDClassifier:
    return SGDClassifier(
        loss="modified_huber", alpha=1e-4, class_weight="balanced", random_state=0, max_iter=50
    )


def _bag() -> BaggingClassifier:
    return BaggingClassifier(
        training.linear_svm(), n_estimators=5, max_samples=0.8, bootstrap=False, random_state=0
    )


KINDS = {
    "svm": training.linear_svm,
    "sgd": _sgd,
    "bag": _bag,
    "cnb": lambda: ComplementNB(alpha=0.3),
}
METHOD = {"cnb": "predict_log_proba"}


def prepare(text: str) -> str:
    return html_to_text(text) if looks_like_html(text) else text


def _features(variant: str):
    """The model's features, or a variant of them (``--features``)."""
    feats = training.feature_union()
    word = feats.transformer_list[0][1]
    hasher = feats.transformer_list[1][1].steps[0][1]
    if variant == "word_min_df2":
        word.set_params(min_df=2)
    elif variant == "word_1_3":
        word.set_params(ngram_range=(1, 3))
    elif variant == "char_2_5":
        hasher.set_params(ngram_range=(2, 5))
    elif variant.startswith("word_weight_"):  # e.g. word_weight_0.7: the word block's weight
        feats.set_params(transformer_weights={"word": float(variant.split("_")[-1]), "char": 1.0})
    elif variant != "base":
        raise SystemExit(f"unknown --features {variant}")
    return feats


def _writer_weights(train_ex, power):
    """Each writer's lines weigh the same in total (power 1) or by sqrt of their count (0.5)."""
    writers = np.asarray([writer_of(e) for e in train_ex])
    names, counts = np.unique(writers, return_counts=True)
    per = dict(zip(names, counts.astype(float), strict=True))
    w = np.asarray([1.0 / per[k] ** power for k in writers])
    return w * len(w) / w.sum()


def _centre(a):
    return a - a.mean(axis=1, keepdims=True)


def _scores(make, x, y, xt, inner, method="decision_function", weights=None):
    params = {"sample_weight": weights} if weights is not None else {}
    oof = cross_val_predict(make(), x, y, cv=inner, method=method, params=params)
    full = make().fit(x, y, **params)
    return oof, getattr(full, method)(xt), full


def _logistic():
    return LogisticRegression(C=10.0, class_weight="balanced", max_iter=100, tol=1e-3)


def fold_run(train_ex, test_ex, kinds, variant="base"):
    texts = [prepare(e.text) for e in train_ex]
    feats = _features(variant)
    x = training.feature_matrix(feats, texts, fit=True)
    xt = training.feature_matrix(feats, [prepare(e.text) for e in test_ex])
    y = np.asarray([e.department for e in train_ex])
    inner = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    out = {}
    n_word = len(feats.transformer_list[0][1].vocabulary_)
    for kind in kinds:
        if kind in NEW_KINDS:
            t0 = time.perf_counter()
            out.update(NEW_KINDS[kind](train_ex, x, xt, y, inner, n_word))
            print("  ", kind, round(time.perf_counter() - t0, 1), "s", flush=True)
            continue
        make = KINDS[kind]
        method = METHOD.get(kind, "decision_function")
        oof = cross_val_predict(make(), x, y, cv=inner, method=method)
        full = make().fit(x, y)
        assert list(full.classes_) == LABELS
        test = getattr(full, method)(xt)
        if kind == "cnb":  # log-probabilities: centre each row like a decision function
            oof, test = (
                oof - oof.mean(axis=1, keepdims=True),
                test - test.mean(axis=1, keepdims=True),
            )
        temperature = training.fit_temperature(oof, y, LABELS)
        out[kind] = {"oof": oof, "test": test, "temperature": temperature}
    return out


def _with_temperature(oof, test, y):
    return {"oof": oof, "test": test, "temperature": training.fit_temperature(oof, y, LABELS)}


def _kind_writer_balanced(train_ex, x, xt, y, inner, n_word):
    out = {}
    for name, power in (("svm_wb", 1.0), ("svm_wbs", 0.5)):
        w = _writer_weights(train_ex, power)
        oof, test, _ = _scores(training.linear_svm, x, y, xt, inner, weights=w)
        out[name] = _with_temperature(oof, test, y)
    return out


def _kind_split_blocks(train_ex, x, xt, y, inner, n_word):
    """A word-only and a char-only SVM, to be averaged instead of one on the concatenation."""
    out = {}
    for name, cols in (("word", slice(0, n_word)), ("char", slice(n_word, None))):
        oof, test, _ = _scores(training.linear_svm, x[:, cols], y, xt[:, cols], inner)
        out[name] = _with_temperature(oof, test, y)
    return out


def _kind_logistic(train_ex, x, xt, y, inner, n_word):
    oof, test, _ = _scores(_logistic, x, y, xt, inner, method="predict_log_proba")
    return {"lr": _with_temperature(_centre(oof), _centre(test), y)}


def _meaning(train_ex, x, xt, inner):
    """Sentiment and urgent scores: inner out-of-fold on the training part, the full part's
    models on the test part (no leak: a line's own label never makes its own feature)."""
    cols_oof, cols_test = [], []
    for attr in ("sentiment", "urgent"):
        target = np.asarray([getattr(e, attr) for e in train_ex])
        oof, test, _ = _scores(training.linear_svm, x, target, xt, inner)
        if oof.ndim == 1:
            oof, test = oof[:, None], test[:, None]
        cols_oof.append(oof)
        cols_test.append(test)
    return np.hstack(cols_oof), np.hstack(cols_test)


def _kind_sentiment(train_ex, x, xt, y, inner, n_word):
    """(a) a learned sentiment+urgent -> department log-odds term (multinomial LR on the four
    meaning scores), added with weight w to the SVM's; (b) the meaning scores appended to the
    features as dense columns with weight w."""
    z, zt = _meaning(train_ex, x, xt, inner)
    out = {}
    small = lambda: LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)  # noqa: E731
    oof, test, _ = _scores(small, z, y, zt, inner, method="predict_log_proba")
    out["sent"] = _with_temperature(_centre(oof), _centre(test), y)
    for w in (0.1, 0.3):
        xa = sparse.hstack([x, sparse.csr_matrix(w * z)]).tocsr()
        xta = sparse.hstack([xt, sparse.csr_matrix(w * zt)]).tocsr()
        oof, test, _ = _scores(training.linear_svm, xa, y, xta, inner)
        out[f"svm_sent{w}"] = _with_temperature(oof, test, y)
    return out


def _kind_svm_c(train_ex, x, xt, y, inner, n_word):
    out = {}
    for c in (0.5, 2.0):
        make = lambda c=c: training.linear_svm().set_params(C=c)  # noqa: E731
        oof, test, _ = _scores(make, x, y, xt, inner)
        out[f"svm_c{c}"] = _with_temperature(oof, test, y)
    return out


NEW_KINDS = {
    "c": _kind_svm_c,
    "wb": _kind_writer_balanced,
    "split": _kind_split_blocks,
    "lr": _kind_logistic,
    "sent": _kind_sentiment,
}


def hits_of(examples):
    index = {d: i for i, d in enumerate(LABELS)}
    out = []
    for e in examples:
        hits, _ = RULES.match(prepare(e.text))
        out.append([index[h.target] for h in hits])
    return out


def decide(scores, temperature, hits, bias, triage, rule_confidence=0.9):
    """The classifier's department decision; -1 is triage."""
    p = model.softmax(scores + bias, temperature)
    choice = p.argmax(axis=1)
    confidence = p.max(axis=1)
    for i, h in enumerate(hits):
        if h:
            j = max(h, key=lambda d: p[i, d])
            share = p[i, j] / sum(p[i, d] for d in h)
            choice[i] = j
            confidence[i] = max(rule_confidence * (1.0 if len(h) == 1 else share), p[i, j])
    return np.where(confidence < triage, -1, choice)


def macro_f1(truth, pred):
    """As ``evaluate``: triage is a miss for recall, not a prediction for precision."""
    f = []
    for k in range(len(LABELS)):
        tp = np.sum((truth == k) & (pred == k))
        predicted = np.sum(pred == k)
        actual = np.sum(truth == k)
        pr = tp / predicted if predicted else 0.0
        rc = tp / actual if actual else 0.0
        f.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return float(np.mean(f))


BLIND = ("ta", "tb", "tc", "td")  # the writers who saw only the brief (not the style writers)


def summary(
    name: str, y: np.ndarray, cv_pred: np.ndarray, writers: np.ndarray, acc: dict[str, float]
) -> dict[str, object]:
    """A variant's row: CV macro-F1 over all lines, p1+p2 (the held-out proxy) and the blind
    writers, the CV triage share, and the cross-writer accuracy (mean, blind, each)."""
    p12 = np.isin(writers, ["p1", "p2"])
    blind = np.isin(writers, BLIND)
    return {
        "name": name,
        "cv": round(macro_f1(y, cv_pred), 4),
        "cv_p12": round(macro_f1(y[p12], cv_pred[p12]), 4),
        "cv_blind": round(macro_f1(y[blind], cv_pred[blind]), 4),
        "cv_triage": round(float(np.mean(cv_pred == -1)), 4),
        "xw": round(float(np.mean(list(acc.values()))), 4),
        "xw_blind": round(float(np.mean([acc[w] for w in BLIND])), 4),
        "xw_each": {k: round(v, 3) for k, v in acc.items()},
    }


def fit_bias(scores, temperature, truth, hits, triage, grid, passes=2, l2=0.0):
    """Coordinate ascent on per-class biases for the simulated macro-F1 (inner OOF)."""
    bias = np.zeros(len(LABELS))
    best = macro_f1(truth, decide(scores, temperature, hits, bias, triage))
    for _ in range(passes):
        for k in range(len(LABELS)):
            for value in grid:
                trial = bias.copy()
                trial[k] = value
                trial -= trial.mean()
                f = macro_f1(truth, decide(scores, temperature, hits, trial, triage))
                f -= l2 * float(np.sum(trial**2))
                if f > best + 1e-9:
                    best, bias = f, trial
    return bias


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--extra", type=Path)
    parser.add_argument(
        "--cache",
        default="/tmp/cls12/runs.pkl",
        help="a run's cache; several, comma-separated and all existing, are merged (one per kind)",
    )
    parser.add_argument("--kinds", default="svm")
    parser.add_argument("--only-models", action="store_true")
    parser.add_argument("--features", default="base")
    parser.add_argument("--rules", type=Path, help="another organisation file's rules")
    parser.add_argument("--seed", type=int, default=1, help="the outer CV split's random_state")
    args = parser.parse_args()
    if args.rules:  # the decision only: cached scores can be replayed with other rules
        global RULES
        RULES = RuleBook(load_config(args.rules).classification)
    train = [e for e in load_labelled() if e.split == "train"]
    # Extra lines only ever join training parts; the test parts stay the same lines.
    extra = list(load_examples(args.extra)) if args.extra else []
    extra_writers = {writer_of(e) for e in extra}
    train = [e for e in train if writer_of(e) not in extra_writers]
    kinds = args.kinds.split(",")
    caches = [Path(c) for c in args.cache.split(",")]
    cache = caches[0]
    cache.parent.mkdir(parents=True, exist_ok=True)
    y = np.asarray([LABELS.index(e.department) for e in train])
    writers = np.asarray([writer_of(e) for e in train])
    if len(caches) > 1:  # the same folds, fitted per kind in separate runs: merge their kinds
        parts = [pickle.loads(c.read_bytes()) for c in caches]
        runs = parts[0]
        for part in parts[1:]:
            for run, other in zip(runs, part, strict=True):
                assert run[:2] == other[:2] and np.array_equal(run[3], other[3])
                run[4].update(other[4])
    elif cache.exists():
        runs = pickle.loads(cache.read_bytes())
    else:
        runs = []
        folds = StratifiedKFold(5, shuffle=True, random_state=args.seed).split(train, y)
        for k, (a, b) in enumerate(folds):
            r = fold_run([train[i] for i in a] + extra, [train[i] for i in b], kinds, args.features)
            runs.append(("cv", k, np.concatenate([a, np.arange(len(extra)) + len(train)]), b, r))
            print("cv", k, flush=True)
        for w in sorted(set(writers)):
            a, b = np.where(writers != w)[0], np.where(writers == w)[0]
            r = fold_run([train[i] for i in a] + extra, [train[i] for i in b], kinds, args.features)
            runs.append(
                ("writer", w, np.concatenate([a, np.arange(len(extra)) + len(train)]), b, r)
            )
            print("writer", w, flush=True)
        cache.write_bytes(pickle.dumps(runs))
    all_y = np.concatenate([y, np.asarray([LABELS.index(e.department) for e in extra], dtype=int)])
    all_hits = hits_of(train) + hits_of(extra)
    grid = np.round(np.arange(-0.6, 0.61, 0.05), 2)

    def variant(name, kind_weights, triage=0.45, bias_mode=None, l2=0.0):
        cv_pred = np.full(len(train), -9)
        acc = {}
        biases = []
        for kind, key, a, b, r in runs:
            kw = kind_weights
            oof = sum(w * r[k]["oof"] for k, w in kw.items())
            test = sum(w * r[k]["test"] for k, w in kw.items())
            if len(kw) == 1:
                temperature = r[next(iter(kw))]["temperature"]
            else:
                temperature = training.fit_temperature(oof, all_y[a], list(range(len(LABELS))))
            bias = np.zeros(len(LABELS))
            if bias_mode:
                hits_a = [all_hits[i] for i in a]
                tri = triage if bias_mode == "with_triage" else 0.0
                bias = fit_bias(oof, temperature, all_y[a], hits_a, tri, grid, l2=l2)
                biases.append(bias)
            pred = decide(test, temperature, [all_hits[i] for i in b], bias, triage)
            if kind == "cv":
                cv_pred[b] = pred
            else:
                acc[key] = float(np.mean(pred == y[b]))
        row = summary(name, y, cv_pred, writers, acc)
        if biases:
            row["bias_mean"] = dict(
                zip(LABELS, np.round(np.mean(biases, axis=0), 3).tolist(), strict=True)
            )
        print(json.dumps(row), flush=True)

    svm = {"svm": 1.0}
    have = set(runs[0][4])
    if "svm" in have:
        variant("baseline", svm)
    for kind, label in (("svm_wb", "writer-balanced weights"), ("svm_wbs", "sqrt writer weights")):
        if kind in have:
            variant(label, {kind: 1.0})
    for c in (0.5, 2.0):
        if f"svm_c{c}" in have:
            variant(f"SVM with C={c} (1.0 today)", {f"svm_c{c}": 1.0})
    if {"word", "char"} <= have:
        variant("word SVM alone", {"word": 1.0})
        variant("char SVM alone", {"char": 1.0})
        for a in (0.4, 0.5, 0.6):
            variant(f"{a} word SVM + {1 - a:.1f} char SVM", {"word": a, "char": 1 - a})
    if {"lr", "svm"} <= have:
        variant("logistic regression alone", {"lr": 1.0})
        for w in (0.25, 0.5, 1.0, 2.0):
            variant(f"svm + {w} x LR log-odds", {"svm": 1.0, "lr": w})
    if {"sent", "svm"} <= have:
        for w in (0.1, 0.2, 0.3, 0.5):
            variant(f"svm + {w} x sentiment->department log-odds", {"svm": 1.0, "sent": w})
        for w in (0.1, 0.3):
            variant(f"svm on features + {w} x meaning scores", {f"svm_sent{w}": 1.0})
    if "svm" not in have:
        return
    if "bag" in kinds:
        variant("bagged svm (5 x 80%)", {"bag": 1.0})
    if "cnb" in kinds:
        variant("complement NB", {"cnb": 1.0})
        for w in (0.1, 0.2, 0.3):
            variant(f"svm + {w} complement NB", {"svm": 1.0, "cnb": w})
    if args.only_models:
        return
    for t in (0.0, 0.3, 0.35, 0.4, 0.5):
        variant(f"triage {t}", svm, triage=t)
    variant("bias (argmax+rules, no triage in fit)", svm, bias_mode="no_triage")
    variant("bias (with triage in fit)", svm, bias_mode="with_triage")
    variant("bias (with triage, l2 0.01)", svm, bias_mode="with_triage", l2=0.01)
    variant("bias with triage, triage 0.4", svm, triage=0.4, bias_mode="with_triage")
    if "sgd" in kinds:
        variant("sgd modified_huber", {"sgd": 1.0})
        variant("svm+sgd", {"svm": 0.5, "sgd": 0.5})
        variant("svm+sgd, bias", {"svm": 0.5, "sgd": 0.5}, bias_mode="with_triage")


if __name__ == "__main__":
    main()
