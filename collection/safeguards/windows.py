"""Window focus events: URLs without credentials, query, fragment or tokens; titles redacted."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from collection.redaction import find_pii, redact

TOKEN = "[TOKEN]"  # noqa: S105 (a placeholder)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]{16,}")
_B64URL = re.compile(r"[A-Za-z0-9_-]{16,}={0,2}")
_SLUG = re.compile(r"[a-z0-9]{1,15}(?:-[a-z0-9]{1,15})+")
_HOOK_SEGMENTS = frozenset({"hook", "hooks", "webhook", "webhooks"})


def _token_like(segment: str) -> bool:
    if _UUID.fullmatch(segment) or (_HEX.fullmatch(segment) and any(c.isdigit() for c in segment)):
        return True
    if not _B64URL.fullmatch(segment) or _SLUG.fullmatch(segment):
        return False
    has_digit = any(c.isdigit() for c in segment)
    has_upper = any(c.isupper() for c in segment)
    has_lower = any(c.islower() for c in segment)
    # Reset links, API keys, signed ids: long and mixed; words and slugs are not.
    return (len(segment) >= 20 and has_digit and (has_upper or has_lower)) or (has_digit and has_upper and has_lower)


def _clean_path(path: str, host: str) -> tuple[str, int]:
    """The path with tokens, path parameters (``;jsessionid=…``) and personal data replaced; and how many."""
    if not path:
        return path, 0
    out: list[str] = []
    count = 0
    hooked = host.startswith("hooks.")
    for segment in path.split("/"):
        if ";" in segment:
            segment = segment.split(";", 1)[0]
            count += 1
        if hooked and segment:
            if out[-1:] != [TOKEN]:
                out.append(TOKEN)
                count += 1
            continue
        if segment.lower() in _HOOK_SEGMENTS:
            hooked = True
        elif segment and _token_like(segment):
            segment = TOKEN
            count += 1
        elif "%" in segment or "@" in segment:
            plain = unquote(segment)
            if find_pii(plain):
                segment, found = redact(plain)
                count += found
        out.append(segment)
    return "/".join(out), count


def clean_url(url: str) -> tuple[str | None, int]:
    """The URL without credentials, query, fragment or path tokens, personal data replaced (None if
    unparsable); and the number of things replaced."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None, 0
    netloc = (f"[{host}]" if ":" in host else host) + port
    path, count = _clean_path(parts.path, host)
    cleaned, found = redact(urlunsplit((parts.scheme, netloc, path, "", "")))
    return cleaned, count + found


def clean_focus(event) -> bool:
    """Clean a kept ``window.focus`` in place; True if redaction changed it."""
    changed = False
    if event.url is not None:
        event.url, count = clean_url(event.url)
        changed = count > 0
    if event.title:
        title, count = redact(event.title)
        if count:
            event.title = title
            changed = True
    return changed
