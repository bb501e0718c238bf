"""Erasure fixtures: the collection fixtures (a master key, a consenting employee with a device, a live token).

Erasure is carried out on stored data, so these tests upload through the
collection API like the collection tests do.
"""

from __future__ import annotations

from tests.collection.conftest import (  # noqa: F401  (fixtures, registered by being named here)
    _master_key,
    consenting,
    device,
    enroll,
    frozen,
    live_token,
    subject,
    token,
)
