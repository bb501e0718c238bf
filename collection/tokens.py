"""Collection tokens: short-lived Ed25519-signed JWTs that say what a capture client may send.

Header ``{"alg": "EdDSA", "typ": "capture+jwt", "kid": ...}``; claims ``iss``,
``aud`` ("collection"), ``sub`` (subject pseudonym), ``iat``, ``nbf``, ``exp``,
``jti``, ``dev``, ``cid``, ``cep``, ``scope`` and ``apps``.  Verification pins
the algorithm to EdDSA and takes the key only from the collection key ring by
``kid``, so ``alg: none``, HMAC-with-the-public-key confusion and keys of
other purposes are all refused.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from django.conf import settings

from signing.keyring import Purpose, find_public_key, keyring

AUDIENCE = "collection"
TOKEN_TYPE = "capture+jwt"  # noqa: S105 - a media type, not a password
_REQUIRED = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "dev", "cid", "cep", "scope", "apps"]


class TokenInvalid(Exception):
    """The token cannot be trusted; the message says why, without echoing it."""


@dataclass(frozen=True)
class CaptureClaims:
    subject: str
    device_id: str
    consent_id: str
    epoch: int
    scope: frozenset[str]
    apps: frozenset[str]
    jti: str
    expires_at: int


def token_sign(
    *,
    pseudonym: str,
    device_id: str,
    consent_id: str,
    epoch: int,
    scope: list[str],
    apps: list[str],
    now: datetime,
    lifetime: timedelta,
) -> tuple[str, datetime]:
    """A signed token and its expiry time."""
    key = keyring(Purpose.COLLECTION).current()
    issued = int(now.timestamp())
    expires = issued + int(lifetime.total_seconds())
    claims = {
        "iss": settings.SERVICE_ORIGIN,
        "aud": AUDIENCE,
        "sub": pseudonym,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "jti": str(uuid.uuid4()),
        "dev": device_id,
        "cid": consent_id,
        "cep": epoch,
        "scope": sorted(scope),
        "apps": sorted(apps),
    }
    token = jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": TOKEN_TYPE})
    return token, datetime.fromtimestamp(expires, tz=now.tzinfo)


def token_verify(token: str) -> CaptureClaims:
    """The claims of a valid collection token, or ``TokenInvalid``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenInvalid("The token is not a well-formed JWS.") from None
    if header.get("alg") != "EdDSA":
        raise TokenInvalid("The token must be signed with EdDSA.")
    if header.get("typ") != TOKEN_TYPE:
        raise TokenInvalid(f"The token type must be {TOKEN_TYPE}.")
    kid = header.get("kid")
    key = find_public_key(kid) if isinstance(kid, str) else None
    if key is None or key.purpose != Purpose.COLLECTION:
        raise TokenInvalid("The token's signing key is unknown or retired.")
    try:
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=settings.SERVICE_ORIGIN,
            leeway=settings.COLLECTION_TOKEN_LEEWAY_SECONDS,
            options={"require": _REQUIRED, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError:
        raise TokenInvalid("The token has expired; fetch a new one.") from None
    except jwt.ImmatureSignatureError:
        # PyJWT raises this for an ``nbf`` or an ``iat`` in the future beyond the leeway.
        raise TokenInvalid("The token is not valid yet: it was issued for, or at, a time still to come.") from None
    except jwt.InvalidAudienceError:
        raise TokenInvalid("The token is not meant for collection.") from None
    except jwt.InvalidIssuerError:
        raise TokenInvalid("The token was issued by someone else.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenInvalid(f"The token lacks the {exc.claim} claim.") from None
    except jwt.PyJWTError:
        raise TokenInvalid("The token's signature or claims are invalid.") from None
    _check_lifetime(claims)
    try:
        return CaptureClaims(
            subject=_text(claims["sub"]),
            device_id=str(uuid.UUID(_text(claims["dev"]))),
            consent_id=_text(claims["cid"]),
            epoch=_integer(claims["cep"]),
            scope=frozenset(_texts(claims["scope"])),
            apps=frozenset(_texts(claims["apps"])),
            jti=_text(claims["jti"]),
            expires_at=_integer(claims["exp"]),
        )
    except (TypeError, ValueError):
        raise TokenInvalid("The token's claims have the wrong types.") from None


def _check_lifetime(claims: dict) -> None:
    """Refuse a correctly signed token that lives longer than the service issues them for.

    Issuing caps the lifetime; so does verifying, so that a token signed by a
    leaked or misused key, or by an older release with a longer setting,
    cannot be replayed for hours.  ``iat`` and ``nbf`` in the future are
    refused by PyJWT (beyond the leeway); checked again here, because the
    lifetime is counted from ``iat``.
    """
    try:
        issued, not_before, expires = (_integer(claims[name]) for name in ("iat", "nbf", "exp"))
    except TypeError:
        raise TokenInvalid("The token's iat, nbf and exp must be whole seconds.") from None
    now = int(time.time())
    leeway = settings.COLLECTION_TOKEN_LEEWAY_SECONDS
    if issued > now + leeway or not_before > now + leeway:
        raise TokenInvalid("The token is not valid yet: it was issued for, or at, a time still to come.")
    allowed = settings.COLLECTION_TOKEN_LIFETIME_SECONDS
    if expires - issued > allowed:
        raise TokenInvalid(
            f"The token's lifetime of {expires - issued} seconds exceeds the {allowed} seconds allowed; fetch a new one."
        )


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _integer(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError
    return value


def _texts(value) -> list[str]:
    if not isinstance(value, list):
        raise TypeError
    return [_text(v) for v in value]
