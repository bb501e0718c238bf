"""Finding personal data and secrets in typed text.

``find_pii`` returns non-overlapping spans, each labelled with the placeholder
kind that replaces it: EMAIL, CARD (Luhn-checked), PHONE, SSN, IBAN
(mod-97-checked), IP (v4 and v6), SECRET (API keys and tokens, JWTs, PEM
private keys, and whatever follows a ``password:``-like label).  Detectors run
in that priority order, most specific first, and a later detector never
claims characters an earlier one claimed.  The checksums keep ordinary
numbers from being taken for cards or IBANs; a bare digit string of phone
length is still taken for a phone number, because missing one costs more than
masking a number.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", re.S),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\b(?:sk|pk|rk)[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{16,}"),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
]
# Only the value after the label is a secret; the label stays readable.
_LABELLED_SECRET = re.compile(
    r"(?i)\b(?:password|passwd|passphrase|passcode|pwd|pin|secret|api[ _-]?key|access[ _-]?token|token)"
    r"\s*(?:[:=]|\bis\b)\s*(\S+)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_SSN = re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?!\d)")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"
)
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,8}){0,4}(?![\w])")


def _secrets(text: str) -> list[tuple[int, int]]:
    found = [m.span() for pattern in _SECRET_PATTERNS for m in pattern.finditer(text)]
    found += [m.span(1) for m in _LABELLED_SECRET.finditer(text)]
    return found


def _simple(pattern: re.Pattern, check: Callable[[str], bool] | None = None) -> Callable[[str], list[tuple[int, int]]]:
    def find(text: str) -> list[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text) if check is None or check(m.group())]

    return find


def _card_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _ipv6_ok(candidate: str) -> bool:
    if candidate.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _phone_ok(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if candidate.startswith("+"):
        return 8 <= digits <= 15
    return 10 <= digits <= 15


_DETECTORS: list[tuple[str, Callable[[str], list[tuple[int, int]]]]] = [
    ("SECRET", _secrets),
    ("EMAIL", _simple(_EMAIL)),
    ("IBAN", _simple(_IBAN, iban_ok)),
    ("CARD", _simple(_CARD, _card_ok)),
    ("SSN", _simple(_SSN)),
    ("IP", lambda text: _simple(_IPV4)(text) + _simple(_IPV6, _ipv6_ok)(text)),
    ("PHONE", _simple(_PHONE, _phone_ok)),
]

# Every detector needs a digit, '@', ':' / '=' (labels, IPv6) or '-----' (PEM)
# somewhere; text without any of them (most prose) skips the regexes.
_MAYBE = re.compile(r"[\d@:=]|-----|\b(?:sk|pk|rk|xox|AIza|AKIA|ASIA|gh|github_pat|eyJ)|\bis\b")


def find_pii(text: str) -> list[Span]:
    """Non-overlapping spans of personal data or secrets in ``text``, in order."""
    if not text or not _MAYBE.search(text):
        return []
    spans: list[Span] = []
    for kind, detect in _DETECTORS:
        for start, end in detect(text):
            if start >= end or any(start < s.end and s.start < end for s in spans):
                continue
            spans.append(Span(start, end, kind))
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
