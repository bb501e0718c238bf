"""Fixtures for the consent tests: more employees, drafts, and receipt verification with an independent JOSE library."""

from __future__ import annotations

import warnings

import pytest

from tests.conftest import make_user

NOTICE_BODY = {
    "title": "Recording computer use, version two",
    "summary": "We record how you use selected applications.",
    "purposes": [{"id": "agent-training", "description": "Train AI agents that operate computers."}],
    "categories": ["app_focus", "clicks", "mouse"],
    "access": "Approved ML team members, per request.",
    "rights": "Withdraw at any time in the portal.",
    "contact": "privacy@example.com",
}


@pytest.fixture
def notice_body():
    return {
        **NOTICE_BODY,
        "purposes": [dict(p) for p in NOTICE_BODY["purposes"]],
        "categories": list(NOTICE_BODY["categories"]),
    }


@pytest.fixture
def carol(db):
    return make_user("carol", "employee", department="Engineering")


@pytest.fixture
def employees(db):
    """``employees(n, department)`` creates ``n`` employees in ``department``."""
    counter = {"n": 0}

    def create(n: int, department: str):
        made = []
        for _ in range(n):
            counter["n"] += 1
            made.append(make_user(f"emp{counter['n']:03d}", "employee", department=department))
        return made

    return create


@pytest.fixture
def verify_receipt(api):
    """Verify a receipt JWS with joserfc, using nothing but the published JWKS document."""

    def verify(jws: str):
        from joserfc import jwt
        from joserfc.jwk import KeySet

        document = api.get("/.well-known/jwks.json").json()
        with warnings.catch_warnings():
            # joserfc flags "EdDSA" in favour of RFC 9864's "Ed25519"; the contract fixes EdDSA.
            warnings.simplefilter("ignore")
            return jwt.decode(jws, KeySet.import_key_set(document), algorithms=["EdDSA"])

    return verify
