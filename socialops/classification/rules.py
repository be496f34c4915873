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


class _Compiled:
    def __init__(self, target: str, rules: RuleSet) -> None:
        self.target = target
        parts = []
        for kind, patterns in (
            ("phrases", [_phrase(p) for p in rules.phrases]),
            ("regexes", rules.regexes),
        ):
            if patterns:
                parts.append(f"(?P<{kind}>{'|'.join(f'(?:{p})' for p in patterns)})")
        self.pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        self.exclude = (
            re.compile("|".join(_phrase(p) for p in rules.exclude), re.IGNORECASE)
            if rules.exclude
            else None
        )

    def match(self, text: str) -> RuleHit | None:
        if self.pattern is None:
            return None
        excluded = (
            [m.span() for m in self.exclude.finditer(text)] if self.exclude is not None else []
        )
        for found in self.pattern.finditer(text):
            start, end = found.span()
            if any(a <= start and end <= b for a, b in excluded):
                continue  # "french press" contains "press": the exclusion wins
            kind = found.lastgroup or "phrases"
            return RuleHit(self.target, f"{self.target}.{kind}", found.group(0))
        return None


def _phrase(phrase: str) -> str:
    words = [re.escape(word) for word in phrase.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


class RuleBook:
    """The compiled rules of one organisation."""

    def __init__(self, config: ClassificationConfig) -> None:
        self.config = config
        self._departments = [_Compiled(d, r) for d, r in config.departments.items()]
        self._urgent = _Compiled("urgent", config.urgent)

    def departments(self, text: str) -> list[RuleHit]:
        """Every department whose rules fire on the text (at most one hit each)."""
        return [hit for c in self._departments if (hit := c.match(text)) is not None]

    def urgent(self, text: str) -> RuleHit | None:
        return self._urgent.match(text)
