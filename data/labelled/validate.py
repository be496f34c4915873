"""Validate data/labelled/mentions.jsonl and print its counts table; then check the extra
training files (extra_*.jsonl: all `train`) and that no text is shared with the independent
evaluation set in data/eval/ (issue 12), without printing any of its lines.

Run from the repository root:  .venv/bin/python data/labelled/validate.py
Exits non-zero on the first failed check.
"""

import collections
import json
import random
import sys
from pathlib import Path

PATH = Path(__file__).with_name("mentions.jsonl")
KEYS = [
    "id",
    "platform",
    "lang",
    "text",
    "department",
    "urgent",
    "sentiment",
    "hard",
    "note",
    "split",
]
DEPARTMENTS = ["customer_relations", "marketing", "public_relations", "hr", "legal", "none"]
SENTIMENTS = {"negative", "neutral", "positive"}
PLATFORMS = {"mastodon", "bluesky", "reddit", "x"}
LANGS = {"en", "es", "fr", "de", "pt"}
SPLITS = {"train", "heldout"}
SEED, SHARE = 2026, 0.25
EXTRA_LANGS = LANGS | {"it", "nl"}
EVAL = Path(__file__).resolve().parents[1] / "eval"


def fail(msg: str) -> None:
    print(f"FAIL: {msg}")
    sys.exit(1)


def expected_heldout(rows: list[dict]) -> set[str]:
    """Recompute the split: department x urgent strata, seed 2026, 25% per stratum.

    Inside a stratum the ids are sorted, shuffled, then (stable) sorted by language and
    sampled systematically, so every language gets about a quarter of every stratum.
    """
    lang = {r["id"]: r["lang"] for r in rows}
    strata = collections.defaultdict(list)
    for r in rows:
        strata[(r["department"], r["urgent"])].append(r["id"])
    rng = random.Random(SEED)
    held: set[str] = set()
    for key in sorted(strata):
        ids = sorted(strata[key])
        rng.shuffle(ids)
        ids.sort(key=lambda i: lang[i])
        k = round(len(ids) * SHARE)
        if k == 0:
            continue
        step = len(ids) / k
        off = rng.random() * step
        held.update(ids[int(off + j * step)] for j in range(k))
    return held


def main() -> None:
    rows = []
    for n, line in enumerate(PATH.read_text(encoding="utf-8").splitlines(), 1):
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"line {n} does not parse: {e}")
        if list(r) != KEYS:
            fail(f"line {n} keys {list(r)} != {KEYS}")
        if r["department"] not in DEPARTMENTS:
            fail(f"{r['id']}: department {r['department']!r}")
        if r["sentiment"] not in SENTIMENTS:
            fail(f"{r['id']}: sentiment {r['sentiment']!r}")
        if r["platform"] not in PLATFORMS or r["lang"] not in LANGS or r["split"] not in SPLITS:
            fail(f"{r['id']}: platform/lang/split {r['platform']}/{r['lang']}/{r['split']}")
        if not isinstance(r["urgent"], bool) or not isinstance(r["hard"], bool):
            fail(f"{r['id']}: urgent/hard must be booleans")
        if (
            not isinstance(r["text"], str)
            or not r["text"].strip()
            or not isinstance(r["note"], str)
        ):
            fail(f"{r['id']}: empty text or non-string note")
        rows.append(r)

    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        fail(f"duplicate ids: {[i for i, c in collections.Counter(ids).items() if c > 1]}")
    if ids != sorted(ids):
        fail("lines are not sorted by id")
    texts = collections.Counter(" ".join(r["text"].lower().split()) for r in rows)
    if any(c > 1 for c in texts.values()):
        fail("duplicate texts")
    if {r["id"] for r in rows if r["split"] == "heldout"} != expected_heldout(rows):
        fail("split differs from the documented procedure (seed 2026)")

    held = [r for r in rows if r["split"] == "heldout"]
    print(f"OK: {len(rows)} lines, {len(held)} held out ({len(held) / len(rows):.1%})\n")

    def table(title: str, key, order=None) -> None:
        allc = collections.Counter(key(r) for r in rows)
        hc = collections.Counter(key(r) for r in held)
        print(f"{title:<22}{'total':>7}{'train':>7}{'heldout':>9}{'share':>7}")
        for v in order or sorted(allc, key=lambda x: (-allc[x], str(x))):
            print(f"{v!s:<22}{allc[v]:>7}{allc[v] - hc[v]:>7}{hc[v]:>9}{hc[v] / allc[v]:>7.0%}")
        print()

    table("department", lambda r: r["department"], DEPARTMENTS)
    table("urgent", lambda r: r["urgent"], [True, False])
    table("department x urgent", lambda r: f"{r['department'][:14]} {'U' if r['urgent'] else '-'}")
    table("sentiment", lambda r: r["sentiment"])
    table("lang", lambda r: r["lang"])
    table("platform", lambda r: r["platform"])
    table("hard", lambda r: r["hard"], [True, False])
    relabelled = sum(r["note"].startswith("relabelled: ") for r in rows)
    print(f"relabelled lines (note starts 'relabelled: '): {relabelled}")

    for d in DEPARTMENTS:
        n = sum(r["department"] == d for r in rows)
        h = sum(r["department"] == d for r in held)
        if not 0.22 <= h / n <= 0.28:
            fail(f"held-out share for {d} is {h / n:.1%}")
    for lang in LANGS:
        if not any(r["lang"] == lang for r in held):
            fail(f"no held-out example in {lang}")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def check_extra() -> None:
    """extra_*.jsonl: valid labels, all train; ids and texts unique across every file; no
    text of the independent evaluation set (data/eval) in training data."""
    ids: set[str] = set()
    texts: set[str] = set()
    for path in sorted(PATH.parent.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            r = json.loads(line)
            where = f"{path.name}:{n}"
            if path != PATH:
                if set(KEYS[:8]) - set(r) or r.get("split") != "train":
                    fail(f"{where}: missing keys or not split train")
                if r["department"] not in DEPARTMENTS or r["sentiment"] not in SENTIMENTS:
                    fail(f"{where}: bad label")
                if r["platform"] not in PLATFORMS or r["lang"] not in EXTRA_LANGS:
                    fail(f"{where}: platform/lang {r['platform']}/{r['lang']}")
                if not isinstance(r["urgent"], bool) or not r["text"].strip():
                    fail(f"{where}: urgent must be a boolean, text non-empty")
            if r["id"] in ids:
                fail(f"{where}: duplicate id {r['id']}")
            if norm(r["text"]) in texts:
                fail(f"{where}: duplicate text")
            ids.add(r["id"])
            texts.add(norm(r["text"]))
    shared = sum(
        norm(json.loads(line)["text"]) in texts
        for path in sorted(EVAL.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    )
    if shared:
        fail(f"{shared} text(s) of the independent evaluation set are in the training data")
    print(
        f"OK: {len(ids)} training and held-out lines in {PATH.parent.name}/*.jsonl; "
        "none shared with data/eval"
    )


if __name__ == "__main__":
    main()
    check_extra()
