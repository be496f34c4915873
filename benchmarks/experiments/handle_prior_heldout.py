# The ONE held-out measurement of this work: settings fixed beforehand (from CV / cross-writer), reported, not chosen on.
import json
from pathlib import Path
from cli.classify import html_to_text
import socialops.classification.classifier as CL
from socialops.classification import model
from socialops.classification.data import load_labelled, fingerprint
from socialops.classification.evaluate import evaluate
from socialops.config import load_config
m = model.load(model.DEFAULT_MODEL)
org = load_config(Path("config/northwind.yaml"))
print("retrain for log ratios (default model has none)")
from socialops.classification.rules import RuleBook
rules = RuleBook(org.classification)
ex = [e for e in load_labelled()]
m = model.train([e for e in ex if e.split == "train"], data_fingerprint=fingerprint(), prepare=html_to_text,
                urgent_rule=lambda t: rules.urgent(t) is not None)
print(m.version, model.load(model.DEFAULT_MODEL).version)
held = [e for e in ex if e.split == "heldout"]
for w, cap, bytext in [(0, 0, False), (1, 0.15, False), (1, 0.3, True), (1, 0.5, True), (1, 100, False)]:
    CL.TRIAGE_BY_TEXT = bytext
    m.set_handle_prior(w, cap)
    ev = evaluate(held, CL.Classifier(m, org.classification, prepare=html_to_text).classify([e.text for e in held]))
    print(json.dumps(dict(w=w, cap=cap, triage_by_text=bytext, macro=round(ev.macro_f1, 3),
          f1={k: round(v.f1, 3) for k, v in ev.labels.items()}, urgent=(round(ev.urgent_recall, 3), round(ev.urgent_precision, 3)),
          triage=round(ev.triage_share, 3), sentiment=round(ev.sentiment_macro_f1, 3))))
