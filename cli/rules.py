"""``socialops rules test "some text"``: which classification rules fire on a text, which
``exclude`` cancels them, and what the model says, before a rule edit is saved."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.app import app, console, guarded, load_org

rules_app = typer.Typer(
    no_args_is_help=True, help="Check the organisation's classification rules on a text."
)
app.add_typer(rules_app, name="rules")


@rules_app.command("test")
@guarded
def rules_test(
    text: Annotated[str, typer.Argument(help="The mention's text (platform HTML is fine).")],
) -> None:
    """Rules that fire (and the exclusions that cancel them), the model's view, the decision."""
    from cli.classify import html_to_text
    from socialops.classification.classifier import urgent_score_words
    from socialops.classification.normalise import looks_like_html, normalise
    from socialops.classification.service import default_classifier

    _settings, org = load_org()
    classifier = default_classifier(org.classification, prepare=html_to_text)
    plain = html_to_text(text) if looks_like_html(text) else text
    traces = classifier.rules.trace(plain)
    table = Table(title="rules", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("rule", "matched", "result"):
        table.add_column(column)
    for t in traces:
        result = f"cancelled by exclude {t.cancelled_by!r}" if t.cancelled_by else "fires"
        table.add_row(t.rule, repr(t.matched), result)
    if traces:
        console.print(table, highlight=False)
    else:
        console.print("rules: none match", highlight=False)
    prediction = classifier.model.predict([plain])[0]
    ranked = sorted(prediction.department_probabilities.items(), key=lambda kv: -kv[1])
    console.print(f"model reads: {normalise(plain)!r}", highlight=False, soft_wrap=True)
    score, threshold = prediction.urgent_score, classifier.model.urgent_threshold
    console.print(
        "model: "
        + ", ".join(f"{d} {p:.2f}" for d, p in ranked[:3])
        + f"; urgent: {urgent_score_words(score, threshold)} (score {score:+.2f}, threshold "
        f"{threshold:+.2f}); sentiment {prediction.sentiment}"
        + (
            f"; words {', '.join(w for w, _ in prediction.top_words)}"
            if prediction.top_words
            else ""
        ),
        highlight=False,
        soft_wrap=True,
    )
    decision = classifier.classify([plain])[0]
    console.print(
        f"decision: {decision.department}{' (urgent)' if decision.urgent else ''}, "
        f"confidence {decision.confidence:.2f}, sentiment {decision.sentiment}: {decision.summary}",
        highlight=False,
        soft_wrap=True,
    )
