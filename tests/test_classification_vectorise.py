"""The model runs without scikit-learn: numpy features and scores equal to the fitted
scikit-learn objects', and a classifying process that never imports scikit-learn or scipy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.svm import LinearSVC
from sklearn.utils import murmurhash3_32

from socialops.classification import model, training, vectorise
from socialops.classification.data import load_labelled
from socialops.classification.normalise import normalise
from tests.conftest import REPO

# Edge cases of the n-gram rules and of UTF-8: empty, one- and two-letter words, a word of
# exactly 3 and 5 characters with its padding, accents, CJK, 4-byte emoji, a lone surrogate
# (as JSON can carry), every kind of white space.
ODD = [
    "",
    "   ",
    "a",
    "ab",
    "abc",
    "abcde",
    "x y z",
    "é",
    "crème brûlée über straße",
    "日本語のテキスト",
    "emoji 😀😀 ok ☕",
    "lone \ud83d surrogate",
    "tab\tand\nnew  line\u00a0nbsp\u2003em",
    "REFUND!!! my order #1234 was wrong… @user URL",
]


@pytest.fixture(scope="module")
def fitted() -> tuple[object, list[str]]:
    """Features and linear models fitted by scikit-learn on 600 train lines; every labelled
    text (train and held-out) and the odd ones to compare on."""
    examples = load_labelled()
    train = [e for e in examples if e.split == "train"][:600]
    features = training.feature_union()
    matrix = training.feature_matrix(features, [e.text for e in train], fit=True)
    department = LinearSVC(random_state=0).fit(matrix, [e.department for e in train])
    urgent = LinearSVC(random_state=0).fit(matrix, [e.urgent for e in train])
    sentiment = LinearSVC(random_state=0).fit(matrix, [e.sentiment for e in train])
    texts = [e.text for e in examples] + ODD
    return (features, department, urgent, sentiment), texts


def test_murmurhash_matches_scikit_learn() -> None:
    keys = [s.encode("utf-8", "surrogatepass") for s in [*ODD, " ab", "abcd ", "x" * 23]]
    keys += [bytes(range(n)) for n in range(1, 40)]
    lengths = np.asarray([len(k) for k in keys])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    data = np.frombuffer(b"".join(keys), dtype=np.uint8)
    ours = vectorise.murmurhash3_32(data, starts, lengths)
    assert ours.tolist() == [murmurhash3_32(k, seed=0) for k in keys]


def test_features_equal_scikit_learn_on_every_labelled_text(fitted) -> None:  # type: ignore[no-untyped-def]
    (features, department, urgent, sentiment), texts = fitted
    safe = [t for t in texts if "\ud83d" not in t]  # scikit-learn cannot encode a surrogate
    expected = sparse.csr_matrix(features.transform([normalise(t) for t in safe]))
    ran = model.TrainedModel(
        **training.arrays(features, department, urgent, sentiment),
        urgent_threshold=0.0,
        temperature=1.0,
        version="test",
    )
    lowered = [normalise(t).lower() for t in safe]
    words = vectorise.word_block(lowered, ran._vocabulary, ran.word_idf, (1, 2))
    chars = vectorise.char_block(lowered, ran.char_idf, (3, 5), len(ran.char_idf))
    ours = sparse.csr_matrix(
        (
            np.concatenate([words.values, chars.values]),
            (
                np.concatenate([words.rows, chars.rows]),
                np.concatenate([words.columns, chars.columns + len(ran.words)]),
            ),
        ),
        shape=expected.shape,
    )
    assert ours.nnz == expected.nnz
    assert abs(ours - expected).max() < 1e-12
    scores = ran.scores(safe)
    assert np.abs(scores.department - department.decision_function(expected)).max() < 1e-9
    assert np.abs(scores.urgent - urgent.decision_function(expected)).max() < 1e-9
    assert np.abs(scores.sentiment - sentiment.decision_function(expected)).max() < 1e-9
    assert [p.sentiment for p in ran.predict(safe)] == sentiment.predict(expected).tolist()
    assert len(ran.predict(texts)) == len(texts)  # a lone surrogate does not raise here


def test_saved_arrays_load_to_the_same_scores(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (features, department, urgent, sentiment), texts = fitted
    ran = model.TrainedModel(
        **training.arrays(features, department, urgent, sentiment),
        urgent_threshold=-0.25,
        temperature=3.0,
        version="test",
        meta={"params": model.PARAMS},
    )
    model.save(ran, tmp_path / "m.npz")
    loaded = model.load(tmp_path / "m.npz")
    assert (loaded.urgent_threshold, loaded.temperature, loaded.version) == (-0.25, 3.0, "test")
    before, after = ran.scores(texts[:500]), loaded.scores(texts[:500])
    assert np.array_equal(before.department, after.department)
    assert np.array_equal(before.urgent, after.urgent)
    (tmp_path / "old.npz").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"old\.npz: not a readable classifier model"):
        model.load(tmp_path / "old.npz")


def test_classifying_never_imports_scikit_learn() -> None:
    """Loading the model and classifying take numpy alone (scikit-learn and scipy were ~1.5 s
    of the load); only training imports them."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from socialops.classification import model\n"
        "from socialops.classification.classifier import Classifier\n"
        "from socialops.config import load_config\n"
        "org = load_config(Path('config/northwind.yaml'))\n"
        "c = Classifier(model.load(model.DEFAULT_MODEL), org.classification)\n"
        "assert c.classify(['my order was wrong'])[0].department\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'joblib') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
