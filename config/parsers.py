"""The JSON parser of every DRF endpoint: bounded nesting, no repeated keys.

The standard library's parser recurses once per array or object level, so a
body of ``"[" * 100000`` ends in ``RecursionError``, which DRF's parser does
not catch: a 500 for anyone, signed in or not.  Here nesting is measured
first, without recursion, and refused above ``MAX_JSON_DEPTH``.  An object
that repeats a key is refused too: which value counts would be a guess.
Both are 400s in the API's error shape (``config.exceptions``).

The capture upload does not come through here (it reads its body raw and
decodes it with msgspec, see ``collection.schema``); it applies the same
two rules itself.
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

from config.errors import InvalidInput

# No request body of this API nests anywhere near this deep (the deepest, a
# data request, is an object of lists: 2 levels); the margin is for clients.
# Far below Python's recursion limit (1,000), so parsing never reaches it.
MAX_JSON_DEPTH = 32

# A string literal, escapes included: brackets inside strings do not nest.
# An unterminated one runs to the end of the text, so that no quote is
# scanned twice (linear time whatever the input).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# Once the strings are gone only the brackets are kept (other ASCII is
# deleted here, anything else when encoding to ASCII); then each opening
# bracket is a step +1 and each closing one -1.
_KEEP_BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, without parsing it and without recursion.

    Cheap for the usual small body: when there are not even ``MAX_JSON_DEPTH``
    opening brackets in all, it cannot nest deeper and nothing is scanned.
    Otherwise linear, with no Python code run per character.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0
    brackets = _STRING.sub("", text).translate(_KEEP_BRACKETS).encode("ascii", "ignore")
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep() -> InvalidInput:
    return InvalidInput(
        "too_deep", f"The JSON body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep; that is the limit."
    )


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            shown = key if len(key) <= 64 else key[:64] + "…"
            raise InvalidInput(
                "duplicate_key",
                f"The JSON object has the key {json.dumps(shown, ensure_ascii=False)} more than once; a key may appear once per object.",
            )
        obj[key] = value
    return obj


class StrictJSONParser(JSONParser):
    """DRF's JSON parser with a nesting limit and no repeated keys (both a 400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's Request always names the encoding: the request's, else DEFAULT_CHARSET.
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(text) > MAX_JSON_DEPTH:
            raise too_deep()
        try:
            return json.loads(
                text,
                object_pairs_hook=_refuse_repeated_keys,
                # NaN and Infinity are not JSON; DRF refuses them too (STRICT_JSON).
                parse_constant=strict_constant if self.strict else None,
            )
        except RecursionError:  # the depth check makes this unreachable; a 400, should it not
            raise too_deep() from None
        except ValueError as exc:  # as DRF's own parser answers it: 400 malformed_request
            raise ParseError(f"JSON parse error - {exc}") from None
