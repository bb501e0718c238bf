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
    ("appelle le +33 1 42 68 53 00", "appelle le [PHONE]"),
    ("ring 07911123456 tonight", "ring [PHONE] tonight"),
    ("link tel:+46-8-123-456-78", "link tel:[PHONE]"),
    ("SSN 219099999 on file", "SSN [SSN] on file"),
    ("card 4111.1111.1111.1111", "card [CARD]"),
    ("IBAN ES91 2100 0418 4502 0005 1332 bitte", "IBAN [IBAN] bitte"),
    ("client ::ffff:203.0.113.7", "client [IP]"),
    ("Kennwort: Blumen#Topf7", "Kennwort: [SECRET]"),
    ("mot de passe : soleil42", "mot de passe : [SECRET]"),
    ("MYSQL_ROOT_PASSWORD=s3cret!", "MYSQL_ROOT_PASSWORD=[SECRET]"),
    ('{"password": "two words"}', '{"password": "[SECRET]"}'),
    ("passphrase: orange river tiger lamp", "passphrase: [SECRET]"),
    ("postgres://app:Zq8vR2pLm@db.internal/main", "postgres://app:[SECRET]@db.internal/main"),
    ("Authorization: Bearer abcDEF123456ghiJKL7890", "Authorization: Bearer [SECRET]"),
    ("glpat-abcdefghij0123456789", "[SECRET]"),
    ("Passwort für den Router: Xy9!abc", "Passwort für den Router: [SECRET]"),
    ("curl -u admin:S3cret! https://api.example.com", "curl -u admin:[SECRET] https://api.example.com"),
    ("PIN 4821 for the door", "PIN [SECRET] for the door"),
    ("https://example.com/reset/3f9a2b7c8d1e4f5a6b7c8d9e0f1a2b3c", "https://example.com/reset/[SECRET]"),
    ("https://shop.example.com/cart;jsessionid=A1B2C3D4E5F6G7H8", "https://shop.example.com/cart;jsessionid=[SECRET]"),
    ("https://example.com/unsubscribe/jane.doe%40example.com", "https://example.com/unsubscribe/[EMAIL]"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQdGBF\n-----END PGP PRIVATE KEY BLOCK-----", "[SECRET]"),
]

UNTOUCHED = [
    "version 1.2.3 has 42 items",
    "meeting at 12:30:45 on 2026-11-23",
    "card 4111 1111 1111 1112 fails Luhn",
    "DE89 3704 0044 0532 0130 01 fails mod-97",
    "ticket 123456",
    "the pass was long",
    "999.1.1.1 is no address",
    "logged at 2026-11-30 05:38:55.123456",
    "reverse it with s[::-1]",
    "see section 4.2.1.3",
    "upgrade to version 10.4.12.3",
    "invoice INV-2026-004217 is overdue",
    "order 362-6691476-2066552",
    "password is too short",
    "the token expired",
    "the password for the account is reset weekly",
    "pass the salt please",
    "https://github.com/org/repo/commit/3f2a9c1b7e4d5a6f8091a2b3c4d5e6f708192a3b",
    "https://example.com/auth/callback",
    "colour #ff8800",
    "request 123e4567-e89b-12d3-a456-426614174000",
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


@pytest.mark.parametrize(
    "label",
    [
        "password",
        "passwort",
        "passwd",
        "passphrase",
        "passcode",
        "kennwort",
        "mot de passe",
        "contraseña",
        "senha",
        "wachtwoord",
        "hasło",
        "lösenord",
        "salasana",
        "parola",
        "пароль",
        "pin",
        "pwd",
        "pw",
        "pass",
        "secret",
        "client_secret",
        "api_key",
        "access_token",
        "auth-token",
        "DB_PASSWORD",
        "MYSQL_ROOT_PASSWORD",
        "aws_secret_access_key",
    ],
)
def test_every_password_label_in_every_language_hides_its_value(label):
    assert redact(f"{label}: Xy9!abc#") == (f"{label}: [SECRET]", 1)
