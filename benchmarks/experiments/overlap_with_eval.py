"""Which lines of a candidate training file come close to the independent evaluation set.

Prints only the candidate's ids and scores (the highest word-3-gram Jaccard overlap with any
line of data/eval/*.jsonl, with any held-out line of data/labelled/mentions.jsonl, with any
training line, and exact/normalised duplicates), never an evaluation or held-out text.

    .venv/bin/python benchmarks/experiments/overlap_with_eval.py /work/notes/blind_te.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def main() -> None:
    candidate = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line]
    threshold = float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
    writer = candidate[0]["id"].split("-")[0]
    evaluation = [
        json.loads(line)["text"]
        for path in sorted((ROOT / "data" / "eval").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    labelled = [
        json.loads(line)
        for path in sorted((ROOT / "data" / "labelled").glob("*.jsonl"))
        if path.name != f"extra_{writer}.jsonl"  # the candidate itself, once added
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    training = [r["text"] for r in labelled if r.get("split") != "heldout"]
    heldout_grams = [grams(r["text"]) for r in labelled if r.get("split") == "heldout"]
    heldout_norm = {norm(r["text"]) for r in labelled if r.get("split") == "heldout"}
    eval_norm = {norm(t) for t in evaluation}
    train_norm = {norm(t) for t in training}
    eval_grams = [grams(t) for t in evaluation]
    train_grams = [grams(t) for t in training]

    def worst(g: set[tuple[str, ...]], pool: list[set[tuple[str, ...]]]) -> float:
        best = 0.0
        for other in pool:
            if g and other:
                best = max(best, len(g & other) / len(g | other))
        return best

    flagged = 0
    highest = {"eval": 0.0, "heldout": 0.0, "training": 0.0}
    for row in candidate:
        g = grams(row["text"])
        e, h, t = worst(g, eval_grams), worst(g, heldout_grams), worst(g, train_grams)
        text = norm(row["text"])
        exact_e, exact_h, exact_t = text in eval_norm, text in heldout_norm, text in train_norm
        highest = {
            "eval": max(highest["eval"], e),
            "heldout": max(highest["heldout"], h),
            "training": max(highest["training"], t),
        }
        if exact_e or exact_h or exact_t or max(e, h, t) >= threshold:
            flagged += 1
            print(
                f"{row['id']}: eval overlap {e:.2f}{' EXACT' if exact_e else ''}, "
                f"held-out overlap {h:.2f}{' EXACT' if exact_h else ''}, "
                f"training overlap {t:.2f}{' EXACT' if exact_t else ''}"
            )
    print(
        f"{len(candidate)} lines, {flagged} at or above {threshold}; highest overlap with an "
        f"evaluation line {highest['eval']:.2f}, with a held-out line {highest['heldout']:.2f}, "
        f"with a training line {highest['training']:.2f}"
    )


if __name__ == "__main__":
    main()
