"""Checks that tell personal data from numbers that only look like it."""

from __future__ import annotations

import ipaddress
import re

from stdnum import iban as _stdnum_iban

_NON_DIGITS = re.compile(r"\D")
# Issuer prefixes of the card brands in use (Visa, Mastercard incl. 2-series, Amex,
# Diners, JCB, Discover, UnionPay, Maestro, Mir): a Luhn-valid EAN or order number
# starting with 8, 9, 1 or 0 is no card.
_CARD_PREFIX = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[0-9]|6)")
# Words that, just before a dotted quad, make it a version or section number.
_VERSION_CONTEXT = re.compile(
    r"(?i)(?:\b(?:version|release|build|section|chapter|table|figure|rfc|v|upgrade to|update to|python|node)"
    r"\s*|§\s*)$"
)
_IP_CONTEXT = re.compile(
    r"(?i)\b(?:ip|ips|ipv4|host|server|address|addr|ping|ssh|from|gateway|dns|resolver|nameserver|proxy|vpn|"
    r"route|subnet|client|allow|deny|connect|connected|curl|http|https|remote|peer|adresse)\b"
)


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
    """Mod-97 and the country's BBAN format (python-stdnum's registry)."""
    compact = candidate.replace(" ", "").upper()
    return 15 <= len(compact) <= 34 and _stdnum_iban.is_valid(compact)


def card_ok(candidate: str) -> bool:
    digits = _NON_DIGITS.sub("", candidate)
    if not (13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn_ok(digits)):
        return False
    groups = [len(g) for g in _NON_DIGITS.split(candidate) if g]
    # Cards are written in fours (the last group may be shorter) or 4-6-5 / 4-6-4 (Amex,
    # Diners); an order number like 362-6691476-2066552 is grouped otherwise.
    return len(groups) == 1 or all(n == 4 for n in groups[:-1]) or groups[:2] == [4, 6]


def ssn_ok(candidate: str) -> bool:
    """US SSN issuance rules: no area 000, 666 or 900-999, no group 00, no serial 0000."""
    digits = _NON_DIGITS.sub("", candidate)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def ipv4_ok(candidate: str, before: str) -> bool:
    """A dotted quad that is an address, not a version (``v``, ``release``) or section (``§``) number."""
    if _VERSION_CONTEXT.search(before[-24:]):
        return False
    octets = candidate.split(".")
    if octets[0] == "0":
        return False
    # 4.2.1.3 is far likelier a section number than an address, unless something says otherwise.
    return not all(len(o) == 1 for o in octets) or bool(_IP_CONTEXT.search(before[-40:]))


def ipv6_ok(candidate: str) -> bool:
    """A valid IPv6 address with at least two groups written: ``::``, ``[::-1]`` and ``a::b`` code stay."""
    groups = [g for g in re.split(r"[:.]", candidate) if g]
    if len(groups) < 2 or candidate.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return len(groups) >= 3 or any(len(g) >= 3 for g in groups)


_SYMBOL = re.compile(r"[^\w\s]")


def looks_like_password(value: str) -> bool:
    """A value after a bare label (no ``:``/``=``) that is no ordinary word: digits, symbols or inner capitals."""
    word = value.rstrip(".,;:!?)\"'")
    if len(word) < 4:
        return False
    has_digit = any(c.isdigit() for c in word)
    has_alpha = any(c.isalpha() for c in word)
    inner_upper = any(c.isupper() for c in word[1:])
    return (has_digit and (has_alpha or len(word) >= 4)) or bool(_SYMBOL.search(word)) or inner_upper
