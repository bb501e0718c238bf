"""Finding personal data and secrets in typed text; kept as the import path of ``collection.pii``.

``find_pii`` returns non-overlapping spans, each labelled with the placeholder
kind that replaces it: EMAIL, CARD, PHONE, SSN, IBAN, IP, SECRET.  The rules,
their validators and context words live in ``collection/pii/``.
"""

from collection.pii import Span, find_pii, iban_ok, luhn_ok, redact

__all__ = ["Span", "find_pii", "iban_ok", "luhn_ok", "redact"]
