"""Finding personal data and secrets in typed text: ``find_pii`` and ``redact`` over one table of rules.

``rules.RULES`` lists every detector in priority order (secrets, e-mail, IBAN,
card, SSN, IP, phone); ``validators`` holds the checks (Luhn and card issuer
prefixes, IBAN mod-97 and country formats via python-stdnum, SSN issuance rules,
address ranges); ``finders`` the detectors a pattern cannot express (phone
numbers through libphonenumber's matcher, passwords after labels in several
languages).  A later rule never claims characters an earlier one claimed.
"""

from collection.pii.detect import Span, find_pii, redact
from collection.pii.validators import iban_ok, luhn_ok

__all__ = ["Span", "find_pii", "iban_ok", "luhn_ok", "redact"]
