"""Experiment: addressed-account prior, chosen by 5-fold CV and cross-writer on train lines only."""
import pickle, sys, itertools, json
from pathlib import Path
import numpy as np
from sklearn.model_selection import StratifiedKFold
from cli.classify import html_to_text
from socialops.classification import model
from socialops.classification.classifier import Classifier
from socialops.classification.data import load_labelled
from socialops.classification.crosscheck import writer_of
from socialops.classification.evaluate import evaluate
from socialops.classification.normalise import looks_like_html, strip_brand_handles
from socialops.classification.rules import RuleBook
from socialops.config import load_config
from pathlib import Path
ORG = load_config(Path("config/northwind.yaml"))
rules = RuleBook(ORG.classification)
train = [e for e in load_labelled() if e.split == "train"]
cache = Path("/tmp/c12/models.pkl")
if cache.exists():
    runs = pickle.loads(cache.read_bytes())
else:
    runs = []
    y = [e.department for e in train]
    for k, (a, b) in enumerate(StratifiedKFold(5, shuffle=True, random_state=1).split(train, y)):
        m = model.train([train[i] for i in a], data_fingerprint=f"cv{k}", prepare=html_to_text,
                        urgent_rule=lambda t: rules.urgent(t) is not None)
        runs.append(("cv", k, m, [train[i] for i in b]))
        print("cv", k, flush=True)
    for w in sorted({writer_of(e) for e in train}):
        m = model.train([e for e in train if writer_of(e) != w], data_fingerprint=f"w{w}",
                        prepare=html_to_text, urgent_rule=lambda t: rules.urgent(t) is not None)
        runs.append(("writer", w, m, [e for e in train if writer_of(e) == w]))
        print("writer", w, flush=True)
    cache.write_bytes(pickle.dumps(runs))

def bare(e):
    return strip_brand_handles(html_to_text(e.text) if looks_like_html(e.text) else e.text)

def run(weight, cap, none_too=True):
    out = {}
    cv_res, cv_ex = [], []
    inv_cv = [0, 0]
    inv_w = {}
    wacc = {}
    for kind, key, m, test in runs:
        m.set_handle_prior(weight, cap)
        if not none_too and "none" in m._handle_shift:
            m._handle_shift["none"] = np.zeros_like(m._handle_shift["none"])
        c = Classifier(m, ORG.classification, prepare=html_to_text)
        res = c.classify([e.text for e in test])
        b = [bare(e) for e in test]
        variants = [[r.department for r in c.classify([h + t for t in b])] for h in ("", "@northwindhelp ", "@NorthwindCoffee ")]
        same = sum(len(set(v)) == 1 for v in zip(*variants))
        if kind == "cv":
            cv_res += res; cv_ex += test
            inv_cv[0] += same; inv_cv[1] += len(test)
        else:
            ev = evaluate(test, res)
            wacc[key] = sum(ev.confusion[l][l] for l in ev.confusion) / ev.examples
            inv_w[key] = same / len(test)
    ev = evaluate(cv_ex, cv_res)
    pp = [(e, r) for e, r in zip(cv_ex, cv_res) if writer_of(e) in ("p1", "p2")]
    evp = evaluate([e for e, _ in pp], [r for _, r in pp])
    bl = [(e, r) for e, r in zip(cv_ex, cv_res) if writer_of(e) in ("ta", "tb", "tc")]
    evb = evaluate([e for e, _ in bl], [r for _, r in bl])
    return dict(w=weight, cap=cap, none_too=none_too,
                cv_macro=round(ev.macro_f1, 4), cv_p12_macro=round(evp.macro_f1, 4), cv_blind_macro=round(evb.macro_f1, 4),
                cv_urg=(round(ev.urgent_recall, 3), round(ev.urgent_precision, 3)), cv_triage=round(ev.triage_share, 3),
                cv_sent=round(ev.sentiment_macro_f1, 3),
                cv_invariance=round(inv_cv[0] / inv_cv[1], 4),
                xw_mean=round(float(np.mean(list(wacc.values()))), 4),
                xw_blind=round(float(np.mean([wacc[w] for w in ("ta", "tb", "tc")])), 4),
                xw={k: round(v, 3) for k, v in wacc.items()},
                xw_inv_min=round(min(inv_w.values()), 3), xw_inv={k: round(v, 3) for k, v in inv_w.items()})

import socialops.classification.classifier as CL
CL.TRIAGE_BY_TEXT = len(sys.argv) > 2 and sys.argv[2] == "text"
print("triage by text", CL.TRIAGE_BY_TEXT)
grid = json.loads(sys.argv[1]) if len(sys.argv) > 1 else [[0, 0]]
for g in grid:
    print(json.dumps(run(*g)), flush=True)
