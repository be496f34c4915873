"""Business rules from the organisation YAML: phrases, keywords and regexes per department and
for urgency, with exclusions ("french press" is not press), so routing can be adjusted without
code. Matching is case-insensitive and whole-word for phrases and keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEPARTMENTS: tuple[str, ...] = (
    "customer_relations",
    "marketing",
    "public_relations",
    "hr",
    "legal",
    "none",
)
TRIAGE = "triage"


class RuleSet(BaseModel):
    """What makes a rule fire, and what cancels it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrases: list[str] = Field(default_factory=list, description="Whole words, any case.")
    regexes: list[str] = Field(default_factory=list, description="Python regexes, any case.")
    exclude: list[str] = Field(
        default_factory=list, description="Phrases that cancel a match inside them."
    )

    @field_validator("regexes")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None
        return patterns


class ClassificationConfig(BaseModel):
    """The `classification:` section of the organisation file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    triage_threshold: float = Field(
        default=0.45,
        ge=0,
        le=1,
        description="Below this confidence a mention goes to the triage desk instead of a guess.",
    )
    rule_confidence: float = Field(default=0.9, gt=0, le=1)
    departments: dict[str, RuleSet] = Field(default_factory=dict)
    urgent: RuleSet = Field(default_factory=RuleSet)

    @field_validator("departments")
    @classmethod
    def _known(cls, value: dict[str, RuleSet]) -> dict[str, RuleSet]:
        unknown = sorted(set(value) - set(DEPARTMENTS))
        if unknown:
            raise ValueError(
                f"unknown department(s) {', '.join(unknown)}; expected {', '.join(DEPARTMENTS)}"
            )
        return value


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired: where it is configured and the words that matched."""

    target: str  # a department, or "urgent"
    rule: str  # e.g. "legal.phrases" or "urgent.regexes"
    matched: str

    def describe(self) -> str:
        return f"rule {self.rule} matched {self.matched!r}"


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


class _Text:
    """A text's words (case-folded) and where each one starts and ends."""

    def __init__(self, text: str) -> None:
        self.text = text
        found = list(_WORD.finditer(text.lower()))  # lower() keeps offsets; casefold may not
        self.words = [m.group().casefold() for m in found]
        self.spans = [m.span() for m in found]

    def chars(self, first: int, end: int) -> tuple[int, int]:
        return self.spans[first][0], self.spans[end - 1][1]


class _Phrases:
    """Whole-word phrase matching as word sequences: one dictionary lookup per word of the
    text, whatever the number of phrases (a 100-phrase regex alternation was ~10x slower).
    Punctuation between words is ignored: "A&E" is the words "a" "e"."""

    def __init__(self, phrases: list[str]) -> None:
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase in phrases:
            words = tuple(_words(phrase))
            if words:
                self.by_first.setdefault(words[0], []).append((words, phrase))
        for candidates in self.by_first.values():
            candidates.sort(key=lambda c: -len(c[0]))  # longest first

    def find(self, words: list[str]) -> list[tuple[int, int, str]]:
        """(first word index, end index, phrase) of every match, in order."""
        found = []
        for i, word in enumerate(words):
            for sequence, phrase in self.by_first.get(word, ()):
                if tuple(words[i : i + len(sequence)]) == sequence:
                    found.append((i, i + len(sequence), phrase))
                    break
        return found


class _Compiled:
    def __init__(self, target: str, rules: RuleSet) -> None:
        self.target = target
        self.phrases = _Phrases(rules.phrases)
        self.exclude = _Phrases(rules.exclude)
        self.regexes = (
            re.compile("|".join(f"(?:{p})" for p in rules.regexes), re.IGNORECASE)
            if rules.regexes
            else None
        )

    def match(self, text: _Text) -> RuleHit | None:
        excluded = [text.chars(first, end) for first, end, _ in self.exclude.find(text.words)]

        def cancelled(start: int, end: int) -> bool:  # "french press" is not press
            return any(a <= start and end <= b for a, b in excluded)

        for first, end, phrase in self.phrases.find(text.words):
            if not cancelled(*text.chars(first, end)):
                return RuleHit(self.target, f"{self.target}.phrases", phrase)
        if self.regexes is not None:
            for found in self.regexes.finditer(text.text):
                if not cancelled(*found.span()):
                    return RuleHit(self.target, f"{self.target}.regexes", found.group(0))
        return None


class RuleBook:
    """The compiled rules of one organisation."""

    def __init__(self, config: ClassificationConfig) -> None:
        self.config = config
        self._departments = [_Compiled(d, r) for d, r in config.departments.items()]
        self._urgent = _Compiled("urgent", config.urgent)

    def match(self, text: str) -> tuple[list[RuleHit], RuleHit | None]:
        """Department hits and the urgent hit, reading the text once."""
        parsed = _Text(text)
        hits = [hit for c in self._departments if (hit := c.match(parsed)) is not None]
        return hits, self._urgent.match(parsed)

    def departments(self, text: str) -> list[RuleHit]:
        """Every department whose rules fire on the text (at most one hit each)."""
        parsed = _Text(text)
        return [hit for c in self._departments if (hit := c.match(parsed)) is not None]

    def urgent(self, text: str) -> RuleHit | None:
        return self._urgent.match(_Text(text))
