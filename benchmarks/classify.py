"""Classification benchmark: the default classifier on one core.

    .venv/bin/python benchmarks/classify.py [--mentions 20000]

Prints the model's load time (a fresh process: imports plus unpickling), mentions classified
per second on one core (rules, model, triage and explanations, as the flow runs them), and the
process's peak memory. Targets: >= 5,000 mentions/s, load < 2 s, memory < 500 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LOAD = """
import time
t = time.perf_counter()
from socialops.classification import model
from socialops.classification.classifier import Classifier
from socialops.config import load_config
from pathlib import Path
org = load_config(Path({config!r}))
classifier = Classifier(model.load(model.DEFAULT_MODEL), org.classification)
classifier.classify(["warm"])
print(time.perf_counter() - t)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    args = parser.parse_args()
    one_core = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    config = str(REPO / "config" / "northwind.yaml")
    loads = [
        float(
            subprocess.run(
                [sys.executable, "-c", LOAD.format(config=config)],
                env=one_core,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        for _ in range(3)
    ]
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for what follows
    from socialops.classification import model
    from socialops.classification.classifier import Classifier
    from socialops.classification.data import load_labelled
    from socialops.config import load_config

    classifier = Classifier(
        model.load(model.DEFAULT_MODEL), load_config(Path(config)).classification
    )
    corpus = [e.text for e in load_labelled()]
    texts = (corpus * (args.mentions // len(corpus) + 1))[: args.mentions]
    classifier.classify(texts[:100])
    started = time.perf_counter()
    for start in range(0, len(texts), 2000):  # the flow's batch size
        classifier.classify(texts[start : start + 2000])
    seconds = time.perf_counter() - started
    rate = len(texts) / seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    average = sum(map(len, texts)) // len(texts)
    print(f"model {classifier.version}; {len(texts)} mentions, {average} characters on average")
    print(
        f"load (fresh process, imports + model): {min(loads):.2f} s best, {max(loads):.2f} s worst"
    )
    print(f"classify on one core: {len(texts)} in {seconds:.2f} s = {rate:,.0f} mentions/s")
    print(f"peak memory: {peak_mb:.0f} MB")
    print(
        "targets: >= 5000/s "
        + ("PASS" if rate >= 5000 else "FAIL")
        + "; load < 2 s "
        + ("PASS" if max(loads) < 2 else "FAIL")
        + "; memory < 500 MB "
        + ("PASS" if peak_mb < 500 else "FAIL")
    )


if __name__ == "__main__":
    main()
