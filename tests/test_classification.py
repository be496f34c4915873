"""The classifier: rules, model, triage, explanations, storage with history, the CLI."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from socialops import storage
from socialops.classification import model, store, training
from socialops.classification.classifier import Classifier
from socialops.classification.data import (
    LABELLED_DIR,
    DataError,
    fingerprint,
    load_examples,
    load_labelled,
)
from socialops.classification.evaluate import evaluate
from socialops.classification.rules import DEPARTMENTS, ClassificationConfig, RuleBook, RuleSet
from socialops.config import ConfigError, load_config
from socialops.db import session_scope
from tests.conftest import REPO
from tests.fakes import mention

ORG = load_config(REPO / "config" / "northwind.yaml")


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(model.load(model.DEFAULT_MODEL), ORG.classification)


def test_rules_match_whole_words_any_case_and_respect_exclusions() -> None:
    rules = RuleBook(
        ClassificationConfig(
            departments={
                "public_relations": RuleSet(phrases=["press inquiry", "journalist"]),
                "legal": RuleSet(regexes=[r"\bsolicitors?\b"], exclude=["solicitor general"]),
            },
            urgent=RuleSet(phrases=["kill"], exclude=["I'd kill for"]),
        )
    )
    assert [h.target for h in rules.departments("PRESS  INQUIRY about stores")] == [
        "public_relations"
    ]
    assert rules.departments("journalists") == []  # whole words only
    assert rules.departments("the Solicitor General said") == []
    hit = rules.departments("my solicitors will write")[0]
    assert (hit.rule, hit.matched) == ("legal.regexes", "solicitors")
    assert rules.urgent("I'd kill for a mocha") is None
    assert rules.urgent("I will kill you") is not None


def test_the_shipped_rules_do_not_fire_where_training_lines_said_otherwise() -> None:
    """Phrases that contradicted the labels of the training lines they fired on (README,
    "What this change measured"): a visa sponsorship is HR's, not a sponsorship deal; news of
    a lawsuit, an influencer's attack, someone's job interview elsewhere decide nothing alone."""
    rules = RuleBook(ORG.classification)
    visa = "anyone know if Northwind does visa sponsorship for store managers?"
    assert [h.target for h in rules.departments(visa)] == []
    assert [h.target for h in rules.departments("a sponsorship deal for our club")] == [
        "public_relations"
    ]
    for text in (
        "Northwind quietly settled the sourcing lawsuit",
        "an influencer with 2M followers is mocking Northwind",
        "prepping for my job interview at the Northwind on Main St",
    ):
        assert rules.departments(text) == [], text
    assert [h.target for h in rules.departments("I have an interview for the barista job")] == [
        "hr"
    ]


def test_bad_rules_in_the_organisation_file_name_the_line(tmp_path: Path) -> None:
    text = (REPO / "config" / "northwind.yaml").read_text()
    assert "\n    marketing:\n" in text
    bad = text.replace("\n    marketing:\n", "\n    finance:\n")
    bad = bad.replace("regexes: ['\\bhospitali[sz]ed\\b'", "regexes: ['(unclosed'")
    path = tmp_path / "org.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "classification.departments: unknown department(s) finance" in message
    assert "classification.urgent.regexes: regex '(unclosed' does not compile" in message
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if "'(unclosed'" in t)
    assert f"{path}:{line}: classification.urgent.regexes" in message


def test_decisions_are_explained(classifier: Classifier) -> None:
    by_rule, by_model = classifier.classify(
        [
            "@northwind I'm a journalist at the Herald, could you comment on the store closures?",
            "@northwind the oat latte at Leeds station was cold again and the app ate my stars",
        ]
    )
    assert by_rule.department == "public_relations"
    assert by_rule.explanation["source"] == "rule"
    assert "public_relations.phrases matched 'journalist'" in by_rule.summary
    assert by_model.department == "customer_relations"
    assert by_model.explanation["source"] == "model"
    assert by_model.explanation["features"]  # the strongest words behind it
    assert by_model.summary.startswith("model ")
    assert 0 < by_model.confidence <= 1 and by_model.model_version == classifier.version


def test_urgent_safety_cases_are_urgent_in_several_languages(classifier: Classifier) -> None:
    texts = [
        "@northwindhelp my son had an allergic reaction to the 'nut-free' muffin, we're at A&E",
        "Mi hija tuvo una reacción alérgica con el muffin de Northwind, estamos en urgencias",
        "Ma fille a fait une réaction allergique après un muffin Northwind, on est aux urgences",
        "@northwind someone else's order history and home address show up in my app!!",
    ]
    results = classifier.classify(texts)
    assert [r.urgent for r in results] == [True, True, True, True]
    assert all(r.department == "legal" for r in results)
    calm = classifier.classify(["I'd kill for a Northwind mocha right now ☕"])[0]
    assert calm.urgent is False and calm.department in {"marketing", "none"}


def test_mentions_read_as_marketing_or_none_are_not_urgent_by_score_alone(
    classifier: Classifier,
) -> None:
    """Praise and chit-chat are never urgent (GUIDE.md): a score past the threshold does not
    flag a mention the model reads as marketing or none; an urgent rule still does."""
    praise = "Northwind's new pumpkin latte is the best thing that happened to my week, thank you"
    eager = replace(classifier.model, urgent_threshold=-100.0)  # every score passes
    assert eager.urgent_gate == model.PARAMS["urgent_gate"] < 1
    gated = Classifier(eager, ORG.classification).classify([praise])[0]
    assert gated.department == "marketing" and gated.urgent is False
    assert "never urgent" in gated.explanation["urgent"]["not_urgent"]
    ungated = Classifier(replace(eager, urgent_gate=1.01), ORG.classification)
    assert ungated.classify([praise])[0].urgent is True  # the gate, not the score, decided
    by_rule = Classifier(eager, ORG.classification).classify([praise + ", went viral on TikTok"])
    assert by_rule[0].urgent is True and "urgent.phrases" in by_rule[0].summary


def test_low_confidence_goes_to_triage_with_the_suggestion(classifier: Classifier) -> None:
    picky = Classifier(
        classifier.model, ORG.classification.model_copy(update={"triage_threshold": 0.99})
    )
    # A text that says nothing (the model's top department is well under 0.99). Not "hmm
    # northwind": a bare brand name reads as one department at 0.98-0.99 (none before
    # extra_td, marketing after), which tested the model's view of the name, not triage.
    result = picky.classify(["hmm"])[0]
    assert result.department == "triage"
    assert result.explanation["suggested"] in set(DEPARTMENTS)
    assert "sent to triage" in result.summary


def test_a_bad_labelled_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    good = {"id": "1", "text": "hi", "department": "none", "urgent": False, "sentiment": "neutral"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "department": "finance"}) + "\n")
    with pytest.raises(DataError, match=rf"{path}:2: 1 validation error"):
        load_examples(path)


def test_training_is_deterministic_and_the_artifact_round_trips(tmp_path: Path) -> None:
    examples = [e for e in load_labelled() if e.split == "train"][:400]
    first = training.train(examples, data_fingerprint="x")
    second = training.train(examples, data_fingerprint="x")
    assert first.version == second.version
    model.save(first, tmp_path / "m.npz")
    loaded = model.load(tmp_path / "m.npz")
    texts = ["refund please, my order was wrong", "we are hiring baristas in Leeds"]
    assert [p.department_probabilities for p in loaded.predict(texts)] == [
        p.department_probabilities for p in first.predict(texts)
    ]


def test_the_shipped_model_was_trained_on_the_shipped_data() -> None:
    trained = model.load(model.DEFAULT_MODEL)
    assert trained.meta["data_sha256"] == fingerprint(LABELLED_DIR), (
        "data/labelled changed: run `make model`"
    )
    assert trained.meta["urgent_threshold_with_rules"] is True


def test_held_out_figures_meet_the_targets(classifier: Classifier) -> None:
    """The issues' targets, on the 398 held-out mentions the model never trains on: issue 3's,
    and issue 12's "no worse than today" (0.894, the figure before the brand handle was taken
    away from the model)."""
    heldout = [e for e in load_labelled() if e.split == "heldout"]
    assert len(heldout) == 398
    result = evaluate(heldout, classifier.classify([e.text for e in heldout]))
    assert result.macro_f1 >= 0.894, f"macro-F1 {result.macro_f1:.3f}"
    assert result.urgent_recall >= 0.95
    assert result.urgent_precision >= 0.5
    for lang in ("es", "fr", "de", "pt"):  # every language is routed, not only English
        assert result.by_language[lang] >= 0.75, lang


def test_two_classifiers_at_once_leave_one_current_decision(
    database_url: str, classifier: Classifier
) -> None:
    with session_scope(database_url) as session:
        storage.store_mentions(session=session, mentions=[mention("1", text="refund please")])
    with session_scope(database_url) as session:
        [mention_id] = store.pending_mention_ids(session=session)
    [decision] = classifier.classify(["refund please"])
    other = replace(decision, department="hr" if decision.department != "hr" else "legal")
    results: dict[str, store.SaveResult] = {}

    def second_classifier() -> None:
        # Reads "no current decision" too, then has to wait for the first one's transaction.
        with session_scope(database_url) as session:
            results["second"] = store.save_classifications(
                session=session, decisions=[(mention_id, other)]
            )

    with session_scope(database_url) as session:
        results["first"] = store.save_classifications(
            session=session, decisions=[(mention_id, decision)]
        )
        racer = threading.Thread(target=second_classifier)
        racer.start()
        racer.join(timeout=0.5)  # blocked on the uncommitted first decision
    racer.join(timeout=30)
    assert not racer.is_alive()
    with session_scope(database_url) as session:
        current = (
            session.execute(
                select(storage.ClassificationRow.department).where(
                    storage.ClassificationRow.mention_id == mention_id,
                    storage.ClassificationRow.is_current.is_(True),
                )
            )
            .scalars()
            .all()
        )
    assert current == [decision.department]
    assert (results["first"].new, results["second"].new, results["second"].changed) == (1, 0, 0)


def test_save_is_idempotent_and_keeps_history(database_url: str, classifier: Classifier) -> None:
    with session_scope(database_url) as session:
        storage.store_mentions(
            session=session,
            mentions=[mention("1", text="refund please"), mention("2", text="are you hiring?")],
        )
    with session_scope(database_url) as session:
        ids = store.pending_mention_ids(session=session)
        texts = store.mention_texts(session=session, ids=ids)
        decisions = classifier.classify([t.text for t in texts])
        first = store.save_classifications(
            session=session, decisions=list(zip(ids, decisions, strict=True))
        )
    assert (first.new, first.changed, first.unchanged) == (2, 0, 0)
    with session_scope(database_url) as session:
        assert store.pending_mention_ids(session=session) == []
        again = store.save_classifications(
            session=session, decisions=list(zip(ids, decisions, strict=True))
        )
        assert (again.new, again.changed, again.unchanged) == (0, 0, 2)
        other = "marketing" if decisions[0].department != "marketing" else "hr"
        moved = [(ids[0], replace(decisions[0], department=other))]
        assert store.save_classifications(session=session, decisions=moved).changed == 1
    with session_scope(database_url) as session:
        rows = (
            session.execute(
                select(storage.ClassificationRow)
                .where(storage.ClassificationRow.mention_id == ids[0])
                .order_by(storage.ClassificationRow.id)
            )
            .scalars()
            .all()
        )
        assert [(r.department, r.is_current) for r in rows] == [
            (decisions[0].department, False),
            (other, True),
        ]
        in_range = store.pending_mention_ids(
            session=session, since=mention("x").created_at, until=None
        )
        assert sorted(in_range) == sorted(ids)  # a range asks for everything in it again


def test_classify_command_reports_bad_lines_and_classifies_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": "a", "text": "refund please, charged twice"})
        + "\n"
        + "{not json\n"
        + json.dumps({"id": "b"})
        + "\n"
        + json.dumps({"id": 7, "text": "journalist here, can you comment?", "lang": "en"})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["classify", str(source), "--output", str(out)])
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.stderr and "line 3: text: Field required" in result.stderr
    assert "2 of 4 lines were not classified" in result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert set(lines[0]) >= {"id", "department", "confidence", "urgent", "sentiment", "explanation"}
    assert isinstance(lines[0]["urgent"], bool)
    assert lines[1]["department"] == "public_relations"


def test_classify_given_a_text_instead_of_a_file_says_how_to_try_one() -> None:
    result = CliRunner().invoke(app, ["classify", "@northwind love the new gingerbread latte"])
    assert result.exit_code == 1
    assert "no file '@northwind love the new gingerbread latte'" in result.stderr
    assert "socialops rules test" in result.stderr and "Traceback" not in result.output


def test_classify_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    line = json.dumps({"id": "a", "text": "refund please, charged twice"}) + "\n"
    source.write_text(line)
    result = CliRunner().invoke(app, ["classify", str(source), "-o", str(source)])
    assert result.exit_code == 1 and "is the input file" in result.stderr
    assert source.read_text() == line  # not erased
    missing = tmp_path / "no" / "out.jsonl"
    result = CliRunner().invoke(app, ["classify", str(source), "-o", str(missing)])
    assert result.exit_code == 1 and "no folder" in result.stderr


def test_classify_eval_says_what_is_wrong_with_its_arguments(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["classify-eval", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1
    assert "no file or folder" in result.stderr and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["classify-eval", "--split", "heldout"])
    assert result.exit_code == 1 and "--split and --parts judge one set" in result.stderr


def test_classify_eval_prints_the_figures(tmp_path: Path) -> None:
    sample = [e for e in load_labelled() if e.split == "heldout"][:60]
    path = tmp_path / "sample.jsonl"
    path.write_text("".join(e.model_dump_json() + "\n" for e in sample))
    result = CliRunner().invoke(app, ["classify-eval", str(path), "--parts"])
    assert result.exit_code == 0, result.output
    for text in (
        "macro-F1",
        "urgent",
        "confusion",
        "triage threshold trade-off",
        "rules alone",
        "model alone",
    ):
        assert text in result.stdout
    data = CliRunner().invoke(app, ["classify-eval", str(path), "--json"])
    figures = json.loads(data.stdout)
    assert set(figures["labels"]) == set(DEPARTMENTS)
    assert 0 <= figures["macro_f1"] <= 1 and figures["examples"] == 60
