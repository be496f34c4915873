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


@dataclass(frozen=True)
class RuleTrace:
    """One phrase or regex that matched a text, and the exclusion that cancelled it, if any."""

    target: str
    rule: str
    matched: str
    cancelled_by: str | None


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    # lower(), not casefold(): it keeps character offsets, so a match maps back to the text.
    return _WORD.findall(text.lower())


class _Text:
    """A text's words, lower-cased; where each one stands is worked out only when a phrase
    matched, which few texts need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = _words(text)
        self._spans: list[tuple[int, int]] | None = None

    def chars(self, first: int, end: int) -> tuple[int, int]:
        if self._spans is None:
            self._spans = [m.span() for m in _WORD.finditer(self.text.lower())]
        return self._spans[first][0], self._spans[end - 1][1]


class _Index:
    """Every rule set's phrases and exclusions as word sequences, in one dictionary: a single
    pass over a text's words finds all of them (a regex alternation per rule set was ~10x
    slower). Punctuation between words is ignored: "A&E" is the words "a" "e"."""

    def __init__(self) -> None:
        self.by_first: dict[str, list[tuple[tuple[str, ...], str, str, bool]]] = {}

    def add(self, target: str, phrases: list[str], *, exclude: bool) -> None:
        for phrase in phrases:
            words = tuple(_words(phrase))
            if words:
                self.by_first.setdefault(words[0], []).append((words, phrase, target, exclude))

    def find(
        self, text: _Text
    ) -> dict[str, tuple[list[tuple[int, int, str]], list[tuple[int, int]]]]:
        """Per target: (phrase matches as (start char, end char, phrase), excluded char spans)."""
        found: dict[str, tuple[list[tuple[int, int, str]], list[tuple[int, int]]]] = {}
        words = text.words
        for i, word in enumerate(words):
            for sequence, phrase, target, exclude in self.by_first.get(word, ()):
                end = i + len(sequence)
                if tuple(words[i:end]) == sequence:
                    hits, excluded = found.setdefault(target, ([], []))
                    start_char, end_char = text.chars(i, end)
                    if exclude:
                        excluded.append((start_char, end_char))
                    else:
                        hits.append((start_char, end_char, phrase))
        return found


def _hit(
    target: str,
    found: dict[str, tuple[list[tuple[int, int, str]], list[tuple[int, int]]]],
    regexes: re.Pattern[str] | None,
    text: _Text,
) -> RuleHit | None:
    hits, excluded = found.get(target, ([], []))

    def cancelled(start: int, end: int) -> bool:  # "french press" is not press
        return any(a <= start and end <= b for a, b in excluded)

    for start, end, phrase in hits:
        if not cancelled(start, end):
            return RuleHit(target, f"{target}.phrases", phrase)
    if regexes is not None:
        for match in regexes.finditer(text.text):
            if not cancelled(*match.span()):
                return RuleHit(target, f"{target}.regexes", match.group(0))
    return None


def _regexes(rules: RuleSet) -> re.Pattern[str] | None:
    if not rules.regexes:
        return None
    return re.compile("|".join(f"(?:{p})" for p in rules.regexes), re.IGNORECASE)


class RuleBook:
    """The compiled rules of one organisation."""

    def __init__(self, config: ClassificationConfig) -> None:
        self.config = config
        self._index = _Index()
        self._regexes: dict[str, re.Pattern[str] | None] = {}
        for target, rules in (*config.departments.items(), ("urgent", config.urgent)):
            self._index.add(target, rules.phrases, exclude=False)
            self._index.add(target, rules.exclude, exclude=True)
            self._regexes[target] = _regexes(rules)
        self._departments = list(config.departments)

    def match(self, text: str) -> tuple[list[RuleHit], RuleHit | None]:
        """Department hits (at most one each) and the urgent hit, reading the text once."""
        parsed = _Text(text)
        found = self._index.find(parsed)
        hits = [
            hit
            for department in self._departments
            if (hit := _hit(department, found, self._regexes[department], parsed)) is not None
        ]
        return hits, _hit("urgent", found, self._regexes["urgent"], parsed)

    def trace(self, text: str) -> list[RuleTrace]:
        """Every phrase and regex that matched, each with the exclusion that cancelled it (for
        ``socialops rules test``: what the business sees before saving a rule)."""
        parsed = _Text(text)
        found = self._index.find(parsed)
        out = []
        for target in (*self._departments, "urgent"):
            hits, excluded = found.get(target, ([], []))

            def cancelling(
                start: int, end: int, excluded: list[tuple[int, int]] = excluded
            ) -> str | None:
                for a, b in excluded:
                    if a <= start and end <= b:
                        return parsed.text[a:b]
                return None

            for start, end, phrase in hits:
                out.append(RuleTrace(target, f"{target}.phrases", phrase, cancelling(start, end)))
            pattern = self._regexes[target]
            if pattern is not None:
                for match in pattern.finditer(parsed.text):
                    out.append(
                        RuleTrace(
                            target, f"{target}.regexes", match.group(0), cancelling(*match.span())
                        )
                    )
        return out

    def departments(self, text: str) -> list[RuleHit]:
        """Every department whose rules fire on the text (at most one hit each)."""
        return self.match(text)[0]

    def urgent(self, text: str) -> RuleHit | None:
        return self.match(text)[1]
