"""The labelled examples the model is trained and judged on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from socialops.classification.rules import DEPARTMENTS

LABELLED_DIR = Path(__file__).resolve().parents[2] / "data" / "labelled"
LABELLED = LABELLED_DIR / "mentions.jsonl"
# The independent evaluation set (issue 12): written blind, never trained or tuned on.
EVAL_DIR = LABELLED_DIR.parent / "eval"
Department = Literal["customer_relations", "marketing", "public_relations", "hr", "legal", "none"]
assert set(Department.__args__) == set(DEPARTMENTS)  # type: ignore[attr-defined]


class Example(BaseModel):
    """One labelled mention."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    text: str
    department: Department
    urgent: bool
    sentiment: Literal["negative", "neutral", "positive"]
    platform: str | None = None
    lang: str | None = None
    split: Literal["train", "heldout"] = "train"
    writer: str | None = None


class DataError(Exception):
    """A labelled file with a bad line: the message names the file and the line."""


def load_examples(path: Path = LABELLED) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                examples.append(Example.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                first = str(exc).splitlines()[0]
                raise DataError(f"{path}:{number}: {first}") from None
    return examples


def labelled_files(path: Path = LABELLED_DIR) -> list[Path]:
    """A file, or every ``*.jsonl`` in a folder (sorted: the order is part of the data)."""
    return sorted(path.glob("*.jsonl")) if path.is_dir() else [path]


def load_labelled(path: Path = LABELLED_DIR) -> list[Example]:
    return [example for file in labelled_files(path) for example in load_examples(file)]


def fingerprint(path: Path = LABELLED_DIR) -> str:
    """One hash over every labelled file: the trained model records it."""
    digest = hashlib.sha256()
    for file in labelled_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
