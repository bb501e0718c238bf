"""Running the rule table over a text: non-overlapping spans, most specific rule first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from collection.pii.rules import RULES, Rule


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


# Every rule needs a digit, '@', ':' / '=' (labels, IPv6), '-----' (PEM), a token
# prefix or a password word somewhere; text without any (most prose) skips them all.
_MAYBE = re.compile(
    r"[\d@:=]|-----|eyJ|(?i:pass|wort|senha|contrase|has[łl]o|l[öo]senord|wachtwoord|salasana|parola|пароль|\bpw|\bpin\b)"
)
_TRIM_POINTS = {
    "separators": re.compile(r"(?<=[A-Za-z0-9])(?=[ .-])"),
    "any": re.compile(r"(?<=[A-Za-z0-9])(?=[ .-])|(?<=[A-Za-z0-9])(?=[A-Za-z0-9])"),
}


def _candidates(rule: Rule, text: str, lowered: str) -> Iterator[tuple[int, int]]:
    if rule.hints and not any(hint in lowered for hint in rule.hints):
        return
    if rule.finder is not None:
        yield from rule.finder(text)
        return
    assert rule.pattern is not None
    for match in rule.pattern.finditer(text):
        start, end = match.span(rule.group)
        if start < 0 or start >= end:
            continue
        if rule.context is not None and not rule.context.search(text[max(0, start - 40) : start]):
            continue
        if rule.validator_before is not None and not rule.validator_before(text[start:end], text[:start]):
            continue
        if rule.validator is None:
            yield start, end
            continue
        value = text[start:end]
        if rule.validator(value):
            yield start, end
        elif rule.trim:
            # The pattern ran on into following words or numbers: the longest valid prefix, if any.
            cuts = sorted({m.start() for m in _TRIM_POINTS[rule.trim].finditer(value)}, reverse=True)
            for cut in cuts:
                if cut < len(value) and rule.validator(value[:cut]):
                    yield start, start + cut
                    break


def find_pii(text: str) -> list[Span]:
    """Non-overlapping spans of personal data or secrets in ``text``, in order."""
    if not text or not _MAYBE.search(text):
        return []
    spans: list[Span] = []
    lowered = text.lower()
    for rule in RULES:
        for start, end in _candidates(rule, text, lowered):
            if start >= end or any(start < s.end and s.start < end for s in spans):
                continue
            spans.append(Span(start, end, rule.label))
    spans.sort(key=lambda s: s.start)
    return spans


def redact(text: str) -> tuple[str, int]:
    """``text`` with every span replaced by ``[KIND]``, and the number of spans replaced."""
    spans = find_pii(text)
    if not spans:
        return text, 0
    out, position = [], 0
    for span in spans:
        out.append(text[position : span.start])
        out.append(f"[{span.kind}]")
        position = span.end
    out.append(text[position:])
    return "".join(out), len(spans)
