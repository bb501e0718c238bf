"""PII and secret detection measured on the labelled corpus in ``tests/collection/pii_corpus``.

Two paths, as the service runs them: ``key.type`` text goes through ``redact``; the
same snippet typed as ``key.down``/``key.up`` events goes through
``apply_safeguards`` with rules that permit everything, and a character counts as
masked when its ``key.down`` lost its character.  A labelled span is caught when
every one of its characters is covered (by a span of any label: the placeholder
kind is reported separately as label accuracy).  A clean snippet is altered when
any character of it is.  No database is needed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import Figure

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "collection" / "pii_corpus" / "corpus.jsonl"
TARGET_OVERALL = 0.98
TARGET_PER_LABEL = 0.95
TARGET_CLEAN_ALTERED = 0.02
APP = "com.example.editor"
_KEY_NAMES = {"\n": "enter", "\t": "tab", " ": "space"}


def load_corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass
class Result:
    spans: Counter = field(default_factory=Counter)  # label -> labelled spans
    caught: Counter = field(default_factory=Counter)  # label -> spans fully covered
    right_label: Counter = field(default_factory=Counter)  # label -> covered by one span of that label
    clean: int = 0
    altered: int = 0
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # label, span text, snippet
    over: list[str] = field(default_factory=list)  # clean snippets altered

    def recall(self, label: str | None = None) -> float:
        if label is None:
            total = sum(self.spans.values())
            return sum(self.caught.values()) / total if total else 1.0
        return self.caught[label] / self.spans[label] if self.spans[label] else 1.0

    def label_accuracy(self) -> float:
        caught = sum(self.caught.values())
        return sum(self.right_label.values()) / caught if caught else 1.0

    def altered_share(self) -> float:
        return self.altered / self.clean if self.clean else 0.0

    def meets_targets(self) -> bool:
        return (
            self.recall() >= TARGET_OVERALL
            and all(self.recall(label) >= TARGET_PER_LABEL for label in self.spans)
            and self.altered_share() <= TARGET_CLEAN_ALTERED
        )

    def summary(self) -> list[str]:
        lines = [f"overall recall {self.recall():.1%} ({sum(self.caught.values())}/{sum(self.spans.values())})"]
        for label in sorted(self.spans):
            lines.append(f"  {label:<6} {self.recall(label):6.1%} ({self.caught[label]}/{self.spans[label]})")
        lines.append(f"label accuracy of caught spans {self.label_accuracy():.1%}")
        lines.append(f"clean snippets altered {self.altered_share():.1%} ({self.altered}/{self.clean})")
        return lines


def _score(result: Result, row: dict, covered: list[str | None]) -> None:
    """``covered[i]`` is the label of the detected span over character i, '?' if masked without one, or None."""
    if not row["spans"]:
        result.clean += 1
        if any(covered):
            result.altered += 1
            result.over.append(row["text"])
        return
    for span in row["spans"]:
        label = span["label"]
        result.spans[label] += 1
        inside = covered[span["start"] : span["end"]]
        if all(inside):
            result.caught[label] += 1
            if all(kind == label for kind in inside):
                result.right_label[label] += 1
        else:
            result.missed.append((label, row["text"][span["start"] : span["end"]], row["text"]))


def typed_text_path(rows: list[dict]) -> Result:
    """``key.type`` text: what ``redact`` replaces, from the spans ``find_pii`` reports."""
    from collection.redaction import find_pii

    result = Result()
    for row in rows:
        covered: list[str | None] = [None] * len(row["text"])
        for span in find_pii(row["text"]):
            covered[span.start : span.end] = [span.kind] * (span.end - span.start)
        _score(result, row, covered)
    return result


def _rules():
    from collection.safeguards import Rules

    categories = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse", "typed_text"]
    return Rules(
        apps={APP: frozenset(categories)},
        excluded_apps=frozenset(),
        consented=frozenset(categories),
        granted_since=dict.fromkeys(categories, 0.0),
        retention_cutoff=dict.fromkeys(categories, 0.0),
        now=time.time(),
    )


def key_event_path(rows: list[dict]) -> Result:
    """Each snippet typed one ``key.down``/``key.up`` pair per character through ``apply_safeguards``."""
    from collection.safeguards import apply_safeguards
    from collection.schema import KeyDown, KeyUp

    rules = _rules()
    start = rules.now - 3600
    result = Result()
    for row in rows:
        events, downs = [], []
        for i, char in enumerate(row["text"]):
            name = _KEY_NAMES.get(char)
            at = start + i * 0.1
            down = KeyDown(timestamp=at, app=APP, key_char=char, key_name=name, key_vk=ord(char.lower()) % 256)
            events += [down, KeyUp(timestamp=at + 0.05, app=APP, key_char=char, key_name=name)]
            downs.append(down)
        apply_safeguards(events, rules)
        covered: list[str | None] = [None] * len(row["text"])
        placeholder: str | None = None
        for i, (char, down) in enumerate(zip(row["text"], downs, strict=True)):
            if down.key_char == char:
                placeholder = None
                continue
            if down.key_char and down.key_char.startswith("["):
                placeholder = down.key_char.strip("[]")
            covered[i] = placeholder or "?"
        _score(result, row, covered)
    return result


def measure() -> dict[str, Result]:
    from bench import setup_django

    setup_django()
    rows = load_corpus()
    return {"key.type text": typed_text_path(rows), "key events": key_event_path(rows)}


def run() -> list[Figure]:
    figures = []
    for path, result in measure().items():
        notes = result.summary()[1:]
        notes += [f"missed {label}: {span!r} in {text!r}" for label, span, text in result.missed[:15]]
        notes += [f"altered clean: {text!r}" for text in result.over[:15]]
        figures.append(
            Figure(
                name=f"PII recall, {path}",
                value=round(100 * result.recall(), 1),
                unit="%",
                target=f"≥ {TARGET_OVERALL:.0%} overall, ≥ {TARGET_PER_LABEL:.0%} per label, "
                f"≤ {TARGET_CLEAN_ALTERED:.0%} clean altered",
                met=result.meets_targets(),
                notes=notes,
            )
        )
    return figures
