"""PII detectors: each placeholder, with look-alikes that must stay untouched."""

from __future__ import annotations

import pytest

from collection.redaction import find_pii, iban_ok, luhn_ok, redact

FOUND = [
    ("write to jane.doe+work@example.co.uk today", "write to [EMAIL] today"),
    ("card 4111 1111 1111 1111 exp", "card [CARD] exp"),
    ("card 4111-1111-1111-1111", "card [CARD]"),
    ("amex 378282246310005", "amex [CARD]"),
    ("call +1 (555) 123-4567", "call [PHONE]"),
    ("call 020 7946 0958", "call [PHONE]"),
    ("+49 30 1234567", "[PHONE]"),
    ("ssn 123-45-6789", "ssn [SSN]"),
    ("iban DE89 3704 0044 0532 0130 00 thanks", "iban [IBAN] thanks"),
    ("GB82WEST12345698765432", "[IBAN]"),
    ("server 10.0.0.12 down", "server [IP] down"),
    ("v6 2001:db8:85a3::8a2e:370:7334 up", "v6 [IP] up"),
    ("key sk-proj-abcDEF1234567890xyz", "key [SECRET]"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws [SECRET]"),
    ("gh ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gh [SECRET]"),
    ("slack xoxb-1234567890-abcdefghij", "slack [SECRET]"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc_DEF-123", "jwt [SECRET]"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nok", "[SECRET]\nok"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt", "[SECRET]"),
    ("password: hunter2 thanks", "password: [SECRET] thanks"),
    ("pwd=abc123", "pwd=[SECRET]"),
    ("Passcode : 4242", "Passcode : [SECRET]"),
    ("my password is Tr0ub4dor&3", "my password is [SECRET]"),
]

UNTOUCHED = [
    "version 1.2.3 has 42 items",
    "meeting at 12:30:45 on 2026-11-23",
    "card 4111 1111 1111 1112 fails Luhn",
    "DE89 3704 0044 0532 0130 01 fails mod-97",
    "ticket 123456",
    "the pass was long",
    "999.1.1.1 is no address",
    "",
]


@pytest.mark.parametrize(("text", "expected"), FOUND)
def test_each_kind_of_pii_gets_its_placeholder(text, expected):
    redacted, count = redact(text)
    assert redacted == expected
    assert count == expected.count("[")


@pytest.mark.parametrize("text", UNTOUCHED)
def test_look_alikes_are_left_alone(text):
    assert redact(text) == (text, 0)


def test_spans_never_overlap_and_the_most_specific_wins():
    spans = find_pii("pay 4111111111111111 to jane@example.com at 10.1.2.3")
    assert [s.kind for s in spans] == ["CARD", "EMAIL", "IP"]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE89 3704 0044 0532 0130 01")
