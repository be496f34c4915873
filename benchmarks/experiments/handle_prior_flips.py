import pickle, collections, numpy as np
exec(open("benchmarks/experiments/handle_prior_cv.py").read().split("grid = ")[0])
for cap in (0.15, 0.3, 100):
    kinds = collections.Counter()
    for kind, key, m, test in runs:
        if kind != "cv": continue
        m.set_handle_prior(1, cap)
        c = Classifier(m, ORG.classification, prepare=html_to_text)
        b = [bare(e) for e in test]
        v = [[r.department for r in c.classify([h + t for t in b])] for h in ("", "@northwindhelp ", "@NorthwindCoffee ")]
        for row in zip(*v):
            if len(set(row)) > 1:
                kinds["via triage" if "triage" in row else "department to department"] += 1
    print(cap, dict(kinds))
m = runs[0][2]; print({k: [round(x,2) for x in v] for k, v in m.handle_log_ratios.items()}, list(m.department.classes_))
