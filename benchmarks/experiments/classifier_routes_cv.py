import sys, json, numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC
from cli.classify import html_to_text
from socialops.classification import model
from socialops.classification.data import load_labelled
from socialops.classification.crosscheck import writer_of
from socialops.classification.normalise import looks_like_html, normalise
train = [e for e in load_labelled() if e.split == "train"]
texts = [normalise(html_to_text(e.text) if looks_like_html(e.text) else e.text) for e in train]
y = np.asarray([e.department for e in train]); W = np.asarray([writer_of(e) for e in train])
folds = list(StratifiedKFold(5, shuffle=True, random_state=1).split(texts, y))
folds_w = [(np.where(W != w)[0], np.where(W == w)[0]) for w in sorted(set(W))]
def feats(v):
    word = dict(ngram_range=(1, 2), sublinear_tf=True, min_df=1); char = dict(analyzer="char_wb", ngram_range=(3, 5), n_features=2**18, alternate_sign=False, norm=None)
    word.update(v.get("word", {})); char.update(v.get("char", {}))
    return FeatureUnion([("word", TfidfVectorizer(**word)), ("char", make_pipeline(HashingVectorizer(**char), TfidfTransformer(sublinear_tf=True)))])
def run(v):
    T = np.asarray(texts, dtype=object)
    oof = np.empty(len(y), dtype=object)
    for a, b in folds:
        f = feats(v); X = f.fit_transform(T[a]); m = LinearSVC(**{"C": 1.0, "class_weight": "balanced", "random_state": 0, **v.get("svm", {})}).fit(X, y[a])
        oof[b] = m.predict(f.transform(T[b]))
    p12 = np.isin(W, ["p1", "p2"]); bl = np.isin(W, ["ta", "tb", "tc"])
    acc = {}
    for (a, b), w in zip(folds_w, sorted(set(W))):
        f = feats(v); X = f.fit_transform(T[a]); m = LinearSVC(**{"C": 1.0, "class_weight": "balanced", "random_state": 0, **v.get("svm", {})}).fit(X, y[a])
        acc[w] = float((m.predict(f.transform(T[b])) == y[b]).mean())
    return dict(v=v, cv=round(f1_score(y, oof, average="macro"), 4), cv_p12=round(f1_score(y[p12], oof[p12], average="macro"), 4),
                xw=round(np.mean(list(acc.values())), 4), xw_blind=round(np.mean([acc[w] for w in ("ta", "tb", "tc")]), 4))
for v in json.loads(sys.argv[1]):
    print(json.dumps(run(v)), flush=True)
