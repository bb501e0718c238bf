"""Reading an upload body within the 2 MiB limit, before and after gzip."""

from __future__ import annotations

import zlib

from collection.schema import MAX_BODY_BYTES
from config.errors import ApplicationError, InvalidInput, TooLarge, UnsupportedFormat


def _too_large() -> ApplicationError:
    return TooLarge("too_large", f"The batch exceeds {MAX_BODY_BYTES} bytes uncompressed; send fewer events.")


def declared_length(meta: dict) -> int:
    """The Content-Length, refusing an oversized one before anything is read."""
    raw = meta.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        raise InvalidInput("malformed_request", "The Content-Length header is not a number.") from None
    if length < 0:
        raise InvalidInput("malformed_request", "The Content-Length header is negative.")
    if length > MAX_BODY_BYTES:
        raise _too_large()
    return length


def read_body(stream, *, length: int, encoding: str) -> bytes:
    """The uncompressed body, at most ``MAX_BODY_BYTES``; gzip is expanded with a hard cap."""
    raw = stream.read(length)
    if len(raw) != length:
        raise InvalidInput("malformed_request", "The body is shorter than its Content-Length.")
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise UnsupportedFormat("unsupported_encoding", "Content-Encoding must be gzip or absent.")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error:
        raise InvalidInput("bad_gzip", "The body is not valid gzip.") from None
    if len(body) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise _too_large()
    if not inflater.eof:
        raise InvalidInput("bad_gzip", "The gzip stream is truncated.")
    if inflater.unused_data:
        raise InvalidInput("bad_gzip", "There is data after the end of the gzip stream.")
    return body
