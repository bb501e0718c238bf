"""Detection measured on the labelled corpus (tests/collection/pii_corpus), on both paths the service runs.

The figures are the ones ``python -m bench pii`` prints; here they must meet the
targets: recall >= 98% overall and >= 95% per label, <= 2% of clean snippets altered.
"""

from __future__ import annotations

import pytest

from bench.pii_recall import (
    TARGET_CLEAN_ALTERED,
    TARGET_OVERALL,
    TARGET_PER_LABEL,
    key_event_path,
    load_corpus,
    typed_text_path,
)

PATHS = {"key.type text": typed_text_path, "key events": key_event_path}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_the_corpus_is_large_and_labels_every_kind(corpus):
    labels = {span["label"] for row in corpus for span in row["spans"]}
    assert labels == {"EMAIL", "CARD", "PHONE", "SSN", "IBAN", "IP", "SECRET"}
    assert sum(len(row["spans"]) for row in corpus) >= 300
    assert sum(1 for row in corpus if not row["spans"]) >= 200


@pytest.mark.parametrize("path", PATHS)
def test_detection_meets_the_recall_and_over_redaction_targets(corpus, path):
    result = PATHS[path](corpus)
    print(f"\n{path}\n" + "\n".join(result.summary()))
    missed = [f"{label}: {span!r} in {text!r}" for label, span, text in result.missed]
    assert result.recall() >= TARGET_OVERALL, missed
    for label in result.spans:
        assert result.recall(label) >= TARGET_PER_LABEL, (label, missed)
    assert result.altered_share() <= TARGET_CLEAN_ALTERED, result.over
