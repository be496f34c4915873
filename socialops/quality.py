"""The data-quality suite every mention batch passes before it is stored (Great Expectations).

Rows that fail are returned as quarantine items with every reason they failed; the rest of the
batch goes on. Great Expectations takes seconds to import, so it is loaded on first use and its
context is built once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from socialops.mentions import PLATFORMS, InvalidItem, Mention

# Before the first post on any platform we support: a date this old is a parsing accident.
EARLIEST = datetime(2006, 3, 21, tzinfo=UTC)


@dataclass(frozen=True)
class QualityRules:
    clock_skew: timedelta = timedelta(minutes=5)
    max_text_length: int = 20_000
    known_platforms: tuple[str, ...] = PLATFORMS


@dataclass
class QualityReport:
    valid: list[Mention] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)
    # expectation name -> number of rows it failed, for the run's artifact.
    failures: dict[str, int] = field(default_factory=dict)


# (expectation type, column(s)) -> the reason a person reads in the quarantine.
def _reasons(rules: QualityRules) -> dict[tuple[str, str], str]:
    return {
        ("expect_column_values_to_not_be_null", "external_id"): "external_id is missing",
        ("expect_column_values_to_not_be_null", "author_handle"): "author handle is missing",
        ("expect_column_values_to_be_in_set", "platform"): (
            f"platform is not one of {', '.join(rules.known_platforms)}"
        ),
        ("expect_compound_columns_to_be_unique", "platform,external_id"): (
            "(platform, external_id) appears more than once in the batch"
        ),
        ("expect_column_values_to_not_be_null", "created_at_epoch"): (
            "created_at is missing or not a valid timestamp"
        ),
        ("expect_column_values_to_be_between", "created_at_epoch"): (
            f"created_at is in the future beyond the {int(rules.clock_skew.total_seconds())} s "
            "clock-skew margin"
        ),
        ("expect_column_values_to_be_between", "created_at_epoch:min"): (
            f"created_at is before {EARLIEST.date()}, older than any platform"
        ),
        ("expect_column_value_lengths_to_be_between", "text"): (
            f"text length is outside 1..{rules.max_text_length} characters"
        ),
        ("expect_column_values_to_match_regex", "url"): "url is not an http(s) URL",
    }


class _Suite:
    """A built ephemeral GX context, suite and validation definition."""

    def __init__(self, rules: QualityRules) -> None:
        import great_expectations as gx
        import great_expectations.expectations as gx_expectations
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # GX re-exports its expectation classes dynamically; typed as Any to say so.
        gxe: Any = gx_expectations

        self.rules = rules
        self.lock = threading.Lock()  # one validation at a time: GX contexts are not thread-safe
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        batch = (
            context.data_sources.add_pandas("mentions")
            .add_dataframe_asset("batch")
            .add_batch_definition_whole_dataframe("whole")
        )
        suite = context.suites.add(gx.ExpectationSuite(name="mention_batch"))
        for expectation in (
            gxe.ExpectColumnValuesToNotBeNull(column="external_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="author_handle"),
            gxe.ExpectColumnValuesToBeInSet(
                column="platform", value_set=list(rules.known_platforms)
            ),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["platform", "external_id"]),
            gxe.ExpectColumnValuesToNotBeNull(column="created_at_epoch"),
            gxe.ExpectColumnValuesToBeBetween(
                column="created_at_epoch", max_value={"$PARAMETER": "latest_epoch"}
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="created_at_epoch", min_value=EARLIEST.timestamp()
            ),
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="text", min_value=1, max_value=rules.max_text_length
            ),
            gxe.ExpectColumnValuesToMatchRegex(column="url", regex=r"^https?://[^\s]+$"),
        ):
            suite.add_expectation(expectation)
        self.definition = context.validation_definitions.add(
            gx.ValidationDefinition(name="mention_batch", data=batch, suite=suite)
        )
        self.reasons = _reasons(rules)

    def failing_rows(self, frame: Any, *, now: datetime) -> dict[str, list[int]]:
        latest = (now + self.rules.clock_skew).timestamp()
        with self.lock:
            result = self.definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters={"latest_epoch": latest},
                result_format={"result_format": "COMPLETE"},
            )
        failing: dict[str, list[int]] = {}
        for outcome in result.results:
            if outcome.success:
                continue
            config = outcome.expectation_config
            if config is None:
                continue
            kwargs = config.kwargs
            column = kwargs.get("column") or ",".join(kwargs.get("column_list", []))
            if config.type == "expect_column_values_to_be_between" and kwargs.get("min_value"):
                column += ":min"
            reason = self.reasons.get((config.type, column), f"{config.type} failed on {column}")
            failing[reason] = list(outcome.result.get("unexpected_index_list") or [])
        return failing


@lru_cache(maxsize=4)
def _suite(rules: QualityRules) -> _Suite:
    return _Suite(rules)


def warm_up(rules: QualityRules | None = None) -> None:
    """Import Great Expectations and build the suite now (before concurrent work starts)."""
    _suite(rules or QualityRules())


def validate_mentions(
    mentions: Sequence[Mention], *, now: datetime | None = None, rules: QualityRules | None = None
) -> QualityReport:
    """Split a batch into the mentions to store and the items to quarantine, with reasons."""
    import pandas as pd

    report = QualityReport()
    if not mentions:
        return report
    suite = _suite(rules or QualityRules())
    frame = pd.DataFrame(
        {
            "platform": [m.platform for m in mentions],
            "external_id": [m.external_id or None for m in mentions],
            "author_handle": [m.author_handle or None for m in mentions],
            "created_at_epoch": [
                m.created_at.timestamp() if m.created_at else None for m in mentions
            ],
            "text": [m.text for m in mentions],
            "url": [m.url for m in mentions],
        }
    )
    failing = suite.failing_rows(frame, now=now or datetime.now(UTC))
    row_reasons: dict[int, list[str]] = {}
    duplicate_reason = suite.reasons[
        ("expect_compound_columns_to_be_unique", "platform,external_id")
    ]
    for reason, rows in failing.items():
        if reason == duplicate_reason:
            # Every copy is "unexpected"; the first one of each key is the mention, the others
            # are the duplicates to set aside.
            seen: set[tuple[str, str]] = set()
            dupes = []
            for index in sorted(rows):
                key = (mentions[index].platform, mentions[index].external_id)
                if key in seen:
                    dupes.append(index)
                seen.add(key)
            rows = dupes
        report.failures[reason] = len(rows)
        for index in rows:
            row_reasons.setdefault(int(index), []).append(reason)
    for index, mention in enumerate(mentions):
        reasons = row_reasons.get(index)
        if reasons:
            report.invalid.append(InvalidItem(raw=mention.raw.value(), reason="; ".join(reasons)))
        else:
            report.valid.append(mention)
    return report
