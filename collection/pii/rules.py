"""The detection rules, one table, in priority order (the way gitleaks and detect-secrets list theirs).

Each rule names a placeholder ``label`` and finds candidates either with a
``pattern`` (``group`` is the part that is the secret: a label stays readable)
or with a ``finder`` for what a pattern cannot express.  A candidate is kept when
its ``validator`` accepts it (checksums, issuance rules, address ranges) and,
where nothing can be validated, when one of the ``context`` words appears
shortly before it.  ``trim`` lets a validator shorten a candidate that ran into
following words or numbers (an IBAN followed by "EUR").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from collection.pii import finders
from collection.pii.validators import card_ok, iban_ok, ipv4_ok, ipv6_ok, ssn_ok


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    pattern: re.Pattern | None = None
    group: int | str = 0
    validator: Callable[[str], bool] | None = None
    # Validators that need the text before the candidate (version and section numbers).
    validator_before: Callable[[str, str], bool] | None = None
    context: re.Pattern | None = None  # must match in the 40 characters before the candidate
    trim: str = ""  # "separators": cut only where a group ends; "any": also between letters and digits
    finder: Callable[[str], Iterable[tuple[int, int]]] | None = None
    # Lowercase literals one of which any match contains: a rule whose hints are all
    # absent from the text is skipped without running its pattern (most text has none).
    hints: tuple[str, ...] = ()


def _p(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, flags)


_SSN_CONTEXT = _p(r"(?i)\b(?:ssn|ss#|ssn#|social security|soc\.? sec|sozialversicherung|tax id|tin)\b|ssn#")

RULES: tuple[Rule, ...] = (
    # Secrets: private keys and provider tokens first, they are unambiguous.
    Rule(
        "private-key-block",
        "SECRET",
        _p(r"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.S),
        hints=("-----begin",),
    ),
    Rule("jwt", "SECRET", _p(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), hints=("eyj",)),
    Rule(
        "github-token",
        "SECRET",
        _p(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
        hints=("gh", "github_pat_"),
    ),
    Rule("gitlab-token", "SECRET", _p(r"\bgl(?:pat|dt|ptt|rt|cbt)-[A-Za-z0-9_-]{20,}"), hints=("gl",)),
    Rule("huggingface-token", "SECRET", _p(r"\bhf_[A-Za-z0-9]{30,}"), hints=("hf_",)),
    Rule("sendgrid-key", "SECRET", _p(r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"), hints=("sg.",)),
    Rule("slack-token", "SECRET", _p(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), hints=("xox",)),
    Rule(
        "slack-webhook",
        "SECRET",
        _p(r"hooks\.slack\.com/services/(T\w+/B\w+/\w+)"),
        group=1,
        hints=("hooks.slack.com",),
    ),
    Rule("stripe-key", "SECRET", _p(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), hints=("_live_", "_test_")),
    Rule("openai-anthropic-key", "SECRET", _p(r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{16,}"), hints=("sk-",)),
    Rule(
        "aws-access-key-id",
        "SECRET",
        _p(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
        hints=("akia", "asia", "abia", "acca", "agpa", "aida", "aroa"),
    ),
    Rule("npm-token", "SECRET", _p(r"\bnpm_[A-Za-z0-9]{36}\b"), hints=("npm_",)),
    Rule("pypi-token", "SECRET", _p(r"\bpypi-AgE[A-Za-z0-9_-]{50,}"), hints=("pypi-",)),
    Rule("shopify-token", "SECRET", _p(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"), hints=("shp",)),
    Rule("digitalocean-token", "SECRET", _p(r"\bdo[opr]_v1_[a-f0-9]{64}\b"), hints=("_v1_",)),
    Rule("slack-app-token", "SECRET", _p(r"\bxapp-\d-[A-Za-z0-9-]{20,}"), hints=("xapp-",)),
    Rule("stripe-webhook-secret", "SECRET", _p(r"\bwhsec_[A-Za-z0-9]{24,}"), hints=("whsec_",)),
    Rule("twilio-api-key", "SECRET", _p(r"\bSK[0-9a-f]{32}\b"), hints=("sk",)),
    Rule("mailgun-key", "SECRET", _p(r"\bkey-[0-9a-f]{32}\b"), hints=("key-",)),
    Rule("azure-sas-signature", "SECRET", _p(r"[?&]sig=([A-Za-z0-9%+/]{30,}={0,2})"), group=1, hints=("sig=",)),
    Rule("google-api-key", "SECRET", _p(r"\bAIza[0-9A-Za-z_-]{35}"), hints=("aiza",)),
    Rule(
        "azure-account-key",
        "SECRET",
        _p(r"(?i)\bAccountKey=([A-Za-z0-9+/]{40,}={0,2})"),
        group=1,
        hints=("accountkey=",),
    ),
    Rule(
        "authorization-header",
        "SECRET",
        _p(r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|bot)\s+([A-Za-z0-9\-._~+/]+=*)"),
        group=1,
        hints=("authorization",),
    ),
    Rule("bearer", "SECRET", _p(r"\b[Bb]earer\s+([A-Za-z0-9\-._~+/]{20,}=*)"), group=1, hints=("bearer",)),
    Rule(
        "url-credentials",
        "SECRET",
        _p(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:([^\s/]+)@[\w.-]+"),
        group=1,
        hints=("://",),
    ),
    Rule("session-id-in-url", "SECRET", _p(r"(?i);jsessionid=([A-Za-z0-9._-]{8,})"), group=1, hints=(";jsessionid=",)),
    Rule(
        "token-in-url-path",
        "SECRET",
        # /reset/3f9a…, /verify-email/…, /invite/…: a long opaque path segment after a word saying it is a token.
        _p(
            r"(?i)/(?:reset|reset-password|password-reset|verify|verify-email|confirm|activate|invite|magic|"
            r"token|auth|login|unsubscribe|hooks?|webhooks?)(?:/[\w-]{1,40})?/([A-Za-z0-9_-]{20,})"
        ),
        group=1,
        hints=("/",),
    ),
    Rule(
        "curl-user",
        "SECRET",
        _p(r"\bcurl\b[^\n]*?\s(?:-u|--user)\s+[\"']?[^\s:\"']+:([^\s\"'@]+)"),
        group=1,
        hints=("curl",),
    ),
    Rule("labelled-password", "SECRET", finder=finders.labelled_secrets, hints=finders.LABEL_HINTS),
    Rule("email", "EMAIL", _p(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"), hints=("@",)),
    # In URLs: jane.doe%40example.com (the '@' percent-encoded).
    Rule("email-percent-encoded", "EMAIL", _p(r"[\w.+-]+%40[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"), hints=("%40",)),
    Rule(
        "iban",
        "IBAN",
        _p(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{1,4}){3,8}"),
        validator=iban_ok,
        trim="any",
    ),
    Rule(
        "card",
        "CARD",
        _p(r"(?<![\d.,])\d(?:(?: - |[ .-])?\d){12,18}(?![\d])"),
        validator=card_ok,
        trim="separators",
    ),
    Rule("ssn", "SSN", _p(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])"), validator=ssn_ok),
    Rule(
        "ssn-bare",
        "SSN",
        _p(r"(?<![\d-])\d{9}(?![\d-])"),
        validator=ssn_ok,
        context=_SSN_CONTEXT,
        hints=("ssn", "ss#", "social", "soc", "sozial", "tax id", " tin", "tin:"),
    ),
    Rule(
        "ipv6",
        "IP",
        _p(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?![\w:])"),
        validator=ipv6_ok,
        hints=(":",),
    ),
    Rule(
        "ipv4",
        "IP",
        _p(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.]\w|\w)"),
        validator_before=ipv4_ok,
        hints=(".",),
    ),
    Rule("phone", "PHONE", finder=finders.phones),
)
