"""The organisation's default classifier, loaded once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from socialops.classification import model
from socialops.classification.classifier import Classifier
from socialops.classification.rules import ClassificationConfig

_CACHE: dict[tuple[str, Path, Callable[[str], str]], Classifier] = {}
_LOCK = threading.Lock()


def default_classifier(
    config: ClassificationConfig,
    model_path: Path = model.DEFAULT_MODEL,
    *,
    prepare: Callable[[str], str] = str,
) -> Classifier:
    """The trained model with these rules, built once per process per configuration.

    ``prepare`` turns platform markup into text (see :class:`Classifier`)."""
    key = (config.model_dump_json(), model_path, prepare)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Classifier(model.load(model_path), config, prepare=prepare)
        return _CACHE[key]
