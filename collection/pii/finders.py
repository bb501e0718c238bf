"""Detectors a single pattern cannot express: phone numbers and labelled passwords."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import phonenumbers

from collection.pii.validators import looks_like_password

# Regions tried, in order, for numbers written without a country code; "+" numbers
# need none.  Home formats of where the employees are likeliest to be.
PHONE_REGIONS = ("US", "GB", "FR", "DE", "SE", "IE", "AT", "JP", "IL", "AU", "ES", "IT", "NL", "CH", "PL", "IN", "BR")
_PHONE_CONTEXT = re.compile(
    r"(?i)(?:\b(?:call|phone|tel|telephone|mobile|cell|ring|number|whatsapp|sms|text me|fax|contact|handy|"
    r"telefon|téléphone|portable|numéro|nummer|móvil|teléfono|celular)\b|電話)"
)
# Cheap pre-scan: a run of digits with the separators phone numbers use, long enough
# to be one.  libphonenumber's matcher runs only on these.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+.,/-])\+?(?:\(\d{1,5}\)[ \t.-]?)?\d(?:[ \t().\-/]{0,3}\d){5,16}(?![\w]|[:.]\d)")
# Dates (ISO or day-first) and timestamps are the commonest digit runs that phone matching sees.
_DATE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})(?:\D|$)")


@lru_cache(maxsize=4096)
def _valid_phone(candidate: str, region: str, leniency=phonenumbers.Leniency.VALID) -> tuple[int, int] | None:
    """Where libphonenumber finds a number in ``candidate``; cached, as the same numbers come back in every batch."""
    for match in phonenumbers.PhoneNumberMatcher(candidate, region, leniency=leniency):
        return match.start, match.end
    return None


def phones(text: str) -> Iterator[tuple[int, int]]:
    for candidate in _PHONE_CANDIDATE.finditer(text):
        value = candidate.group()
        digits = sum(c.isdigit() for c in value)
        if not 7 <= digits <= 15 or _DATE.match(value):
            continue
        if value[0] == "+":
            # A "+" and a country code are what a phone number is written with; a number
            # in an unassigned range (+1 555 …, the films' numbers) is still typed as one.
            found = _valid_phone(value, "ZZ", phonenumbers.Leniency.POSSIBLE)
        else:
            # A bare national number needs a trunk prefix, brackets, separators or a word
            # saying it is a phone: invoice and order numbers are valid somewhere too.
            grouped = value[0] in "0(" or not value.isdigit()
            if not grouped and not _PHONE_CONTEXT.search(text[max(0, candidate.start() - 40) : candidate.start()]):
                continue
            found = None
            for region in PHONE_REGIONS:
                found = _valid_phone(value, region)
                if found:
                    break
        if found:
            yield candidate.start() + found[0], candidate.start() + found[1]


# Labels of a password or secret value, in the languages employees type, also inside
# identifiers (DB_PASSWORD, MYSQL_ROOT_PASSWORD, aws_secret_access_key).
_STRONG_LABELS = (
    r"password|passwort|passwd|passphrase|pass phrase|passcode|kennwort|mot de passe|contraseña|contrasena|senha|"
    r"wachtwoord|hasło|haslo|lösenord|losenord|adgangskode|salasana|parola|пароль|pin[ -]?code|pincode|pin|pwd"
)
_WEAK_LABELS = (
    r"pass|pw|secret[_ -]?access[_ -]?key|secret[_ -]?key|client[_ -]?secret|secret|api[_ -]?key|"
    r"access[_ -]?key|access[_ -]?token|auth[_ -]?token|refresh[_ -]?token|token|private[_ -]?key"
)
# label, optional closing quote (JSON/YAML keys), then ':' / '=' / "is" (a sentence).
_LABELLED = re.compile(
    rf"(?i)(?<![^\W_])(?P<label>{_STRONG_LABELS}|{_WEAK_LABELS})(?![^\W_])[\"']?"
    # "password for the wifi: …", "Passwort für Router: …", "mot de passe du compte : …"
    r"(?P<for>[ \t]+(?:for|of|to|für|zum|zur|vom|pour|du|de|del|de la|do|da|van|voor|för|dla)(?:[ \t]+[^\s:=]{1,30}){1,3})?"
    r"(?:(?P<sep>[ \t]*[:=][ \t]*|[ \t]+(?:is|ist|est|es|é|är|er|jest)[ \t]+)|(?P<space>[ \t]+))"
    r"(?P<quote>[\"'])?"
)
# Lowercase pieces one of which every label contains (skips the label pattern for most text).
LABEL_HINTS = (
    "pass",
    "pw",
    "pin",
    "secret",
    "key",
    "token",
    "wort",
    "wacht",
    "mot de",
    "contrase",
    "senha",
    "has",
    "lösen",
    "losen",
    "adgang",
    "salasana",
    "parola",
    "пароль",
)
_STRONG = re.compile(rf"(?i)^(?:{_STRONG_LABELS})$")
_PROSE = frozenset(
    [
        "too",
        "not",
        "very",
        "required",
        "invalid",
        "incorrect",
        "wrong",
        "expired",
        "missing",
        "empty",
        "weak",
        "strong",
        "long",
        "short",
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "set",
        "being",
        "still",
        "now",
        "here",
        "there",
        "below",
        "above",
        "same",
        "different",
        "ok",
        "okay",
        "fine",
        "changed",
        "reset",
        "saved",
        "stored",
        "secure",
        "hidden",
        "visible",
        "needed",
        "optional",
        "mandatory",
        "valid",
        "case",
        "for",
        "of",
        "to",
        "and",
        "or",
        "your",
        "my",
        "his",
        "her",
        "their",
        "our",
        "none",
        "null",
        "true",
        "false",
        "yes",
        "no",
        "n/a",
        "tbd",
        "thanks",
        "please",
        "bitte",
        "merci",
        "danke",
    ]
)
_WORD = re.compile(r"\S+")
_PHRASE_WORD = re.compile(r"[ \t]+([^\W\d_]+)(?=[ \t]|$|[.,;!?])")


def labelled_secrets(text: str) -> Iterator[tuple[int, int]]:
    for match in _LABELLED.finditer(text):
        start = match.end()
        quote = match.group("quote")
        if quote:
            end = text.find(quote, start)
            if end > start:
                yield start, end
            continue
        word = _WORD.match(text, start)
        if word is None:
            continue
        value = word.group()
        bare = match.group("sep") is None
        is_sentence = not bare and ":" not in match.group("sep") and "=" not in match.group("sep")
        if match.group("for") and (bare or is_sentence):
            continue
        if bare and not _STRONG.match(match.group("label")):
            continue
        if value.lower().rstrip(".,;:!?") in _PROSE:
            continue
        if (bare or is_sentence) and not looks_like_password(value) and not _passphrase_follows(text, word.end()):
            continue
        end = word.end()
        while text[end - 1] in ".,;)'\"" and end - 1 > start:
            end -= 1
        if value.isalpha() and not bare:
            # All letters: perhaps the first word of a passphrase; take the words that follow on the line.
            end = _phrase_end(text, word.end())
        yield start, end


def _phrase_end(text: str, end: int) -> int:
    for _ in range(8):
        nxt = _PHRASE_WORD.match(text, end)
        if nxt is None or nxt.group(1).lower() in _PROSE:
            break
        end = nxt.end()
    return end


def _passphrase_follows(text: str, end: int) -> bool:
    """Three more plain words on the line after an all-letter value: ``password is orange river tiger lamp``."""
    return _phrase_end(text, end) > end and len(text[end : _phrase_end(text, end)].split()) >= 3
